"""The simulator refuses updates that would strand an autoscaled variant, as SageMaker does."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from smdeploy.adapters.autoscaling import DIMENSION, ScalingGateway, resource_id
from tests.integration.test_simulator_support import (
    ENDPOINT,
    baseline_config,
    canary_config,
    cloud_with_models,
    live_endpoint,
    variant,
)


def _register(cloud, name: str = "baseline") -> ScalingGateway:  # type: ignore[no-untyped-def]
    gateway = ScalingGateway(cloud.client("application-autoscaling"))
    gateway.register(ENDPOINT, name, minimum=1, maximum=4)
    return gateway


def test_an_update_that_removes_an_autoscaled_variant_is_refused_until_it_is_deregistered() -> None:
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud)
        sm.create_endpoint_config(
            EndpointConfigName="candidate-only", ProductionVariants=[variant("candidate", "m2")]
        )
        live_endpoint(cloud)
        gateway = _register(cloud)
        with pytest.raises(ClientError) as refused:
            sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="candidate-only")
        assert refused.value.response["Error"]["Code"] == "ValidationException"
        assert 'removes variant "baseline"' in refused.value.response["Error"]["Message"]
        assert sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] == "InService"
        assert gateway.deregister(ENDPOINT, "baseline") is True
        sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="candidate-only")
        assert sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] == "Updating"


def test_an_update_that_keeps_the_autoscaled_variant_on_its_instance_type_goes_ahead() -> None:
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud)
        canary_config(cloud)
        live_endpoint(cloud)
        _register(cloud)
        sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="canary")
        assert sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] == "Updating"


def test_an_instance_type_change_of_an_autoscaled_variant_is_refused() -> None:
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud)
        bigger = {**variant("baseline", "m1"), "InstanceType": "ml.m5.xlarge"}
        sm.create_endpoint_config(EndpointConfigName="bigger", ProductionVariants=[bigger])
        live_endpoint(cloud)
        _register(cloud)
        with pytest.raises(ClientError) as refused:
            sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="bigger")
        assert "changes the instance type of" in refused.value.response["Error"]["Message"]


def test_deregistering_a_variant_deletes_its_policies() -> None:
    with cloud_with_models() as cloud:
        gateway = _register(cloud)
        policy = {
            "PolicyName": "p",
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": 100.0,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                },
            },
        }
        gateway.put_policy(ENDPOINT, "baseline", policy)
        assert [p["PolicyName"] for p in gateway.policies_of(ENDPOINT, "baseline")] == ["p"]
        gateway.deregister(ENDPOINT, "baseline")
        assert gateway.policies_of(ENDPOINT, "baseline") == []
        assert gateway.targets_of(ENDPOINT) == {}
        assert gateway.deregister(ENDPOINT, "baseline") is False
        aas = cloud.client("application-autoscaling")
        assert (
            aas.describe_scalable_targets(
                ServiceNamespace="sagemaker",
                ResourceIds=[resource_id(ENDPOINT, "baseline")],
                ScalableDimension=DIMENSION,
            )["ScalableTargets"]
            == []
        )


def test_what_the_baseline_has_registered_is_carried_over_except_step_policies() -> None:
    from smdeploy import scaling

    with cloud_with_models() as cloud:
        gateway = _register(cloud)
        tracking = {
            "TargetValue": 150.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
            "ScaleInCooldown": 600,
        }
        gateway.put_policy(
            ENDPOINT,
            "baseline",
            {
                "PolicyName": "mine",
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingScalingPolicyConfiguration": tracking,
            },
        )
        step = {
            "AdjustmentType": "ChangeInCapacity",
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
        }
        gateway.put_policy(
            ENDPOINT,
            "baseline",
            {"PolicyName": "steps", "PolicyType": "StepScaling", "StepScalingPolicyConfiguration": step},
        )
        carried, notes = scaling.inherited(ENDPOINT, "baseline", scaling=gateway)
        assert carried is not None
        assert (carried["minCapacity"], carried["maxCapacity"]) == (1, 4)
        assert [p["PolicyName"] for p in carried["policies"]] == ["mine"]
        assert carried["policies"][0]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 150.0
        assert len(notes) == 1 and "'steps'" in notes[0] and "not carried over" in notes[0]
        assert scaling.inherited(ENDPOINT, "other", scaling=gateway) == (None, [])
