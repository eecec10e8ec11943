"""Withdrawn approvals: when a version that may serve an endpoint is Rejected, it stops serving.

Runs on every "SageMaker Model Package State Change" event to ``Rejected``
(:func:`handle_rejection`). Most rejections are of versions that never went live; they change
nothing. When the rejected version serves traffic on its group's endpoint (any variant with a
weight above 0, whatever the endpoint's status), or the endpoint is changing (not ``InService``:
what it will serve cannot be told), a **withdrawal** execution of the deploy state machine starts
with the input ``{"withdrawn", "modelPackageArn", "endpointName", "reason"}``
(:class:`smdeploy.events.WithdrawalInput`). Its name is unique per rejection event, so a repeated
delivery of the event starts nothing new while a later rejection (of a version approved again)
acts again.

The withdrawal waits for the endpoint's lock like any deployment; a rollout of the withdrawn
version that holds it rolls back at its next check (``WITHDRAWN``, ``smdeploy.strategy.judge``).
Under the lock the restore target is chosen (:func:`newest_deployable`, from what the registry
and the endpoint's records say then) and deployed with :data:`RESTORE_STRATEGY`; a withdrawn
version that no longer serves is a ``SKIP``; no target at all is :class:`NoRestoreTarget`.

The rule "will this version deploy?" is shared with the superseded check of an approval and with
``preempt`` (``smdeploy.deploy.resolve_plan``, ``smdeploy.canary.judge_candidate``): an Approved
version deploys unless the endpoint's records show it rolled back (or failed, aborted or refused)
since its last approval.

On a multi-model endpoint every version sits beside the others under the group's prefix: the
rejected version's artifact is deleted so that no new request can load it (SageMaker unloads a
model already in memory only when it evicts it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from smdeploy.adapters.aws import acting_as
from smdeploy.adapters.config_store import GroupConfigStore
from smdeploy.adapters.executions import ExecutionStarter, start_once
from smdeploy.adapters.s3 import S3Gateway
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.errors import NoRestoreTarget
from smdeploy.events import MODEL_PACKAGE_DETAIL_TYPE
from smdeploy.models import DeploymentPlan, DeployRequest, ModelPackageStateChange, parse_timestamp
from smdeploy.plan import model_name, package_label

RESTORE_STRATEGY: dict[str, Any] = {
    "type": "all-at-once",
    "bakeMinutes": 3,  # no shorter than the candidate alarms' window (smdeploy.plan.check_bake_window)
    "checkIntervalSeconds": 60,
    "minInvocations": 0,
}
# Outcomes after which a version will not deploy again until it is approved again.
WONT_DEPLOY_OUTCOMES = {"ROLLED_BACK", "FAILED", "ABORTED", "INVALID_REQUEST"}
# Endpoint statuses in which nothing serves: a rejection changes nothing there.
NOTHING_SERVES = {"Failed", "Deleting"}
# How many versions below the newest Approved one are looked at for a version that will deploy.
SCAN_LIMIT = 100


# --- which version will deploy ----------------------------------------------------------------
def _time(value: Any) -> datetime | None:
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def _drifted_from(record: dict[str, Any]) -> str | None:
    """The package a drift rollback took off the endpoint (it replaced it), else ``None``."""
    if record.get("withdrawalCause") == "drift" and record.get("outcome") in {"DEPLOYED", "PROMOTED"}:
        return str(record.get("withdrawn") or "") or None
    return None


def disqualifying_record(
    arn: str, package: dict[str, Any], history: Iterable[dict[str, Any]]
) -> dict[str, Any] | None:
    """The record showing that ``arn`` rolled back (failed, aborted, was refused, or was replaced
    after its drift alarm) on the endpoint since its last approval, or ``None``. ``package``: its
    DescribeModelPackage answer (a change of ``LastModifiedTime`` after the record, such as a new
    approval, clears it); ``history``: the endpoint's records."""
    modified = _time(package.get("LastModifiedTime"))
    for record in history:
        own = record.get("modelPackageArn") == arn and record.get("outcome") in WONT_DEPLOY_OUTCOMES
        if not own and _drifted_from(record) != arn:
            continue
        recorded = _time(record.get("recordedAt"))
        if modified is not None and recorded is not None and modified > recorded:
            continue  # approved (or changed) again after it
        return record
    return None


