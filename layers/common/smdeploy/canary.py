"""The canary rollout steps (each called by one Task state), and the configs they build.

Config building keeps what the live config has (data capture, async inference, KMS key, tags and
every variant setting such as serverless config or accelerators): only the variant list changes.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from smdeploy import clock, scaling
from smdeploy.adapters.autoscaling import ScalingGateway
from smdeploy.adapters.cloudwatch import CloudWatchGateway
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.deploy import (
    ENDPOINT_TAG,
    MANAGED_TAG,
    config_settings,
    first_poll,
    managed_tags,
    planned_variants,
)
from smdeploy.errors import EndpointBusy
from smdeploy.models import DeploymentPlan
from smdeploy.strategy import (
    CANDIDATE_ALARM_DATAPOINTS,
    CANDIDATE_ALARM_EVALUATION_PERIODS,
    CANDIDATE_ALARM_PERIOD,
    Judgement,
    Observation,
    judge,
)

# Endpoint-config keys copied from the live config into every config the rollout builds.
KEPT_CONFIG_KEYS = (
    "DataCaptureConfig",
    "AsyncInferenceConfig",
    "KmsKeyId",
    "ExplainerConfig",
    "ShadowProductionVariants",
    "ExecutionRoleArn",
    "VpcConfig",
    "EnableNetworkIsolation",
)


def alarm_names(plan: DeploymentPlan) -> list[str]:
    """The alarms the control plane creates for the candidate variant."""
    base = f"smdeploy-{plan.endpointName}-{plan.variantName}"
    names = [f"{base}-5xx-rate"]
    if plan.rollout and plan.rollout.latencyP99Ms is not None:
        names.append(f"{base}-p99-latency")
    return names


def uses_guardrails(plan: DeploymentPlan) -> bool:
    return bool(plan.rollout and plan.rollout.guardrails)


def splits_traffic(plan: DeploymentPlan) -> bool:
    """Whether the rollout builds a two-variant config and shifts weights itself."""
    return not uses_guardrails(plan) and not (plan.rollout and plan.rollout.replaceOnly)


def serving_variant_name(plan: DeploymentPlan) -> str:
    """The candidate's variant name: its own, or the baseline's under guardrails (SageMaker requires it)."""
    return str(plan.baselineVariantName) if uses_guardrails(plan) else plan.variantName


def _alarm_definitions(plan: DeploymentPlan) -> list[dict[str, Any]]:
    assert plan.rollout is not None
    dimensions = [
        {"Name": "EndpointName", "Value": plan.endpointName},
        {"Name": "VariantName", "Value": serving_variant_name(plan)},
    ]
    if uses_guardrails(plan):
        # Old and new fleets share the variant name; during a guardrails deployment SageMaker also
        # publishes the metrics with the endpoint config, which tells the new fleet apart.
        dimensions.append({"Name": "EndpointConfigName", "Value": str(plan.finalConfigName)})
    common = {
        "Namespace": "AWS/SageMaker",
        "Dimensions": dimensions,
        "Period": CANDIDATE_ALARM_PERIOD,
        "EvaluationPeriods": CANDIDATE_ALARM_EVALUATION_PERIODS,
        "DatapointsToAlarm": CANDIDATE_ALARM_DATAPOINTS,
        "ComparisonOperator": "GreaterThanThreshold",
        # No traffic is not a breach; too little traffic is judged INCONCLUSIVE by minInvocations.
        "TreatMissingData": "notBreaching",
        "Tags": [{"Key": "smdeploy:managed", "Value": "true"}],
    }
    names = alarm_names(plan)
    where = f"{plan.variantName} on {plan.endpointName}"
    definitions = [
        {
            **common,
            "AlarmName": names[0],
            "AlarmDescription": f"smdeploy canary: 5XX error rate of {where}",
            "MetricName": "Invocation5XXErrors",
            "Statistic": "Average",
            "Threshold": plan.rollout.errorRateThreshold,
        }
    ]
    if plan.rollout.latencyP99Ms is not None:
        definitions.append(
            {
                **common,
                "AlarmName": names[1],
                "AlarmDescription": f"smdeploy canary: p99 model latency of {where}",
                "MetricName": "ModelLatency",
                "ExtendedStatistic": "p99",
                "Threshold": plan.rollout.latencyP99Ms * 1000.0,  # ModelLatency is in microseconds
            }
        )
    return definitions


def build_configs(
    plan: DeploymentPlan, live_config: dict[str, Any], live_counts: dict[str, int] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """(canary variants, candidate-only variants, kept config settings) from the live config.

    ``live_counts`` (variant -> current instance count) keeps the baseline at the size it runs at
    now, which autoscaling may have changed since its config was written; the candidate starts
    at that size too unless the plan sets its instances.
    """
    variants = {v["VariantName"]: v for v in live_config.get("ProductionVariants", [])}
    baseline = copy.deepcopy(variants[str(plan.baselineVariantName)])
    baseline["InitialVariantWeight"] = 1.0
    running = (live_counts or {}).get(str(plan.baselineVariantName))
    if running and baseline.get("InitialInstanceCount") is not None:
        baseline["InitialInstanceCount"] = running
    candidate = copy.deepcopy(baseline)
    candidate["VariantName"] = plan.variantName
    candidate["ModelName"] = plan.modelName
    if plan.serverless:
        candidate["ServerlessConfig"] = copy.deepcopy(plan.serverless)
    elif plan.instanceSettingsExplicit and "ServerlessConfig" not in candidate:
        candidate["InstanceType"] = plan.instanceType
        candidate["InitialInstanceCount"] = plan.initialInstanceCount
        if plan.autoscaling and running and running > plan.initialInstanceCount:
            # autoscaled: start the new fleet at the size the traffic needs now, not below it
            candidate["InitialInstanceCount"] = min(running, int(plan.autoscaling["maxCapacity"]))
    final = {**candidate, "InitialVariantWeight": 1.0}
    if uses_guardrails(plan):
        final["VariantName"] = plan.baselineVariantName
    finals = [final]
    if plan.variants:  # several variants: each keeps the baseline's other settings
        finals = [{**copy.deepcopy(candidate), **variant} for variant in planned_variants(plan)]
    candidate["InitialVariantWeight"] = 0.0
    # DescribeEndpointConfig may answer an unset structure as {}: keep only settings with content.
    kept = {
        key: copy.deepcopy(live_config[key])
        for key in KEPT_CONFIG_KEYS
        if live_config.get(key) not in (None, {}, [])
    }
    # The group's config says what to capture and where async results go; otherwise the live setting stays.
    kept.update(copy.deepcopy(config_settings(plan)))
    return [baseline, candidate], finals, kept


def _tags(
    gateway: SageMakerGateway, live_config: dict[str, Any], plan: DeploymentPlan
) -> list[dict[str, str]]:
    inherited = [
        t
        for t in gateway.tags_of(str(live_config["EndpointConfigArn"]))
        if not t["Key"].startswith("smdeploy:")
    ]
    return [*inherited, *managed_tags(plan)]


def prepare_canary(
    plan: DeploymentPlan, *, sagemaker: SageMakerGateway, cloudwatch: CloudWatchGateway
) -> dict[str, Any]:
    """Create the two-variant config (candidate at weight 0) and the candidate's alarms."""
    live_config = sagemaker.describe_endpoint_config(str(plan.currentEndpointConfigName))
    live = sagemaker.describe_endpoint(plan.endpointName)
    counts = {
        str(v["VariantName"]): int(v["CurrentInstanceCount"])
        for v in live.get("ProductionVariants", [])
        if v.get("CurrentInstanceCount")
    }
    canary_variants, final_variants, kept = build_configs(plan, live_config, counts)
    tags = _tags(sagemaker, live_config, plan)
    if splits_traffic(
        plan
    ):  # else SageMaker shifts (guardrails) or replaces (one variant): no two-variant config
        sagemaker.create_endpoint_config(
            name=str(plan.canaryConfigName), variants=canary_variants, tags=tags, extra=kept
        )
    sagemaker.create_endpoint_config(
        name=str(plan.finalConfigName), variants=final_variants, tags=tags, extra=kept
    )
    replace_only = bool(plan.rollout and plan.rollout.replaceOnly)
    for definition in [] if replace_only else _alarm_definitions(plan):  # no bake to judge: no alarms
        cloudwatch.put_alarm(definition)
    return {
        "canaryConfigName": plan.canaryConfigName if splits_traffic(plan) else None,
        "finalConfigName": plan.finalConfigName,
        "baselineConfigName": plan.currentEndpointConfigName,
        "baselineVariantName": plan.baselineVariantName,
        "candidateVariantName": plan.variantName,
        "alarmNames": []
        if replace_only
        else alarm_names(plan) + list(plan.rollout.alarms if plan.rollout else []),
        "createdAlarms": [] if replace_only else alarm_names(plan),
        "keptSettings": sorted(kept),
    }


