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
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from localcloud.engine import moto_hooks

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
