"""The deploy steps the state machine calls, one function per Task state.

Each function takes the plan (or request) and the adapters it needs and returns a small JSON-able
dict that the state machine keeps under a ``ResultPath``.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from smdeploy import clock, locking, scaling, withdrawal
from smdeploy.adapters.autoscaling import ScalingGateway
from smdeploy.adapters.aws import acting_as
from smdeploy.adapters.cloudwatch import CloudWatchGateway
from smdeploy.adapters.config_store import GroupConfigStore
from smdeploy.adapters.locks import LockTable
from smdeploy.adapters.notifier import Notifier
from smdeploy.adapters.records import DeploymentRecords
from smdeploy.adapters.runtime import RuntimeGateway
from smdeploy.adapters.s3 import S3Gateway
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.buckets import RoleBuckets
from smdeploy.errors import (
    EndpointBusy,
    EndpointDeploymentFailed,
    EndpointDeployTimeout,
    EndpointUpdateFailed,
    InvalidRequest,
)
from smdeploy.events import normalize
from smdeploy.models import DeploymentPlan, DeployRequest, GroupConfig, Outcome
from smdeploy.plan import build_plan, check_bake_window, package_label, parse_package_arn
from smdeploy.strategy import alarm_window_seconds

MANAGED_TAG = "smdeploy:managed"
ENDPOINT_TAG = "smdeploy:endpoint"


def managed_tags(plan: DeploymentPlan) -> list[dict[str, str]]:
    """Tags on everything the control plane creates (IAM conditions and clean-up rely on them)."""
    return [
        {"Key": MANAGED_TAG, "Value": "true"},
        {"Key": ENDPOINT_TAG, "Value": plan.endpointName},
        {"Key": "smdeploy:model-package-group", "Value": plan.modelPackageGroup},
        {"Key": "smdeploy:model-package-version", "Value": str(plan.modelPackageVersion)},
        {"Key": "smdeploy:model-package-arn", "Value": plan.modelPackageArn},
    ]


def resolve_plan(
    raw: Any,
    *,
    sagemaker: SageMakerGateway,
    configs: GroupConfigStore,
    defaults: dict[str, Any],
    cloudwatch: CloudWatchGateway | None = None,
    autoscaling: ScalingGateway | None = None,
    under_lock: bool = False,
    role_buckets: RoleBuckets | None = None,
    records: DeploymentRecords | None = None,
) -> DeploymentPlan:
    """Normalize the input and resolve the plan; :class:`InvalidRequest` touches nothing.

    ``role_buckets``: the S3 buckets the model execution role may read and write (see ``build_plan``).
    ``records``: the endpoint's deployment history, which says which versions rolled back (without
    it no version counts as rolled back).

    Resolved again ``under_lock`` (the endpoint may have changed while this execution waited),
    an approval for which a newer version of the group will deploy is ``SUPERSEDED``: newer,
    Approved, and not rolled back on the endpoint since its last approval
    (``smdeploy.withdrawal.newest_deployable``; a newer version that will never deploy supersedes
    nothing).

    A withdrawal (``request.withdrawn``) deploys the newest version that will deploy other than
    the withdrawn one, with ``withdrawal.RESTORE_STRATEGY``; chosen before the lock to name the
    plan, and again under it, where a withdrawn version that no longer serves is a ``SKIP`` and
    no version to restore is :class:`~smdeploy.errors.NoRestoreTarget`.
    """
    request = normalize(raw)
    _region, _account, group, _version = parse_package_arn(request.modelPackageArn)
    restore_target: str | None = None
    if request.withdrawn is not None:
        withdrawn_from = str(request.overrides.get("endpointName"))
        deployable = withdrawal.newest_deployable(
            group,
            sagemaker=sagemaker,
            history=records.deployments_of(withdrawn_from) if records is not None else [],
            # a drift rollback returns to the last good version: one older than the drifting one
            below=_version if request.cause == "drift" else None,
            exclude={request.withdrawn},
        )
        restore_target = deployable[0] if deployable else None
        request = withdrawal.restore_request(request, restore_target)
    package = sagemaker.find_model_package(request.modelPackageArn)
    if package is None:
        raise InvalidRequest(
            "modelPackageArn", f"no model package {request.modelPackageArn!r} in the registry"
        )
    config = configs.load(group)
    endpoint_name = request.overrides.get("endpointName") or (config.default_endpoint() if config else None)
    # a stage in another account: its endpoint and alarms are read through the stage's role
    with acting_as(config.stage_role(endpoint_name) if config else None):
        return _resolve_on_endpoint(
            request,
            package,
            config,
            str(endpoint_name) if endpoint_name else None,
            sagemaker=sagemaker,
            configs=configs,
            defaults=defaults,
            cloudwatch=cloudwatch,
            autoscaling=autoscaling,
            under_lock=under_lock,
            role_buckets=role_buckets,
            records=records,
            restore_target=restore_target,
        )


def _resolve_on_endpoint(
    request: DeployRequest,
    package: dict[str, Any],
    config: GroupConfig | None,
    endpoint_name: str | None,
    *,
    sagemaker: SageMakerGateway,
    configs: GroupConfigStore,
    defaults: dict[str, Any],
    cloudwatch: CloudWatchGateway | None,
    autoscaling: ScalingGateway | None,
    under_lock: bool,
    role_buckets: RoleBuckets | None,
    records: DeploymentRecords | None,
    restore_target: str | None,
) -> DeploymentPlan:
    group = parse_package_arn(request.modelPackageArn)[2]
    # The endpoint is only read under its lock: before, another deployment may be changing it.
    live = sagemaker.find_endpoint(endpoint_name) if endpoint_name and under_lock else None
    live_variants = (
        sagemaker.variants_serving(live) if live and live.get("EndpointStatus") == "InService" else []
    )
    source = f"ssm:{configs.parameter_name(group)}"
    plan = build_plan(
        request,
        package=package,
        group_config=config,
        group_config_source=source,
        defaults=defaults,
        live_endpoint=live,
        live_variants=live_variants,
        role_buckets=role_buckets,
        require_approved=request.withdrawn is None or restore_target is not None,
    )
    named = request.overrides.get("endpointName")
    configured = config.configured_endpoints() if config else []
    if named and named not in configured and not request.overrides.get("createEndpoint"):
        # A mistyped name would otherwise create a new, billed endpoint. Reading whether it exists
        # needs no lock: only a deployment that may create it proceeds.
        exists = live is not None if under_lock else sagemaker.find_endpoint(named) is not None
        if not exists:
            raise InvalidRequest(
                "endpointName",
                f"no endpoint {named!r} (DescribeEndpoint: not found), and {source} names "
                + (", ".join(repr(name) for name in configured) if configured else "no endpoint")
                + '; to create a new endpoint, start again with "createEndpoint": true',
            )
    if request.withdrawn is not None:
        plan = withdrawal.settle(
            plan,
            withdrawn=request.withdrawn,
            target=restore_target,
            live_variants=live_variants,
            under_lock=under_lock,
            cause=request.cause or "rejected",
        )
    if not under_lock:
        return plan.model_copy(update={"action": "PENDING"})
    if plan.action == "SKIP":
        return plan
    if plan.source == "approval":
        newer = withdrawal.newest_deployable(
            plan.modelPackageGroup,
            sagemaker=sagemaker,
            history=records.deployments_of(plan.endpointName) if records is not None else [],
            above=plan.modelPackageVersion,
        )
        if newer is not None:
            return plan.model_copy(update={"action": "SUPERSEDED", "supersededBy": newer[0]})
    if plan.action == "UPDATE" and plan.rollout and plan.rollout.type == "replace":
        from smdeploy.canary import reuse_retained_config  # canary builds on this module

        plan = reuse_retained_config(plan, sagemaker=sagemaker)
    if plan.action == "UPDATE" and plan.rollout and plan.rollout.alarms and cloudwatch is not None:
        found = cloudwatch.find_alarms(plan.rollout.alarms)
        present = {str(alarm.get("AlarmName")) for alarm in found}
        missing = [name for name in plan.rollout.alarms if name not in present]
        if missing:
            raise InvalidRequest(
                "strategy.alarms", f"no CloudWatch alarm named {', '.join(map(repr, missing))}"
            )
        if not plan.rollout.replaceOnly:  # a replacement is not baked: no alarm judges it
            check_bake_window(
                plan.rollout,
                [(f"alarm {alarm.get('AlarmName')!r}", alarm_window_seconds(alarm)) for alarm in found],
            )
    experiment = plan.rollout.experiment if plan.rollout else None
    if plan.action == "UPDATE" and experiment and experiment["namespace"] != "AWS/SageMaker" and cloudwatch:
        # Checked before the test starts: a test on a metric nobody publishes could only run out its time.
        dimensions = [{"Name": "EndpointName", "Value": plan.endpointName}]
        if not cloudwatch.metric_published(experiment["namespace"], experiment["metricName"], dimensions):
            raise InvalidRequest(
                "strategy.primaryMetric",
                f"no metric {experiment['metricName']!r} in namespace {experiment['namespace']!r} with "
                f"EndpointName={plan.endpointName} (ListMetrics: none in the last two weeks); publish it "
                "per variant (dimensions EndpointName and VariantName) before the test starts",
            )
    if plan.action == "ADD_MODEL":
        _check_multi_model_endpoint(plan, live or {}, sagemaker)
    if plan.action == "UPDATE" and plan.autoscaling is None and autoscaling is not None:
        carried, notes = scaling.inherited(plan.endpointName, plan.baselineVariantName, scaling=autoscaling)
        if carried is not None or notes:
            plan = plan.model_copy(update={"autoscaling": carried, "notes": [*plan.notes, *notes]})
    return plan


def _check_multi_model_endpoint(
    plan: DeploymentPlan, live: dict[str, Any], sagemaker: SageMakerGateway
) -> None:
    """The live endpoint must be a multi-model endpoint loading from the group's prefix."""
    assert plan.multiModel is not None
    config = sagemaker.describe_endpoint_config(str(live.get("EndpointConfigName")))
    prefixes = set()
    for variant in config.get("ProductionVariants", []):
        model = sagemaker.find_model(str(variant.get("ModelName"))) or {}
        for container in model.get("Containers") or [model.get("PrimaryContainer") or {}]:
            if container.get("Mode") == "MultiModel":
                prefixes.add(str(container.get("ModelDataUrl")))
    wanted = plan.multiModel["artifactPrefix"]
    if not prefixes:
        raise InvalidRequest(
            "multiModel",
            f"endpoint {plan.endpointName!r} hosts a single model, not a multi-model container; "
            "deploy the multi-model group to its own endpoint",
        )
    if wanted not in prefixes:
        raise InvalidRequest(
            "multiModel.artifactPrefix",
            f"endpoint {plan.endpointName!r} loads its models from {', '.join(sorted(prefixes))}, "
            f"not {wanted}",
        )


