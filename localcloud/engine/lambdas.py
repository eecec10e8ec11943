"""Run the real Lambda handlers in-process, found the way Lambda finds them.

Each function's module is loaded from its template ``CodeUri`` by its ``Handler`` path
(``app.lambda_handler``), once per function (a warm container), with the function's environment
from the template. The shared layer is importable as it is on Lambda.

A scenario may fail a function (``faults[].call: lambda:<FunctionLogicalId>``) in the two ways
Step Functions tells apart (https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html):
``Lambda.<Code>`` (``Lambda.ServiceException``, ``Lambda.TooManyRequestsException``...) is an
error of the Invoke API itself, which Step Functions reports as ``Lambda.<Code>``; any other name
(``Sandbox.Timedout``, ``Lambda.Unknown`` for out-of-memory and crashes) is the function's own
error type, as Lambda answers it with ``X-Amz-Function-Error: Unhandled``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from aws_lambda_powertools import Metrics
from moto.core.exceptions import ServiceException

from localcloud.engine.template import FunctionSpec


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class Invocation:
    function: str
    ok: bool
    error_type: str | None = None
    error_message: str | None = None
    result: Any = None


UNKNOWN_ERROR = "Lambda.Unknown"
SERVICE_PREFIX = "Lambda."


def is_invoke_api_error(error: str) -> bool:
    """``Lambda.<Code>``, ``Lambda.Unknown`` excepted: the Invoke API call fails with ``<Code>``."""
    return error.startswith(SERVICE_PREFIX) and error != UNKNOWN_ERROR


def invoke_api_error(error: str, message: str) -> ServiceException:
    """The Invoke API's error ``Lambda.<Code>`` as moto serializes it (status from botocore's model:
    500 for ``ServiceException``, 429 for ``TooManyRequestsException``)."""
    code = error.removeprefix(SERVICE_PREFIX)
    return type(code, (ServiceException,), {"code": code})(message)


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


class LambdaRuntime:
    def __init__(self, functions: dict[str, FunctionSpec], extra_env: dict[str, str] | None = None) -> None:
        self._by_name: dict[str, FunctionSpec] = {}
        for spec in functions.values():
            self._by_name[spec.physical_name] = spec
            self._by_name[spec.arn] = spec
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}
        self._extra_env = extra_env or {}
        self.invocations: list[Invocation] = []

    def _environment(self, spec: FunctionSpec) -> dict[str, str]:
        """The function's variables, and the one Lambda sets itself for its name (reserved
        environment variables, Lambda developer guide)."""
        return {"AWS_LAMBDA_FUNCTION_NAME": spec.physical_name, **spec.environment, **self._extra_env}

    def spec(self, function_name: str) -> FunctionSpec:
        name = (
            function_name.split(":function:")[-1].split(":")[0]
            if ":function:" in function_name
            else function_name
        )
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no function {function_name!r} in template.yaml") from None

    def _load(self, spec: FunctionSpec) -> Callable[[Any, Any], Any]:
        if spec.logical_id in self._handlers:
            return self._handlers[spec.logical_id]
        module_path, _, attr = spec.handler.rpartition(".")
        file = spec.code_uri / (module_path.replace(".", "/") + ".py")
        unique = f"localcloud_fn_{spec.logical_id}"
        loader_spec = importlib.util.spec_from_file_location(unique, file)
        if loader_spec is None or loader_spec.loader is None:
            raise ImportError(f"cannot load handler {spec.handler} from {file}")
        module: ModuleType = importlib.util.module_from_spec(loader_spec)
        sys.modules[unique] = module
        with environment(self._environment(spec)):
            loader_spec.loader.exec_module(module)
        handler = getattr(module, attr)
        self._handlers[spec.logical_id] = handler
        return handler

    def fail(self, function_name: str, error: str, message: str, *, after_run: bool) -> dict[str, Any]:
        """Record an invocation failed by a fault and return the error payload Lambda answers.

        ``after_run``: the handler ran (its side effects are done) and the invocation it recorded
        becomes the failure."""
        spec = self.spec(function_name)
        if after_run and self.invocations and self.invocations[-1].function == spec.logical_id:
            self.invocations.pop()
        self.invocations.append(Invocation(spec.logical_id, False, error, message))
        return {"errorType": error, "errorMessage": message}

    def invoke(self, function_name: str, payload: Any) -> tuple[Any, str | None]:
        """Call the handler as Lambda would: ``(result, None)`` or ``(error payload, "Unhandled")``."""
        spec = self.spec(function_name)
        handler = self._load(spec)
        context = LambdaContext(function_name=spec.physical_name, invoked_function_arn=spec.arn)
        with environment(self._environment(spec)), warnings.catch_warnings():
            # Metrics are off locally; Powertools would warn that nothing was published.
            warnings.filterwarnings("ignore", message="No application metrics to publish")
            try:
                result = handler(payload, context)
            except Exception as exc:
                _clear_metrics()
                self.invocations.append(Invocation(spec.logical_id, False, type(exc).__name__, str(exc)))
                return (
                    {
                        "errorType": type(exc).__name__,
                        "errorMessage": str(exc),
                        "requestId": context.aws_request_id,
                        "stackTrace": traceback.format_tb(exc.__traceback__)[-5:],
                    },
                    "Unhandled",
                )
        _clear_metrics()
        answer = json.loads(json.dumps(result, default=str))
        self.invocations.append(Invocation(spec.logical_id, True, result=answer))
        return answer, None


def _clear_metrics() -> None:
    """Drop the metrics an invocation added: with metrics disabled locally, Powertools never flushes
    them, so they would pile up across invocations (and print if a later one ran with them on)."""
    Metrics().clear_metrics()  # every Metrics instance shares one metric set
