"""Autoscaling of the serving variant: what to register, and the steps around endpoint updates.

SageMaker refuses an ``UpdateEndpoint`` that removes an autoscaled variant or changes its
instance type, so the update step deregisters such variants first (AWS deletes their policies
with them) and the deployment registers the variant that serves at the end, whichever way it
ended: the group's ``autoscaling`` config, or else what the baseline variant had.
"""

from __future__ import annotations

from typing import Any

from smdeploy.adapters.autoscaling import ScalingGateway
from smdeploy.adapters.cloudwatch import CloudWatchGateway
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.models import Autoscaling, DeploymentPlan

INVOCATIONS_POLICY = "smdeploy-invocations-per-instance"
BACKLOG_POLICY = "smdeploy-backlog-per-instance"
FROM_ZERO_POLICY = "smdeploy-scale-out-from-zero"
DEFAULT_INVOCATIONS_TARGET = 70.0
DEFAULT_BACKLOG_TARGET = 5.0


def from_zero_alarm(endpoint: str) -> str:
    return f"smdeploy-{endpoint}-scale-out-from-zero"


def scaling_plan(config: Autoscaling, endpoint: str, *, is_async: bool, source: str) -> dict[str, Any]:
    """The registration a group's ``autoscaling`` config asks for (pure)."""
    cooldowns = {
        "ScaleInCooldown": config.scaleInCooldownSeconds,
        "ScaleOutCooldown": config.scaleOutCooldownSeconds,
    }
    if is_async:
        tracking: dict[str, Any] = {
            "TargetValue": config.targetBacklogPerInstance or DEFAULT_BACKLOG_TARGET,
            "CustomizedMetricSpecification": {
                "MetricName": "ApproximateBacklogSizePerInstance",
                "Namespace": "AWS/SageMaker",
                "Dimensions": [{"Name": "EndpointName", "Value": endpoint}],
                "Statistic": "Average",
            },
            **cooldowns,
        }
        name = BACKLOG_POLICY
    else:
        tracking = {
            "TargetValue": config.targetInvocationsPerInstance or DEFAULT_INVOCATIONS_TARGET,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
            **cooldowns,
        }
        name = INVOCATIONS_POLICY
    return {
        "minCapacity": config.minCapacity,
        "maxCapacity": config.maxCapacity,
        "policies": [
            {
                "PolicyName": name,
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingScalingPolicyConfiguration": tracking,
            }
        ],
        "scaleOutFromZero": config.minCapacity == 0,
        "scaleOutCooldown": config.scaleOutCooldownSeconds,
        "source": source,
    }


def inherited(
    endpoint: str, variant: str | None, *, scaling: ScalingGateway
) -> tuple[dict[str, Any] | None, list[str]]:
    """What the serving variant has registered now, to carry over to the variant that replaces it.

    Returns ``(registration or None, notes)``; step scaling policies are not carried over (their
    alarms name the old policy), and a note says so.
    """
    if not variant:
        return None, []
    target = scaling.targets_of(endpoint, [variant]).get(variant)
    if target is None:
        return None, []
    policies, notes = [], []
    for policy in scaling.policies_of(endpoint, variant):
        if policy.get("PolicyType") == "TargetTrackingScaling":
            tracking = {
                k: v
                for k, v in dict(policy.get("TargetTrackingScalingPolicyConfiguration") or {}).items()
                if k != "Alarms"
            }
            policies.append(
                {
                    "PolicyName": policy["PolicyName"],
                    "PolicyType": "TargetTrackingScaling",
                    "TargetTrackingScalingPolicyConfiguration": tracking,
                }
            )
        else:
            notes.append(
                f"autoscaling: {policy.get('PolicyType')} policy {policy.get('PolicyName')!r} of variant "
                f"{variant!r} is not carried over (its alarms name the old policy); set 'autoscaling' "
                "in the group config to manage scaling here"
            )
    registration = {
        "minCapacity": int(target.get("MinCapacity", 1)),
        "maxCapacity": int(target.get("MaxCapacity", 1)),
        "policies": policies,
        "scaleOutFromZero": False,
        "source": f"variant {variant} as registered before this deployment",
    }
    return registration, notes