def add_model(plan: DeploymentPlan, *, s3: S3Gateway, remove: bool = False) -> dict[str, Any]:
    """Copy the package's artifact under the multi-model prefix (or remove it after a failed smoke test)."""
    assert plan.multiModel is not None
    multi = plan.multiModel
    target = f"{multi['artifactPrefix']}{multi['targetModel']}"
    if remove:
        s3.delete(target)
        return {"removed": target}
    s3.copy(multi["sourceArtifact"], target, {"smdeploy-model-package": plan.modelPackageArn})
    return {"targetModel": multi["targetModel"], "artifact": target, "source": multi["sourceArtifact"]}


def smoke_test(plan: DeploymentPlan, *, runtime: RuntimeGateway) -> dict[str, Any]:
    """Invoke the endpoint once with ``TargetModel``: SageMaker loads the model and it must answer."""
    assert plan.multiModel is not None
    multi = plan.multiModel
    answer = runtime.invoke(
        plan.endpointName,
        target_model=multi["targetModel"],
        body=multi["smokePayload"],
        content_type=multi["contentType"],
    )
    return {"targetModel": multi["targetModel"], **answer}


def create_model(plan: DeploymentPlan, *, sagemaker: SageMakerGateway, role_arn: str) -> dict[str, Any]:
    """The model: the package itself, its containers as a pipeline (serial or direct), or a multi-model
    container loading from the group's prefix."""
    containers, mode = plan.containers, plan.containerMode
    if plan.multiModel:
        multi = plan.multiModel
        containers = [
            {"Image": multi["image"], "Mode": "MultiModel", "ModelDataUrl": multi["artifactPrefix"]}
        ]
        mode = None
    created = sagemaker.create_model(
        name=plan.modelName,
        package_arn=plan.modelPackageArn,
        role_arn=plan.modelRoleArn or role_arn,  # a stage in another account: its own model role
        tags=managed_tags(plan),
        containers=containers,
        execution_mode=mode,
    )
    return {"modelName": plan.modelName, "created": created, **({"containerMode": mode} if mode else {})}


