"""Recovery after an execution stopped without recording: the endpoint it left is converged.

An operator's ``StopExecution``, a ``TimedOut`` execution or one that failed outside its Catch
paths runs no clean-up: the endpoint may be split between two variants, the lock held, nothing
recorded. Step Functions puts a "Step Functions Execution Status Change" event on the default
bus when an execution ends; a rule starts the deploy state machine with that event. This module
turns it into a ``RECOVER`` plan: the endpoint the stopped execution worked on (from its own
input, resolved the way it was then), which execution is recovered, and why. The state machine
then takes the endpoint's lock (over from the stopped execution if it still holds it), converges
the endpoint from what it observes (``smdeploy.converge``), cleans up and records the truth for
both executions.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from smdeploy.errors import InvalidRequest
from smdeploy.models import DeploymentPlan

STATUS_CHANGE_DETAIL_TYPE = "Step Functions Execution Status Change"
# The endings that may leave work half-done. SUCCEEDED always recorded; so did the FAILED endings
# through the state machine's own Fail states (they follow a record), except "Recording failed".
RECOVERABLE = {"ABORTED", "TIMED_OUT", "FAILED"}


class PlanResolver(Protocol):
    def __call__(self, raw: Any) -> DeploymentPlan: ...


def is_status_change(raw: Any) -> bool:
    return isinstance(raw, dict) and raw.get("detail-type") == STATUS_CHANGE_DETAIL_TYPE


def recovery_plan(raw: dict[str, Any], *, resolve: PlanResolver) -> DeploymentPlan:
    """The ``RECOVER`` plan for the execution a status-change event reports as ended.

    ``resolve`` turns the stopped execution's input into its plan (before the lock: it names the
    endpoint and the package; the endpoint is read under the lock later).
    """
    detail = raw.get("detail")
    if not isinstance(detail, dict):
        raise InvalidRequest("detail", "a Step Functions status-change event without a detail object")
    arn, status = detail.get("executionArn"), detail.get("status")
    if not isinstance(arn, str) or not arn:
        raise InvalidRequest("detail.executionArn", "expected the ARN of the execution that ended")
    if status not in RECOVERABLE:
        raise InvalidRequest(
            "detail.status", f"{status!r} needs no recovery; expected one of {sorted(RECOVERABLE)}"
        )
    text = detail.get("input")
    if not isinstance(text, str):
        raise InvalidRequest("detail.input", "the event does not include the execution's input")
    try:
        stopped_input = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest("detail.input", f"not JSON: {exc.msg}") from exc
    # A recovery that itself stopped: recover the same endpoint again.
    base = (
        recovery_plan(stopped_input, resolve=resolve)
        if is_status_change(stopped_input)
        else resolve(stopped_input)
    )
    name = str(detail.get("name") or arn.rsplit(":", 1)[-1])
    return base.model_copy(
        update={
            "action": "RECOVER",
            "source": "recovery",
            "recovers": arn,
            "recoversStatus": status,
            "reason": f"execution {name} ended {status} before recording its outcome; "
            f"converging endpoint {base.endpointName}",
        }
    )
