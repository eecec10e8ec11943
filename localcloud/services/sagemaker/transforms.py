"""Batch transform jobs in virtual time (moto completes them the moment they are created).

- ``CreateTransformJob``: ``InProgress`` for ``transformSeconds``, then ``Completed`` with one output
  object ``<input key>.out`` under ``TransformOutput.S3OutputPath`` (in moto's S3) for every object
  under the input prefix, or ``Failed`` with a ``FailureReason`` when the model's package behaviour
  says ``transform_fails``, when there is nothing under the input prefix, or when the output bucket
  does not exist (the whole job fails, as on SageMaker, where one failed object fails the job).
- A job name already used is ``ResourceInUse`` (botocore lists it for ``CreateTransformJob``; the
  message follows SageMaker's training-job wording), an unknown model is SageMaker's
  ``ValidationException`` ``Could not find model "<arn>".``
- ``DescribeTransformJob`` shows ``CreationTime``, ``TransformStartTime`` and (once finished)
  ``TransformEndTime`` in virtual time; ``FailureReason`` only when the job failed.
- Every status change emits a "SageMaker Transform Job State Change" event on the local bus (times
  as epoch milliseconds, ``Tags`` as a map, as in captured events).

The output of a record is a score derived from the model package and the record (a hash), so the
same input gives the same output, and two versions of a model give different outputs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from unittest import mock

from moto.s3.models import s3_backends
from moto.sagemaker import models as sm_models
from moto.sagemaker.exceptions import ResourceInUseException, ValidationError
from moto.utilities.utils import get_partition

from localcloud.engine.scheduler import Scheduler

DEFAULT_FAILURE_REASON = "ClientError: See job logs for more information"
EVENT_DETAIL_TYPE = "SageMaker Transform Job State Change"


@dataclass
class TransformJobRecord:
    """What the report shows of one transform job (in creation order)."""

    name: str
    arn: str
    model_name: str
    model_package_arn: str | None
    input_prefix: str
    output_prefix: str
    created_at: float
    status: str = "InProgress"
    ended_at: float | None = None
    failure_reason: str | None = None
    output_objects: list[str] = field(default_factory=list)


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def score(package: str, record: str) -> str:
    """A deterministic score in [0, 1) for one record scored by one model package."""
    digest = hashlib.sha256(f"{package}|{record}".encode()).hexdigest()
    return f"{int(digest[:8], 16) / 0x1_0000_0000:.6f}"


def transform_output(package: str, data: bytes, split_type: str, assemble_with: str) -> bytes:
    """The ``.out`` object for one input object: one score per record, assembled as asked."""
    text = data.decode("utf-8", errors="replace")
    records = [line for line in text.splitlines() if line.strip()] if split_type == "Line" else [text]
    scores = [score(package, record) for record in records]
    if assemble_with == "Line":
        return "".join(f"{s}\n" for s in scores).encode()
    return "".join(scores).encode()


def _epoch_millis(when: datetime | None) -> int | None:
    """Epoch milliseconds (moto keeps naive UTC datetimes), ``None`` for no time."""
    if when is None:
        return None
    return round((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp() * 1000)


class TransformBehaviour(Protocol):
    transform_fails: bool
    transform_failure_reason: str


class TransformJobs:
    def __init__(
        self,
        scheduler: Scheduler,
        seconds: Callable[[], float],
        behaviour: Callable[[str | None], TransformBehaviour],
        emit: Callable[[str, str, dict[str, Any], list[str]], None],
        stamp: Callable[[], datetime],
        package_of_model: Callable[[Any, str], str | None],
    ) -> None:
        self.scheduler = scheduler
        self._seconds = seconds
        self._behaviour = behaviour
        self._emit = emit
        self._stamp = stamp
        self._package_of_model = package_of_model
        self._stack = ExitStack()
        self.jobs: list[TransformJobRecord] = []
        self.status_log: list[tuple[float, str, str]] = []  # (t, job name, status)

    def install(self) -> None:
        original = sm_models.SageMakerModelBackend.create_transform_job
        jobs = self

        def create_transform_job(backend: Any, **kwargs: Any) -> Any:
            return jobs.create(backend, original, kwargs)

        self._stack.enter_context(
            mock.patch.object(sm_models.SageMakerModelBackend, "create_transform_job", create_transform_job)
        )

    def uninstall(self) -> None:
        self._stack.close()

    # --- the job's life ------------------------------------------------------------------------
    def create(self, backend: Any, original: Callable[..., Any], request: dict[str, Any]) -> Any:
        name = str(request["transform_job_name"])
        account, region = str(backend.account_id), str(backend.region_name)
        existing = backend.transform_jobs.get(name)
        if existing is not None:
            raise ResourceInUseException(
                "Transform job names must be unique within an AWS account and region, and a transform "
                f"job with this name already exists ({existing.arn})"
            )
        model_name = str(request.get("model_name") or "")
        if model_name not in backend._models:
            arn = sm_models.arn_formatter("model", model_name, account, region)
            raise ValidationError(f'Could not find model "{arn}".')
        job = original(backend, **request)
        now = self._stamp()
        job.creation_time = job.transform_start_time = job.last_modified_time = now
        job.transform_end_time = None
        job.failure_reason = None
        job.labeling_job_arn = job.auto_ml_job_arn = None
        package = self._package_of_model(backend, model_name)
        source = ((job.transform_input or {}).get("DataSource") or {}).get("S3DataSource") or {}
        record = TransformJobRecord(
            name=name,
            arn=str(job.arn),
            model_name=model_name,
            model_package_arn=package,
            input_prefix=str(source.get("S3Uri", "")),
            output_prefix=str((job.transform_output or {}).get("S3OutputPath", "")),
            created_at=self.scheduler.now,
        )
        self.jobs.append(record)
        self._set_status(job, record, "InProgress")
        self.scheduler.after(self._seconds(), lambda: self._finish(backend, job, record, source))
        return job

    def _finish(self, backend: Any, job: Any, record: TransformJobRecord, source: dict[str, Any]) -> None:
        package = record.model_package_arn
        behaviour = self._behaviour(package)
        if behaviour.transform_fails:
            self._set_status(job, record, "Failed", behaviour.transform_failure_reason)
            return
        s3 = s3_backends[str(backend.account_id)][get_partition(str(backend.region_name))]
        in_bucket, prefix = split_s3_uri(record.input_prefix)
        out_bucket, out_prefix = split_s3_uri(record.output_prefix)
        bucket = s3.buckets.get(in_bucket)
        keys = []
        if bucket is not None and source.get("S3DataType", "S3Prefix") == "S3Prefix":
            found, _, _, _ = s3.list_objects(bucket, prefix, None, None, None)
            keys = [key for key in found if not key.name.endswith("/")]
        if not keys:
            self._set_status(
                job,
                record,
                "Failed",
                f'ClientError: No S3 objects found under S3 URL "{record.input_prefix}" given in input '
                "data source. Please ensure that the bucket exists in the selected region, that objects "
                "exist under that S3 prefix, and that the role has s3:ListBucket permissions on the bucket.",
            )
            return
        if out_bucket not in s3.buckets:
            self._set_status(
                job, record, "Failed", f"ClientError: The specified bucket does not exist: {out_bucket}"
            )
            return
        transform_input = job.transform_input or {}
        split_type = str(transform_input.get("SplitType") or "None")
        assemble_with = str((job.transform_output or {}).get("AssembleWith") or "None")
        base = prefix[: prefix.rfind("/") + 1]  # keys keep their path below the prefix's folder
        if out_prefix and not out_prefix.endswith("/"):
            out_prefix += "/"
        written = []
        for key in keys:
            out_key = f"{out_prefix}{key.name[len(base) :]}.out"
            body = transform_output(
                package or f"model:{record.model_name}", key.value, split_type, assemble_with
            )
            s3.put_object(out_bucket, out_key, body)
            written.append(f"s3://{out_bucket}/{out_key}")
        record.output_objects = written
        self._set_status(job, record, "Completed")

    def _set_status(
        self, job: Any, record: TransformJobRecord, status: str, reason: str | None = None
    ) -> None:
        now = self._stamp()
        job.transform_job_status = status
        job.last_modified_time = now
        record.status = status
        if status in {"Completed", "Failed", "Stopped"}:
            job.transform_end_time = now
            job.failure_reason = reason
            record.ended_at = self.scheduler.now
            record.failure_reason = reason
        self.status_log.append((self.scheduler.now, record.name, status))
        request_keys = (
            "ModelName",
            "MaxConcurrentTransforms",
            "MaxPayloadInMB",
            "BatchStrategy",
            "Environment",
            "TransformInput",
            "TransformOutput",
            "TransformResources",
        )
        described = job.gen_response_object()
        detail: dict[str, Any] = {
            "TransformJobName": record.name,
            "TransformJobArn": record.arn,
            "TransformJobStatus": status,
            "FailureReason": reason,
            **{key: described[key] for key in request_keys if described.get(key) is not None},
            "CreationTime": _epoch_millis(job.creation_time),
            "TransformStartTime": _epoch_millis(job.transform_start_time),
            "TransformEndTime": _epoch_millis(job.transform_end_time),
            "Tags": {tag["Key"]: tag["Value"] for tag in job.tags or []},
        }
        self._emit("aws.sagemaker", EVENT_DETAIL_TYPE, detail, [record.arn])