def variant_names(plan: DeploymentPlan) -> list[str]:
    """The candidate's variant names: one, or one per configured variant (``<name>-1``, ...)."""
    if not plan.variants:
        return [plan.variantName]
    return [f"{plan.variantName[:60]}-{i + 1}" for i in range(len(plan.variants))]


def planned_variants(plan: DeploymentPlan) -> list[dict[str, Any]]:
    """The group's several variants as ``ProductionVariants`` entries of the candidate's model."""
    if not plan.variants:
        return []
    return [
        {
            "VariantName": name,
            "ModelName": plan.modelName,
            "InstanceType": spec["instanceType"],
            "InitialInstanceCount": spec["initialInstanceCount"],
            "InitialVariantWeight": float(spec["weight"]),
        }
        for name, spec in zip(variant_names(plan), plan.variants or [], strict=True)
    ]


def create_endpoint_config(plan: DeploymentPlan, *, sagemaker: SageMakerGateway) -> dict[str, Any]:
    capacity: dict[str, Any] = (
        {"ServerlessConfig": plan.serverless}
        if plan.serverless
        else {"InstanceType": plan.instanceType, "InitialInstanceCount": plan.initialInstanceCount}
    )
    variants = planned_variants(plan) or [
        {
            "VariantName": plan.variantName,
            "ModelName": plan.modelName,
            **capacity,
            "InitialVariantWeight": 1.0,
        }
    ]
    created = sagemaker.create_endpoint_config(
        name=plan.endpointConfigName,
        variants=variants,
        tags=managed_tags(plan),
        extra=config_settings(plan),
    )
    return {"endpointConfigName": plan.endpointConfigName, "created": created}


