"""Ground-truth labels: what a labelling process uploads for Model Monitor's model quality jobs.

With a scenario's ``groundTruth {uri, delayMinutes, share}``, every delivered data-capture object of
a production variant whose version has an accuracy (``models.<g/v>.baseline.quality.accuracy``, or a
``drift`` step's ``accuracy``) is labelled ``delayMinutes`` after its delivery:

- Format ("Ingest Ground Truth labels and merge them with predictions",
  https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-merge.html): one JSON
  record a line, ``{"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata":
  {"eventId": "<the captured eventId>"}, "eventVersion": "0"}``; Model Monitor joins labels with
  captured records by ``eventId`` (no ``inferenceId`` is simulated). "You must upload Ground Truth
  data to an Amazon S3 bucket that has the same path format as captured data": objects under
  ``<uri>/yyyy/mm/dd/hh/<file>.jsonl``, the hour being the hour of the upload. The file name
  ``<mm>-<ss>-<mmm>-<uuid>.jsonl`` follows capture's (localcloud/services/sagemaker/capture.py).
- Labels: the true label equals the captured prediction with probability the version's accuracy at
  the time of the request, else it is the other label; ``share`` of the captured records get one.
  Both draws are uniforms from the request's event id, independent of its features, sampling and
  prediction draws (``baselines.uniform``).
- A shadow variant's records are copies of production requests with the same ``eventId``: the
  world has one truth per request, the production label, which joins the shadow's records too.
- Uploads are background work: labels never keep a rehearsal alive. A missing bucket loses the
  object (:attr:`GroundTruthWriter.lost`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moto.s3.exceptions import MissingBucket

from localcloud.engine.scheduler import Scheduler
from localcloud.services.sagemaker.baselines import uniform

EVENT_VERSION = "0"


@dataclass(frozen=True)
class GroundTruthConfig:
    uri: str  # s3://bucket/prefix where labels are uploaded
    delay_minutes: float = 60.0  # labels of a capture object arrive this long after its delivery
    share: float = 1.0  # share of the captured records that get a label


@dataclass(frozen=True)
class CapturedPrediction:
    """One captured record of a production variant: what its label is derived from."""

    event_id: str
    package: str  # "group/version" that answered
    prediction: str  # "0" or "1"
    at: float  # virtual second of the request


@dataclass
class LabelObject:
    uri: str
    endpoint: str
    minute: int  # the minute of the captured requests
    records: int


@dataclass
class GroundTruthWriter:
    config: GroundTruthConfig
    scheduler: Scheduler
    s3_backend: Callable[[], Any]
    accuracy: Callable[[str, float], float | None]  # package, virtual second -> accuracy (None: no labels)
    seed: int
    objects: list[LabelObject] = field(default_factory=list)
    lost: int = 0  # objects that could not be written (no such bucket)

    def label(self, record: CapturedPrediction) -> str | None:
        """The true label of a captured record, or None when it gets none."""
        accuracy = self.accuracy(record.package, record.at)
        if accuracy is None or uniform(record.event_id, "ground-truth/share") >= self.config.share:
            return None
        if uniform(record.event_id, "ground-truth/label") < accuracy:
            return record.prediction
        return "0" if record.prediction == "1" else "1"

    def captured(self, endpoint: str, minute: int, records: list[CapturedPrediction]) -> None:
        """Called when a capture object is delivered: its labels are uploaded ``delayMinutes`` later."""
        lines = []
        for record in records:
            label = self.label(record)
            if label is not None:
                lines.append(
                    {
                        "groundTruthData": {"data": label, "encoding": "CSV"},
                        "eventMetadata": {"eventId": record.event_id},
                        "eventVersion": EVENT_VERSION,
                    }
                )
        if not lines:
            return
        body = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines).encode()

        def upload() -> None:
            self._upload(endpoint, minute, body, len(lines))

        self.scheduler.after(self.config.delay_minutes * 60.0, upload, background=True)

    def _upload(self, endpoint: str, minute: int, body: bytes, count: int) -> None:
        when: datetime = self.scheduler.datetime().replace(tzinfo=None)
        digest = hashlib.blake2b(f"{self.seed}/{endpoint}/{minute}/ground-truth".encode(), digest_size=16)
        object_id = uuid.UUID(bytes=digest.digest(), version=4)
        name = f"{when:%M-%S}-{when.microsecond // 1000:03d}-{object_id}.jsonl"
        bucket, _, prefix = self.config.uri.removeprefix("s3://").partition("/")
        key = "/".join(part for part in (prefix.strip("/"), f"{when:%Y/%m/%d/%H}", name) if part)
        try:
            self.s3_backend().put_object(bucket, key, body)
        except MissingBucket:
            self.lost += 1
            return
        self.objects.append(LabelObject(f"s3://{bucket}/{key}", endpoint, minute, count))
