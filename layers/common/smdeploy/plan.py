"""Build the deployment plan from the layers of configuration (pure: no AWS calls here).

Later layers win: template defaults < group config (SSM JSON) < the package's allow-listed
``CustomerMetadataProperties`` < the manual input.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any

from pydantic import ValidationError

from smdeploy import monitoring
from smdeploy.buckets import RoleBuckets, check_artifacts, check_group_locations, check_location
from smdeploy.errors import EndpointBusy, InvalidRequest
from smdeploy.events import first_error
from smdeploy.instances import is_realtime_instance
from smdeploy.models import (
    MODEL_PACKAGE_ARN_RE,
    DeploymentPlan,
    DeployRequest,
    GroupConfig,
    package_label,
    role_account,
    role_name,
    validate_endpoint_name,
    validate_instance_type,
)
from smdeploy.scaling import scaling_plan
from smdeploy.strategy import (
    HISTORY_EVENT_LIMIT,
    MAX_PENDING_CHECKS,
    METRIC_PUBLISH_DELAY_SECONDS,
    RolloutPlan,
    StrategyConfig,
    candidate_alarm_window_seconds,
    merge_strategy,
    resolve_rollout,
    worst_case_history_events,
)

METADATA_PREFIX = "smdeploy:"
# CustomerMetadataProperties keys a package may set, and the plan field each one sets.
METADATA_KEYS = {
    "smdeploy:instanceType": "instanceType",
    "smdeploy:initialInstanceCount": "initialInstanceCount",
    "smdeploy:strategy": "strategy",  # a JSON object of strategy keys
}
DEFAULT_RETAIN_CONFIGS = 2
NAME_LIMIT = 63


def parse_package_arn(arn: str, field: str = "modelPackageArn") -> tuple[str, str, str, int]:
    """(region, account, group, version) of a versioned model package ARN."""
    match = MODEL_PACKAGE_ARN_RE.fullmatch(arn)  # fullmatch: `$` alone allows a trailing newline
    if not match:
        raise InvalidRequest(
            field, f"{arn!r} is not a versioned model package ARN (…:model-package/GROUP/VERSION)"
        )
    return match["region"], match["account"], match["group"], int(match["version"])


def resource_name(*parts: str, salt: str) -> str:
    """A deterministic SageMaker resource name of at most 63 characters.

    Readable parts first, then 8 hex characters of a hash of ``salt`` so that distinct inputs
    never collide even when the readable part is cut.
    """
    digest = hashlib.sha256(salt.encode()).hexdigest()[:8]
    readable = "-".join(re.sub(r"[^a-zA-Z0-9-]", "-", p) for p in parts if p)
    readable = re.sub(r"-+", "-", readable).strip("-")[: NAME_LIMIT - len(digest) - 1].rstrip("-")
    return f"{readable}-{digest}" if readable else digest


def model_name(endpoint: str, group: str, version: int, arn: str) -> str:
    """The SageMaker model of a package on one endpoint: named per endpoint, so that a clean-up on
    one endpoint never deletes what another serves (and whether a version was ever deployed to an
    endpoint can be told by name)."""
    return resource_name(endpoint, group, f"v{version}", salt=f"{endpoint}|{arn}")


def metadata_overrides(properties: dict[str, str]) -> dict[str, Any]:
    """The plan fields a package's ``CustomerMetadataProperties`` set (allow-listed keys only)."""
    overrides: dict[str, Any] = {}
    for key, value in properties.items():
        if not key.startswith(METADATA_PREFIX):
            continue  # the package owner's own metadata
        field = f"CustomerMetadataProperties.{key}"
        if key not in METADATA_KEYS:
            allowed = ", ".join(sorted(METADATA_KEYS))
            raise InvalidRequest(field, f"unknown key; allowed keys are {allowed}")
        target = METADATA_KEYS[key]
        if target == "strategy":
            overrides[target] = _strategy_overrides(value, field)
        elif target == "initialInstanceCount":
            if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 100:
                raise InvalidRequest(field, f"expected a whole number from 1 to 100, got {value!r}")
            overrides[target] = int(value)
        else:
            try:
                overrides[target] = validate_instance_type(value)
            except ValueError as exc:
                raise InvalidRequest(field, str(exc)) from exc
    return overrides


