"""Start executions of a state machine (the withdrawn-approval handler starts a deployment)."""

from __future__ import annotations

import json
from typing import Any

from smdeploy.adapters.aws import AWS_ERRORS, client, translate
from smdeploy.errors import AwsRequestRejected


class ExecutionStarter:
    def __init__(self, state_machine_arn: str, stepfunctions: Any | None = None) -> None:
        self._arn = state_machine_arn
        self._sfn = stepfunctions or client("stepfunctions")

    def start(self, name: str, execution_input: dict[str, Any]) -> str:
        """Start (or, for the same name and input, find) an execution; returns its ARN."""
        try:
            answer = self._sfn.start_execution(
                stateMachineArn=self._arn, name=name, input=json.dumps(execution_input)
            )
        except AWS_ERRORS as exc:
            raise translate(exc, "StartExecution") from exc
        return str(answer["executionArn"])


def start_once(starter: Any, name: str, execution_input: dict[str, Any]) -> tuple[str, bool]:
    """``starter.start`` for an execution named after what asked for it (a repeated delivery, a
    re-run of the state): ``(its ARN, False)``, or ``(name, True)`` when an execution of that name
    was already started."""
    try:
        return starter.start(name, execution_input), False
    except AwsRequestRejected as exc:
        if "ExecutionAlreadyExists" not in exc.message:
            raise
        return name, True
