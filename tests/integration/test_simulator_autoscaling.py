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


def _tracked(cloud, target: float, minimum: int = 1, maximum: int = 4, **cooldowns: int) -> ScalingGateway:  # type: ignore[no-untyped-def]
    gateway = ScalingGateway(cloud.client("application-autoscaling"))
    gateway.register(ENDPOINT, "baseline", minimum=minimum, maximum=maximum)
    tracking = {
        "TargetValue": target,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
        **cooldowns,
    }
    gateway.put_policy(
        ENDPOINT,
        "baseline",
        {
            "PolicyName": "t",
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": tracking,
        },
    )
    return gateway


def _instances(cloud) -> int:  # type: ignore[no-untyped-def]
    described = cloud.client("sagemaker").describe_endpoint(EndpointName=ENDPOINT)
    return int(described["ProductionVariants"][0]["CurrentInstanceCount"])


def test_target_tracking_scales_out_after_three_minutes_above_the_target_up_to_the_maximum() -> None:
    with cloud_with_models() as cloud:  # 600 requests a minute on 2 instances: 300 per instance
        baseline_config(cloud)
        live_endpoint(cloud)
        _tracked(cloud, target=100.0, maximum=4)
        start = cloud.scheduler.now
        cloud.run(until=start + 10 * 60)
        [activity] = cloud.scaling.activities
        assert (activity.before, activity.after) == (2, 4)  # ceil(2 x 300 / 100) = 6, capped at 4
        assert 3 * 60 <= activity.at - start <= 4 * 60 + 60
        assert _instances(cloud) == 4


def test_target_tracking_scales_in_only_after_fifteen_quiet_minutes() -> None:
    with cloud_with_models() as cloud:  # 300 per instance against a target of 1000
        baseline_config(cloud)
        live_endpoint(cloud)
        _tracked(cloud, target=1000.0, minimum=1, ScaleInCooldown=0)
        start = cloud.scheduler.now
        cloud.run(until=start + 10 * 60)
        assert cloud.scaling.activities == [] and _instances(cloud) == 2
        cloud.run(until=start + 20 * 60)
        [activity] = cloud.scaling.activities
        assert (activity.before, activity.after) == (2, 1)
        assert activity.at - start >= 15 * 60


def test_a_variant_without_a_tracking_policy_is_left_alone() -> None:
    with cloud_with_models() as cloud:
        baseline_config(cloud)
        live_endpoint(cloud)
        _register(cloud)  # registered (1-4) with no policy: the count is within range
        cloud.run(until=cloud.scheduler.now + 20 * 60)
        assert cloud.scaling.activities == [] and _instances(cloud) == 2
