"""Clean-up owns what it deletes: models per endpoint, resumable after an interruption, leftovers of
earlier runs (transitional configs, candidate alarms) removed, retention kept.

Runs the real domain steps and gateways against moto. Moto has no ``UpdateEndpoint``: an update
that took effect is the endpoint created again on its new config.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from smdeploy import canary, converge, deploy
from smdeploy.adapters.cloudwatch import CloudWatchGateway
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.errors import AwsServiceUnavailable
from smdeploy.models import DeploymentPlan, DeployRequest, GroupConfig
from smdeploy.plan import build_plan

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/model"
PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/{}"
DEFAULTS: dict[str, Any] = {
    "instanceType": "ml.m5.large",
    "initialInstanceCount": 1,
    "pollSeconds": 30,
    "deployTimeoutSeconds": 1800,
}


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield Cloud()


class Cloud:
    def __init__(self) -> None:
        self.sm = boto3.client("sagemaker", region_name=REGION)
        self.cw = boto3.client("cloudwatch", region_name=REGION)
        self.sagemaker = SageMakerGateway(self.sm)
        self.cloudwatch = CloudWatchGateway(self.cw)

    # --- what the state machine does ------------------------------------------------------------
    def plan(self, endpoint: str, version: int, retain: int = 2) -> DeploymentPlan:
        arn = PACKAGE.format(version)
        live = self.sagemaker.find_endpoint(endpoint)
        package = {
            "ModelPackageGroupName": "churn",
            "ModelPackageVersion": version,
            "ModelPackageArn": arn,
            "ModelApprovalStatus": "Approved",
            "ModelPackageStatus": "Completed",
            "InferenceSpecification": {"Containers": [{"Image": "image:1"}]},
        }
        return build_plan(
            DeployRequest(source="approval", modelPackageArn=arn),
            package=package,
            group_config=GroupConfig(endpoint=endpoint, retainConfigs=retain),
            group_config_source="ssm:/smdeploy/groups/churn",
            defaults=DEFAULTS,
            live_endpoint=live,
            live_variants=self.sagemaker.variants_serving(live) if live else None,
        )

    def create(self, endpoint: str, version: int, retain: int = 2) -> DeploymentPlan:
        plan = self.plan(endpoint, version, retain)
        assert plan.action == "CREATE"
        deploy.create_model(plan, sagemaker=self.sagemaker, role_arn=ROLE)
        deploy.create_endpoint_config(plan, sagemaker=self.sagemaker)
        self.sagemaker.create_endpoint(
            name=endpoint, config_name=plan.endpointConfigName, tags=deploy.managed_tags(plan)
        )
        return plan

    def prepare(self, endpoint: str, version: int, retain: int = 2) -> DeploymentPlan:
        """An update up to its canary: model, two-variant and candidate-only configs, alarms."""
        plan = self.plan(endpoint, version, retain)
        assert plan.action == "UPDATE"
        deploy.create_model(plan, sagemaker=self.sagemaker, role_arn=ROLE)
        canary.prepare_canary(plan, sagemaker=self.sagemaker, cloudwatch=self.cloudwatch)
        return plan

    def serve(self, endpoint: str, config: str) -> None:
        self.sm.delete_endpoint(EndpointName=endpoint)
        self.sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)

    def promote(self, endpoint: str, version: int, retain: int = 2) -> DeploymentPlan:
        plan = self.prepare(endpoint, version, retain)
        self.serve(endpoint, str(plan.canaryConfigName))
        self.serve(endpoint, str(plan.finalConfigName))
        return plan

    def cleanup(self, plan: DeploymentPlan, outcome: str = "PROMOTED") -> dict[str, Any]:
        return canary.cleanup(plan, {}, outcome, sagemaker=self.sagemaker, cloudwatch=self.cloudwatch)

    # --- what there is ----------------------------------------------------------------------------
    def models(self) -> set[str]:
        return {m["ModelName"] for m in self.sm.list_models()["Models"]}

    def configs(self) -> set[str]:
        return {c["EndpointConfigName"] for c in self.sm.list_endpoint_configs()["EndpointConfigs"]}

    def alarms(self) -> set[str]:
        return {a["AlarmName"] for a in self.cw.describe_alarms()["MetricAlarms"]}

    def live_config(self, endpoint: str) -> str:
        return str(self.sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"])


def recovery(plan: DeploymentPlan) -> DeploymentPlan:
    """What a RECOVER plan carries: the endpoint, the package and the retention, no config names."""
    return plan.model_copy(
        update={"action": "RECOVER", "source": "recovery", "canaryConfigName": None, "finalConfigName": None}
    )


def tags(cloud: Cloud, config: str) -> dict[str, str]:
    arn = cloud.sm.describe_endpoint_config(EndpointConfigName=config)["EndpointConfigArn"]
    return {t["Key"]: t["Value"] for t in cloud.sm.list_tags(ResourceArn=arn)["Tags"]}


# --- (a) models are per endpoint --------------------------------------------------------------------
def test_two_endpoints_deploying_one_package_get_their_own_models(cloud: Cloud) -> None:
    short, long = cloud.create("churn", 1), cloud.create("churn-prod", 1)

    assert short.modelName != long.modelName
    assert short.modelName.startswith(canary.owned_name_prefix("churn") + "-")
    assert long.modelName.startswith(canary.owned_name_prefix("churn-prod") + "-")
    assert short.variantName == long.variantName  # the variant keeps the package's name
    model_tags = cloud.sm.list_tags(ResourceArn=cloud.sm.describe_model(ModelName=long.modelName)["ModelArn"])
    assert {"Key": "smdeploy:model-package-arn", "Value": PACKAGE.format(1)} in model_tags["Tags"]


def test_a_clean_up_never_deletes_the_model_another_endpoint_serves(cloud: Cloud) -> None:
    # "churn" is a prefix of "churn-prod": its models' names start alike, their tags differ
    v1_short, v1_long = cloud.create("churn", 1, retain=1), cloud.create("churn-prod", 1, retain=1)
    rolled_back = cloud.prepare("churn", 2, retain=1)
    promoted = cloud.promote("churn-prod", 2, retain=1)

    short = cloud.cleanup(rolled_back, "ROLLED_BACK")
    long = cloud.cleanup(promoted, "PROMOTED")

    assert short["deletedModels"] == [rolled_back.modelName]
    assert long["deletedModels"] == [v1_long.modelName]
    assert cloud.models() == {v1_short.modelName, promoted.modelName}
    assert cloud.live_config("churn") == v1_short.endpointConfigName
    assert cloud.configs() == {v1_short.endpointConfigName, str(promoted.finalConfigName)}
    assert cloud.alarms() == set()
    # once more: nothing left to do, on either endpoint
    assert cloud.cleanup(rolled_back, "ROLLED_BACK")["deletedModels"] == []
    assert cloud.cleanup(promoted)["deletedConfigs"] == []


def test_a_clean_up_leaves_another_endpoints_running_rollout_alone(cloud: Cloud) -> None:
    v1 = cloud.create("churn", 1)
    cloud.create("churn-prod", 1)
    running = cloud.prepare("churn-prod", 2)  # its canary config, model and alarms are in use

    cloud.cleanup(recovery(v1), "ABORTED")

    assert running.modelName in cloud.models()
    assert {str(running.canaryConfigName), str(running.finalConfigName)} <= cloud.configs()
    assert cloud.alarms() == set(canary.alarm_names(running))


# --- (b) resumable ---------------------------------------------------------------------------------
def test_a_model_whose_config_an_interrupted_clean_up_deleted_is_deleted_next_time(cloud: Cloud) -> None:
    v1 = cloud.create("churn-prod", 1, retain=1)
    v2 = cloud.promote("churn-prod", 2, retain=1)
    # an earlier clean-up deleted v1's config, then failed to delete its model
    cloud.sm.delete_endpoint_config(EndpointConfigName=v1.endpointConfigName)

    result = cloud.cleanup(v2)

    assert result["deletedModels"] == [v1.modelName]
    assert cloud.models() == {v2.modelName}
    assert cloud.configs() == {str(v2.finalConfigName)}


def test_a_clean_up_that_failed_half_way_finishes_on_the_next_attempt(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    v1 = cloud.create("churn-prod", 1, retain=1)
    v2 = cloud.promote("churn-prod", 2, retain=1)
    delete_model = SageMakerGateway.delete_model
    calls: list[str] = []

    def flaky(self: SageMakerGateway, name: str) -> bool:
        calls.append(name)
        if len(calls) == 1:
            raise AwsServiceUnavailable("DeleteModel: InternalFailure")
        return delete_model(self, name)

    monkeypatch.setattr(SageMakerGateway, "delete_model", flaky)
    with pytest.raises(AwsServiceUnavailable):
        cloud.cleanup(v2)
    assert v1.modelName in cloud.models()

    result = cloud.cleanup(v2)

    assert result["deletedModels"] == [v1.modelName]
    assert cloud.models() == {v2.modelName}
    assert cloud.configs() == {str(v2.finalConfigName)}
    assert cloud.alarms() == set()


# --- (c) leftovers of earlier runs, retention -------------------------------------------------------
def test_the_canary_config_is_tagged_transitional_with_its_baseline(cloud: Cloud) -> None:
    v1 = cloud.create("churn-prod", 1)
    v2 = cloud.prepare("churn-prod", 2)

    canary_tags, final_tags = tags(cloud, str(v2.canaryConfigName)), tags(cloud, str(v2.finalConfigName))
    assert canary_tags["smdeploy:rollout"] == "transitional"
    assert canary_tags["smdeploy:baseline-config"] == v1.endpointConfigName
    assert canary_tags["smdeploy:baseline-variant"] == v1.variantName
    assert "smdeploy:rollout" not in final_tags
    assert final_tags["smdeploy:model-package-arn"] == PACKAGE.format(2)


def test_leftovers_of_an_interrupted_rollout_go_with_the_next_clean_up_and_retention_holds(
    cloud: Cloud,
) -> None:
    v1 = cloud.create("churn-prod", 1)
    v2 = cloud.promote("churn-prod", 2)  # stopped after promoting: its clean-up never ran
    operator_alarm = "smdeploy-churn-prod-errors"
    cloud.cw.put_metric_alarm(
        AlarmName=operator_alarm,
        Namespace="AWS/SageMaker",
        MetricName="Invocation5XXErrors",
        Dimensions=[{"Name": "EndpointName", "Value": "churn-prod"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    v3 = cloud.promote("churn-prod", 3)

    result = cloud.cleanup(v3)

    assert set(result["deletedConfigs"]) == {
        str(v2.canaryConfigName),
        str(v3.canaryConfigName),
        v1.endpointConfigName,
    }
    assert set(result["deletedAlarms"]) == set(canary.alarm_names(v2) + canary.alarm_names(v3))
    assert result["deletedModels"] == [v1.modelName]
    # retention: the live config and the one before it, with their models
    assert cloud.configs() == {str(v3.finalConfigName), str(v2.finalConfigName)}
    assert cloud.models() == {v2.modelName, v3.modelName}
    assert cloud.alarms() == {operator_alarm}


def test_a_recovery_after_an_aborted_rollout_removes_the_candidate_and_keeps_the_baseline(
    cloud: Cloud,
) -> None:
    v1 = cloud.create("churn-prod", 1)
    v2 = cloud.prepare("churn-prod", 2)  # stopped during the bake; converged back to v1's config

    result = cloud.cleanup(recovery(v2), "ABORTED")

    assert set(result["deletedConfigs"]) == {str(v2.canaryConfigName), str(v2.finalConfigName)}
    assert result["deletedModels"] == [v2.modelName]
    assert set(result["deletedAlarms"]) == set(canary.alarm_names(v2))
    assert cloud.configs() == {v1.endpointConfigName}
    assert cloud.models() == {v1.modelName}
    assert cloud.alarms() == set()


def test_a_recovery_after_a_promotion_keeps_the_retained_configs(cloud: Cloud) -> None:
    v1 = cloud.create("churn-prod", 1)
    v2 = cloud.promote("churn-prod", 2)  # stopped after promoting

    result = cloud.cleanup(recovery(v2), "PROMOTED")

    assert result["deletedConfigs"] == [str(v2.canaryConfigName)]
    assert result["deletedModels"] == []
    assert cloud.configs() == {v1.endpointConfigName, str(v2.finalConfigName)}
    assert cloud.models() == {v1.modelName, v2.modelName}
    assert cloud.alarms() == set()


def test_a_recovery_keeps_a_live_transitional_config_and_its_baseline(cloud: Cloud) -> None:
    v1 = cloud.create("churn-prod", 1, retain=1)
    v2 = cloud.prepare("churn-prod", 2, retain=1)
    cloud.serve("churn-prod", str(v2.canaryConfigName))  # still split when the clean-up runs

    result = cloud.cleanup(recovery(v2), "ABORTED")

    assert result["deletedConfigs"] == [str(v2.finalConfigName)]
    assert result["deletedModels"] == []
    assert cloud.configs() == {v1.endpointConfigName, str(v2.canaryConfigName)}
    assert cloud.models() == {v1.modelName, v2.modelName}


def test_a_recovery_after_converge_rebuilt_the_baseline_config_removes_the_candidate(cloud: Cloud) -> None:
    v1 = cloud.create("churn-prod", 1)
    v2 = cloud.prepare("churn-prod", 2)
    # v1's config is gone; converge rebuilt the baseline alone from the canary config, with its tags
    transitional = str(v2.canaryConfigName)
    rebuilt = converge.restore_config_name("churn-prod", transitional)
    described = cloud.sm.describe_endpoint_config(EndpointConfigName=transitional)
    cloud.sm.create_endpoint_config(
        EndpointConfigName=rebuilt,
        ProductionVariants=[v for v in described["ProductionVariants"] if v["VariantName"] == v1.variantName],
        Tags=[
            {"Key": k, "Value": v}
            for k, v in tags(cloud, transitional).items()
            if k not in converge.ROLLOUT_TAGS
        ],
    )
    cloud.sm.delete_endpoint_config(EndpointConfigName=v1.endpointConfigName)
    cloud.serve("churn-prod", rebuilt)

    result = cloud.cleanup(recovery(v2), "ABORTED")

    assert set(result["deletedConfigs"]) == {transitional, str(v2.finalConfigName)}
    assert result["deletedModels"] == [v2.modelName]
    assert cloud.configs() == {rebuilt}
    assert cloud.models() == {v1.modelName}
