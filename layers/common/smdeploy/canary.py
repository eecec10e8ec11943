"""The canary rollout steps (each called by one Task state), and the configs they build.

Config building keeps what the live config has (data capture, async inference, KMS key, tags and
every variant setting such as serverless config or accelerators): only the variant list changes.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime, timedelta
from typing import Any

from smdeploy import capture as capture_answers
from smdeploy import clock, monitoring, scaling, withdrawal
from smdeploy.adapters.autoscaling import ScalingGateway
from smdeploy.adapters.cloudwatch import CloudWatchGateway
from smdeploy.adapters.records import DeploymentRecords
from smdeploy.adapters.s3 import S3Gateway
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.converge import (
    BASELINE_CONFIG_TAG,
    BASELINE_VARIANT_TAG,
    KEPT_CONFIG_KEYS,
    ROLLOUT_TAG,
    SHADOW_VARIANT_TAG,
    TRANSITIONAL,
    is_transitional,
)
from smdeploy.deploy import (
    ENDPOINT_TAG,
    MANAGED_TAG,
    config_settings,
    first_poll,
    managed_tags,
    planned_variants,
)
from smdeploy.errors import EndpointBusy
from smdeploy.models import DeploymentPlan, package_label
from smdeploy.strategy import (
    BUILTIN_METRICS,
    CANDIDATE_ALARM_DATAPOINTS,
    CANDIDATE_ALARM_EVALUATION_PERIODS,
    CANDIDATE_ALARM_PERIOD,
    SHADOW_JUDGE,
    Judgement,
    Observation,
    judge,
    judge_shadow,
)

PACKAGE_ARN_TAG = "smdeploy:model-package-arn"  # set by ``managed_tags``


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
        transitional = [
            {"Key": ROLLOUT_TAG, "Value": TRANSITIONAL},
            {"Key": BASELINE_CONFIG_TAG, "Value": str(plan.currentEndpointConfigName)},
            {"Key": BASELINE_VARIANT_TAG, "Value": str(plan.baselineVariantName)},
        ]
        sagemaker.create_endpoint_config(
            name=str(plan.canaryConfigName), variants=canary_variants, tags=[*tags, *transitional], extra=kept
        )
    if plan.rollout and plan.rollout.shadow is not None:
        # The baseline answers every request; the candidate gets a copy of samplingPercent of them.
        shadow = {**copy.deepcopy(canary_variants[1]), "InitialVariantWeight": _shadow_weight(plan)}
        sagemaker.create_endpoint_config(
            name=str(plan.shadowConfigName),
            variants=[canary_variants[0]],
            tags=[
                *tags,
                {"Key": ROLLOUT_TAG, "Value": TRANSITIONAL},
                {"Key": BASELINE_CONFIG_TAG, "Value": str(plan.currentEndpointConfigName)},
                {"Key": BASELINE_VARIANT_TAG, "Value": str(plan.baselineVariantName)},
                {"Key": SHADOW_VARIANT_TAG, "Value": plan.variantName},
            ],
            extra={**kept, "ShadowProductionVariants": [shadow]},
        )
    sagemaker.create_endpoint_config(
        name=str(plan.finalConfigName), variants=final_variants, tags=tags, extra=kept
    )
    replace_only = bool(plan.rollout and plan.rollout.replaceOnly)
    for definition in [] if replace_only else _alarm_definitions(plan):  # no bake to judge: no alarms
        cloudwatch.put_alarm(definition)
    return {
        "canaryConfigName": plan.canaryConfigName if splits_traffic(plan) else None,
        "shadowConfigName": plan.shadowConfigName if plan.rollout and plan.rollout.shadow else None,
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


def _shadow_weight(plan: DeploymentPlan) -> float:
    """The shadow variant's ``InitialVariantWeight``: its share of the production variant's (weight 1)
    requests that SageMaker copies to it."""
    assert plan.rollout is not None and plan.rollout.shadow is not None
    return round(float(plan.rollout.shadow["samplingPercent"]) / 100.0, 4)


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
        poll["nextWaitSeconds"] = 1  # nothing to wait for: check at once (a timeout is at least 1 s)
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
    fallback = bake_paced_by_events(plan, sagemaker)
    rollout = plan.rollout
    return Judgement(
        stepIndex=step_index,
        percent=percent,
        shiftedAt=clock.utcnow().isoformat(),
        history=history,
        nextWaitSeconds=rollout.checkIntervalSeconds
        if fallback is None
        else min(fallback, rollout.checksPerStep * rollout.checkIntervalSeconds),
    ).model_dump(mode="json")


def bake_paced_by_events(plan: DeploymentPlan, sagemaker: SageMakerGateway) -> int | None:
    """How long a bake may wait without an event (``eventFallbackSeconds``), or None when it must
    look every ``checkIntervalSeconds``: with ``waits: polling``, and where the judge reads evidence
    no event announces: an A/B test or a statistical judge (metrics), drift as evidence
    (``monitoring``: captured data) or a Model Monitor schedule on the endpoint (its executions)."""
    rollout = plan.rollout
    if (
        plan.waits != "events"
        or rollout is None
        or rollout.experiment is not None
        or rollout.statistical is not None
        or plan.monitoring
    ):
        return None
    if sagemaker.monitoring_schedules_of(plan.endpointName):
        return None
    return max(1, plan.eventFallbackSeconds)


def judge_candidate(
    plan: DeploymentPlan,
    canary: dict[str, Any],
    previous: dict[str, Any],
    *,
    sagemaker: SageMakerGateway,
    cloudwatch: CloudWatchGateway,
    records: DeploymentRecords | None = None,
    phase: str = "bake",
    s3: S3Gateway | None = None,
    execution_arn: str | None = None,
) -> dict[str, Any]:
    """One check of the bake: approval, alarms, Model Monitor, candidate traffic; returns the decision.

    An operator's command to this execution (``smdeploy promote|abort``, kept under
    ``OPERATOR#<endpoint>`` in the deployments table) decides first, and is consumed.

    ``phase`` ``shadow``: one look at a shadow test (``strategy.judge_shadow``); with ``s3`` and data
    capture on the endpoint, how many captured requests both variants answered alike
    (``smdeploy.capture.agreement``).

    The candidate's ``ModelApprovalStatus`` is read at every check (a withdrawn approval rolls
    back); with ``plan.preempt`` so is the newest version of the group that will deploy
    (``smdeploy.withdrawal.newest_deployable``, from ``records``: the endpoint's history).
    """
    assert plan.rollout is not None
    package = sagemaker.find_model_package(plan.modelPackageArn)
    approval = str(package.get("ModelApprovalStatus")) if package is not None else None
    preempted_by = None
    if plan.preempt and approval != "Rejected":
        newer = withdrawal.newest_deployable(
            plan.modelPackageGroup,
            sagemaker=sagemaker,
            history=records.deployments_of(plan.endpointName) if records is not None else [],
            above=plan.modelPackageVersion,
        )
        preempted_by = newer[0] if newer else None
    command = (
        records.operator_command(plan.endpointName, execution_arn)
        if records is not None and execution_arn
        else None
    )
    now = clock.utcnow()
    shadow_phase = phase == "shadow"
    if shadow_phase and not previous.get("shiftedAt"):  # the first look starts the shadow's window
        previous = {"stepIndex": -1, "percent": 0.0, "shiftedAt": now.isoformat()}
    state = Judgement.model_validate(previous)
    live = sagemaker.describe_endpoint(plan.endpointName)
    if shadow_phase:
        shadows = {v["VariantName"]: v for v in live.get("ShadowProductionVariants") or []}
        applied = live.get("EndpointConfigName") == plan.shadowConfigName and plan.variantName in shadows
    else:
        weights = {v["VariantName"]: v for v in live.get("ProductionVariants", [])}
        candidate = weights.get(plan.variantName, {})
        applied = float(candidate.get("CurrentWeight", -1)) == round(state.percent / 100.0, 4)
    shifted_at = datetime.fromisoformat(state.shiftedAt)
    if applied and state.windowStart is None:
        state = state.with_(
            windowStart=comparison_window_start(shifted_at, now, waited=state.pendingChecks > 0)
        )
    window = datetime.fromisoformat(state.windowStart) if state.windowStart else None
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
        candidateApproval=approval,
        preemptedBy=preempted_by,
        experimentArms=None
        if shadow_phase or window is None
        else _experiment_arms(plan, window, now, cloudwatch),
        metricArms=None
        if window is None
        else _statistical_arms(plan, window, now, cloudwatch, shadow=shadow_phase),
        agreement=_agreement(plan, live, window, now, s3) if shadow_phase and window else None,
        drift=_drift_evidence(plan, package, live, window, now, s3) if window else None,
        operator=command,
    )
    if command is not None and records is not None and execution_arn:
        records.clear_operator_command(plan.endpointName, execution_arn)  # obeyed once
    if shadow_phase:
        return judge_shadow(state, seen, plan.rollout).model_dump(mode="json")
    return judge(state, seen, plan.rollout, event_fallback=bake_paced_by_events(plan, sagemaker)).model_dump(
        mode="json"
    )


def _agreement(
    plan: DeploymentPlan, live: dict[str, Any], start: datetime, end: datetime, s3: S3Gateway | None
) -> dict[str, int] | None:
    """Captured answers of production and shadow to the same requests, when the endpoint captures."""
    capture = live.get("DataCaptureConfig") or {}
    destination = capture.get("DestinationS3Uri")
    if s3 is None or not capture.get("EnableCapture") or not destination:
        return None
    return capture_answers.agreement(
        s3, str(destination), plan.endpointName, str(plan.baselineVariantName), plan.variantName, start, end
    )


def _drift_evidence(
    plan: DeploymentPlan,
    package: dict[str, Any] | None,
    live: dict[str, Any],
    start: datetime,
    end: datetime,
    s3: S3Gateway | None,
) -> list[dict[str, Any]] | None:
    """Drift as evidence (``monitoring.duringRollout``), from what the endpoint captured in the
    window: the candidate's predictions against the baseline's (same window, same traffic mix) and
    the candidate's inputs against its own package's baseline statistics (``smdeploy.drift``)."""
    config = plan.monitoring or {}
    capture_config = live.get("DataCaptureConfig") or {}
    destination = capture_config.get("DestinationS3Uri")
    if not config or s3 is None or not capture_config.get("EnableCapture") or not destination:
        return None
    from smdeploy import drift  # numpy and scipy: loaded only when a rollout is monitored

    during = config.get("duringRollout") or {}
    thresholds = config.get("dataQuality") or {}
    psi_threshold = float(thresholds.get("psiThreshold", 0.2))
    alpha = float(thresholds.get("ksAlpha", 0.01))
    found: list[dict[str, Any]] = []
    destination = str(destination)
    if during.get("predictions", True) and plan.baselineVariantName:
        baseline = capture_answers.answers(
            s3, destination, plan.endpointName, plan.baselineVariantName, start, end
        )
        candidate = capture_answers.answers(s3, destination, plan.endpointName, plan.variantName, start, end)
        divergence = drift.compare_samples(
            list(baseline.values()), list(candidate.values()), psi_threshold=psi_threshold, alpha=alpha
        )
        found.append(
            {
                "kind": "predictions",
                "diverged": divergence.diverged,
                "detail": f"candidate predictions against the baseline's: {divergence.describe()}",
            }
        )
    own = monitoring.baselines_of(package or {}).get("dataQuality") or {}
    statistics, constraints = own.get("statistics"), own.get("constraints")
    if during.get("inputs", True) and thresholds and statistics:
        reference = drift.parse_baseline(
            s3.read_json(statistics), s3.read_json(constraints) if constraints else None
        )
        rows = capture_answers.inputs(s3, destination, plan.endpointName, plan.variantName, start, end)
        report = drift.check_data_quality(
            reference,
            drift.parse_rows(rows, len(reference.features)),
            psi_threshold=psi_threshold,
            ks_alpha=alpha,
            features=thresholds.get("features") or "all",
            min_samples=int(thresholds.get("minSamples", 100)),
        )
        if report.sufficient:
            drifted = [f for f in report.features if f.drifted]
            detail = (
                "; ".join(
                    f"{f.name} PSI {f.psi if f.psi is not None else float('nan'):.2f}, {f.test} p "
                    f"{f.p_value if f.p_value is not None else float('nan'):.1e}"
                    for f in drifted
                )
                or "no feature beyond its thresholds"
            )
            found.append(
                {
                    "kind": "inputs",
                    "diverged": bool(drifted),
                    "detail": f"candidate inputs against its baseline over {report.samples} rows: {detail}",
                }
            )
    return found


WEIGHTS_SETTLE_SECONDS = 60  # after UpdateEndpointWeightsAndCapacities, before a comparison counts


def comparison_window_start(shifted_at: datetime, now: datetime, *, waited: bool) -> str:
    """Where the variants' comparison starts: the first whole minute once the weights apply.

    CloudWatch's minutes are whole (GetMetricData starts at a minute), and the minute of the shift
    mixes traffic at the old and the new weights: counted, it would skew the observed split (a
    sample-ratio mismatch that is not there). Weights normally apply within a minute; when a check
    had to wait for them (``waited``), the window starts at the next minute after that check.
    """
    start = now if waited else shifted_at + timedelta(seconds=WEIGHTS_SETTLE_SECONDS)
    minute = start.replace(second=0, microsecond=0)
    return (minute if minute == start else minute + timedelta(minutes=1)).isoformat()


def _arms(
    plan: DeploymentPlan,
    namespace: str,
    metric: str,
    statistic: str,
    kind: str,
    start: datetime,
    end: datetime,
    cloudwatch: CloudWatchGateway,
) -> list[dict[str, Any]]:
    """[baseline, candidate] as ``smdeploy.experiment.Arm``: a rate sums the minutes' ``Sum`` out of
    their ``SampleCount``; a mean keeps each minute's value (``ModelLatency`` in ms)."""
    variants = [str(plan.baselineVariantName), plan.variantName]
    if kind == "rate":
        series = cloudwatch.per_variant(
            namespace, metric, plan.endpointName, variants, ["Sum", "SampleCount"], start, end
        )
        return [{"samples": sum(series[v]["SampleCount"]), "total": sum(series[v]["Sum"])} for v in variants]
    stat = "Average" if statistic == "mean" else statistic
    series = cloudwatch.per_variant(namespace, metric, plan.endpointName, variants, [stat], start, end)
    scale = 1 / 1000.0 if metric == "ModelLatency" else 1.0  # ModelLatency is in microseconds
    return [
        {"samples": len(series[v][stat]), "values": [value * scale for value in series[v][stat]]}
        for v in variants
    ]


def _experiment_arms(
    plan: DeploymentPlan, start: datetime, end: datetime, cloudwatch: CloudWatchGateway
) -> dict[str, dict[str, Any]] | None:
    """An A/B test's primary metric per variant since the test began."""
    experiment = plan.rollout.experiment if plan.rollout else None
    if experiment is None:
        return None
    baseline, candidate = _arms(
        plan,
        experiment["namespace"],
        experiment["metricName"],
        experiment["statistic"],
        experiment["kind"],
        start,
        end,
        cloudwatch,
    )
    return {"baseline": baseline, "candidate": candidate}


def _statistical_arms(
    plan: DeploymentPlan,
    start: datetime,
    end: datetime,
    cloudwatch: CloudWatchGateway,
    *,
    shadow: bool = False,
) -> dict[str, list[dict[str, Any]]] | None:
    """The statistical judge's metrics per variant since the step began (a shadow test is always
    compared: with the rollout's judge, else ``strategy.SHADOW_JUDGE``)."""
    statistical = plan.rollout.statistical if plan.rollout else None
    if shadow:
        statistical = statistical or SHADOW_JUDGE
    if statistical is None:
        return None
    arms = {}
    for name in statistical["metrics"]:
        metric, statistic, kind, _goal = BUILTIN_METRICS[name]
        arms[name] = _arms(plan, "AWS/SageMaker", metric, statistic, kind, start, end, cloudwatch)
    return arms


def owned_name_prefix(endpoint: str) -> str:
    """How the names of the configs and models made for ``endpoint`` start (``plan.resource_name``).

    Other endpoints' names may start alike: their tags tell them apart.
    """
    readable = re.sub(r"-+", "-", re.sub(r"[^a-zA-Z0-9-]", "-", endpoint)).strip("-")
    return readable[:40]


def _owned_by(tags: dict[str, str], endpoint: str) -> bool:
    return tags.get(ENDPOINT_TAG) == endpoint and tags.get(MANAGED_TAG) == "true"


def _tag_map(gateway: SageMakerGateway, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in gateway.tags_of(arn)}


def _owned_configs(endpoint: str, sagemaker: SageMakerGateway) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """(config, tags) of every endpoint config made for ``endpoint``, newest first."""
    owned = []
    for summary in sagemaker.endpoint_configs_named(owned_name_prefix(endpoint)):
        config = sagemaker.find_endpoint_config(summary["EndpointConfigName"])
        if config is None:  # deleted since the listing
            continue
        tags = _tag_map(sagemaker, str(config["EndpointConfigArn"]))
        if _owned_by(tags, endpoint):
            owned.append((config, tags))
    return owned


def _abandoned_configs(
    package_arn: str, owned: list[tuple[dict[str, Any], dict[str, str]]], live_name: str | None
) -> set[str]:
    """A recovery's candidate configs: those made for the abandoned package, except the live one, and
    newer than the live config when that one is another package's (an earlier deployment of the same
    package stays a rollback target). A baseline config rebuilt by ``converge`` carries the candidate's
    tags: then every other config of the package goes."""
    live_config, live_tags = next(
        ((config, tags) for config, tags in owned if config["EndpointConfigName"] == live_name), ({}, {})
    )
    since = None if live_tags.get(PACKAGE_ARN_TAG) == package_arn else live_config.get("CreationTime")
    return {
        str(config["EndpointConfigName"])
        for config, tags in owned
        if tags.get(PACKAGE_ARN_TAG) == package_arn
        and config["EndpointConfigName"] != live_name
        and (since is None or config.get("CreationTime") is None or config["CreationTime"] > since)
    }


def _retained_configs(
    plan: DeploymentPlan,
    outcome: str,
    owned: list[tuple[dict[str, Any], dict[str, str]]],
    live_name: str | None,
) -> set[str]:
    """The live config, its baseline if it is transitional, and the newest ``retainConfigs`` stable ones.

    Transitional configs (two variants) are never stable; after an abandoned rollout neither are the
    candidate's own configs. A recovery knows them from their tags, a rollout from its plan.
    """
    by_name = {str(config["EndpointConfigName"]): (config, tags) for config, tags in owned}
    unstable = {name for name, (_c, tags) in by_name.items() if tags.get(ROLLOUT_TAG) == TRANSITIONAL}
    if plan.action != "RECOVER":
        unstable |= {str(plan.canaryConfigName)} if plan.canaryConfigName else set()
        if outcome in ABANDONED and plan.finalConfigName:
            unstable.add(str(plan.finalConfigName))
    elif outcome in ABANDONED:
        unstable |= _abandoned_configs(plan.modelPackageArn, owned, live_name)
    stable = [name for name in by_name if name not in unstable]
    keep = set(stable[: plan.retainConfigs])
    if live_name:
        keep.add(live_name)
        live_tags = by_name.get(live_name, ({}, {}))[1]
        if live_tags.get(ROLLOUT_TAG) == TRANSITIONAL and live_tags.get(BASELINE_CONFIG_TAG):
            keep.add(live_tags[BASELINE_CONFIG_TAG])  # what converging it would go back to
    return keep


def _models_used(
    names: set[str], owned: list[tuple[dict[str, Any], dict[str, str]]], sagemaker: SageMakerGateway
) -> set[str]:
    """The models the configs ``names`` serve (configs not made by the control plane included)."""
    configs = {str(config["EndpointConfigName"]): config for config, _tags in owned}
    used = set()
    for name in names:
        config = configs.get(name) or sagemaker.find_endpoint_config(name) or {}
        used |= {str(v["ModelName"]) for v in config.get("ProductionVariants", []) if v.get("ModelName")}
    return used


def _owned_models(
    endpoint: str,
    referenced: list[str],
    sagemaker: SageMakerGateway,
) -> list[str]:
    """Every model made for ``endpoint``: found by name (per-endpoint names), and those ``referenced`` by
    its configs (models named before names were per endpoint), checked by their tags."""
    found: dict[str, bool] = {}
    for summary in sagemaker.models_named(owned_name_prefix(endpoint)):
        name = str(summary["ModelName"])
        found[name] = _owned_by(_tag_map(sagemaker, str(summary["ModelArn"])), endpoint)
    for name in referenced:
        if name in found:
            continue
        model = sagemaker.find_model(name)
        found[name] = model is not None and _owned_by(_tag_map(sagemaker, str(model["ModelArn"])), endpoint)
    return [name for name, owned in found.items() if owned]


def _leftover_alarms(plan: DeploymentPlan, cloudwatch: CloudWatchGateway) -> list[str]:
    """Candidate alarms of any rollout of this endpoint (an interrupted one's too): only a running
    rollout uses them. The alarms a plan names itself are the operator's and stay."""
    theirs = set(plan.rollout.alarms) if plan.rollout else set()
    names = []
    for alarm in cloudwatch.alarms_with_prefix(f"smdeploy-{plan.endpointName}-"):
        name = str(alarm["AlarmName"])
        dimensions = {d.get("Name"): d.get("Value") for d in alarm.get("Dimensions", [])}
        if (
            dimensions.get("EndpointName") == plan.endpointName
            and name.endswith(CANDIDATE_ALARM_SUFFIXES)
            and name not in theirs
        ):
            names.append(name)
    return names


# Outcomes after which the candidate never served alone: its candidate-only config is no rollback target.
ABANDONED = frozenset({"ROLLED_BACK", "ABORTED"})
CANDIDATE_ALARM_SUFFIXES = ("-5xx-rate", "-p99-latency")  # see ``alarm_names``
DELETE_ALARMS_LIMIT = 100  # DeleteAlarms: at most 100 names per call


def cleanup(
    plan: DeploymentPlan,
    canary: dict[str, Any],
    outcome: str,
    *,
    sagemaker: SageMakerGateway,
    cloudwatch: CloudWatchGateway,
) -> dict[str, Any]:
    """Delete what the rollout no longer needs; keep the live config and the last ``retainConfigs``
    stable configs for rollback, with their models.

    Idempotent and resumable: every config and model the control plane made for this endpoint (tags
    ``smdeploy:endpoint`` and ``smdeploy:managed``) is considered, not only this rollout's, so what an
    interrupted clean-up or rollout left goes too. Models go before their configs: a model whose
    config is deleted is still found by its name. A ``RECOVER`` plan names only the endpoint, the
    package and the retention; the rest comes from the tags and the live endpoint.
    """
    endpoint = plan.endpointName
    live = sagemaker.find_endpoint(endpoint)
    live_name = str(live["EndpointConfigName"]) if live and live.get("EndpointConfigName") else None
    owned = _owned_configs(endpoint, sagemaker)
    keep = _retained_configs(plan, outcome, owned, live_name)
    kept_models = _models_used(keep, owned, sagemaker)
    doomed = [config for config, _tags in owned if config["EndpointConfigName"] not in keep]
    referenced = list(
        dict.fromkeys(
            str(v["ModelName"])
            for config in doomed
            for v in config.get("ProductionVariants", [])
            if v.get("ModelName")
        )
    )
    deleted_models = [
        name
        for name in _owned_models(endpoint, referenced, sagemaker)
        if name not in kept_models and sagemaker.delete_model(name)
    ]
    deleted_configs = [
        str(config["EndpointConfigName"])
        for config in doomed
        if sagemaker.delete_endpoint_config(str(config["EndpointConfigName"]))
    ]
    # From the plan too: a prepare step that failed half-way left no $.canary. A recovery's plan
    # names no candidate variant of its own: its alarms are found by name and dimension.
    alarms = [] if plan.action == "RECOVER" else alarm_names(plan)
    alarms += [name for name in _leftover_alarms(plan, cloudwatch) if name not in alarms]
    for start in range(0, len(alarms), DELETE_ALARMS_LIMIT):
        cloudwatch.delete_alarms(alarms[start : start + DELETE_ALARMS_LIMIT])
    return {
        "deletedConfigs": deleted_configs,
        "deletedModels": deleted_models,
        "deletedAlarms": alarms,
        "keptConfigs": sorted(keep),
    }


def reuse_retained_config(plan: DeploymentPlan, *, sagemaker: SageMakerGateway) -> DeploymentPlan:
    """``replace`` (an operator's rollback): when the endpoint still retains a config that served
    this version alone, and its model is still there, the update goes back to that config as it
    was (its instance settings, capture, variant), creating no model and no config."""
    prefix = f"{plan.endpointName}-v{plan.modelPackageVersion}-"
    for summary in sagemaker.endpoint_configs_named(prefix):
        name = str(summary["EndpointConfigName"])
        config = sagemaker.find_endpoint_config(name)
        if config is None or name == plan.currentEndpointConfigName:
            continue
        tags = {t["Key"]: t["Value"] for t in sagemaker.tags_of(str(config["EndpointConfigArn"]))}
        variants = config.get("ProductionVariants") or []
        if (
            tags.get(PACKAGE_ARN_TAG) != plan.modelPackageArn
            or is_transitional(tags)
            or len(variants) != 1
            or config.get("ShadowProductionVariants")
            or sagemaker.find_model(str(variants[0].get("ModelName"))) is None
        ):
            continue
        variant = variants[0]
        return plan.model_copy(
            update={
                "finalConfigName": name,
                "modelName": variant["ModelName"],
                "variantName": variant["VariantName"],
                "instanceType": variant.get("InstanceType") or plan.instanceType,
                "initialInstanceCount": int(variant.get("InitialInstanceCount") or plan.initialInstanceCount),
                "notes": [
                    *plan.notes,
                    f"replace: back to the retained endpoint config {name} as it served "
                    f"{package_label(plan.modelPackageArn)} (no new model or config)",
                ],
            }
        )
    return plan