def _strategy_overrides(text: str, field: str) -> dict[str, Any]:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(field, f"expected a JSON object of strategy keys ({exc.msg})") from exc
    try:
        return StrategyConfig.model_validate(raw).model_dump(exclude_unset=True)
    except ValidationError as exc:
        raise first_error(exc, field, empty="") from exc


def resolve_strategy(layers: list[dict[str, Any] | None]) -> RolloutPlan:
    """Merge the strategy layers (later wins, key by key) and check the result."""
    merged = merge_strategy(*layers)
    try:
        rollout = resolve_rollout(StrategyConfig.model_validate(merged))
    except ValidationError as exc:
        raise first_error(exc, "strategy", empty="") from exc
    events = worst_case_history_events(rollout)
    if rollout.guardrails is None and events > HISTORY_EVENT_LIMIT:
        raise InvalidRequest(
            "strategy",
            f"{len(rollout.steps)} steps of up to {rollout.checksPerStep} checks (plus extensions) may take "
            f"{events:,} history events, over Step Functions' {HISTORY_EVENT_LIMIT:,} per execution: use "
            "fewer steps, a shorter bakeMinutes or a longer checkIntervalSeconds",
        )
    return rollout


def check_bake_window(rollout: RolloutPlan, windows: list[tuple[str, int | None]]) -> None:
    """A bake must outlast the evaluation window of every alarm that judges it.

    ``windows``: (which alarm, its window in seconds, see ``alarm_window_seconds``; ``None``: no
    period of its own). A shorter bake could promote a candidate before its alarm can fire.
    """
    for label, window in windows:
        if window is None or rollout.bakeSeconds >= window:
            continue
        minimum = math.ceil(window / 6) / 10  # minutes, rounded up to a tenth
        raise InvalidRequest(
            "strategy.bakeMinutes",
            f"a bake of {rollout.bakeSeconds / 60:g} min is shorter than the evaluation window of {label} "
            f"({window} s: datapoints to alarm x period + {METRIC_PUBLISH_DELAY_SECONDS} s CloudWatch "
            f"publishing delay), so the candidate could pass before the alarm can fire; "
            f"bakeMinutes must be at least {minimum:g}",
        )


def parse_group_config(raw: Any, where: str) -> GroupConfig:
    try:
        return GroupConfig.model_validate(raw)
    except ValidationError as exc:
        raise first_error(exc, where, empty="value") from exc


