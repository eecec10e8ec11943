"""Step Functions in the local cloud: the API where moto's interpreter answers otherwise than AWS.

moto's interpreter runs the executions (``localcloud/engine/cloud.py``). A person's client (the
operator CLI, ``smdeploy_cli/operator.py``) meets two of its gaps, served here as AWS serves them.

``StartExecution`` without ``name``: moto names the execution ``None`` (its ARN ends ``:None``, and
a second one collides). "If you don't provide a name for the execution, Step Functions
automatically generates a universally unique identifier (UUID) as the execution name"
(https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html): a UUID
here too, drawn from moto's seeded generator so that a rehearsal repeats.

``GetExecutionHistory``: moto answers every event at once, oldest first, whatever the request
asks; a client reading the newest events of a running execution (``smdeploy status``: its current
state and latest verdict, ``reverseOrder=True, maxResults=200``) would read the oldest. Here, as
the API reference says
(https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html):

- ``reverseOrder``: "Lists events in descending order of their timeStamp";
- ``maxResults``: "The default is 100 and the maximum allowed page size is 1000. A value of 0 uses
  the default" (more than 1000: ``ValidationException``);
- ``nextToken``: the next page, "Keep all other arguments unchanged"; a token this execution's
  history in this order did not give is ``InvalidToken``;
- ``includeExecutionData: false``: no input or output in the events' details.

The local cloud's own reading of histories (``LocalCloud.execution_history``, the report) goes to
the interpreter directly and is not paged.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from unittest import mock

from localcloud.engine import moto_hooks
from localcloud.engine.scheduler import STOPPED, TIMED_OUT

if TYPE_CHECKING:
    from localcloud.engine.scheduler import Scheduler

DEFAULT_PAGE = 100
MAX_PAGE = 1000
EXECUTION_DATA = ("input", "inputDetails", "output", "outputDetails")


def _token(arn: str, reverse: bool, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([arn, reverse, offset]).encode()).decode()


def _offset(token: str, arn: str, reverse: bool) -> int | None:
    """Where the page a token names starts, or None when this history in this order gave no such token."""
    try:
        named, named_reverse, offset = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError):
        return None
    if named != arn or named_reverse != reverse or not isinstance(offset, int) or offset < 0:
        return None
    return offset


def _without_data(event: dict[str, Any]) -> dict[str, Any]:
    return {
        key: {k: v for k, v in value.items() if k not in EXECUTION_DATA}
        if key.endswith("EventDetails") and isinstance(value, dict)
        else value
        for key, value in event.items()
    }


def history_page(
    events: list[dict[str, Any]],
    arn: str,
    *,
    reverse: bool = False,
    max_results: int | None = None,
    next_token: str | None = None,
    include_data: bool = True,
) -> dict[str, Any]:
    """One page of an execution's history events: ``events`` and, when more follow, ``nextToken``.
    Raises ``ValidationException`` (page size) or ``InvalidToken``, as Step Functions answers."""
    exceptions = "moto.stepfunctions.exceptions"
    size = max_results or DEFAULT_PAGE
    if size > MAX_PAGE:
        raise moto_hooks.resolve(exceptions, "ValidationException")(
            f"1 validation error detected: Value '{size}' at 'maxResults' failed to satisfy "
            f"constraint: Member must have value less than or equal to {MAX_PAGE}"
        )
    ordered = list(reversed(events)) if reverse else list(events)
    start = 0
    if next_token:
        found = _offset(next_token, arn, reverse)
        if found is None or found > len(ordered):
            raise moto_hooks.resolve(exceptions, "InvalidToken")(
                f"{next_token!r} is no token of this history"
            )
        start = found
    page = ordered[start : start + size]
    answer: dict[str, Any] = {"events": page if include_data else [_without_data(e) for e in page]}
    if start + size < len(ordered):
        answer["nextToken"] = _token(arn, reverse, start + size)
    return answer


@contextmanager
def served_as_on_aws() -> Iterator[None]:
    """While open, StartExecution names a nameless execution with a UUID, and GetExecutionHistory
    answers pages (``history_page``) instead of moto's whole list."""
    response_cls = moto_hooks.resolve("moto.stepfunctions.responses", "StepFunctionResponse")
    backend_cls = moto_hooks.resolve("moto.stepfunctions.parser.models", "StepFunctionsParserBackend")
    action_result = moto_hooks.resolve("moto.core.responses", "ActionResult")
    generator = moto_hooks.resolve("moto.moto_api._internal", "mock_random")
    start_execution = backend_cls.start_execution

    def start_named(
        backend: Any, state_machine_arn: str, name: str | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        return start_execution(backend, state_machine_arn, name or str(generator.uuid4()), *args, **kwargs)

    def get_execution_history(response: Any) -> Any:
        arn = str(response._get_param("executionArn"))
        events = list(response.stepfunction_backend.get_execution_history(arn)["events"])
        include = response._get_param("includeExecutionData")
        return action_result(
            history_page(
                events,
                arn,
                reverse=bool(response._get_param("reverseOrder")),
                max_results=response._get_param("maxResults"),
                next_token=response._get_param("nextToken"),
                include_data=include is None or bool(include),
            )
        )

    with (
        mock.patch.object(response_cls, "get_execution_history", get_execution_history),
        mock.patch.object(backend_cls, "start_execution", start_named),
    ):
        yield


# --- task tokens in virtual time --------------------------------------------------------------------
CALLBACK_TASK = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback"
)
CALLBACK = "moto.stepfunctions.parser.asl.eval.callback.callback"
EXECUTE_STATE = "moto.stepfunctions.parser.asl.component.state.exec.execute_state"


