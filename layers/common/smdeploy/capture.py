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
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from smdeploy.adapters.s3 import S3Gateway, split_s3_uri

MAX_OBJECTS_PER_VARIANT = 500  # per look: enough pairs to judge agreement, bounded work per call


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def hours(start: datetime, end: datetime) -> list[datetime]:
    """The whole hours from ``start``'s to ``end``'s, inclusive (the capture's ``yyyy/mm/dd/hh`` folders)."""
    hour = start.replace(minute=0, second=0, microsecond=0)
    hours = []
    while hour <= end:
        hours.append(hour)
        hour += timedelta(hours=1)
    return hours


def _data(record: dict[str, Any], which: str) -> str | None:
    """The text of ``captureData.<which>`` (``endpointInput`` or ``endpointOutput``), decoded."""
    part = (record.get("captureData") or {}).get(which) or {}
    data = part.get("data")
    if not isinstance(data, str):
        return None
    if str(part.get("encoding", "")).upper() == "BASE64":
        try:
            return base64.b64decode(data).decode("utf-8", "replace").strip()
        except ValueError:
            return None
    return data.strip()


def records(
    s3: S3Gateway,
    destination: str,
    endpoint: str,
    variant: str,
    start: datetime,
    end: datetime,
    *,
    max_objects: int = MAX_OBJECTS_PER_VARIANT,
) -> Iterator[dict[str, Any]]:
    """Every record ``variant`` captured with an ``inferenceTime`` in ``[start, end)``."""
    bucket, _ = split_s3_uri(destination)
    start, end = _utc(start), _utc(end)
    for hour in hours(start, end):
        prefix = f"{destination.rstrip('/')}/{endpoint}/{variant}/{hour:%Y/%m/%d/%H}/"
        for key in s3.keys_under(prefix, limit=max_objects):
            for line in s3.read_text(bucket, key).splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if not isinstance(record, dict):
                    continue
                when = (record.get("eventMetadata") or {}).get("inferenceTime")
                if when:
                    try:
                        at = _utc(datetime.fromisoformat(str(when).replace("Z", "+00:00")))
                    except ValueError:
                        continue
                    if not start <= at < end:
                        continue
                yield record


def answers(
    s3: S3Gateway, destination: str, endpoint: str, variant: str, start: datetime, end: datetime
) -> dict[str, str]:
    """eventId -> the answer of every request ``variant`` captured in ``[start, end)``."""
    found: dict[str, str] = {}
    for record in records(s3, destination, endpoint, variant, start, end):
        event = (record.get("eventMetadata") or {}).get("eventId")
        answer = _data(record, "endpointOutput")
        if event and answer is not None:
            found[str(event)] = answer
    return found


def inputs(
    s3: S3Gateway, destination: str, endpoint: str, variant: str, start: datetime, end: datetime
) -> list[str]:
    """The CSV rows of every request ``variant`` captured in ``[start, end)`` (a request may carry
    several rows, one a line)."""
    rows: list[str] = []
    for record in records(s3, destination, endpoint, variant, start, end):
        data = _data(record, "endpointInput")
        if data:
            rows.extend(line for line in data.splitlines() if line.strip())
    return rows


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
