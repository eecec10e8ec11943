"""The deploy steps the state machine calls, one function per Task state.

Each function takes the plan (or request) and the adapters it needs and returns a small JSON-able
dict that the state machine keeps under a ``ResultPath``.
"""

from __future__ import annotations

import json
from typing import Any

from smdeploy import clock
from smdeploy.adapters.config_store import GroupConfigStore
from smdeploy.adapters.notifier import Notifier
from smdeploy.adapters.records import DeploymentRecords
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.errors import (
    EndpointBusy,
    EndpointDeploymentFailed,
    InvalidRequest,
)
from smdeploy.events import normalize
from smdeploy.models import DeploymentPlan, Outcome
from smdeploy.plan import build_plan, parse_package_arn

MANAGED_TAG = "smdeploy:managed"
IN_PROGRESS_STATUSES = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})


def _tags(plan: DeploymentPlan) -> list[dict[str, str]]:
    return [
        {"Key": MANAGED_TAG, "Value": "true"},
        {"Key": "smdeploy:model-package-group", "Value": plan.modelPackageGroup},
        {"Key": "smdeploy:model-package-version", "Value": str(plan.modelPackageVersion)},
    ]


def resolve_plan(
    raw: Any, *, sagemaker: SageMakerGateway, configs: GroupConfigStore, defaults: dict[str, Any]
) -> DeploymentPlan:
    """Normalize the input and resolve the plan; :class:`InvalidRequest` touches nothing."""
    request = normalize(raw)
    _region, _account, group, _version = parse_package_arn(request.modelPackageArn)
    package = sagemaker.find_model_package(request.modelPackageArn)
    if package is None:
        raise InvalidRequest(
            "modelPackageArn", f"no model package {request.modelPackageArn!r} in the registry"
        )
    config = configs.load(group)
    endpoint_name = request.overrides.get("endpointName") or (config.endpoint if config else None)
    live = sagemaker.find_endpoint(endpoint_name) if endpoint_name else None
    return build_plan(
        request,
        package=package,
        group_config=config,
        group_config_source=f"ssm:{configs.parameter_name(group)}",
        defaults=defaults,
        live_endpoint=live,
    )


def create_model(plan: DeploymentPlan, *, sagemaker: SageMakerGateway, role_arn: str) -> dict[str, Any]:
    created = sagemaker.create_model(
        name=plan.modelName, package_arn=plan.modelPackageArn, role_arn=role_arn, tags=_tags(plan)
    )
    return {"modelName": plan.modelName, "created": created}


def create_endpoint_config(plan: DeploymentPlan, *, sagemaker: SageMakerGateway) -> dict[str, Any]:
    variants = [
        {
            "VariantName": plan.variantName,
            "ModelName": plan.modelName,
            "InstanceType": plan.instanceType,
            "InitialInstanceCount": plan.initialInstanceCount,
            "InitialVariantWeight": 1.0,
        }
    ]
    created = sagemaker.create_endpoint_config(
        name=plan.endpointConfigName, variants=variants, tags=_tags(plan), extra={}
    )
    return {"endpointConfigName": plan.endpointConfigName, "created": created}


def create_endpoint(plan: DeploymentPlan, *, sagemaker: SageMakerGateway) -> dict[str, Any]:
    """Create the endpoint; a retry after a lost answer finds it already on our config."""
    live = sagemaker.find_endpoint(plan.endpointName)
    if live is not None:
        if live.get("EndpointConfigName") == plan.endpointConfigName:
            return {"endpointName": plan.endpointName, "created": False}
        raise EndpointBusy(
            f"CreateEndpoint: endpoint {plan.endpointName!r} appeared while this deployment ran "
            f"(config {live.get('EndpointConfigName')!r})"
        )
    sagemaker.create_endpoint(name=plan.endpointName, config_name=plan.endpointConfigName, tags=_tags(plan))
    return {"endpointName": plan.endpointName, "created": True}


def check_endpoint(plan: DeploymentPlan, *, sagemaker: SageMakerGateway) -> dict[str, Any]:
    """The endpoint's status; :class:`EndpointDeploymentFailed` when SageMaker says ``Failed``."""
    described = sagemaker.describe_endpoint(plan.endpointName)
    status = str(described.get("EndpointStatus"))
    if status == "Failed":
        raise EndpointDeploymentFailed(
            f"endpoint {plan.endpointName!r} failed: {described.get('FailureReason') or 'no reason given'}"
        )
    return {
        "status": status,
        "inService": status == "InService",
        "inProgress": status in IN_PROGRESS_STATUSES,
        "endpointConfigName": described.get("EndpointConfigName"),
    }


def remove_failed_endpoint(plan: DeploymentPlan, *, sagemaker: SageMakerGateway) -> dict[str, Any]:
    """Delete a first-deploy endpoint that ended ``Failed`` (the only call SageMaker allows on it)."""
    live = sagemaker.find_endpoint(plan.endpointName)
    if live is None:
        return {"deleted": False}
    if live.get("EndpointStatus") != "Failed":
        return {"deleted": False, "status": live.get("EndpointStatus")}
    sagemaker.delete_endpoint(plan.endpointName)
    return {"deleted": True}


def record_outcome(
    event: dict[str, Any], *, records: DeploymentRecords, notifier: Notifier
) -> dict[str, Any]:
    """Write the deployment record, then publish the notification; returns the record."""
    outcome = Outcome(event["outcome"])
    plan = event.get("plan") or {}
    error = event.get("error") or {}
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
    }
    records.put(record)
    target = record["endpointName"] or "-"
    package = record["modelPackageArn"] or "unknown package"
    subject = f"smdeploy {outcome.value}: {target} <- {'/'.join(package.split('/')[-2:])}"
    message_id = notifier.publish(subject, record)
    return {**{k: v for k, v in record.items() if v is not None}, "notificationId": message_id}


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
