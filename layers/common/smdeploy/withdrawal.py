"""Withdrawn approvals: when the version an endpoint serves is Rejected, restore the last good one.

Runs on every "SageMaker Model Package State Change" event to ``Rejected``. Most rejections are
of versions that never went live; they change nothing. When the rejected version serves traffic
on its group's endpoint, the last version recorded as ``DEPLOYED`` or ``PROMOTED`` there (and
still ``Approved``) is deployed again through the deploy state machine, as a manual request whose
``reason`` says why, with a short all-at-once rollout: a known-good model needs no long canary.

On a multi-model endpoint every version sits beside the others under the group's prefix: the
rejected version's artifact is deleted so that no new request can load it (SageMaker unloads a
model already in memory only when it evicts it).
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import ValidationError

from smdeploy.adapters.config_store import GroupConfigStore
from smdeploy.adapters.executions import ExecutionStarter
from smdeploy.adapters.records import DeploymentRecords
from smdeploy.adapters.s3 import S3Gateway
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.events import MODEL_PACKAGE_DETAIL_TYPE
from smdeploy.models import ModelPackageStateChange
from smdeploy.plan import package_label

RESTORE_STRATEGY: dict[str, Any] = {
    "type": "all-at-once",
    "bakeMinutes": 3,  # no shorter than the candidate alarms' window (smdeploy.plan.check_bake_window)
    "checkIntervalSeconds": 60,
    "minInvocations": 0,
}
GOOD_OUTCOMES = {"DEPLOYED", "PROMOTED"}


def handle_rejection(
    event: dict[str, Any],
    *,
    sagemaker: SageMakerGateway,
    configs: GroupConfigStore,
    records: DeploymentRecords,
    starter: ExecutionStarter,
    s3: S3Gateway | None = None,
) -> dict[str, Any]:
    """Decide what a rejection means for the endpoint serving that group; start a restore if needed."""
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
    endpoint = config.endpoint if config else None
    if not endpoint:
        return {"action": "ignored", "why": f"no endpoint configured for group {group!r}"}
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
    if live is None or live.get("EndpointStatus") != "InService":
        status = live.get("EndpointStatus") if live else "absent"
        return {"action": "ignored", "why": f"endpoint {endpoint} is {status}"}
    serving = {
        v["ModelPackageArn"]
        for v in sagemaker.variants_serving(live)
        if float(v.get("CurrentWeight") or 0) > 0
    }
    if rejected not in serving:
        return {"action": "ignored", "why": f"{package_label(rejected)} does not serve {endpoint}"}
    for record in records.deployments_of(endpoint):
        candidate = str(record.get("modelPackageArn") or "")
        if record.get("outcome") not in GOOD_OUTCOMES or not candidate or candidate == rejected:
            continue
        package = sagemaker.find_model_package(candidate)
        if package is None or package.get("ModelApprovalStatus") != "Approved":
            continue
        reason = (
            f"approval of {package_label(rejected)} withdrawn (Rejected) while it served {endpoint}; "
            f"restoring {package_label(candidate)}, the last version {str(record['outcome']).lower()} there"
        )
        name = "restore-" + hashlib.sha256(f"{endpoint}|{rejected}|{candidate}".encode()).hexdigest()[:24]
        arn = starter.start(
            name,
            {
                "modelPackageArn": candidate,
                "endpointName": endpoint,
                "reason": reason,
                "strategy": RESTORE_STRATEGY,
            },
        )
        return {
            "action": "restore",
            "restoring": candidate,
            "withdrawn": rejected,
            "execution": arn,
            "reason": reason,
        }
    return {
        "action": "none",
        "why": f"no earlier approved version was deployed on {endpoint}; "
        f"{package_label(rejected)} keeps serving",
    }