def deployment_config(plan: DeploymentPlan) -> dict[str, Any]:
    """``DeploymentConfig`` of a guardrails update: the plan's policy, rolled back on the alarms."""
    assert plan.rollout is not None and plan.rollout.guardrails is not None
    alarms = [*alarm_names(plan), *plan.rollout.alarms]
    return {
        "BlueGreenUpdatePolicy": copy.deepcopy(plan.rollout.guardrails),
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in alarms]},
    }


def start_update(
    plan: DeploymentPlan,
    config_name: str,
    *,
    sagemaker: SageMakerGateway,
    autoscaling: ScalingGateway | None = None,
    guardrails: bool = False,
) -> dict[str, Any]:
    """``UpdateEndpoint`` to ``config_name`` unless it is live already; the wait loop follows.

    With ``guardrails`` the update carries the plan's blue/green ``DeploymentConfig``.

    Variants the new config removes (or moves to another instance type) are deregistered from
    autoscaling first: SageMaker refuses the update otherwise.
    """
    live = sagemaker.describe_endpoint(plan.endpointName)
    released: list[str] = []
    if live.get("EndpointConfigName") == config_name and live.get("EndpointStatus") == "InService":
        started = False
    else:
        if live.get("EndpointStatus") != "InService":
            raise EndpointBusy(
                f"endpoint {plan.endpointName!r} is {live.get('EndpointStatus')}; waiting to update"
            )
        if autoscaling is not None:
            released = scaling.release_for_update(
                plan, live, config_name, sagemaker=sagemaker, scaling=autoscaling
            )
        sagemaker.update_endpoint(
            name=plan.endpointName,
            config_name=config_name,
            deployment_config=deployment_config(plan) if guardrails else None,
        )
        started = True
    poll = first_poll(plan, config_name)
    if not started:
        poll["nextWaitSeconds"] = 0  # nothing to wait for: check at once
    return {**poll, "started": started, **({"scalingReleased": released} if released else {})}