def build_plan(
    request: DeployRequest,
    *,
    package: dict[str, Any],
    group_config: GroupConfig | None,
    group_config_source: str,
    defaults: dict[str, Any],
    live_endpoint: dict[str, Any] | None,
    live_variants: list[dict[str, Any]] | None = None,
    role_buckets: RoleBuckets | None = None,
    require_approved: bool = True,
) -> DeploymentPlan:
    """Merge the configuration layers and check that SageMaker could accept the result.

    ``package`` is the DescribeModelPackage answer; ``live_endpoint`` the DescribeEndpoint answer
    of the target endpoint, or ``None`` when it does not exist; ``live_variants`` what each of
    its variants serves (``VariantName``, ``ModelName``, ``ModelPackageArn``, ``CurrentWeight``).
    ``role_buckets``: what the model execution role may read and write; the package's artifacts
    and the group's S3 locations must lie there (unchecked when ``None``).
    ``require_approved=False``: a withdrawal that knows no version to restore yet plans on the
    withdrawn (Rejected) package only to name its endpoint; such a plan never deploys it
    (``smdeploy.withdrawal.settle``).

    The lock: ``lockLeaseSeconds`` is the longest run the plan's strategy allows
    (:func:`lease_seconds`) and ``lockWaitSeconds`` at least that (never below the configured
    wait): waiting behind a rollout as long as this one's never fails.
    """
    _region, account, group, version = parse_package_arn(request.modelPackageArn)
    own_account = defaults.get("accountId")
    if own_account and account != own_account:
        allowed = group_config.allowedAccounts if group_config is not None else []
        if account not in allowed:
            raise InvalidRequest(
                "modelPackageArn",
                f"the package belongs to account {account}; list it in 'allowedAccounts' of "
                f"{group_config_source} to deploy packages from that account",
            )
    approval = package.get("ModelApprovalStatus")
    if approval != "Approved" and require_approved:
        raise InvalidRequest("modelPackageArn", f"the package is {approval!r}; only Approved packages deploy")
    status = package.get("ModelPackageStatus")
    if status != "Completed":
        raise InvalidRequest("modelPackageArn", f"the package status is {status!r}, not 'Completed'")
    if role_buckets is not None:
        check_artifacts(package, role_buckets, label=package_label(request.modelPackageArn))
        if group_config is not None:
            check_group_locations(group_config, role_buckets, source=group_config_source)

    merged: dict[str, Any] = dict(defaults)
    sources = ["template defaults"]
    strategy_layers: list[dict[str, Any] | None] = []
    explicit_instances = False
    if group_config is not None:
        layer = group_config.model_dump(
            exclude_none=True,
            exclude={
                "strategy",
                "allowedAccounts",
                "dataCapture",
                "serverless",
                "asyncInference",
                "autoscaling",
                "multiModel",
                "variants",
                "containerMode",
                "preempt",
                "monitoring",
                "stages",
                "waits",
                "eventFallbackSeconds",
            },
        )
        merged.update(layer)
        strategy_layers.append(
            group_config.strategy.model_dump(exclude_unset=True) if group_config.strategy else None
        )
        explicit_instances |= bool({"instanceType", "initialInstanceCount"} & set(layer))
        sources.append(group_config_source)
    from_metadata = metadata_overrides(package.get("CustomerMetadataProperties") or {})
    if from_metadata:
        strategy_layers.append(from_metadata.pop("strategy", None))
        merged.update(from_metadata)
        explicit_instances |= bool({"instanceType", "initialInstanceCount"} & set(from_metadata))
        sources.append("package CustomerMetadataProperties")
    if request.overrides:
        overrides = dict(request.overrides)
        strategy_layers.append(overrides.pop("strategy", None))
        overrides.pop("createEndpoint", None)  # checked by resolve_plan, not a plan setting
        overrides.pop("throughStages", None)  # read below (stages_of), not a plan setting
        merged.update({("endpoint" if k == "endpointName" else k): v for k, v in overrides.items()})
        explicit_instances |= bool({"instanceType", "initialInstanceCount"} & set(overrides))
        sources.append("manual input")
    rollout = resolve_strategy(strategy_layers)
    serverless = group_config.serverless.api() if group_config and group_config.serverless else None
    variant_specs = group_config.variants if group_config is not None else None
    if variant_specs and explicit_instances:
        raise InvalidRequest(
            "instanceType",
            f"{group_config_source} serves several variants with their own instance settings; "
            "change them there, not per deployment",
        )
    if serverless and explicit_instances:
        raise InvalidRequest(
            "instanceType",
            f"{group_config_source} deploys serverless endpoints, which take no instance settings",
        )

    stage, next_stage = stages_of(group_config, merged.get("endpoint"))
    through = request.source == "approval" or bool(request.overrides.get("throughStages"))
    if request.withdrawn is not None or not through:
        next_stage = None  # a withdrawal or a manual deployment stops at its own stage
    if stage is not None:
        merged["endpoint"] = stage["endpoint"]
    waits = (group_config.waits if group_config else None) or "polling"
    waits_note: str | None = None
    if stage is not None and stage.get("roleArn"):
        check_stage_role(stage, defaults, group_config_source)
        if waits == "events":
            # The stage account's SageMaker and CloudWatch events go to its own default bus.
            waits = "polling"
            waits_note = (
                f"waits: polling on {stage['endpoint']}: its events stay on account "
                f"{role_account(stage['roleArn'])}'s bus"
            )
    endpoint = merged.get("endpoint")
    if not endpoint:
        raise InvalidRequest(
            "endpointName",
            f"no endpoint configured for model package group {group!r}: "
            f"set 'endpoint' in {group_config_source} or pass endpointName",
        )
    try:
        validate_endpoint_name(endpoint)
    except ValueError as exc:
        raise InvalidRequest("endpointName", str(exc)) from exc

    poll_seconds = int(merged["pollSeconds"])
    timeout = int(merged["deployTimeoutSeconds"])
    arn = request.modelPackageArn
    first_check = min(int(merged.get("firstCheckSeconds", poll_seconds)), timeout)
    update = _update_fields(
        endpoint, arn, version, live_endpoint, live_variants or [], several=bool(variant_specs)
    )
    live_serverless = {
        bool(v.get("Serverless")) for v in live_variants or [] if float(v.get("CurrentWeight") or 0) > 0
    }
    if update["action"] == "UPDATE" and live_serverless and live_serverless != {bool(serverless)}:
        kind = "serverless" if True in live_serverless else "instance-based"
        raise InvalidRequest(
            "serverless",
            f"endpoint {endpoint!r} is {kind}; a rollout cannot mix serverless and instance variants "
            "(deploy to a new endpoint instead)",
        )
    max_polls = 1 + max(0, math.ceil((timeout - first_check) / poll_seconds))
    if rollout.guardrails is not None:
        rollout = _guardrails_rollout(rollout, timeout, serverless=bool(serverless), merged=merged)
        budget = int(rollout.guardrails["MaximumExecutionTimeoutInSeconds"])  # type: ignore[index]
        if update["action"] == "UPDATE":
            # SageMaker watches the alarms and rolls back by itself: checking every few minutes
            # is enough, and every check is three state transitions.
            poll_seconds = max(poll_seconds, GUARDRAILS_POLL_SECONDS)
            max_polls = 1 + max(0, math.ceil((budget + timeout - first_check) / poll_seconds))
    notes: list[str] = [waits_note] if waits_note else []
    hosting = _hosting(
        package, group_config, group_config_source, group, version, serverless=bool(serverless)
    )
    notes.extend(hosting.pop("notes"))
    if hosting["isMultiModel"] and update["action"] in ("UPDATE", "SKIP"):
        update = {"action": "ADD_MODEL", "baselineVariantName": update.get("baselineVariantName")}
        target = hosting["multiModel"]
        notes.append(
            f"multi-model endpoint: {target['targetModel']} is added under {target['artifactPrefix']} "
            "beside the models already there, with no endpoint update and no traffic shifting "
            "(the strategy does not apply); a smoke invocation with TargetModel checks it"
        )
    if (
        update["action"] == "UPDATE"
        and rollout.shadow is not None
        and (variant_specs or serverless or rollout.guardrails is not None)
    ):
        kind = "several production variants" if variant_specs else "a serverless endpoint"
        raise InvalidRequest(
            "strategy.type",
            "a shadow test copies one production variant's requests to one shadow variant; "
            f"{kind} cannot host it",
        )
    if (
        update["action"] == "UPDATE"
        and (rollout.experiment or rollout.statistical)
        and (
            variant_specs
            or serverless
            or (group_config is not None and group_config.asyncInference is not None)
        )
    ):
        what = "an A/B test" if rollout.experiment else "a statistical judge"
        kind = (
            "several variants"
            if variant_specs
            else "a serverless endpoint"
            if serverless
            else "an asynchronous endpoint (no per-variant Invocations)"
        )
        raise InvalidRequest(
            "strategy.type" if rollout.experiment else "strategy.judge",
            f"{what} compares two variants that split the traffic; {kind} cannot",
        )
    if variant_specs and update["action"] == "UPDATE" and not rollout.replaceOnly:
        notes.append(
            f"strategy {rollout.type} -> one blue/green UpdateEndpoint: the group serves "
            f"{len(variant_specs)} production variants, and weight shifting moves one variant's traffic; "
            "every variant is replaced at once and SageMaker keeps the old ones serving until the new "
            "are healthy"
        )
        rollout = rollout.model_copy(update={"replaceOnly": True, "steps": [100.0]})
    if serverless and update["action"] == "UPDATE":
        notes.append(
            f"strategy {rollout.type} -> one blue/green UpdateEndpoint: a serverless endpoint hosts a single "
            "production variant, so traffic cannot be split by weights; SageMaker keeps the old variant "
            "serving until the new one is healthy and smdeploy rolls back if the update fails"
        )
        rollout = rollout.model_copy(update={"replaceOnly": True, "steps": [100.0]})
    async_config = group_config.asyncInference if group_config else None
    if async_config is not None and rollout.minInvocations > 0 and update["action"] == "UPDATE":
        notes.append(
            f"strategy.minInvocations {rollout.minInvocations} -> 0: asynchronous endpoints publish no "
            "per-variant Invocations, so the verdict rests on the alarms and Model Monitor"
        )
        rollout = rollout.model_copy(update={"minInvocations": 0})
    autoscaling = (
        scaling_plan(
            group_config.autoscaling, endpoint, is_async=async_config is not None, source=group_config_source
        )
        if group_config is not None and group_config.autoscaling is not None
        else None
    )
    if not (serverless or variant_specs or hosting["isMultiModel"] or rollout.replaceOnly):
        # a bake is judged on the candidate's own alarms (the group's are checked under the lock)
        check_bake_window(rollout, [("the candidate's own alarms", candidate_alarm_window_seconds())])
    adds_model = update["action"] == "ADD_MODEL"
    load_test = _load_test(
        group_config,
        group_config_source,
        update,
        package=package,
        several=bool(variant_specs),
        serverless=bool(serverless),
        multi_model=bool(hosting["isMultiModel"]),
        role_buckets=role_buckets,
    )
    monitoring_plan = (
        monitoring.check_config(
            group_config.monitoring,
            group_config=group_config,
            package=package,
            label=package_label(arn),
            source=group_config_source,
            role_buckets=role_buckets,
            require_baselines=request.withdrawn is None,
        )
        if group_config is not None and group_config.monitoring is not None
        else None
    )
    lease = lease_seconds(timeout, rollout, poll_seconds=poll_seconds, max_polls=max_polls)
    if load_test is not None:  # the load test runs under the lock before the rollout
        lease += round(float(load_test["maxWaitHours"]) * 3600)
    return DeploymentPlan(
        source=request.source,
        modelPackageArn=arn,
        modelPackageGroup=group,
        modelPackageVersion=version,
        endpointName=endpoint,
        action=update.pop("action"),
        modelName=model_name(endpoint, group, version, arn),
        # adding a model to a multi-model endpoint builds no config: the live one stays
        endpointConfigName=str(live_endpoint["EndpointConfigName"])
        if adds_model and live_endpoint
        else resource_name(
            endpoint,
            f"v{version}",
            salt=f"{endpoint}|{arn}|{merged['instanceType']}|{merged['initialInstanceCount']}",
        ),
        variantName=resource_name(group, f"v{version}", salt=arn)[:NAME_LIMIT],
        instanceType=merged["instanceType"],
        initialInstanceCount=int(merged["initialInstanceCount"]),
        pollSeconds=poll_seconds,
        maxPolls=max_polls,
        currentEndpointConfigName=(live_endpoint or {}).get("EndpointConfigName"),
        reason=request.reason,
        configSources=sources,
        instanceSettingsExplicit=explicit_instances,
        firstCheckSeconds=first_check,
        waits=waits,
        stage=stage,
        roleArn=(stage or {}).get("roleArn"),
        modelRoleArn=(stage or {}).get("modelRoleArn"),
        nextStage=next_stage,
        eventFallbackSeconds=(group_config.eventFallbackSeconds if group_config else None) or 300,
        rollout=rollout,
        retainConfigs=int(merged.get("retainConfigs", DEFAULT_RETAIN_CONFIGS)),
        dataCapture=group_config.dataCapture.api() if group_config and group_config.dataCapture else None,
        serverless=serverless,
        asyncInference=async_config.api() if async_config else None,
        autoscaling=autoscaling,
        notes=notes,
        variants=[
            {
                **v.model_dump(exclude={"autoscaling"}),
                "autoscaling": scaling_plan(
                    v.autoscaling,
                    endpoint,
                    is_async=async_config is not None,
                    source=f"{group_config_source} variants[{i}]",
                )
                if v.autoscaling
                else None,
            }
            for i, v in enumerate(variant_specs)
        ]
        if variant_specs
        else None,
        **hosting,
        lockWaitSeconds=max(int(merged.get("lockWaitSeconds", DEFAULT_LOCK_WAIT_SECONDS)), lease),
        lockPollSeconds=int(merged.get("lockPollSeconds", 60)),
        lockLeaseSeconds=lease,
        approvalTransition=request.transition,
        withdrawn=request.withdrawn,
        preempt=bool(group_config.preempt) if group_config is not None else False,
        loadTest=load_test,
        monitoring=monitoring_plan,
        loadTestJobName=(
            resource_name(endpoint, f"v{version}", "lt", salt=str(update["canaryConfigName"]))
            if load_test is not None
            else None
        ),
        **update,
    )


