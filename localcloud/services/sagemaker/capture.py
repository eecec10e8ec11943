"""SageMaker data capture: the JSON Lines objects a real-time endpoint writes to S3.

For an endpoint whose live config has ``DataCaptureConfig`` enabled, and whose model execution
role may put the objects (``SageMakerSimulator.capture_config``), each variant (production and
shadow) writes, per virtual minute with traffic, one object of the requests it sampled:

- Layout: ``<DestinationS3Uri>/<EndpointName>/<VariantName>/yyyy/mm/dd/hh/<file>.jsonl``: "The
  format of the Amazon S3 path is: s3://{destination-bucket-prefix}/{endpoint-name}/{variant-name}/
  yyyy/mm/dd/hh/filename.jsonl", organized by the hour of the invocation (SageMaker developer
  guide, "Capture data from real-time endpoint" / "View captured data",
  https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html). The
  file name, ``<mm>-<ss>-<mmm>-<uuid>.jsonl`` (minute, second and millisecond of the first record,
  then a random id), is this simulator's own: the guide does not specify it.
- One record a line (the guide's sample record): ``captureData.endpointInput`` and
  ``captureData.endpointOutput``, each ``{observedContentType, mode (INPUT|OUTPUT), data,
  encoding}``; ``eventMetadata {eventId, inferenceTime}`` (``inferenceTime`` like
  ``2020-07-30T13:36:30Z``); ``eventVersion`` ``"0"``. ``CaptureOptions`` says which of input and
  output are written.
- Encoding: a content type listed in ``CaptureContentTypeHeader`` (``CsvContentTypes``,
  ``JsonContentTypes``) is captured as text with encoding ``CSV``/``JSON``; otherwise the data is
  base64 (``BASE64``): "If no headers are specified SageMaker AI will by default base64 encode when
  capturing the data" (API reference, ``DataCaptureConfig.CaptureContentTypeHeader``). Inputs are
  ``text/csv``, outputs ``text/csv; charset=utf-8`` (the content type is matched without its
  parameters).
- Sampling: ``InitialSamplingPercentage`` of the requests, each request sampled or not by a
  uniform number drawn from its id (so a shadow variant captures the copies of exactly the
  production requests that were captured). At most ``simulation.captureRecordsPerObject`` records
  (the first ones of the minute) go in one object: rehearsals of hours stay cheap.
- Delivery: "The delivery of captured data to Amazon S3 can require a couple of minutes" (same
  guide); here an object appears when the minute's metrics are published
  (``simulation.metricDelaySeconds`` after the minute ends). A missing bucket loses the object
  (:attr:`DataCaptureWriter.lost`).

Requests are identified deterministically: request ``i`` of variant ``v`` in minute ``m`` has an id
drawn from ``(seed, endpoint, v, m, i)``, from which come its ``eventId``, its feature row (the
CSV input), its sampling draw and the uniform ``u`` that decides its label: ``1`` when ``u`` is below
the serving version's ``positiveRate``. A shadow variant's ``j``-th request of a minute is a copy of
the production variant's ``j``-th request: same ``eventId``, input and ``u``, its own version's label,
so two versions agree on ``1 - |r1 - r2|`` of the requests.

The feature row: when the version that served the request has a baseline (``models.<g/v>.baseline``),
one value per baseline feature, in order, drawn from the request's id and the distributions the
version has at the request's time (its baseline, or a drift of it:
``localcloud/services/sagemaker/baselines.py``); a shadow copy sends the production request's row.
A version without a baseline sends ``age,tenure,charges,calls`` derived from the id's digest.

Once delivered, the production variants' records go to :attr:`DataCaptureWriter.on_deliver`, which
labels them when the scenario has ground truth (``localcloud/services/sagemaker/groundtruth.py``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from moto.s3.exceptions import MissingBucket

from localcloud.services.sagemaker.baselines import Feature, feature_row
from localcloud.services.sagemaker.groundtruth import CapturedPrediction

INPUT_CONTENT_TYPE = "text/csv"
OUTPUT_CONTENT_TYPE = "text/csv; charset=utf-8"
EVENT_VERSION = "0"


@dataclass(frozen=True)
class Request:
    """One simulated inference request: its id and what derives from it."""

    event_id: str
    sample_u: float  # the data capture sampling draw
    label_u: float  # decides the label: 1 when below the serving version's positiveRate
    features: str  # the CSV row sent to the endpoint


def request(seed: int, endpoint: str, variant: str, minute: int, index: int) -> Request:
    """Request ``index`` of ``variant`` in ``minute`` (deterministic for the seed)."""
    digest = hashlib.blake2b(
        f"{seed}/{endpoint}/{variant}/{minute}/{index}".encode(), digest_size=32
    ).digest()
    event_id = str(uuid.UUID(bytes=digest[:16], version=4))
    sample_u = int.from_bytes(digest[16:20], "big") / 2**32
    label_u = int.from_bytes(digest[20:24], "big") / 2**32
    age = 18 + digest[24] % 73
    tenure = digest[25] % 72
    charges = 20.0 + int.from_bytes(digest[26:28], "big") / 65535.0 * 100.0
    calls = digest[28] % 10
    return Request(event_id, sample_u, label_u, f"{age},{tenure},{charges:.2f},{calls}")


@dataclass
class CapturedObject:
    """An object written under the capture destination."""

    uri: str
    endpoint: str
    variant: str
    minute: int
    records: int


@dataclass
class DataCaptureWriter:
    """Builds each minute's capture objects; the caller writes them when they are delivered."""

    seed: int
    epoch: datetime
    s3_backend: Callable[[], Any]  # moto's S3 backend of the cloud's account
    positive_rate: Callable[[str], float]  # package ("group/version") -> its positiveRate
    max_records: Callable[[], int]
    objects: list[CapturedObject] = field(default_factory=list)
    lost: int = 0  # objects SageMaker could not write (no such bucket)
    # package, virtual second -> the features its requests draw their row from (None: the fixed row)
    inputs: Callable[[str, float], tuple[Feature, ...] | None] | None = None
    # endpoint, minute, the delivered production records (ground truth labels them)
    on_deliver: Callable[[str, int, list[CapturedPrediction]], None] | None = None

    def minute(
        self,
        endpoint: str,
        m: int,
        config: dict[str, Any],
        production: dict[str, dict[str, int]],
        shadows: dict[str, dict[str, int]],
    ) -> Callable[[], None] | None:
        """The writes of minute ``m`` for one endpoint (None when nothing was sampled).

        ``production`` and ``shadows``: variant -> package -> requests of the minute, in the order
        the requests were split (the first requests went to the first package).
        """
        percent = float(config.get("InitialSamplingPercentage", 0))
        if percent <= 0:
            return None
        modes = {str(o.get("CaptureMode")) for o in config.get("CaptureOptions") or []}
        want_input = bool(modes & {"Input", "InputAndOutput"})
        want_output = bool(modes & {"Output", "InputAndOutput"})
        if not (want_input or want_output):
            return None
        header = config.get("CaptureContentTypeHeader") or {}
        text_types = {
            **{str(t).split(";")[0].strip(): "CSV" for t in header.get("CsvContentTypes") or []},
            **{str(t).split(";")[0].strip(): "JSON" for t in header.get("JsonContentTypes") or []},
        }
        limit = max(0, self.max_records())
        # (variant, key suffix, body, records, the predictions of a production variant's records)
        writes: list[tuple[str, str, bytes, int, list[CapturedPrediction]]] = []
        for variant, by_package in production.items():
            lines = self._records(
                endpoint, variant, m, by_package, None, percent, limit, want_input, want_output, text_types
            )
            if lines:
                writes.append((*self._object(endpoint, variant, m, lines), [p for _, _, p in lines]))
        source = next(iter(production), None)
        for variant, by_package in shadows.items():
            if source is None:
                continue
            copied = (source, production[source])
            lines = self._records(
                endpoint, variant, m, by_package, copied, percent, limit, want_input, want_output, text_types
            )
            if lines:
                writes.append((*self._object(endpoint, variant, m, lines), []))
        if not writes:
            return None
        destination = str(config.get("DestinationS3Uri") or "")
        bucket, _, prefix = destination.removeprefix("s3://").partition("/")
        prefix = prefix.strip("/")

        def deliver() -> None:
            backend = self.s3_backend()
            delivered: list[CapturedPrediction] = []
            for variant, suffix, body, count, predictions in writes:
                key = "/".join(part for part in (prefix, endpoint, variant, suffix) if part)
                try:
                    backend.put_object(bucket, key, body)
                except MissingBucket:
                    self.lost += 1
                    continue
                self.objects.append(CapturedObject(f"s3://{bucket}/{key}", endpoint, variant, m, count))
                delivered.extend(predictions)
            if delivered and self.on_deliver is not None:
                self.on_deliver(endpoint, m, delivered)

        return deliver

    def _records(
        self,
        endpoint: str,
        variant: str,
        m: int,
        by_package: dict[str, int],
        copied: tuple[str, dict[str, int]] | None,
        percent: float,
        limit: int,
        want_input: bool,
        want_output: bool,
        text_types: dict[str, str],
    ) -> list[tuple[float, dict[str, Any], CapturedPrediction]]:
        """(seconds into the minute, record, its prediction) of the sampled requests, at most ``limit``.

        ``copied``: for a shadow variant, the production variant it copies and its requests per
        package (the input of a copy is the production request's, drawn by the production version).
        """
        total = sum(by_package.values())
        packages = [package for package, n in by_package.items() for _ in range(n)]
        senders = packages  # the version whose input distribution the request's row is drawn from
        if copied is not None:
            senders = [package for package, n in copied[1].items() for _ in range(n)]
            total = min(total, len(senders))  # a shadow copies production requests, never more
        origin = copied[0] if copied is not None else variant
        spacing = 60.0 / max(1, len(senders) if copied is not None else total)
        out: list[tuple[float, dict[str, Any], CapturedPrediction]] = []
        for index in range(total):
            if len(out) >= limit:
                break
            req = request(self.seed, endpoint, origin, m, index)
            if req.sample_u * 100.0 >= percent:
                continue
            offset = index * spacing
            when = self.epoch + timedelta(seconds=60 * m + offset)
            label = "1" if req.label_u < self.positive_rate(packages[index]) else "0"
            data: dict[str, Any] = {}
            if want_input:
                features = self.inputs(senders[index], 60.0 * m + offset) if self.inputs else None
                row = feature_row(req.event_id, features) if features else req.features
                data["endpointInput"] = _part(INPUT_CONTENT_TYPE, "INPUT", row, text_types)
            if want_output:
                data["endpointOutput"] = _part(OUTPUT_CONTENT_TYPE, "OUTPUT", label, text_types)
            record = {
                "captureData": data,
                "eventMetadata": {
                    "eventId": req.event_id,
                    "inferenceTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
                "eventVersion": EVENT_VERSION,
            }
            out.append(
                (offset, record, CapturedPrediction(req.event_id, packages[index], label, 60.0 * m + offset))
            )
        return out

    def _object(
        self,
        endpoint: str,
        variant: str,
        m: int,
        lines: list[tuple[float, dict[str, Any], CapturedPrediction]],
    ) -> tuple[str, str, bytes, int]:
        first = self.epoch + timedelta(seconds=60 * m + lines[0][0])
        digest = hashlib.blake2b(f"{self.seed}/{endpoint}/{variant}/{m}/object".encode(), digest_size=16)
        object_id = uuid.UUID(bytes=digest.digest(), version=4)
        name = f"{first:%M-%S}-{first.microsecond // 1000:03d}-{object_id}.jsonl"
        suffix = f"{first:%Y/%m/%d/%H}/{name}"
        body = "".join(json.dumps(record, separators=(",", ":")) + "\n" for _, record, _ in lines)
        return variant, suffix, body.encode(), len(lines)


def _part(content_type: str, mode: str, text: str, text_types: dict[str, str]) -> dict[str, str]:
    encoding = text_types.get(content_type.split(";")[0].strip())
    if encoding is None:
        return {
            "observedContentType": content_type,
            "mode": mode,
            "data": base64.b64encode(text.encode()).decode("ascii"),
            "encoding": "BASE64",
        }
    return {"observedContentType": content_type, "mode": mode, "data": text, "encoding": encoding}
