"""Deployment notifications on SNS."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from smdeploy.adapters.aws import AWS_ERRORS, client, translate

# SNS Publish API reference, Subject: "ASCII text that begins with a letter, number, or punctuation
# mark; must not include line breaks or control characters; and must be less than 100 characters
# long." A subject outside these rules fails the Publish call.
SUBJECT_MAX_CHARS = 99
SUBJECT_FALLBACK = "smdeploy notification"
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]+")  # control characters (line breaks too) and spaces


def sns_subject(text: str) -> str:
    """``text`` as an SNS subject: ASCII, one line, no control characters, under 100 characters.

    Accents are dropped (``é`` -> ``e``), other non-ASCII characters become ``?``, runs of
    whitespace and control characters one space; a subject cut short ends with ``...``.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c if c.isascii() else "?" for c in decomposed if not unicodedata.combining(c))
    subject = _CONTROL_OR_SPACE.sub(" ", ascii_text).strip()  # starts with a printable non-space
    if len(subject) > SUBJECT_MAX_CHARS:
        subject = subject[: SUBJECT_MAX_CHARS - 3].rstrip() + "..."
    return subject or SUBJECT_FALLBACK


class Notifier:
    def __init__(self, topic_arn: str, sns: Any | None = None) -> None:
        self._topic = topic_arn
        self._sns = sns or client("sns")

    def publish(self, subject: str, message: dict[str, Any]) -> str:
        """Publish ``message`` (JSON) with ``subject`` made safe for SNS; the message carries the
        full subject text."""
        try:
            answer = self._sns.publish(
                TopicArn=self._topic,
                Subject=sns_subject(subject),
                Message=json.dumps({**message, "subject": subject}, sort_keys=True, default=str),
                MessageAttributes={
                    "outcome": {"DataType": "String", "StringValue": str(message.get("outcome", ""))}
                },
            )
        except AWS_ERRORS as exc:
            raise translate(exc, "Publish") from exc
        return str(answer["MessageId"])
