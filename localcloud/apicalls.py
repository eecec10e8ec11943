"""Count every AWS API call the local cloud serves, and inject faults into chosen calls."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.utils import camelcase_to_underscores

SERVICE_NAMES = {
    "awslambda": "lambda",
    "awslambda_simple": "lambda",
    "stepfunctions": "states",
    "applicationautoscaling": "application-autoscaling",
    "sagemakerruntime": "sagemaker-runtime",
}


@dataclass
class Fault:
    """Fail ``call`` (``service:Action``) with ``error`` for the next ``times`` attempts."""

    call: str
    error: str
    times: int = 1
    message: str | None = None  # default: "injected by the local cloud (<error>)"
    after: float = 0.0  # only from this virtual second on
    injected: int = 0


class ApiCalls:
    def __init__(self, faults: list[Fault] | None = None, now: Any = None) -> None:
        self.counts: Counter[str] = Counter()
        self.counting = False
        self.injecting = True  # off while the local cloud acts as a user or an AWS service itself
        self.external: Counter[str] = Counter()  # the calls made while not injecting
        self.faults = list(faults or [])
        self._now = now or (lambda: 0.0)
        self.log: list[tuple[float, str, str | None]] = []  # (t, call, injected error)

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
        for fault in self.faults:
            if fault.call == call and fault.injected < fault.times and self._now() >= fault.after:
                fault.injected += 1
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
            fault = calls.fault_for(call)
            calls.log.append((calls._now(), call, fault.error if fault else None))
            if fault is not None:
                error_cls = type(fault.error, (ServiceException,), {"code": fault.error})
                method_name = camelcase_to_underscores(call.split(":", 1)[1])

                text = (
                    fault.message
                    if fault.message is not None
                    else f"injected by the local cloud ({fault.error})"
                )

                def fail() -> Any:
                    raise error_cls(text)

                setattr(response, method_name, fail)
            return original(response)

        return call_action
