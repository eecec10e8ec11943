"""SageMaker adapter: registry look-ups, models, endpoint configs and endpoints."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from smdeploy.adapters.aws import client, error_code, error_message, translate


def _not_found(exc: ClientError) -> bool:
    message = error_message(exc)
    return error_code(exc) in {"ValidationException", "ResourceNotFound"} and (
        "Could not find" in message or "not found" in message or "does not exist" in message
    )


def _already_exists(exc: ClientError) -> bool:
    return error_code(exc) == "ValidationException" and "already existing" in error_message(exc)


class SageMakerGateway:
    """Thin wrapper over the SageMaker API that speaks the project's errors."""

    def __init__(self, sagemaker: Any | None = None) -> None:
        self._sm = sagemaker or client("sagemaker")

    # --- registry ------------------------------------------------------------------------
    def find_model_package(self, arn: str) -> dict[str, Any] | None:
        try:
            return dict(self._sm.describe_model_package(ModelPackageName=arn))
        except ClientError as exc:
            if _not_found(exc):
                return None
            raise translate(exc, "DescribeModelPackage") from exc

    # --- endpoints -----------------------------------------------------------------------
    def find_endpoint(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(self._sm.describe_endpoint(EndpointName=name))
        except ClientError as exc:
            if _not_found(exc):
                return None
            raise translate(exc, "DescribeEndpoint") from exc

    def describe_endpoint(self, name: str) -> dict[str, Any]:
        try:
            return dict(self._sm.describe_endpoint(EndpointName=name))
        except ClientError as exc:
            raise translate(exc, "DescribeEndpoint") from exc

    def create_model(self, *, name: str, package_arn: str, role_arn: str, tags: list[dict[str, str]]) -> bool:
        """Create the model; ``False`` when a model of that name exists already (idempotent)."""
        try:
            self._sm.create_model(
                ModelName=name,
                ExecutionRoleArn=role_arn,
                Containers=[{"ModelPackageName": package_arn}],
                Tags=tags,
            )
            return True
        except ClientError as exc:
            if _already_exists(exc):
                return False
            raise translate(exc, "CreateModel") from exc

    def find_model(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(self._sm.describe_model(ModelName=name))
        except ClientError as exc:
            if _not_found(exc):
                return None
            raise translate(exc, "DescribeModel") from exc

    def create_endpoint_config(
        self, *, name: str, variants: list[dict[str, Any]], tags: list[dict[str, str]], extra: dict[str, Any]
    ) -> bool:
        """Create the endpoint config; ``False`` when it exists already (idempotent)."""
        if self.find_endpoint_config(name) is not None:
            return False
        try:
            self._sm.create_endpoint_config(
                EndpointConfigName=name, ProductionVariants=variants, Tags=tags, **extra
            )
            return True
        except ClientError as exc:
            if _already_exists(exc):
                return False
            raise translate(exc, "CreateEndpointConfig") from exc

    def find_endpoint_config(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(self._sm.describe_endpoint_config(EndpointConfigName=name))
        except ClientError as exc:
            if _not_found(exc):
                return None
            raise translate(exc, "DescribeEndpointConfig") from exc

    def create_endpoint(self, *, name: str, config_name: str, tags: list[dict[str, str]]) -> None:
        try:
            self._sm.create_endpoint(EndpointName=name, EndpointConfigName=config_name, Tags=tags)
        except ClientError as exc:
            raise translate(exc, "CreateEndpoint") from exc

    def delete_endpoint(self, name: str) -> None:
        try:
            self._sm.delete_endpoint(EndpointName=name)
        except ClientError as exc:
            if _not_found(exc):
                return
            raise translate(exc, "DeleteEndpoint") from exc
