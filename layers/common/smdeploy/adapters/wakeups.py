"""Waiting executions and the events that wake them: task tokens kept in the deployments table.

One item per endpoint (``WAKE#<endpoint>`` / ``WAIT``): the token of the Task waiting on it, if
any, and the last event about it nobody has consumed yet (``signal``). Parking and signalling each
swap their half in one ``UpdateItem``, so that an event landing between a check and the next park
is never lost: the park finds the signal and answers its own token at once.
"""

from __future__ import annotations

import json
from typing import Any

from smdeploy.adapters.aws import AWS_ERRORS, client, error_code, if_condition_holds, translate

CLOSED_TOKEN_CODES = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})


class Wakeups:
    def __init__(
        self, table_name: str, dynamodb: Any | None = None, stepfunctions: Any | None = None
    ) -> None:
        self._table = table_name
        self._ddb = dynamodb or client("dynamodb")
        self._sfn = stepfunctions or client("stepfunctions")

    @staticmethod
    def _key(endpoint: str) -> dict[str, Any]:
        return {"pk": {"S": f"WAKE#{endpoint}"}, "sk": {"S": "WAIT"}}

    def park(self, endpoint: str, token: str, execution_arn: str, waiting_for: str, at: str) -> str | None:
        """Keep ``token`` as the one waiting on ``endpoint``; returns the signal that was waiting
        (consumed), or None."""
        try:
            answer = self._ddb.update_item(
                TableName=self._table,
                Key=self._key(endpoint),
                UpdateExpression="SET #token = :token, executionArn = :arn, waitingFor = :for, "
                "parkedAt = :at REMOVE #signal",
                ExpressionAttributeNames={"#token": "token", "#signal": "signal"},
                ExpressionAttributeValues={
                    ":token": {"S": token},
                    ":arn": {"S": execution_arn},
                    ":for": {"S": waiting_for},
                    ":at": {"S": at},
                },
                ReturnValues="ALL_OLD",
            )
        except AWS_ERRORS as exc:
            raise translate(exc, "UpdateItem") from exc
        old = answer.get("Attributes") or {}
        if "signal" not in old or waiting_for not in str(old.get("signalFor", {}).get("S", "")).split():
            return None
        return str(old["signal"]["S"])

    def signal(self, endpoint: str, what: str, wakes: tuple[str, ...]) -> str | None:
        """Note ``what`` happened on ``endpoint`` (only an endpoint something has waited on), an
        event for waits of the kinds ``wakes``; returns the token of a Task of those kinds waiting
        on it (taken from the item), or None."""
        kinds = {f":k{i}": {"S": kind} for i, kind in enumerate(wakes)}
        values = {":what": {"S": what}, ":for": {"S": " ".join(wakes)}}
        answer = if_condition_holds(
            self._ddb.update_item,
            "UpdateItem",
            TableName=self._table,
            Key=self._key(endpoint),
            UpdateExpression="SET #signal = :what, signalFor = :for REMOVE #token",
            ConditionExpression=f"attribute_exists(#token) AND waitingFor IN ({', '.join(kinds)})",
            ExpressionAttributeNames={"#token": "token", "#signal": "signal"},
            ExpressionAttributeValues={**values, **kinds},
            ReturnValues="ALL_OLD",
        )
        if answer is not None:
            return str(answer["Attributes"]["token"]["S"])
        if_condition_holds(  # nothing of those kinds waits: keep the event for the next park
            self._ddb.update_item,
            "UpdateItem",
            TableName=self._table,
            Key=self._key(endpoint),
            UpdateExpression="SET #signal = :what, signalFor = :for",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#signal": "signal"},
            ExpressionAttributeValues=values,
        )
        return None

    def consumed(self, endpoint: str, what: str) -> None:
        """The signal ``what`` woke its waiter: nobody needs it any more (unless another came)."""
        if_condition_holds(
            self._ddb.update_item,
            "UpdateItem",
            TableName=self._table,
            Key=self._key(endpoint),
            UpdateExpression="REMOVE #signal, signalFor",
            ConditionExpression="#signal = :what",
            ExpressionAttributeNames={"#signal": "signal"},
            ExpressionAttributeValues={":what": {"S": what}},
        )

    def answer(self, token: str, output: dict[str, Any]) -> bool:
        """SendTaskSuccess; False when the Task has already ended (timed out, answered, stopped)."""
        return send_task_success(self._sfn, token, output)


def send_task_success(stepfunctions: Any, token: str, output: dict[str, Any]) -> bool:
    """Answer a waiting Task; False when it has already ended (its token is closed)."""
    try:
        stepfunctions.send_task_success(taskToken=token, output=json.dumps(output, default=str))
    except AWS_ERRORS as exc:
        if error_code(exc) in CLOSED_TOKEN_CODES:
            return False
        raise translate(exc, "SendTaskSuccess") from exc
    return True


def send_task_failure(stepfunctions: Any, token: str, error: str, cause: str) -> bool:
    """Fail a waiting Task with ``error``; False when it has already ended (its token is closed)."""
    try:
        stepfunctions.send_task_failure(taskToken=token, error=error, cause=cause[:32768])
    except AWS_ERRORS as exc:
        if error_code(exc) in CLOSED_TOKEN_CODES:
            return False
        raise translate(exc, "SendTaskFailure") from exc
    return True
