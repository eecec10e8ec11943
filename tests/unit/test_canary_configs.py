"""The configs a rollout builds keep everything the live config has (pure, no AWS)."""

from __future__ import annotations

from typing import Any

from smdeploy.canary import alarm_names, build_configs
from smdeploy.models import DeploymentPlan
from smdeploy.strategy import StrategyConfig, resolve_rollout

LIVE_CONFIG: dict[str, Any] = {
    "EndpointConfigName": "churn-prod-v1-aaaa",
    "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/churn-prod-v1-aaaa",
    "ProductionVariants": [
        {
            "VariantName": "churn-v1",
            "ModelName": "churn-v1-model",
            "InstanceType": "ml.m5.xlarge",
            "InitialInstanceCount": 3,
            "InitialVariantWeight": 1.0,
            "ContainerStartupHealthCheckTimeoutInSeconds": 600,
            "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 1, "MaxInstanceCount": 4},
        }
    ],
    "DataCaptureConfig": {
        "EnableCapture": True,
        "InitialSamplingPercentage": 20,
        "DestinationS3Uri": "s3://capture/churn",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    },
    "AsyncInferenceConfig": {"OutputConfig": {"S3OutputPath": "s3://async/out"}},
    "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/1234",
    "CreationTime": "2026-01-01T00:00:00Z",
}


def plan(explicit: bool = False, **changes: Any) -> DeploymentPlan:
    base: dict[str, Any] = {
        "source": "approval",
        "modelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/2",
        "modelPackageGroup": "churn",
        "modelPackageVersion": 2,
        "endpointName": "churn-prod",
        "action": "UPDATE",
        "modelName": "churn-v2-model",
        "endpointConfigName": "unused",
        "variantName": "churn-v2",
        "instanceType": "ml.m5.large",
        "initialInstanceCount": 1,
        "instanceSettingsExplicit": explicit,
        "pollSeconds": 30,
        "maxPolls": 10,
        "currentEndpointConfigName": "churn-prod-v1-aaaa",
        "baselineVariantName": "churn-v1",
        "canaryConfigName": "churn-prod-v2-canary",
        "finalConfigName": "churn-prod-v2",
        "rollout": resolve_rollout(StrategyConfig()),
    }
    return DeploymentPlan.model_validate({**base, **changes})


def test_canary_config_has_baseline_at_full_weight_and_candidate_at_zero() -> None:
    canary, _final, _kept = build_configs(plan(), LIVE_CONFIG)
    assert [(v["VariantName"], v["ModelName"], v["InitialVariantWeight"]) for v in canary] == [
        ("churn-v1", "churn-v1-model", 1.0),
        ("churn-v2", "churn-v2-model", 0.0),
    ]


def test_candidate_inherits_every_baseline_variant_setting_unless_set_explicitly() -> None:
    canary, final, _kept = build_configs(plan(), LIVE_CONFIG)
    for variant in (canary[1], final[0]):
        assert variant["InstanceType"] == "ml.m5.xlarge"
        assert variant["InitialInstanceCount"] == 3
        assert variant["ContainerStartupHealthCheckTimeoutInSeconds"] == 600
        assert variant["ManagedInstanceScaling"]["MaxInstanceCount"] == 4
    explicit, _f, _k = build_configs(plan(explicit=True), LIVE_CONFIG)
    assert (explicit[1]["InstanceType"], explicit[1]["InitialInstanceCount"]) == ("ml.m5.large", 1)


def test_both_configs_keep_data_capture_async_and_kms_settings() -> None:
    _canary, final, kept = build_configs(plan(), LIVE_CONFIG)
    assert kept == {
        "DataCaptureConfig": LIVE_CONFIG["DataCaptureConfig"],
        "AsyncInferenceConfig": LIVE_CONFIG["AsyncInferenceConfig"],
        "KmsKeyId": LIVE_CONFIG["KmsKeyId"],
    }
    assert [(v["VariantName"], v["InitialVariantWeight"]) for v in final] == [("churn-v2", 1.0)]


def test_empty_settings_from_describe_are_not_copied() -> None:
    bare = {**LIVE_CONFIG, "DataCaptureConfig": {}, "AsyncInferenceConfig": None}
    del bare["KmsKeyId"]
    _c, _f, kept = build_configs(plan(), bare)
    assert kept == {}


def test_building_configs_does_not_change_the_live_config() -> None:
    before = repr(LIVE_CONFIG)
    build_configs(plan(), LIVE_CONFIG)
    assert repr(LIVE_CONFIG) == before


def test_candidate_alarms_are_scoped_to_the_candidate_variant() -> None:
    assert alarm_names(plan()) == [
        "smdeploy-churn-prod-churn-v2-5xx-rate",
        "smdeploy-churn-prod-churn-v2-p99-latency",
    ]
    no_latency = plan(rollout=resolve_rollout(StrategyConfig(latencyP99Ms=None)))
    assert alarm_names(no_latency) == ["smdeploy-churn-prod-churn-v2-5xx-rate"]


def test_the_group_data_capture_setting_replaces_the_live_one_in_both_configs() -> None:
    wanted = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 5,
        "DestinationS3Uri": "s3://new/capture",
        "CaptureOptions": [{"CaptureMode": "Input"}],
    }
    _canary, _final, kept = build_configs(plan(dataCapture=wanted), LIVE_CONFIG)
    assert kept["DataCaptureConfig"] == wanted
    assert kept["KmsKeyId"] == LIVE_CONFIG["KmsKeyId"]
