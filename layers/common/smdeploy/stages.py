"""Staged promotion: a version deploys to each stage's endpoint in turn, through its gate.

A group config's ``stages`` list endpoints in order. A deployment to a stage that succeeds
(DEPLOYED or PROMOTED, recorded, the lock released) then waits at the next stage's gate, in a
``.waitForTaskToken`` Task of the same execution (:func:`open_gate`):

- ``gate: auto`` answers itself: the next stage starts at once;
- ``gate: manual`` keeps the token in ``GATE#<endpoint>`` and notifies how to answer it:
  ``smdeploy approve ENDPOINT`` (SendTaskSuccess) or ``smdeploy reject ENDPOINT`` (SendTaskFailure,
  ``GateRejected``); unanswered for ``timeoutHours``, the Task times out. A newer version reaching
  the same gate fails the older one's token (``GateSuperseded``).

:func:`close_gate` then records the answer on the stage's record (``gate``) and, when approved,
starts the next stage's deployment (a manual start naming the next endpoint; its own plan finds the
stage after it). The execution ends ``Next stage started``, or fails ``GateRejected`` /
``GateTimedOut`` / ``GateNotPassed``: the version goes no further, the stages behind keep serving.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from smdeploy.adapters.executions import start_once
from smdeploy.models import package_label

ANSWERS = {"GateRejected": "REJECTED", "States.Timeout": "TIMED_OUT", "GateSuperseded": "SUPERSEDED"}


class GateRequest(BaseModel):
    """What the gate states pass the stage gate function."""

    model_config = ConfigDict(extra="ignore")

    action: Literal["open", "close"]
    executionArn: str
    plan: dict[str, Any]
    token: str | None = None  # open: the Task's token
    gate: dict[str, Any] | None = None  # close: the token's answer (SendTaskSuccess output)
    gateError: dict[str, Any] | None = None  # close: the Task's error (Error, Cause)

    @model_validator(mode="before")
    @classmethod
    def _from_state(cls, data: Any) -> Any:
        """close passes the whole state (``gate`` or ``gateError`` is there, not both)."""
        if isinstance(data, dict) and isinstance(data.get("state"), dict):
            state = data["state"]
            data = {k: v for k, v in data.items() if k != "state"}
            data.update({k: state[k] for k in ("plan", "gate", "gateError") if k in state})
        return data


def approve_command(endpoint: str) -> str:
    return f"smdeploy approve {endpoint}"


def reject_command(endpoint: str) -> str:
    return f'smdeploy reject {endpoint} --reason "..."'


def open_gate(request: GateRequest, *, gates: Any, notifier: Any, now: datetime) -> dict[str, Any]:
    plan, following = request.plan, request.plan["nextStage"]
    label = package_label(plan["modelPackageArn"])
    if following["gate"] != "manual":
        gates.succeed(request.token, {"by": "automatic", "at": now.isoformat()})
        return {"opened": False, "endpoint": following["endpoint"], "gate": "auto"}
    closes = now + timedelta(seconds=int(following["timeoutSeconds"]))
    replaced = gates.open(
        following["endpoint"],
        {
            "token": request.token,
            "executionArn": request.executionArn,
            "modelPackageArn": plan["modelPackageArn"],
            "fromEndpoint": plan["endpointName"],
            "openedAt": now.isoformat(),
            "closesAt": closes.isoformat(),
        },
    )
    if replaced and replaced.get("executionArn") != request.executionArn and replaced.get("token"):
        gates.fail(
            replaced["token"],
            "GateSuperseded",
            f"{label} reached the gate of {following['endpoint']} after "
            f"{package_label(replaced.get('modelPackageArn', ''))}",
        )
    notifier.publish(
        f"smdeploy GATE: {following['endpoint']} <- {label} waits for approval",
        {
            "outcome": "GATE_OPEN",
            "gate": "OPEN",
            "endpointName": following["endpoint"],
            "modelPackageArn": plan["modelPackageArn"],
            "passed": plan["endpointName"],
            "approve": approve_command(following["endpoint"]),
            "reject": reject_command(following["endpoint"]),
            "closesAt": closes.isoformat(),
            "executionArn": request.executionArn,
        },
    )
    return {"opened": True, "endpoint": following["endpoint"], "closesAt": closes.isoformat()}


def stage_execution_name(plan: dict[str, Any], execution_arn: str) -> str:
    """The next stage's execution: named after this one, so that a re-run starts it once."""
    group, version = plan["modelPackageGroup"], plan["modelPackageVersion"]
    digest = hashlib.sha256(execution_arn.encode()).hexdigest()[:10]
    stem = re.sub(r"[^A-Za-z0-9_-]", "-", f"stage{plan['nextStage']['index'] + 1}-{group}-v{version}")
    return f"{stem[:64]}-{digest}"


def close_gate(
    request: GateRequest, *, gates: Any, records: Any, notifier: Any, starter: Any, now: datetime
) -> dict[str, Any]:
    plan, following = request.plan, request.plan["nextStage"]
    label = package_label(plan["modelPackageArn"])
    answer = dict(request.gate or {})
    if request.gateError is not None:
        error = str(request.gateError.get("Error") or "")
        result: dict[str, Any] = {
            "answer": ANSWERS.get(error, "FAILED"),
            "error": error,
            "detail": request.gateError.get("Cause"),
        }
    else:
        result = {"answer": "APPROVED", "by": answer.get("by"), "reason": answer.get("reason")}
    result.update(endpoint=following["endpoint"], gate=following["gate"], at=now.isoformat())
    if following["gate"] == "manual":
        gates.remove(following["endpoint"], request.executionArn)
    if result["answer"] == "APPROVED":
        stage_input = {
            "modelPackageArn": plan["modelPackageArn"],
            "endpointName": following["endpoint"],
            "throughStages": True,
            "reason": f"stage {following['index'] + 1} of {plan['stage']['of']}: {label} passed "
            f"{plan['endpointName']} (gate {following['gate']}, approved by {result['by']})",
        }
        # a re-run of this state finds the execution it started
        result["nextExecution"], _ = start_once(
            starter, stage_execution_name(plan, request.executionArn), stage_input
        )
    records.annotate(request.executionArn, "gate", result)
    if following["gate"] == "manual":
        notifier.publish(
            f"smdeploy GATE {result['answer']}: {following['endpoint']} <- {label}",
            {
                "outcome": f"GATE_{result['answer']}",
                "gate": result,
                "modelPackageArn": plan["modelPackageArn"],
                "executionArn": request.executionArn,
            },
        )
    return result