def shift_traffic(
    plan: DeploymentPlan, step_index: int, previous: dict[str, Any] | None, *, sagemaker: SageMakerGateway
) -> dict[str, Any]:
    """Give the candidate the step's share of traffic; returns the new bake state."""
    assert plan.rollout is not None
    percent = plan.rollout.steps[step_index]
    candidate = round(percent / 100.0, 4)
    weights = {str(plan.baselineVariantName): round(1.0 - candidate, 4), plan.variantName: candidate}
    live = sagemaker.describe_endpoint(plan.endpointName)
    current = {
        v["VariantName"]: v.get("DesiredWeight", v.get("CurrentWeight")) for v in live["ProductionVariants"]
    }
    if current != weights:
        if live.get("EndpointStatus") != "InService":
            raise EndpointBusy(
                f"endpoint {plan.endpointName!r} is {live.get('EndpointStatus')}; waiting to shift"
            )
        sagemaker.update_weights(name=plan.endpointName, weights=weights)
    history = list((previous or {}).get("history", []))
    return Judgement(
        stepIndex=step_index, percent=percent, shiftedAt=clock.utcnow().isoformat(), history=history
    ).model_dump(mode="json")


def judge_candidate(
    plan: DeploymentPlan,
    canary: dict[str, Any],
    previous: dict[str, Any],
    *,
    sagemaker: SageMakerGateway,
    cloudwatch: CloudWatchGateway,
) -> dict[str, Any]:
    """One check of the bake: alarms, Model Monitor, candidate traffic; returns the decision."""
    assert plan.rollout is not None
    state = Judgement.model_validate(previous)
    live = sagemaker.describe_endpoint(plan.endpointName)
    weights = {v["VariantName"]: v for v in live.get("ProductionVariants", [])}
    candidate = weights.get(plan.variantName, {})
    applied = float(candidate.get("CurrentWeight", -1)) == round(state.percent / 100.0, 4)
    shifted_at = datetime.fromisoformat(state.shiftedAt)
    now = clock.utcnow()
    invocations, published_through = cloudwatch.published_invocations(
        plan.endpointName, plan.variantName, shifted_at, now
    )
    seen = Observation(
        endpointStatus=str(live.get("EndpointStatus")),
        weightsApplied=applied,
        alarms=cloudwatch.alarm_states(list(canary.get("alarmNames", []))),
        monitor=sagemaker.latest_monitoring_execution(plan.endpointName, shifted_at),
        candidateInvocations=invocations,
        metricsThrough=published_through.isoformat() if published_through else None,
        checkedAt=now.isoformat(),
    )
    return judge(state, seen, plan.rollout).model_dump(mode="json")


