"""SageMaker Runtime adapter: one invocation, for smoke tests."""

from __future__ import annotations

from typing import Any

from smdeploy.adapters.aws import AWS_ERRORS, client, error_code, error_message, translate
from smdeploy.errors import SmokeTestFailed

# The model or endpoint refused the request itself: the same call fails the same way again.
REQUEST_ERRORS = frozenset({"ModelError", "ModelNotReadyException", "ValidationError", "ValidationException"})


class RuntimeGateway:
    def __init__(self, runtime: Any | None = None) -> None:
        self._given = runtime

    @property
    def _rt(self) -> Any:
        """Where the endpoint is: a stage's account inside ``aws.acting_as``, else the stack's."""
        return self._given if self._given is not None else client("sagemaker-runtime")

    def invoke(
        self, endpoint: str, *, target_model: str | None, body: str, content_type: str
    ) -> dict[str, Any]:
        """Invoke once; :class:`SmokeTestFailed` with SageMaker's message when the model answers an error."""
        extra = {"TargetModel": target_model} if target_model else {}
        try:
            answer = self._rt.invoke_endpoint(
                EndpointName=endpoint, Body=body.encode(), ContentType=content_type, **extra
            )
        except AWS_ERRORS as exc:
            code = error_code(exc)
            if code in REQUEST_ERRORS:
                where = f"{target_model} on {endpoint}" if target_model else endpoint
                raise SmokeTestFailed(f"InvokeEndpoint {where}: {code}: {error_message(exc)}") from exc
            raise translate(exc, "InvokeEndpoint") from exc
        payload = answer["Body"].read()
        return {
            "contentType": answer.get("ContentType"),
            "invokedVariant": answer.get("InvokedProductionVariant"),
            "bytes": len(payload),
        }