def _load_test(
    group_config: GroupConfig | None,
    source: str,
    update: dict[str, Any],
    *,
    package: dict[str, Any],
    several: bool,
    serverless: bool,
    multi_model: bool,
    role_buckets: RoleBuckets | None,
) -> dict[str, Any] | None:
    """The group's ``loadTest`` for an update (a first deployment has no traffic to size against).

    Instance-type recommendations make no sense for a serverless or multi-model group, nor for a
    group that serves several variants of its own; every type must be one SageMaker offers for
    real-time inference; the sample payloads must be readable by the model execution role (the job
    runs with it).
    """
    config = group_config.loadTest if group_config is not None else None
    if config is None or update["action"] != "UPDATE":
        return None
    kind = (
        "a serverless group"
        if serverless
        else "a multi-model group"
        if multi_model
        else "a group with several variants"
        if several
        else None
    )
    if kind is not None:
        raise InvalidRequest("loadTest", f"{source}: instance-type recommendations do not apply to {kind}")
    for i, instance_type in enumerate(config.instanceTypes):
        if not is_realtime_instance(instance_type):
            raise InvalidRequest(
                f"loadTest.instanceTypes[{i}]",
                f"{instance_type} is not an instance type SageMaker offers for real-time inference",
            )
    if config.payloads is None and not package.get("SamplePayloadUrl"):
        raise InvalidRequest(
            "loadTest.payloads",
            f"{source}: the load test needs sample requests: set loadTest.payloads, or register the "
            "model package with a SamplePayloadUrl",
        )
    if role_buckets is not None:
        check_location(
            "loadTest.payloads",
            config.payloads,
            role_buckets.read,
            parameter="ModelArtifactBuckets",
            source=source,
            access="read",
        )
    return config.model_dump(mode="json")