def newest_deployable(
    group: str,
    *,
    sagemaker: SageMakerGateway,
    history: list[dict[str, Any]],
    above: int = 0,
    below: int | None = None,
    exclude: Iterable[str] = (),
) -> tuple[str, dict[str, Any]] | None:
    """The newest version of ``group`` above ``above`` (and below ``below``, when given) that will
    deploy: Approved (and Completed), not in ``exclude``, without a disqualifying record in
    ``history`` (the endpoint's records, newest first). ``(arn, DescribeModelPackage answer)`` or
    ``None``."""
    latest = sagemaker.latest_approved_package(group)
    arn = str((latest or {}).get("ModelPackageArn") or "")
    if not arn:
        return None
    prefix, top = arn.rsplit("/", 1)
    skip = set(exclude)
    highest = int(top) if below is None else min(int(top), below - 1)
    for version in range(highest, max(above, highest - SCAN_LIMIT), -1):
        candidate = f"{prefix}/{version}"
        if candidate in skip:
            continue
        package = sagemaker.find_model_package(candidate)
        if package is None or package.get("ModelApprovalStatus") != "Approved":
            continue
        if package.get("ModelPackageStatus", "Completed") != "Completed":
            continue
        if disqualifying_record(candidate, package, history) is None:
            return candidate, package
    return None


# --- the rejection event ----------------------------------------------------------------------
def execution_name(endpoint: str, rejected: str, event_key: str) -> str:
    """One execution per rejection event: a repeated delivery finds it, a later rejection does not."""
    return "withdraw-" + hashlib.sha256(f"{endpoint}|{rejected}|{event_key}".encode()).hexdigest()[:24]


def handle_rejection(
    event: dict[str, Any],
    *,
    sagemaker: SageMakerGateway,
    configs: GroupConfigStore,
    starter: ExecutionStarter,
    s3: S3Gateway | None = None,
) -> dict[str, Any]:
    """Decide what a rejection means for the endpoint of its group; start a withdrawal if needed."""
    if event.get("detail-type") != MODEL_PACKAGE_DETAIL_TYPE or not isinstance(event.get("detail"), dict):
        return {"action": "ignored", "why": "not a model package state change"}
    try:
        change = ModelPackageStateChange.model_validate(event["detail"])
    except ValidationError as exc:
        return {"action": "ignored", "why": f"unreadable event: {exc.errors()[0]['msg']}"}
    if change.ModelApprovalStatus != "Rejected":
        return {"action": "ignored", "why": f"status {change.ModelApprovalStatus}"}
    rejected = change.ModelPackageArn
    group = change.ModelPackageGroupName or rejected.split("/")[-2]
    config = configs.load(group)
    endpoints = config.configured_endpoints() if config else []
    if not endpoints:
        return {"action": "ignored", "why": f"no endpoint configured for group {group!r}"}
    if len(endpoints) > 1:
        # staged promotion: the version stops serving every stage it reached, each on its own
        results = []
        for endpoint in endpoints:
            # a stage in another account is read through its role
            with acting_as(config.stage_role(endpoint) if config else None):
                results.append(
                    _withdraw_from(
                        endpoint, event, change, config, sagemaker=sagemaker, starter=starter, s3=s3
                    )
                )
        acted = [r for r in results if r["action"] != "ignored"]
        return {
            "action": "withdraw" if acted else "ignored",
            "withdrawn": rejected,
            "stages": results,
            **({} if acted else {"why": "; ".join(r["why"] for r in results)}),
        }
    return _withdraw_from(endpoints[0], event, change, config, sagemaker=sagemaker, starter=starter, s3=s3)


def _withdraw_from(
    endpoint: str,
    event: dict[str, Any],
    change: ModelPackageStateChange,
    config: Any,
    *,
    sagemaker: SageMakerGateway,
    starter: ExecutionStarter,
    s3: S3Gateway | None,
) -> dict[str, Any]:
    """Start the withdrawal of the rejected version from ``endpoint`` when it serves (or may)."""
    rejected = change.ModelPackageArn
    group = change.ModelPackageGroupName or rejected.split("/")[-2]
    if config is not None and config.multiModel is not None and s3 is not None:
        version = rejected.rsplit("/", 1)[-1]
        artifact = f"{config.multiModel.artifactPrefix}{group}-v{version}.tar.gz"
        s3.delete(artifact)  # deleting a key that is not there succeeds: idempotent
        return {
            "action": "removed",
            "withdrawn": rejected,
            "artifact": artifact,
            "why": f"{package_label(rejected)} can no longer be loaded on multi-model endpoint {endpoint}",
        }
    live = sagemaker.find_endpoint(endpoint)
    status = str(live.get("EndpointStatus")) if live else "absent"
    if live is None or status in NOTHING_SERVES:
        return {"action": "ignored", "why": f"endpoint {endpoint} is {status}"}
    label = package_label(rejected)
    if status == "InService":
        serving = {
            v["ModelPackageArn"]
            for v in sagemaker.variants_serving(live)
            if max(float(v.get("CurrentWeight") or 0), float(v.get("DesiredWeight") or 0)) > 0
        }
        if rejected not in serving:
            return {"action": "ignored", "why": f"{label} does not serve {endpoint}"}
        why = f"approval of {label} withdrawn (Rejected) while it served {endpoint}"
    else:
        number = int(rejected.rsplit("/", 1)[-1])
        if sagemaker.find_model(model_name(endpoint, group, number, rejected)) is None:
            # Models are named per endpoint: no model means the version was never deployed there,
            # so the change in flight is not deploying it.
            return {"action": "ignored", "why": f"{label} was never deployed to {endpoint}"}
        why = (
            f"approval of {label} withdrawn (Rejected) while {endpoint} was {status} "
            "(a change in flight may be deploying it)"
        )
    event_key = str(event.get("id") or change.LastModifiedTime or "-")
    name = execution_name(endpoint, rejected, event_key)
    execution_input = {
        "withdrawn": rejected,
        "modelPackageArn": rejected,
        "endpointName": endpoint,
        "reason": f"{why}; the newest version that will deploy replaces it",
    }
    arn, again = start_once(starter, name, execution_input)
    if again:
        return {"action": "withdraw", "withdrawn": rejected, "execution": name, "alreadyStarted": True}
    return {
        "action": "withdraw",
        "withdrawn": rejected,
        "execution": arn,
        "reason": execution_input["reason"],
    }


