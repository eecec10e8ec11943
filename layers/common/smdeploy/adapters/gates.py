"""Stage gates in the deployments table: the task token of the execution waiting at a gate.

One item per gated endpoint (``GATE#<endpoint>`` / ``OPEN``): the token, the execution, the version
waiting and when the gate closes. ``smdeploy approve|reject ENDPOINT`` answers the token.
"""

from __future__ import annotations

from typing import Any

from smdeploy.adapters.aws import AWS_ERRORS, client, if_condition_holds, translate
from smdeploy.adapters.wakeups import send_task_failure, send_task_success

GATE_FIELDS = ("token", "executionArn", "modelPackageArn", "fromEndpoint", "openedAt", "closesAt")


def gate_key(endpoint: str) -> dict[str, Any]:
    return {"pk": {"S": f"GATE#{endpoint}"}, "sk": {"S": "OPEN"}}


class Gates:
    def __init__(
        self, table_name: str, dynamodb: Any | None = None, stepfunctions: Any | None = None
    ) -> None:
        self._table = table_name
        self._ddb = dynamodb or client("dynamodb")
        self._sfn = stepfunctions or client("stepfunctions")

    def open(self, endpoint: str, gate: dict[str, str]) -> dict[str, str] | None:
        """Open the gate of ``endpoint`` for ``gate`` (GATE_FIELDS); returns the gate it replaced."""
        try:
            answer = self._ddb.put_item(
                TableName=self._table,
                Item={**gate_key(endpoint), **{k: {"S": str(gate[k])} for k in GATE_FIELDS}},
                ReturnValues="ALL_OLD",
            )
        except AWS_ERRORS as exc:
            raise translate(exc, "PutItem") from exc
        old = answer.get("Attributes")
        return {k: str(v["S"]) for k, v in old.items() if "S" in v} if old else None

    def get(self, endpoint: str) -> dict[str, str] | None:
        try:
            answer = self._ddb.get_item(TableName=self._table, Key=gate_key(endpoint), ConsistentRead=True)
        except AWS_ERRORS as exc:
            raise translate(exc, "GetItem") from exc
        item = answer.get("Item")
        return {k: str(v["S"]) for k, v in item.items() if "S" in v} if item else None

    def remove(self, endpoint: str, execution_arn: str) -> None:
        """Close the gate if ``execution_arn`` still waits at it (a newer version's stays)."""
        if_condition_holds(
            self._ddb.delete_item,
            "DeleteItem",
            TableName=self._table,
            Key=gate_key(endpoint),
            ConditionExpression="executionArn = :arn",
            ExpressionAttributeValues={":arn": {"S": execution_arn}},
        )

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        """SendTaskSuccess; False when the wait has already ended."""
        return send_task_success(self._sfn, token, output)

    def fail(self, token: str, error: str, cause: str) -> bool:
        """SendTaskFailure with ``error``; False when the wait has already ended."""
        return send_task_failure(self._sfn, token, error, cause)
