"""A SageMaker simulator on top of moto: what moto lacks for a faithful rehearsal.

- Endpoints take virtual time: ``Creating`` → ``InService`` (or ``Failed``) after
  ``endpointCreateSeconds``.
- Names are unique (case-insensitive for endpoints); a second create raises the
  ``ValidationException`` SageMaker raises, and so does a change to an in-progress endpoint.
- ``UpdateModelPackage`` keeps the fields it is not given (moto blanks them) and, like SageMaker,
  every registry change emits a "SageMaker Model Package State Change" event on the local bus.
- Endpoint status changes emit "SageMaker Endpoint State Change" events.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from moto.sagemaker import models as sm_models
from moto.sagemaker.exceptions import ValidationError

from localcloud.scheduler import Scheduler

IN_PROGRESS = {"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"}
EVENT_STATUS = {
    "Creating": "CREATING",
    "Updating": "UPDATING",
    "InService": "IN_SERVICE",
    "Failed": "FAILED",
    "Deleting": "DELETING",
}


@dataclass
class ModelBehaviour:
    """How a model package version behaves once deployed (from a scenario's ``models``)."""

    error_rate: float = 0.001
    latency_ms: float = 40.0
    fail_deploy: bool = False
    failure_reason: str = "The primary container for production variant failed the ping health check."


@dataclass
class SimulationSettings:
    endpoint_create_seconds: float = 480.0
    endpoint_update_seconds: float = 300.0
    registry_events: bool = True
    behaviours: dict[str, ModelBehaviour] = field(default_factory=dict)  # "group/version" -> behaviour


def package_key(arn: str) -> str:
    """``group/version`` of a model package ARN."""
    match = re.search(r":model-package/([^/]+)/(\d+)$", arn)
    return f"{match[1]}/{match[2]}" if match else arn


class SageMakerSimulator:
    def __init__(
        self,
        scheduler: Scheduler,
        settings: SimulationSettings,
        emit: Callable[[str, str, dict[str, Any], list[str]], None],
    ) -> None:
        self.scheduler = scheduler
        self.settings = settings
        self._emit = emit
        self._stack = ExitStack()
        self.status_log: list[tuple[float, str, str]] = []  # (t, endpoint, status)

    # --- patching -------------------------------------------------------------------------
    def install(self) -> None:
        backend_cls = sm_models.SageMakerModelBackend
        originals = {
            name: getattr(backend_cls, name)
            for name in (
                "create_endpoint",
                "delete_endpoint",
                "create_model",
                "create_endpoint_config",
                "update_model_package",
                "create_model_package",
            )
        }
        sim = self

        def create_endpoint(backend: Any, endpoint_name: str, endpoint_config_name: str, tags: Any) -> Any:
            for existing in backend.endpoints.values():
                if existing.endpoint_name.lower() == endpoint_name.lower():
                    raise ValidationError(f'Cannot create already existing endpoint "{existing.arn}".')
            endpoint = originals["create_endpoint"](backend, endpoint_name, endpoint_config_name, tags)
            sim._set_status(endpoint, "Creating")
            behaviour = sim._behaviour_of_config(backend, endpoint_config_name)
            if behaviour.fail_deploy:
                sim.scheduler.after(
                    sim.settings.endpoint_create_seconds,
                    lambda: sim._set_status(endpoint, "Failed", behaviour.failure_reason),
                )
            else:
                sim.scheduler.after(
                    sim.settings.endpoint_create_seconds, lambda: sim._set_status(endpoint, "InService")
                )
            return endpoint

        def delete_endpoint(backend: Any, endpoint_name: str) -> None:
            endpoint = backend.endpoints.get(endpoint_name)
            if endpoint is not None and endpoint.endpoint_status in IN_PROGRESS:
                raise ValidationError(f'Cannot update in-progress endpoint "{endpoint.arn}".')
            originals["delete_endpoint"](backend, endpoint_name)
            if endpoint is not None:
                sim.status_log.append((sim.scheduler.now, endpoint_name, "Deleted"))

        def create_model(backend: Any, model_name: str, *args: Any, **kwargs: Any) -> Any:
            if model_name in backend._models:
                arn = backend._models[model_name].arn
                raise ValidationError(f'Cannot create already existing model "{arn}".')
            return originals["create_model"](backend, model_name, *args, **kwargs)

        def create_endpoint_config(backend: Any, endpoint_config_name: str, *args: Any, **kwargs: Any) -> Any:
            if endpoint_config_name in backend.endpoint_configs:
                arn = backend.endpoint_configs[endpoint_config_name].endpoint_config_arn
                raise ValidationError(f'Cannot create already existing endpoint configuration "{arn}".')
            return originals["create_endpoint_config"](backend, endpoint_config_name, *args, **kwargs)

        def update_model_package(
            backend: Any,
            model_package_arn: str,
            model_approval_status: str | None,
            approval_description: str | None,
            customer_metadata_properties: dict[str, str] | None,
            customer_metadata_properties_to_remove: list[str],
            additional_inference_specifications_to_add: list[Any] | None,
        ) -> str:
            package = backend.describe_model_package(model_package_arn)
            before = package.model_approval_status
            arn = originals["update_model_package"](
                backend,
                model_package_arn,
                model_approval_status or before,
                approval_description if approval_description is not None else package.approval_description,
                customer_metadata_properties
                if customer_metadata_properties is not None
                else dict(package.customer_metadata_properties or {}),
                customer_metadata_properties_to_remove or [],
                additional_inference_specifications_to_add,
            )
            sim._emit_package_event(backend.describe_model_package(arn))
            return str(arn)

        def create_model_package(backend: Any, *args: Any, **kwargs: Any) -> Any:
            arn = originals["create_model_package"](backend, *args, **kwargs)
            sim._emit_package_event(backend.describe_model_package(arn))
            return arn

        replacements = {
            "create_endpoint": create_endpoint,
            "delete_endpoint": delete_endpoint,
            "create_model": create_model,
            "create_endpoint_config": create_endpoint_config,
            "update_model_package": update_model_package,
            "create_model_package": create_model_package,
        }
        for name, replacement in replacements.items():
            self._stack.enter_context(mock.patch.object(backend_cls, name, replacement))

    def uninstall(self) -> None:
        self._stack.close()

    # --- behaviour ------------------------------------------------------------------------
    def _behaviour_of_config(self, backend: Any, config_name: str) -> ModelBehaviour:
        config = backend.endpoint_configs.get(config_name)
        variants = config.production_variants if config is not None else []
        for variant in variants:
            package_arn = self.package_of_model(backend, variant.get("ModelName", ""))
            if package_arn:
                return self.settings.behaviours.get(package_key(package_arn), ModelBehaviour())
        return ModelBehaviour()

    @staticmethod
    def package_of_model(backend: Any, model_name: str) -> str | None:
        model = backend._models.get(model_name)
        if model is None:
            return None
        containers = list(model.containers or []) + (
            [model.primary_container] if model.primary_container else []
        )
        for container in containers:
            if container.get("ModelPackageName"):
                return str(container["ModelPackageName"])
        return None

    def _set_status(self, endpoint: Any, status: str, reason: str | None = None) -> None:
        endpoint.endpoint_status = status
        endpoint.failure_reason = reason
        self.status_log.append((self.scheduler.now, endpoint.endpoint_name, status))
        detail = {
            "EndpointName": endpoint.endpoint_name,
            "EndpointArn": endpoint.arn,
            "EndpointConfigName": endpoint.endpoint_config_name,
            "EndpointStatus": EVENT_STATUS.get(status, status.upper()),
            "FailureReason": reason,
            "Tags": {tag["Key"]: tag["Value"] for tag in endpoint.tags or []},
        }
        self._emit("aws.sagemaker", "SageMaker Endpoint State Change", detail, [endpoint.arn])

    def _emit_package_event(self, package: Any) -> None:
        if not self.settings.registry_events:
            return
        described = package.gen_response_object()
        detail = {
            key: described.get(key)
            for key in (
                "ModelPackageGroupName",
                "ModelPackageVersion",
                "ModelPackageArn",
                "ModelPackageName",
                "ModelPackageDescription",
                "CreationTime",
                "InferenceSpecification",
                "ModelPackageStatus",
                "ModelApprovalStatus",
                "ApprovalDescription",
                "CustomerMetadataProperties",
            )
            if described.get(key) is not None
        }
        detail["CreationTime"] = str(detail.get("CreationTime", ""))
        self._emit(
            "aws.sagemaker",
            "SageMaker Model Package State Change",
            detail,
            [str(described["ModelPackageArn"])],
        )