def config_settings(plan: DeploymentPlan) -> dict[str, Any]:
    """The endpoint-config settings the group config asks for (data capture, async inference)."""
    settings: dict[str, Any] = {}
    if plan.dataCapture:
        settings["DataCaptureConfig"] = plan.dataCapture
    if plan.asyncInference:
        settings["AsyncInferenceConfig"] = plan.asyncInference
    return settings


def create_endpoint(plan: DeploymentPlan, *, sagemaker: SageMakerGateway) -> dict[str, Any]:
    """Create the endpoint; a retry after a lost answer finds it already on our config."""
    live = sagemaker.find_endpoint(plan.endpointName)
    if live is not None:
        if live.get("EndpointConfigName") == plan.endpointConfigName:
            return {**first_poll(plan, plan.endpointConfigName), "created": False}
        raise EndpointBusy(
            f"CreateEndpoint: endpoint {plan.endpointName!r} appeared while this deployment ran "
            f"(config {live.get('EndpointConfigName')!r})"
        )
    sagemaker.create_endpoint(
        name=plan.endpointName, config_name=plan.endpointConfigName, tags=managed_tags(plan)
    )
    return {**first_poll(plan, plan.endpointConfigName), "created": True}


def first_poll(plan: DeploymentPlan, expected_config: str) -> dict[str, Any]:
    """The poll state an endpoint change starts its wait loop with."""
    return {
        "expectedConfigName": expected_config,
        "polls": 0,
        "nextWaitSeconds": _endpoint_wait(plan, plan.firstCheckSeconds, 0.0),
        "startedAt": clock.utcnow().isoformat(),
    }


def endpoint_deadline_seconds(plan: DeploymentPlan) -> int:
    """How long an endpoint change may take: the first check, then ``maxPolls - 1`` polls."""
    return plan.firstCheckSeconds + max(0, plan.maxPolls - 1) * plan.pollSeconds


def _endpoint_wait(plan: DeploymentPlan, polling_seconds: int, elapsed: float) -> int:
    """The next wait: the poll when polling; with events, the fallback look (the endpoint's
    state change ends the wait sooner), never past the deadline."""
    if plan.waits == "polling":
        return polling_seconds
    remaining = endpoint_deadline_seconds(plan) - elapsed
    return max(1, min(plan.eventFallbackSeconds, math.ceil(remaining)))


def _elapsed(previous: dict[str, Any]) -> float | None:
    started = previous.get("startedAt")
    if not started:
        return None
    return (clock.utcnow() - datetime.fromisoformat(str(started))).total_seconds()


