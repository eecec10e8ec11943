"""Deployment notifications on SNS."""

from __future__ import annotations

import json
from typing import Any

from smdeploy.adapters.aws import AWS_ERRORS, client, translate


class Notifier:
    def __init__(self, topic_arn: str, sns: Any | None = None) -> None:
        self._topic = topic_arn
        self._sns = sns or client("sns")

    def publish(self, subject: str, message: dict[str, Any]) -> str:
        try:
            answer = self._sns.publish(
                TopicArn=self._topic,
                Subject=subject[:100],
                Message=json.dumps(message, sort_keys=True, default=str),
                MessageAttributes={
                    "outcome": {"DataType": "String", "StringValue": str(message.get("outcome", ""))}
                },
            )
        except AWS_ERRORS as exc:
            raise translate(exc, "Publish") from exc
        return str(answer["MessageId"])