MAX_CONTAINERS = 15  # CreateModel Containers: 1-15 (a serial pipeline or direct invocation)


def _hosting(
    package: dict[str, Any],
    group_config: GroupConfig | None,
    source: str,
    group: str,
    version: int,
    *,
    serverless: bool,
) -> dict[str, Any]:
    """How the model is hosted: one container, several (serial or direct), or a multi-model endpoint."""
    containers = list((package.get("InferenceSpecification") or {}).get("Containers") or [])
    mode = group_config.containerMode if group_config else None
    multi_model = group_config.multiModel if group_config else None
    out: dict[str, Any] = {"notes": [], "isMultiModel": False}
    if len(containers) > MAX_CONTAINERS:
        raise InvalidRequest(
            "modelPackageArn",
            f"the package has {len(containers)} containers; a SageMaker model runs at most {MAX_CONTAINERS} "
            "(a serial inference pipeline or direct invocation)",
        )
    if len(containers) > 1:
        if serverless:
            raise InvalidRequest(
                "serverless",
                f"the package has {len(containers)} containers; serverless endpoints do not run "
                "multi-container models (inference pipelines)",
            )
        if multi_model is not None:
            raise InvalidRequest(
                "multiModel",
                f"a multi-model endpoint hosts one container; the package has {len(containers)}",
            )
        out["containers"] = [
            {
                "ContainerHostname": str(c.get("ContainerHostname") or f"container-{i + 1}"),
                **{key: c[key] for key in ("Image", "ModelDataUrl", "Environment") if c.get(key)},
            }
            for i, c in enumerate(containers)
        ]
        out["containerMode"] = mode or "Serial"
    elif mode is not None:
        out["notes"].append(f"containerMode {mode} in {source} is not used: the package has one container")
    if multi_model is not None:
        first = containers[0] if containers else {}
        if not first.get("ModelDataUrl") or not first.get("Image"):
            raise InvalidRequest(
                "modelPackageArn",
                "a multi-model endpoint loads model artifacts: "
                "the package's container needs Image and ModelDataUrl",
            )
        out["isMultiModel"] = True
        out["multiModel"] = {
            "artifactPrefix": multi_model.artifactPrefix,
            "targetModel": f"{group}-v{version}.tar.gz",
            "sourceArtifact": first["ModelDataUrl"],
            "image": first["Image"],
            "smokePayload": multi_model.smokePayload,
            "contentType": multi_model.contentType,
        }
    return out


