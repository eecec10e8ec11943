"""Captured requests and responses (SageMaker data capture) of a shadow test: do both answer alike?

SageMaker writes what an endpoint with ``DataCaptureConfig`` captures as JSON Lines under
``<DestinationS3Uri>/<EndpointName>/<VariantName>/yyyy/mm/dd/hh/``, one record per request with
``captureData.endpointInput`` / ``endpointOutput`` (``data`` with its ``encoding``: CSV, JSON or
BASE64) and ``eventMetadata.eventId`` (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html).
A shadow variant's copy of a request carries the production record's ``eventId``: joining the two
variants on it pairs the answers to the same request.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from smdeploy.adapters.s3 import S3Gateway, split_s3_uri

MAX_OBJECTS_PER_VARIANT = 500  # per look: enough pairs to judge agreement, bounded work per call


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _hours(start: datetime, end: datetime) -> list[datetime]:
    hour = start.replace(minute=0, second=0, microsecond=0)
    hours = []
    while hour <= end:
        hours.append(hour)
        hour += timedelta(hours=1)
    return hours


def _output(record: dict[str, Any]) -> str | None:
    output = (record.get("captureData") or {}).get("endpointOutput") or {}
    data = output.get("data")
    if not isinstance(data, str):
        return None
    if str(output.get("encoding", "")).upper() == "BASE64":
        try:
            return base64.b64decode(data).decode("utf-8", "replace").strip()
        except ValueError:
            return None
    return data.strip()


def answers(
    s3: S3Gateway, destination: str, endpoint: str, variant: str, start: datetime, end: datetime
) -> dict[str, str]:
    """eventId -> the answer of every request ``variant`` captured in ``[start, end)``."""
    bucket, _ = split_s3_uri(destination)
    start, end = _utc(start), _utc(end)
    found: dict[str, str] = {}
    for hour in _hours(start, end):
        prefix = f"{destination.rstrip('/')}/{endpoint}/{variant}/{hour:%Y/%m/%d/%H}/"
        for key in s3.keys_under(prefix, limit=MAX_OBJECTS_PER_VARIANT):
            for line in s3.read_text(bucket, key).splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                meta = record.get("eventMetadata") or {}
                when = meta.get("inferenceTime")
                if when:
                    at = _utc(datetime.fromisoformat(str(when).replace("Z", "+00:00")))
                    if not start <= at < end:
                        continue
                answer = _output(record)
                if meta.get("eventId") and answer is not None:
                    found[str(meta["eventId"])] = answer
    return found


def agreement(
    s3: S3Gateway,
    destination: str,
    endpoint: str,
    production: str,
    shadow: str,
    start: datetime,
    end: datetime,
) -> dict[str, int]:
    """How many requests both variants captured (``compared``) and answered alike (``agreeing``)."""
    ours = answers(s3, destination, endpoint, production, start, end)
    theirs = answers(s3, destination, endpoint, shadow, start, end)
    paired = [event for event in theirs if event in ours]
    return {"compared": len(paired), "agreeing": sum(1 for e in paired if ours[e] == theirs[e])}