def poll_endpoint(
    plan: DeploymentPlan, previous: dict[str, Any], *, sagemaker: SageMakerGateway
) -> dict[str, Any]:
    """One check of an endpoint being created or updated.

    Raises :class:`EndpointDeploymentFailed` when SageMaker says ``Failed`` and
    :class:`EndpointDeployTimeout` when it is still not ``InService`` after the plan's checks.
    """
    described = sagemaker.describe_endpoint(plan.endpointName)
    status = str(described.get("EndpointStatus"))
    polls = int(previous.get("polls", 0)) + 1
    if status == "Failed":
        raise EndpointDeploymentFailed(
            f"endpoint {plan.endpointName!r} failed: {described.get('FailureReason') or 'no reason given'}"
        )
    in_service = status == "InService"
    elapsed = _elapsed(previous)
    if plan.waits == "events" and elapsed is not None:
        # woken by events, checks come at any time: the deadline is the time the polls would take
        timed_out = elapsed >= endpoint_deadline_seconds(plan)
        took = f"{polls} checks in {elapsed:.0f} s"
    else:
        timed_out, took = polls >= plan.maxPolls, f"{polls} checks"
    if not in_service and timed_out:
        raise EndpointDeployTimeout(f"endpoint {plan.endpointName!r} was still {status} after {took}")
    return {
        **previous,
        "status": status,
        "inService": in_service,
        "endpointConfigName": described.get("EndpointConfigName"),
        "failureReason": described.get("FailureReason"),
        "polls": polls,
        "nextWaitSeconds": _endpoint_wait(plan, plan.pollSeconds, elapsed or 0.0),
    }


def check_endpoint(
    plan: DeploymentPlan, status: dict[str, Any], *, sagemaker: SageMakerGateway
) -> dict[str, Any]:
    """One poll of a create or update: ``InService`` on the expected config, still going, or failed.

    SageMaker answers a failed update by going back to ``InService`` on the previous config with
    a ``FailureReason``: that is :class:`EndpointUpdateFailed` here.
    """
    expected = str(status["expectedConfigName"])
    result = poll_endpoint(plan, status, sagemaker=sagemaker)
    if result["inService"] and result["endpointConfigName"] != expected:
        raise EndpointUpdateFailed(
            f"endpoint {plan.endpointName!r} stayed on {result['endpointConfigName']} instead of {expected}: "
            f"{result.get('failureReason') or 'no reason given'}"
        )
    return result


def remove_failed_endpoint(plan: DeploymentPlan, *, sagemaker: SageMakerGateway) -> dict[str, Any]:
    """Delete a first-deploy endpoint that ended ``Failed`` (the only call SageMaker allows on it).

    After the deployment's deadline (``EndpointDeployTimeout``) the endpoint may still be
    ``Creating``: SageMaker keeps an endpoint whose container never gets healthy ``Creating`` for up
    to about an hour and refuses to delete it meanwhile (aws/amazon-sagemaker-examples#3432). Then
    ``settling`` asks the state machine to look again after ``nextWaitSeconds``, so that the
    endpoint is removed once it is ``Failed`` and never left without an owner. One that turned
    ``InService`` after all is left serving: the next deployment updates it.
    """
    live = sagemaker.find_endpoint(plan.endpointName)
    if live is None:
        return {"deleted": False, "settling": False}
    status = live.get("EndpointStatus")
    if status == "Creating":
        return {"deleted": False, "settling": True, "status": status, "nextWaitSeconds": plan.pollSeconds}
    if status != "Failed":
        return {"deleted": False, "settling": False, "status": status}
    sagemaker.delete_endpoint(plan.endpointName)
    return {"deleted": True, "settling": False}


