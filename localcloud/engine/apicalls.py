"""Count every AWS API call the local cloud serves, and inject faults into chosen calls.

A fault fails a call ``before`` it takes effect (the default), or after: a ``lost-response`` runs
the call, then answers the error, as when the server acted but the client saw a timeout or a 5XX
("lost response"; the retry then meets its own first attempt).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import botocore.session
from moto.core.exceptions import ServiceException
from moto.core.utils import camelcase_to_underscores

SERVICE_NAMES = {
    "awslambda": "lambda",
    "awslambda_simple": "lambda",
    "stepfunctions": "states",
    "applicationautoscaling": "application-autoscaling",
    "sagemakerruntime": "sagemaker-runtime",
}

# Call-name prefix (``service:``) -> the boto3 client name, for the services the local cloud serves.
SERVED_SERVICES = {
    "sagemaker": "sagemaker",
    "sagemaker-runtime": "sagemaker-runtime",
    "states": "stepfunctions",
    "lambda": "lambda",
    "events": "events",
    "dynamodb": "dynamodb",
    "sns": "sns",
    "sqs": "sqs",
    "ssm": "ssm",
    "cloudwatch": "cloudwatch",
    "application-autoscaling": "application-autoscaling",
    "iam": "iam",
    "scheduler": "scheduler",  # EventBridge Scheduler (moto; firings: services/scheduler.py)
    "cloudformation": "cloudformation",  # DescribeStacks of the rehearsed stack (services/cloudformation.py)
    "sts": "sts",  # AssumeRole of a stage in another account (engine/cloud.py: sessions)
}

FaultMode = Literal["before", "lost-response"]
BEFORE: FaultMode = "before"
LOST_RESPONSE: FaultMode = "lost-response"


_SESSION = botocore.session.get_session()


@cache
def service_model(client_name: str) -> Any:
    """botocore's model of a service, loaded once per process (a model is a large file: loading
    SageMaker's takes a tenth of a second)."""
    return _SESSION.get_service_model(client_name)


@cache
def service_operations(client_name: str) -> frozenset[str]:
    """The operation names of a service in botocore's model (``UpdateEndpoint``, ...)."""
    return frozenset(service_model(client_name).operation_names)


def call_problem(call: str) -> str | None:
    """Why ``service:Action`` names no call the local cloud serves, or None when it does."""
    service, _, action = call.partition(":")
    client_name = SERVED_SERVICES.get(service)
    if client_name is None:
        return f"the local cloud serves no service {service!r} (served: {', '.join(sorted(SERVED_SERVICES))})"
    if action not in service_operations(client_name):
        return f"{service} has no action {action!r} in botocore's service model"
    return None


@dataclass
class Fault:
    """Fail ``call`` (``service:Action``) with ``error`` for the next ``times`` attempts."""

    call: str
    error: str
    times: int = 1
    message: str | None = None  # default: "injected by the local cloud (<error>)"
    after: float = 0.0  # only from this virtual second on
    mode: FaultMode = BEFORE
    injected: int = 0

    @property
    def text(self) -> str:
        return self.message if self.message is not None else f"injected by the local cloud ({self.error})"

    def exception(self) -> ServiceException:
        """The error as moto serializes it: the scenario's code and message."""
        error_cls = type(self.error, (ServiceException,), {"code": self.error})
        return error_cls(self.text)


@dataclass(frozen=True)
class Injected:
    """One injected failure: of an API call, or of a function (``lambda:<FunctionLogicalId>``)."""

    at: float
    call: str
    error: str
    mode: FaultMode


class ApiCalls:
    def __init__(self, faults: list[Fault] | None = None, now: Any = None) -> None:
        self.counts: Counter[str] = Counter()
        self.counting = False
        self.injecting = True  # off while the local cloud acts as a user or an AWS service itself
        self.external: Counter[str] = Counter()  # the calls made while not injecting
        self.faults = list(faults or [])
        self._now = now or (lambda: 0.0)
        self.log: list[tuple[float, str, str | None]] = []  # (t, call, injected error)
        self.injected: list[Injected] = []
        # IAM: (call, moto response) -> the exception to answer with, or None when allowed
        self.authorize: Callable[[str, Any], Exception | None] | None = None

    @staticmethod
    def call_name(response: Any) -> str:
        module = type(response).__module__.split(".")
        service = SERVICE_NAMES.get(module[1], module[1]) if len(module) > 1 else "unknown"
        return f"{service}:{response._get_action()}"

    def control_plane(self) -> Counter[str]:
        """The calls made by the control plane (handlers, state machines), not by the scenario acting
        as a user or by the local cloud acting as EventBridge or Scheduler."""
        return self.counts - self.external

    def fault_for(self, call: str) -> Fault | None:
        if not self.injecting:
            return None
        return self.take_fault(call)

    def take_fault(self, call: str) -> Fault | None:
        """The next fault due for ``call`` now, counted as injected (whoever makes the call)."""
        for fault in self.faults:
            if fault.call == call and fault.injected < fault.times and self._now() >= fault.after:
                fault.injected += 1
                self.injected.append(Injected(self._now(), call, fault.error, fault.mode))
                return fault
        return None

    def wrap(self, original: Any) -> Any:
        calls = self

        def call_action(response: Any) -> Any:
            if not calls.counting:
                return original(response)
            call = calls.call_name(response)
            calls.counts[call] += 1
            if not calls.injecting:
                calls.external[call] += 1
            refusal = calls.authorize(call, response) if calls.authorize is not None else None
            if refusal is not None:  # IAM denied it: nothing happens, the caller gets the error

                def refuse() -> Any:
                    raise refusal

                setattr(response, camelcase_to_underscores(call.split(":", 1)[1]), refuse)
                return original(response)
            fault = calls.fault_for(call)
            calls.log.append((calls._now(), call, fault.error if fault else None))
            if fault is None:
                return original(response)
            error = fault.exception()
            method_name = camelcase_to_underscores(call.split(":", 1)[1])

            def fail() -> Any:
                raise error

            if fault.mode == LOST_RESPONSE:
                # The call takes effect; then the caller gets the error instead of the answer.
                headers = dict(response.response_headers)
                original(response)
                response.response_headers = headers
            setattr(response, method_name, fail)
            return original(response)

        return call_action