GUARDRAILS_MIN_TIMEOUT, GUARDRAILS_MAX_TIMEOUT = 600, 28800  # MaximumExecutionTimeoutInSeconds
GUARDRAILS_POLL_SECONDS = 120
MAX_ROLLBACK_ALARMS = 10  # AutoRollbackConfiguration.Alarms


def _guardrails_rollout(
    rollout: RolloutPlan, timeout: int, *, serverless: bool, merged: dict[str, Any]
) -> RolloutPlan:
    """Check that SageMaker can run the guardrails the plan asks for, and bound its execution.

    Refused rather than downgraded: on serverless endpoints guardrails are not available, and on
    Inf1 instances SageMaker silently falls back to all at once without baking.
    """
    assert rollout.guardrails is not None
    if serverless:
        raise InvalidRequest(
            "strategy.type",
            f"{rollout.type}: SageMaker deployment guardrails are not available for serverless "
            "endpoints; use canary, linear or all-at-once, which shift weights",
        )
    if str(merged.get("instanceType", "")).startswith("ml.inf1."):
        raise InvalidRequest(
            "strategy.type",
            f"{rollout.type}: on Inf1 instances SageMaker falls back to all at once with no baking; "
            "use canary, linear or all-at-once, which smdeploy judges itself",
        )
    # candidate 5XX rate (+ p99 latency) alarms come first
    own = 2 if rollout.latencyP99Ms is not None else 1
    if own + len(rollout.alarms) > MAX_ROLLBACK_ALARMS:
        raise InvalidRequest(
            "strategy.alarms",
            f"SageMaker's auto-rollback watches at most {MAX_ROLLBACK_ALARMS} alarms; the candidate's own "
            f"take {own}, so list at most {MAX_ROLLBACK_ALARMS - own}",
        )
    routing = rollout.guardrails["TrafficRoutingConfiguration"]
    shifts = {"ALL_AT_ONCE": 1, "CANARY": 2}.get(
        routing["Type"], math.ceil(100 / int(routing.get("LinearStepSize", {}).get("Value", 100)))
    )
    needed = (
        timeout
        + shifts * int(routing["WaitIntervalInSeconds"])
        + int(rollout.guardrails["TerminationWaitInSeconds"])
    )
    policy = {
        **rollout.guardrails,
        "MaximumExecutionTimeoutInSeconds": min(GUARDRAILS_MAX_TIMEOUT, max(GUARDRAILS_MIN_TIMEOUT, needed)),
    }
    return rollout.model_copy(update={"guardrails": policy})


