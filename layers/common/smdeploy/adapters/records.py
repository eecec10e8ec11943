"""Deployment history in DynamoDB: one item per execution, queryable by endpoint."""

from __future__ import annotations

import json
from typing import Any

from smdeploy.adapters.aws import AWS_ERRORS, client, translate


class DeploymentRecords:
    def __init__(self, table_name: str, dynamodb: Any | None = None) -> None:
        self._table = table_name
        self._ddb = dynamodb or client("dynamodb")

    @staticmethod
    def _item(record: dict[str, Any]) -> dict[str, Any]:
        item: dict[str, Any] = {}
        for key, value in record.items():
            if value is None:
                continue
            if isinstance(value, bool):
                item[key] = {"BOOL": value}
            elif isinstance(value, int | float):
                item[key] = {"N": str(value)}
            elif isinstance(value, str):
                item[key] = {"S": value}
            else:
                item[key] = {"S": json.dumps(value, sort_keys=True, default=str)}
        return item

    def put(self, record: dict[str, Any]) -> None:
        """Write the record of one execution (idempotent: a retry writes the same item)."""
        item = self._item(
            {
                "pk": f"DEPLOYMENT#{record['executionArn']}",
                "sk": "RECORD",
                "gsi1pk": f"ENDPOINT#{record.get('endpointName') or '-'}",
                "gsi1sk": record["recordedAt"],
                **record,
            }
        )
        try:
            self._ddb.put_item(TableName=self._table, Item=item)
        except AWS_ERRORS as exc:
            raise translate(exc, "PutItem") from exc

    def deployments_of(self, endpoint: str, limit: int = 50) -> list[dict[str, Any]]:
        """The endpoint's records, newest first (index ``byEndpoint``)."""
        try:
            answer = self._ddb.query(
                TableName=self._table,
                IndexName="byEndpoint",
                KeyConditionExpression="gsi1pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"ENDPOINT#{endpoint}"}},
                ScanIndexForward=False,
                Limit=limit,
            )
        except AWS_ERRORS as exc:
            raise translate(exc, "Query") from exc
        return [
            {key: next(iter(value.values())) for key, value in item.items()}
            for item in answer.get("Items", [])
        ]

    def annotate(self, execution_arn: str, key: str, value: dict[str, Any]) -> None:
        """Add ``key`` (JSON) to the record of ``execution_arn`` (a stage gate's answer)."""
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"DEPLOYMENT#{execution_arn}"}, "sk": {"S": "RECORD"}},
                UpdateExpression="SET #key = :value",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#key": key},
                ExpressionAttributeValues={":value": {"S": json.dumps(value, sort_keys=True, default=str)}},
            )
        except AWS_ERRORS as exc:
            raise translate(exc, "UpdateItem") from exc

    # --- monitors: the latest check of an endpoint's drift monitor -------------------------------
    def put_monitor_report(self, endpoint: str, report: dict[str, Any]) -> None:
        """Keep the latest drift check of ``endpoint`` (one item, replaced by every check)."""
        item = self._item({"pk": f"MONITOR#{endpoint}", "sk": "LATEST", "report": report})
        try:
            self._ddb.put_item(TableName=self._table, Item=item)
        except AWS_ERRORS as exc:
            raise translate(exc, "PutItem") from exc

    def monitor_report(self, endpoint: str) -> dict[str, Any] | None:
        """The latest drift check of ``endpoint``, or ``None``."""
        try:
            answer = self._ddb.get_item(
                TableName=self._table, Key={"pk": {"S": f"MONITOR#{endpoint}"}, "sk": {"S": "LATEST"}}
            )
        except AWS_ERRORS as exc:
            raise translate(exc, "GetItem") from exc
        raw = (answer.get("Item") or {}).get("report", {}).get("S")
        return dict(json.loads(raw)) if raw else None

    # --- operator commands: smdeploy promote|abort, obeyed by the rollout holding the lock ---------
    def operator_command(self, endpoint: str, execution_arn: str) -> dict[str, Any] | None:
        """The command waiting for ``execution_arn`` on ``endpoint`` (one for another execution,
        left from an earlier rollout, is not this one's)."""
        try:
            answer = self._ddb.get_item(
                TableName=self._table,
                Key={"pk": {"S": f"OPERATOR#{endpoint}"}, "sk": {"S": "COMMAND"}},
                ConsistentRead=True,
            )
        except AWS_ERRORS as exc:
            raise translate(exc, "GetItem") from exc
        item = {key: next(iter(value.values())) for key, value in (answer.get("Item") or {}).items()}
        if item.get("executionArn") != execution_arn:
            return None
        return {key: item.get(key) for key in ("command", "at", "reason") if item.get(key) is not None}

    def clear_operator_command(self, endpoint: str, execution_arn: str) -> None:
        """Delete the command once obeyed (only if it is still this execution's)."""
        try:
            self._ddb.delete_item(
                TableName=self._table,
                Key={"pk": {"S": f"OPERATOR#{endpoint}"}, "sk": {"S": "COMMAND"}},
                ConditionExpression="executionArn = :arn",
                ExpressionAttributeValues={":arn": {"S": execution_arn}},
            )
        except AWS_ERRORS as exc:
            if "ConditionalCheckFailed" in str(exc):
                return
            raise translate(exc, "DeleteItem") from exc