class _UntimedEvent(threading.Event):
    """The interpreter waits for a Task's body with its ``TimeoutSeconds`` in real time; here the
    body's own waits are virtual (a token's timeout below), so the outer wait has no deadline (a
    body that never ends is caught by the scheduler as a stuck participant)."""

    def wait(self, timeout: float | None = None) -> bool:
        return super().wait()


@contextmanager
def task_tokens_in_virtual_time(scheduler: Scheduler) -> Iterator[None]:
    """``.waitForTaskToken`` Tasks as Step Functions runs them, on the virtual clock.

    - The Task sleeps until ``SendTaskSuccess`` / ``SendTaskFailure`` names its token, or until its
      ``TimeoutSeconds`` pass (then ``States.Timeout``). A token sent before the wait began (the
      invoked function answered at once) ends the wait at once.
    - ``TimeoutSeconds`` / ``TimeoutSecondsPath`` must be a positive integer, as the ASL
      specification requires ("must be positive integers"); moto accepts 0.
    - Once the Task has ended, its token is closed: a later ``SendTaskSuccess`` or
      ``SendTaskFailure`` fails with ``TaskTimedOut``, "the task associated with the token has
      already been closed"
      (https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html);
      moto would accept it.
    - ``StopExecution`` ends the wait at once (the execution enters no further state).
    - ``HeartbeatSeconds`` is not rehearsed: such a Task fails loudly instead of timing out in
      real time.
    """
    task_cls = moto_hooks.resolve(CALLBACK_TASK, "StateTaskServiceCallback")
    endpoint_cls = moto_hooks.resolve(CALLBACK, "CallbackEndpoint")
    closed = moto_hooks.resolve(CALLBACK, "CallbackConsumerTimeout")
    success = moto_hooks.resolve(CALLBACK, "CallbackOutcomeSuccess")
    original_notify = endpoint_cls.notify

    def wait_for_task_token(_task: Any, timeout_seconds: Any, callback_endpoint: Any) -> Any:
        if isinstance(timeout_seconds, bool) or not isinstance(timeout_seconds, int) or timeout_seconds <= 0:
            raise ValueError(f"TimeoutSeconds must be a positive integer, got {timeout_seconds!r}")
        outcome = callback_endpoint.get_outcome()
        if outcome is None:
            why = scheduler.sleep(timeout_seconds, alias=callback_endpoint.callback_id)
            outcome = callback_endpoint.get_outcome()
            if outcome is None and why == STOPPED:
                # StopExecution: the Task ends quietly, as a stopped Wait does, and the stopped
                # execution enters no further state.
                outcome = success(callback_id=callback_endpoint.callback_id, output="{}")
            elif outcome is None and why != TIMED_OUT:
                raise AssertionError(f"a task token's wait woke ({why}) with no answer")
        callback_endpoint.report(closed())
        return outcome

    def heartbeat(*_args: Any, **_kwargs: Any) -> Any:
        raise NotImplementedError("HeartbeatSeconds on a .waitForTaskToken Task is not rehearsed")

    def notify(endpoint: Any, outcome: Any) -> None:
        original_notify(endpoint, outcome)
        token = endpoint.callback_id

        def wake() -> None:
            scheduler.wake(token, reason="answered")  # False before the wait began: it reads the outcome

        scheduler.after(0, wake)

    timed_out = moto_hooks.resolve("moto.stepfunctions.parser.api", "TaskTimedOut")

    class TaskTimedOut(timed_out):  # type: ignore[misc,valid-type]
        """What a closed token answers. moto raises its TaskTimedOut without the message its
        constructor requires, and tests the wrapper instead of the consumer error, so that every
        closed token would answer TaskDoesNotExist: both names raise this here (the backend raises
        them for a closed token only)."""

        def __init__(self, message: str = "Task Timed Out: the task for this token has been closed") -> None:
            super().__init__(message, exception_type="TaskTimedOut")

    threading_shim = SimpleNamespace(
        **{name: getattr(threading, name) for name in dir(threading) if not name.startswith("_")}
    )
    threading_shim.Event = _UntimedEvent
    with (
        mock.patch.object(task_cls, "_wait_for_task_token_timeout", wait_for_task_token),
        mock.patch.object(task_cls, "_wait_for_task_token_heartbeat", heartbeat),
        mock.patch.object(endpoint_cls, "notify", notify),
        mock.patch(f"{EXECUTE_STATE}.threading", threading_shim),
        mock.patch("moto.stepfunctions.parser.models.TaskTimedOut", TaskTimedOut),
        mock.patch("moto.stepfunctions.parser.models.TaskDoesNotExist", TaskTimedOut),
    ):
        yield
