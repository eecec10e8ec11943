"""InvokeEndpoint in the local cloud: what a smoke test needs from SageMaker Runtime.

moto answers every invocation with canned data. Here an invocation reaches a serving endpoint or
fails as SageMaker fails it; on a multi-model endpoint ``TargetModel`` names an object under the
container's ``ModelDataUrl`` prefix, which must exist (SageMaker downloads it on first use), and
the model package it was copied from (object metadata ``smdeploy-model-package``) decides the
answer: a ``failInvoke`` version answers a ``ModelError``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any
from unittest import mock

from moto.core.exceptions import ServiceException
from moto.s3.exceptions import MissingBucket
from moto.s3.models import s3_backends
from moto.sagemaker.models import sagemaker_backends
from moto.sagemakerruntime import responses as rt_responses
from moto.utilities.utils import get_partition

from localcloud.services.sagemaker.endpoints import SERVING, ModelBehaviour, package_key

TARGET_MODEL_HEADER = "x-amzn-sagemaker-target-model"
PACKAGE_METADATA = "smdeploy-model-package"


class RuntimeValidationError(ServiceException):
    code = "ValidationError"


class ModelError(ServiceException):
    code = "ModelError"


class InvocationSimulator:
    def __init__(self, behaviour: Callable[[str], ModelBehaviour]) -> None:
        self._behaviour = behaviour
        self._stack = ExitStack()

    def install(self) -> None:
        original = rt_responses.SageMakerRuntimeResponse.invoke_endpoint
        sim = self

        def invoke_endpoint(response: Any) -> Any:
            name = str(response._get_params().get("EndpointName") or response.path.split("/")[2])
            headers = {key.lower(): value for key, value in response.headers.items()}
            target = headers.get(TARGET_MODEL_HEADER)
            sim.check(response.current_account, response.region, name, target)
            return original(response)

        self._stack.enter_context(
            mock.patch.object(rt_responses.SageMakerRuntimeResponse, "invoke_endpoint", invoke_endpoint)
        )

    def uninstall(self) -> None:
        self._stack.close()

    def check(self, account: str, region: str, name: str, target: str | None) -> None:
        """Raise what SageMaker answers when the invocation cannot be served."""
        backend = sagemaker_backends[account][region]
        endpoint = backend.endpoints.get(name)
        if endpoint is None or endpoint.endpoint_status not in SERVING:
            raise RuntimeValidationError(f"Endpoint {name} of account {account} not found.")
        if target is None:
            return
        config = backend.endpoint_configs.get(endpoint.endpoint_config_name)
        prefixes = []
        for variant in config.production_variants if config else []:
            model = backend._models.get(str(variant.get("ModelName")))
            containers = [*(model.containers or []), model.primary_container or {}] if model else []
            for container in containers:
                if container.get("Mode") == "MultiModel":
                    prefixes.append(str(container.get("ModelDataUrl")))
        if not prefixes:
            raise RuntimeValidationError(
                f"Endpoint {name} is not a multi-model endpoint: it takes no TargetModel header."
            )
        bucket, _, key_prefix = prefixes[0].removeprefix("s3://").partition("/")
        key = f"{key_prefix}{target}"
        s3 = s3_backends[account][get_partition(region)]
        try:
            stored = s3.get_object(bucket, key)  # None when the key is missing
        except MissingBucket:
            stored = None
        if stored is None:
            raise RuntimeValidationError(
                f"Failed to download model data(bucket: {bucket}, key: {key}). Please ensure that there "
                "is an object located at the URL and that the role passed to CreateModel has permissions "
                "to download the model."
            )
        metadata = {str(k).lower(): v for k, v in (stored.metadata or {}).items()}
        package = next((v for k, v in metadata.items() if k.endswith(PACKAGE_METADATA)), None)
        if package and self._behaviour(package_key(str(package))).fail_invoke:
            raise ModelError(
                f'Received server error (500) from model with message "{target} failed to load". '
                f"See CloudWatch logs for /aws/sagemaker/Endpoints/{name}."
            )
