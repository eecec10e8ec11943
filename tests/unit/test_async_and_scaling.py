"""Asynchronous endpoints and autoscaling: what the group config asks for, and what it may not."""

from __future__ import annotations

from typing import Any

import pytest

from smdeploy.errors import InvalidRequest
from smdeploy.models import AsyncInference
from smdeploy.plan import parse_group_config
from smdeploy.scaling import BACKLOG_POLICY, INVOCATIONS_POLICY
from tests.unit.test_plan import BASELINE, LIVE, SSM
from tests.unit.test_serverless import SERVERLESS, plan_for

ASYNC = {
    "outputPath": "s3://results/churn/",
    "failurePath": "s3://results/churn-failed/",
    "successTopic": "arn:aws:sns:us-east-1:123456789012:done",
    "errorTopic": "arn:aws:sns:us-east-1:123456789012:failed",
    "maxConcurrentInvocationsPerInstance": 4,
}


def test_async_settings_become_the_async_inference_config() -> None:
    assert AsyncInference.model_validate(ASYNC).api() == {
        "OutputConfig": {
            "S3OutputPath": "s3://results/churn/",
            "S3FailurePath": "s3://results/churn-failed/",
            "NotificationConfig": {
                "SuccessTopic": "arn:aws:sns:us-east-1:123456789012:done",
                "ErrorTopic": "arn:aws:sns:us-east-1:123456789012:failed",
            },
        },
        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4},
    }
    only_output = AsyncInference(outputPath="s3://results/x/").api()
    assert only_output == {"OutputConfig": {"S3OutputPath": "s3://results/x/"}}


def test_an_async_group_plans_its_config_on_a_first_deploy() -> None:
    plan = plan_for({"endpoint": "churn-prod", "asyncInference": ASYNC})
    assert plan.asyncInference is not None
    assert plan.asyncInference["OutputConfig"]["S3OutputPath"] == "s3://results/churn/"
    assert plan.notes == []


def test_an_async_canary_says_it_judges_without_invocation_counts() -> None:
    plan = plan_for(
        {"endpoint": "churn-prod", "asyncInference": ASYNC, "strategy": {"minInvocations": 50}},
        live=LIVE,
        variants=BASELINE,
    )
    assert plan.rollout is not None and plan.rollout.minInvocations == 0
    assert len(plan.notes) == 1 and "minInvocations 50 -> 0" in plan.notes[0]


@pytest.mark.parametrize(
    ("config", "field", "words"),
    [
        (
            {"asyncInference": {"failurePath": "s3://results/f/"}},
            "asyncInference.outputPath",
            "Field required",
        ),
        ({"asyncInference": {"outputPath": "results/churn"}}, "asyncInference.outputPath", "pattern"),
        ({"asyncInference": {**ASYNC, "successTopic": "done"}}, "asyncInference.successTopic", "pattern"),
        ({"asyncInference": ASYNC, "serverless": SERVERLESS}, "", "serverless or asynchronous, not both"),
        ({"autoscaling": {"minCapacity": 0, "maxCapacity": 2}}, "", "needs an asynchronous endpoint"),
        ({"autoscaling": {"minCapacity": 3, "maxCapacity": 2}}, "", "cannot exceed maxCapacity"),
        (
            {"autoscaling": {"minCapacity": 1, "maxCapacity": 2, "targetBacklogPerInstance": 3}},
            "",
            "asynchronous",
        ),
        (
            {
                "asyncInference": ASYNC,
                "autoscaling": {"minCapacity": 0, "maxCapacity": 2, "targetInvocationsPerInstance": 9},
            },
            "",
            "use targetBacklogPerInstance",
        ),
        (
            {"serverless": SERVERLESS, "autoscaling": {"minCapacity": 1, "maxCapacity": 2}},
            "",
            "scale on their own",
        ),
    ],
)
def test_contradictory_async_and_scaling_settings_are_invalid(
    config: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_group_config({"endpoint": "churn-prod", **config}, SSM)
    assert caught.value.field.startswith(SSM)
    if field:
        assert caught.value.field == f"{SSM}.{field}"
    assert words in str(caught.value)


def test_real_time_autoscaling_tracks_invocations_per_instance() -> None:
    plan = plan_for(
        {
            "endpoint": "churn-prod",
            "autoscaling": {"minCapacity": 2, "maxCapacity": 6, "targetInvocationsPerInstance": 200},
        }
    )
    assert plan.autoscaling is not None
    assert (plan.autoscaling["minCapacity"], plan.autoscaling["maxCapacity"]) == (2, 6)
    [policy] = plan.autoscaling["policies"]
    assert policy["PolicyName"] == INVOCATIONS_POLICY
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 200
    assert (
        tracking["PredefinedMetricSpecification"]["PredefinedMetricType"]
        == "SageMakerVariantInvocationsPerInstance"
    )
    assert plan.autoscaling["scaleOutFromZero"] is False


def test_async_autoscaling_tracks_the_backlog_and_may_scale_to_zero() -> None:
    plan = plan_for(
        {
            "endpoint": "churn-prod",
            "asyncInference": ASYNC,
            "autoscaling": {"minCapacity": 0, "maxCapacity": 3, "targetBacklogPerInstance": 5},
        }
    )
    assert plan.autoscaling is not None
    [policy] = plan.autoscaling["policies"]
    assert policy["PolicyName"] == BACKLOG_POLICY
    metric = policy["TargetTrackingScalingPolicyConfiguration"]["CustomizedMetricSpecification"]
    assert metric["MetricName"] == "ApproximateBacklogSizePerInstance"
    assert metric["Dimensions"] == [{"Name": "EndpointName", "Value": "churn-prod"}]
    assert plan.autoscaling["scaleOutFromZero"] is True
