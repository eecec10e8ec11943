"""Endpoint locks and request claims in DynamoDB (the deployment history table), by conditional writes."""

from __future__ import annotations

from typing import Any

from smdeploy.adapters.aws import AWS_ERRORS, client, error_code, translate


class LockTable:
    """One item per endpoint lock (``LOCK#<endpoint>``) and per claimed request (``CLAIM#...``)."""

    def __init__(self, table_name: str, dynamodb: Any | None = None) -> None:
        self._table = table_name
        self._ddb = dynamodb or client("dynamodb")

    def _get(self, pk: str) -> dict[str, Any] | None:
        try:
            item = self._ddb.get_item(
                TableName=self._table, Key={"pk": {"S": pk}, "sk": {"S": "LOCK"}}, ConsistentRead=True
            )
        except AWS_ERRORS as exc:
            raise translate(exc, "GetItem") from exc
        raw = item.get("Item")
        return {key: next(iter(value.values())) for key, value in raw.items()} if raw else None

    def take(
        self, pk: str, owner: str, expires_at: int, now: int, attributes: dict[str, str]
    ) -> dict[str, Any] | None:
        """Take ``pk`` for ``owner`` until ``expires_at``; ``None`` when taken, else the current holder.

        Free, expired, or already ours: taken. A retry of the same step is therefore harmless.
        """
        item = {
            "pk": {"S": pk},
            "sk": {"S": "LOCK"},
            "owner": {"S": owner},
            "expiresAt": {"N": str(expires_at)},
            **{key: {"S": value} for key, value in attributes.items()},
        }
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR expiresAt < :now OR #owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":now": {"N": str(now)}, ":owner": {"S": owner}},
            )
            return None
        except AWS_ERRORS as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise translate(exc, "PutItem") from exc
        return self._get(pk) or {"owner": "unknown"}

    def hold_until(self, pk: str, owner: str, expires_at: int, attributes: dict[str, str]) -> bool:
        """Keep ``pk`` (still ``owner``'s) until ``expires_at`` with new attributes."""
        names = {f"#a{i}": key for i, key in enumerate(attributes)}
        values = {f":v{i}": {"S": value} for i, value in enumerate(attributes.values())}
        sets = ", ".join(f"#a{i} = :v{i}" for i in range(len(attributes)))
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key={"pk": {"S": pk}, "sk": {"S": "LOCK"}},
                UpdateExpression="SET expiresAt = :expires" + (f", {sets}" if sets else ""),
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner", **names},
                ExpressionAttributeValues={
                    ":expires": {"N": str(expires_at)},
                    ":owner": {"S": owner},
                    **values,
                },
            )
            return True
        except AWS_ERRORS as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise translate(exc, "UpdateItem") from exc

    def release(self, pk: str, owner: str) -> bool:
        """Delete ``pk`` if ``owner`` holds it; ``False`` when it was not held by ``owner``."""
        try:
            self._ddb.delete_item(
                TableName=self._table,
                Key={"pk": {"S": pk}, "sk": {"S": "LOCK"}},
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
            return True
        except AWS_ERRORS as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise translate(exc, "DeleteItem") from exc