def record_outcome(
    event: dict[str, Any], *, records: DeploymentRecords, notifier: Notifier, locks: LockTable | None = None
) -> dict[str, Any]:
    """Write the record, release the endpoint lock and claim, then notify; returns the record."""
    outcome = Outcome(event["outcome"])
    plan = event.get("plan") or {}
    error = event.get("error") or {}
    verdict = event.get("verdict") or {}
    if outcome is Outcome.ROLLED_BACK:
        # The rollback is the error the console shows; what caused it is the cause.
        reasons = verdict.get("reasons") or (event.get("shadow") or {}).get("reasons") or []
        why = "; ".join(reasons) if not error else readable_cause(error.get("Cause"))
        why = why or "rolled back"
        if error:
            why = f"{error.get('Error')}: {why}"
        error = {"Error": "DeploymentRolledBack", "Cause": why}
    load_test = event.get("loadTest") or {}
    if outcome is Outcome.NO_FIT:
        error = {"Error": "LoadTestNoFit", "Cause": load_test.get("reason") or "no configuration fits"}
    raw = event.get("raw")
    record = {
        "executionArn": event["executionArn"],
        "outcome": outcome.value,
        "recordedAt": clock.utcnow().isoformat(),
        "endpointName": plan.get("endpointName"),
        "modelPackageArn": plan.get("modelPackageArn") or _package_arn_of(raw),
        "modelPackageGroup": plan.get("modelPackageGroup"),
        "modelPackageVersion": plan.get("modelPackageVersion"),
        "endpointConfigName": plan.get("endpointConfigName"),
        "source": plan.get("source"),
        "reason": plan.get("reason"),
        "error": error.get("Error"),
        "cause": readable_cause(error.get("Cause")),
        "verdict": verdict.get("verdict"),
        "verdictReasons": verdict.get("reasons"),
        "verdictHistory": verdict.get("history"),
        # an A/B test: decision, effect with its interval, samples per variant, the test used
        "experiment": verdict.get("experiment"),
        "shadow": _shadow_summary(event.get("shadow")),
        # a load test: the job, what was tried and measured, what it costs, and the pick
        "loadTest": {k: load_test.get(k) for k in ("jobName", "status", "state", "table", "chosen", "reason")}
        if load_test.get("state") and load_test["state"] != "WAIT"
        else None,
        "cleanup": event.get("cleanup"),
        "autoscaling": event.get("autoscaling"),
        "notes": plan.get("notes") or None,
        "targetModel": (plan.get("multiModel") or {}).get("targetModel"),
        # a withdrawal: the package taken off the endpoint, and why (rejected | drift)
        "withdrawn": plan.get("withdrawn"),
        "withdrawalCause": plan.get("cause") if plan.get("withdrawn") else None,
        # which monitors watch what serves now (smdeploy.monitoring.follow)
        "monitoring": event.get("monitoring"),
    }
    if plan.get("kind") == "transform":
        record.update(
            {
                "transformJobName": plan.get("transformJobName"),
                "scheduledTime": plan.get("scheduledTime"),
                "inputPrefix": plan.get("inputPrefix"),
                "outputPrefix": plan.get("outputPrefix"),
                "transformStatus": (event.get("transform") or {}).get("status"),
            }
        )
    if locks is not None:
        record["released"] = locking.release(plan, event["executionArn"], outcome.value, table=locks)
    if plan.get("supersededBy"):
        record["supersededBy"] = plan["supersededBy"]
    converged = event.get("converge") or {}
    if converged.get("state"):
        record["converged"] = {
            key: converged.get(key) for key in ("state", "detail", "serves", "configName", "actions")
        }
    if plan.get("recovers"):
        record["recovers"] = plan["recovers"]
    records.put(record)
    if plan.get("recovers"):
        # The stopped execution recorded nothing (or something the endpoint no longer shows): its
        # record now says how it ended and what the recovery left serving.
        records.put(
            {
                **record,
                "executionArn": plan["recovers"],
                "executionStatus": plan.get("recoversStatus"),
                "recoveredBy": event["executionArn"],
                "recovers": None,
                "released": None,
            }
        )
    job = plan.get("transformJobName")
    target = record["endpointName"] or (f"transform {job}" if job else "-")
    package = record["modelPackageArn"] or "unknown package"
    subject = f"smdeploy {outcome.value}: {target} <- {package_label(package)}"
    message_id = notifier.publish(subject, record)
    return {**{k: v for k, v in record.items() if v is not None}, "notificationId": message_id}


def _shadow_summary(shadow: Any) -> dict[str, Any] | None:
    """What a shadow test found: its verdict, reasons and the decisions of its looks."""
    if not isinstance(shadow, dict) or not shadow.get("verdict"):
        return None
    return {key: shadow.get(key) for key in ("verdict", "reasons", "history", "candidateInvocations")}


def readable_cause(cause: Any) -> str | None:
    """The message of a Lambda error (its ``Cause`` is the JSON error payload), else the cause."""
    if not isinstance(cause, str):
        return None
    try:
        payload = json.loads(cause)
    except json.JSONDecodeError:
        return cause
    if isinstance(payload, dict) and isinstance(payload.get("errorMessage"), str):
        return str(payload["errorMessage"])
    return cause


def _package_arn_of(raw: Any) -> str | None:
    """Best effort: the package ARN named by an input that did not validate."""
    if isinstance(raw, dict):
        if isinstance(raw.get("modelPackageArn"), str):
            return str(raw["modelPackageArn"])
        detail = raw.get("detail")
        if isinstance(detail, dict) and isinstance(detail.get("ModelPackageArn"), str):
            return str(detail["ModelPackageArn"])
    return None