def restore_baseline_weights(plan: DeploymentPlan, *, sagemaker: SageMakerGateway) -> dict[str, Any]:
    """Rollback, first and fastest: all traffic back to the baseline variant (no new fleet)."""
    live = sagemaker.describe_endpoint(plan.endpointName)
    variants = {v["VariantName"]: v for v in live.get("ProductionVariants", [])}
    if plan.variantName not in variants:
        return {"changed": False, "why": f"candidate not in the live config {live.get('EndpointConfigName')}"}
    wanted = {str(plan.baselineVariantName): 1.0, plan.variantName: 0.0}
    desired = {
        name: float(v.get("DesiredWeight", v.get("CurrentWeight", 0.0))) for name, v in variants.items()
    }
    if all(desired.get(name) == weight for name, weight in wanted.items()):
        return {"changed": False, "why": "baseline already has all the weight"}
    if live.get("EndpointStatus") != "InService":
        raise EndpointBusy(
            f"endpoint {plan.endpointName!r} is {live.get('EndpointStatus')}; waiting to roll back"
        )
    sagemaker.update_weights(name=plan.endpointName, weights=wanted)
    return {"changed": True, "at": clock.utcnow().isoformat()}


def cleanup(
    plan: DeploymentPlan,
    canary: dict[str, Any],
    outcome: str,
    *,
    sagemaker: SageMakerGateway,
    cloudwatch: CloudWatchGateway,
) -> dict[str, Any]:
    """Delete what the rollout no longer needs; keep the last ``retainConfigs`` configs for rollback.

    Only resources the control plane made for this endpoint (tag ``smdeploy:endpoint``) are
    considered; models are deleted only when no kept config uses them.
    """
    live = sagemaker.describe_endpoint(plan.endpointName)
    live_config = str(live["EndpointConfigName"])
    # The two-variant config is never needed again; after a rollback neither is the candidate-only one.
    transient = {str(plan.canaryConfigName)} | (
        {str(plan.finalConfigName)} if outcome == "ROLLED_BACK" else set()
    )
    ours = []
    for summary in sagemaker.endpoint_configs_named(plan.endpointName[:40]):  # newest first
        config = sagemaker.find_endpoint_config(summary["EndpointConfigName"])
        if config is None:
            continue
        tags = {t["Key"]: t["Value"] for t in sagemaker.tags_of(str(config["EndpointConfigArn"]))}
        if tags.get(ENDPOINT_TAG) == plan.endpointName and tags.get(MANAGED_TAG) == "true":
            ours.append(config)
    survivors = [c for c in ours if c["EndpointConfigName"] not in transient]
    keep = {live_config, *(c["EndpointConfigName"] for c in survivors[: plan.retainConfigs])}
    kept_models = {
        v.get("ModelName")
        for c in ours
        if c["EndpointConfigName"] in keep
        for v in c.get("ProductionVariants", [])
    }
    deleted_configs, deleted_models = [], []
    for config in ours:
        name = config["EndpointConfigName"]
        if name in keep or not sagemaker.delete_endpoint_config(name):
            continue
        deleted_configs.append(name)
        for variant in config.get("ProductionVariants", []):
            model = variant.get("ModelName")
            if (
                model
                and model not in kept_models
                and model not in deleted_models
                and sagemaker.delete_model(model)
            ):
                deleted_models.append(model)
    created_alarms = alarm_names(plan)  # from the plan: a prepare step that failed half-way left no $.canary
    cloudwatch.delete_alarms(created_alarms)
    return {
        "deletedConfigs": deleted_configs,
        "deletedModels": deleted_models,
        "deletedAlarms": created_alarms,
    }