# --- under the lock: what replaces the withdrawn version ------------------------------------------
def restore_request(request: DeployRequest, target: str | None) -> DeployRequest:
    """The request to deploy ``target`` with :data:`RESTORE_STRATEGY` (the withdrawn package itself
    while no target is known: the plan then only names the endpoint, see :func:`settle`)."""
    overrides = {**request.overrides, "strategy": dict(RESTORE_STRATEGY)}
    return request.model_copy(
        update={"modelPackageArn": target or str(request.withdrawn), "overrides": overrides}
    )


def settle(
    plan: DeploymentPlan,
    *,
    withdrawn: str,
    target: str | None,
    live_variants: list[dict[str, Any]],
    under_lock: bool,
    cause: str = "rejected",
) -> DeploymentPlan:
    """The withdrawal's plan: ``SKIP`` when the withdrawn version no longer serves,
    :class:`NoRestoreTarget` when nothing can replace it, else the deployment of ``target``.

    ``cause``: ``rejected`` (its approval was withdrawn: the newest version that will deploy
    replaces it) or ``drift`` (its drift alarm, ``onDrift: rollback``: the last good version, the
    newest older one that will deploy, replaces it; the reason starts with ``DRIFT``)."""
    endpoint, label = plan.endpointName, package_label(withdrawn)
    drift = cause == "drift"
    which = (
        f"the last good version (the newest Approved one below {label} not rolled back on {endpoint})"
        if drift
        else f"the newest Approved version not rolled back on {endpoint}"
    )
    restoring = (
        f"restoring {package_label(target)}, {which}" if target else "no version to restore is known yet"
    )
    why = (
        f"DRIFT: {label} drifted on {endpoint}" + (f" ({plan.reason})" if plan.reason else "")
        if drift
        else f"approval of {label} withdrawn (Rejected) while it served {endpoint}"
    )
    update: dict[str, Any] = {"withdrawn": withdrawn, "cause": cause}
    if not under_lock:
        reason = f"{why}: {restoring} (chosen again under the endpoint's lock)"
        return plan.model_copy(update={**update, "reason": reason})
    serving = {
        str(v.get("ModelPackageArn"))
        for v in live_variants
        if max(float(v.get("CurrentWeight") or 0), float(v.get("DesiredWeight") or 0)) > 0
    }
    if withdrawn not in serving:
        now = ", ".join(sorted(package_label(arn) for arn in serving if arn != "None")) or "nothing"
        reason = f"nothing to withdraw: {label} no longer serves {endpoint} (it serves {now})"
        return plan.model_copy(update={**update, "action": "SKIP", "reason": reason})
    if target is None:
        if drift:
            raise NoRestoreTarget(
                f"{label} drifted on {endpoint}, but no older version of {plan.modelPackageGroup} is "
                f"Approved without a rollback or failure there since its last approval; {label} keeps "
                "serving (the drift alarm has notified)"
            )
        raise NoRestoreTarget(
            f"{label} was withdrawn (Rejected) and serves {endpoint}, but no other version of "
            f"{plan.modelPackageGroup} is Approved without a rollback or failure there since its last "
            f"approval; {label} keeps serving until a version is approved or deployed by hand"
        )
    update["reason"] = f"{why}; {restoring}"
    if plan.action == "UPDATE" and plan.rollout is not None:
        # No canary: a canary that failed would roll back to the withdrawn version. One blue/green
        # UpdateEndpoint replaces it; SageMaker keeps it serving only until the target is healthy.
        update["rollout"] = plan.rollout.model_copy(update={"replaceOnly": True, "steps": [100.0]})
        update["notes"] = [
            *plan.notes,
            f"{'drift rollback' if drift else 'withdrawal'}: {package_label(target)} replaces {label} in "
            f"one blue/green UpdateEndpoint, without a canary (the {'drifting' if drift else 'withdrawn'} "
            "version is no baseline to return to)",
        ]
    return plan.model_copy(update=update)