DEFAULT_LOCK_WAIT_SECONDS = 3600
DEFAULT_LEASE_SECONDS = 4 * 3600
ENDPOINT_CHANGES = 3  # canary config, promotion (or rollback) config, a rollback after a failed promotion
LOCK_MARGIN_SECONDS = 3600  # retries with back-off, Lambda cold starts, clean-up and recording


def stages_of(
    group_config: GroupConfig | None, endpoint: str | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Staged promotion: the stage this deployment is (the first, unless the request names another
    stage's endpoint) and the one after it. (None, None) without stages, or for an endpoint that is
    no stage (a manual deployment elsewhere)."""
    stages = group_config.stages if group_config is not None else None
    if not stages:
        return None, None
    names = [s.endpoint for s in stages]
    if endpoint is not None and endpoint not in names:
        return None, None
    index = names.index(endpoint) if endpoint is not None else 0
    stage: dict[str, Any] = {"index": index, "of": len(stages), "endpoint": names[index]}
    if stages[index].roleArn is not None:
        stage.update(roleArn=stages[index].roleArn, modelRoleArn=stages[index].model_role())
    if index + 1 == len(stages):
        return stage, None
    following = stages[index + 1]
    return stage, {
        "index": index + 1,
        "endpoint": following.endpoint,
        "gate": following.gate,
        "timeoutSeconds": max(1, round(following.timeoutHours * 3600)) if following.gate == "manual" else 300,
    }


def check_stage_role(stage: dict[str, Any], defaults: dict[str, Any], source: str) -> None:
    """A stage in another account names a role the stack may assume (``StageRoleName``), in an
    account other than the stack's own."""
    role, index = str(stage["roleArn"]), stage["index"]
    allowed = defaults.get("stageRoleName")
    if allowed and role_name(role) != allowed:
        raise InvalidRequest(
            f"stages[{index}].roleArn",
            f"{source}: the stack may assume roles named {allowed!r} only (parameter StageRoleName), "
            f"not {role_name(role)!r}",
        )
    own = defaults.get("accountId")
    if own and role_account(role) == own:
        raise InvalidRequest(
            f"stages[{index}].roleArn",
            f"{source}: the role is in this stack's own account {own}; drop roleArn for a stage here",
        )


def lease_seconds(
    timeout: int, rollout: RolloutPlan, *, poll_seconds: int | None = None, max_polls: int | None = None
) -> int:
    """How long a deployment may hold its endpoint's lock: the longest run its strategy allows.

    ``ENDPOINT_CHANGES`` endpoint changes, each waited for up to ``max_polls x poll_seconds``
    (at least ``timeout``; with guardrails that includes SageMaker's own execution budget), plus
    every step baked with every extension and every check while weights still apply
    (``MAX_PENDING_CHECKS``), plus ``LOCK_MARGIN_SECONDS``; never below ``DEFAULT_LEASE_SECONDS``.
    A waiting deployment waits at least this long (``lockWaitSeconds``), counted afresh for each
    holder (``smdeploy.locking.take_lock``).
    """
    change = max(timeout, (max_polls or 0) * (poll_seconds or 0))
    per_step = (
        rollout.bakeSeconds + (rollout.maxExtensions + MAX_PENDING_CHECKS) * rollout.checkIntervalSeconds
    )
    longest = ENDPOINT_CHANGES * change + len(rollout.steps) * per_step + LOCK_MARGIN_SECONDS
    if rollout.shadow is not None:  # the shadow's config, then its looks
        longest += change + int(rollout.shadow["durationSeconds"]) + per_step - rollout.bakeSeconds
    return max(DEFAULT_LEASE_SECONDS, longest)


def _update_fields(
    endpoint: str,
    arn: str,
    version: int,
    live_endpoint: dict[str, Any] | None,
    live_variants: list[dict[str, Any]],
    several: bool = False,
) -> dict[str, Any]:
    """CREATE, SKIP (the package already serves all traffic) or UPDATE with the baseline named.

    ``several``: the group serves several variants, all replaced at once (the first is named).
    """
    if live_endpoint is None:
        return {"action": "CREATE"}
    status = live_endpoint.get("EndpointStatus")
    if status != "InService":
        raise EndpointBusy(f"endpoint {endpoint!r} is {status}; a deployment needs it InService")
    serving = [v for v in live_variants if float(v.get("CurrentWeight") or 0) > 0]
    if several and serving and all(v.get("ModelPackageArn") == arn for v in serving):
        return {"action": "SKIP", "baselineVariantName": serving[0]["VariantName"]}
    if len(serving) != 1 and not (several and serving):
        names = ", ".join(v.get("VariantName", "?") for v in serving) or "none"
        raise InvalidRequest(
            "endpointName",
            f"endpoint {endpoint!r} sends traffic to {len(serving)} variants ({names}); "
            "a rollout starts from an endpoint that serves one",
        )
    baseline = serving[0]
    if baseline.get("ModelPackageArn") == arn:
        return {"action": "SKIP", "baselineVariantName": baseline["VariantName"]}
    salt = f"{endpoint}|{arn}|{live_endpoint.get('EndpointConfigName')}"
    return {
        "action": "UPDATE",
        "baselineVariantName": baseline["VariantName"],
        "baselineModelName": baseline.get("ModelName"),
        "baselineModelPackageArn": baseline.get("ModelPackageArn"),
        "canaryConfigName": resource_name(endpoint, f"v{version}", "canary", salt=salt),
        "finalConfigName": resource_name(endpoint, f"v{version}", salt=f"{salt}|final"),
        "shadowConfigName": resource_name(endpoint, f"v{version}", "shadow", salt=salt),
    }