def release_for_update(
    plan: DeploymentPlan,
    live: dict[str, Any],
    config_name: str,
    *,
    sagemaker: SageMakerGateway,
    scaling: ScalingGateway,
) -> list[str]:
    """Deregister the variants ``config_name`` removes or moves to another instance type.

    ``live`` is the endpoint as just described: only its variants can be in the way.
    """
    variants = [str(v["VariantName"]) for v in live.get("ProductionVariants", [])]
    registered = scaling.targets_of(plan.endpointName, variants)
    if not registered:
        return []
    now = _instance_types(sagemaker.describe_endpoint_config(str(live["EndpointConfigName"])))
    then = _instance_types(sagemaker.describe_endpoint_config(config_name))
    released = []
    for variant in sorted(registered):
        if variant not in then or then[variant] != now.get(variant):
            scaling.deregister(plan.endpointName, variant)
            released.append(variant)
    return released


def _instance_types(config: dict[str, Any]) -> dict[str, str | None]:
    return {str(v["VariantName"]): v.get("InstanceType") for v in config.get("ProductionVariants", [])}


def apply(
    plan: DeploymentPlan,
    *,
    sagemaker: SageMakerGateway,
    scaling: ScalingGateway,
    cloudwatch: CloudWatchGateway,
) -> dict[str, Any]:
    """Register the plan's autoscaling on the variants that serve now; drop stale registrations."""
    live = sagemaker.describe_endpoint(plan.endpointName)
    serving = [
        str(v["VariantName"])
        for v in live.get("ProductionVariants", [])
        if v.get("CurrentInstanceCount") is not None or v.get("DesiredInstanceCount") is not None
    ]
    stale = [v for v in sorted(scaling.targets_of(plan.endpointName)) if v not in serving]
    for variant in stale:
        scaling.deregister(plan.endpointName, variant)
    # the group's several variants may each bring their own, by position (the configs keep the order)
    own = [v.get("autoscaling") for v in plan.variants or []]
    per_variant = {
        name: (own[i] if i < len(own) and own[i] else plan.autoscaling) for i, name in enumerate(serving)
    }
    registrations = [w for w in per_variant.values() if w]
    from_zero = any(w.get("scaleOutFromZero") for w in registrations)
    if (stale or registrations) and not from_zero:
        cloudwatch.delete_alarms([from_zero_alarm(plan.endpointName)])  # a scale-to-zero setting dropped
    if not registrations:
        return {"registered": [], "deregistered": stale}
    policies: list[str] = []
    ranges: dict[str, list[int]] = {}
    for variant in serving:
        wanted = per_variant[variant]
        if not wanted:
            continue
        ranges[variant] = [int(wanted["minCapacity"]), int(wanted["maxCapacity"])]
        scaling.register(
            plan.endpointName, variant, minimum=int(wanted["minCapacity"]), maximum=int(wanted["maxCapacity"])
        )
        for policy in wanted.get("policies", []):
            scaling.put_policy(plan.endpointName, variant, policy)
            policies.append(policy["PolicyName"])
        if wanted.get("scaleOutFromZero"):
            arn = scaling.put_policy(plan.endpointName, variant, _from_zero_policy(wanted))
            cloudwatch.put_alarm(_from_zero_alarm_definition(plan.endpointName, arn))
            policies.append(FROM_ZERO_POLICY)
    return {
        "registered": list(ranges),
        "deregistered": stale,
        "ranges": ranges,
        "policies": policies,
        "sources": sorted({str(w.get("source")) for w in registrations}),
    }


def _from_zero_policy(wanted: dict[str, Any]) -> dict[str, Any]:
    """One instance as soon as requests wait with no instance to take them (AWS's documented way)."""
    return {
        "PolicyName": FROM_ZERO_POLICY,
        "PolicyType": "StepScaling",
        "StepScalingPolicyConfiguration": {
            "AdjustmentType": "ChangeInCapacity",
            "MetricAggregationType": "Average",
            "Cooldown": int(wanted.get("scaleOutCooldown", 300)),
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
        },
    }


def _from_zero_alarm_definition(endpoint: str, policy_arn: str) -> dict[str, Any]:
    return {
        "AlarmName": from_zero_alarm(endpoint),
        "AlarmDescription": f"smdeploy: requests wait on {endpoint} with no instance to serve them",
        "Namespace": "AWS/SageMaker",
        "MetricName": "HasBacklogWithoutCapacity",
        "Dimensions": [{"Name": "EndpointName", "Value": endpoint}],
        "Statistic": "Average",
        "Period": 60,
        "EvaluationPeriods": 2,
        "DatapointsToAlarm": 2,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "missing",
        "AlarmActions": [policy_arn],
        "Tags": [{"Key": "smdeploy:managed", "Value": "true"}],
    }
