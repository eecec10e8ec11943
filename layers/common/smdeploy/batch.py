"""Scheduled batch transforms: score data with the latest approved model of a group.

One execution per schedule tick. The transform job name is derived from the group and the
scheduled time, so a tick delivered twice starts one job; the second execution finds it and ends
``SKIPPED_DUPLICATE``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from smdeploy import clock
from smdeploy.adapters.s3 import S3Gateway
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.buckets import RoleBuckets, check_artifacts, check_location
from smdeploy.errors import AwsRequestRejected, InvalidRequest, NoApprovedModel, TransformJobFailed
from smdeploy.events import first_error
from smdeploy.models import GROUP_NAME_RE, parse_timestamp, validate_instance_type
from smdeploy.plan import package_label, resource_name

S3_PREFIX_RE = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$")
PLACEHOLDERS = {
    "{date}": "%Y-%m-%d",
    "{datetime}": "%Y-%m-%dT%H-%M",
    "{yyyy}": "%Y",
    "{mm}": "%m",
    "{dd}": "%d",
}
FINISHED = {"Completed", "Failed", "Stopped"}


class BatchInput(BaseModel):
    """The input of the batch-transform state machine (from a schedule or typed by hand)."""

    model_config = ConfigDict(extra="forbid", title="smdeploy batch transform input")

    modelPackageGroup: str = Field(description="Score with the latest Approved package of this group")
    modelPackageVersion: int | None = Field(default=None, ge=1, description="Pin a version instead")
    inputPrefix: str = Field(
        description="s3://bucket/prefix/; {date}, {datetime}, {yyyy}, {mm}, {dd} are filled in"
    )
    outputPrefix: str = Field(description="s3://bucket/prefix/ for the .out objects; same placeholders")
    scheduledTime: str | None = Field(
        default=None,
        description="ISO time of the tick (EventBridge Scheduler: <aws.scheduler.scheduled-time>)",
    )
    instanceType: str = "ml.m5.large"
    instanceCount: int = Field(default=1, ge=1, le=100)
    contentType: str = "text/csv"
    splitType: Literal["None", "Line", "RecordIO", "TFRecord"] = "Line"
    assembleWith: Literal["None", "Line"] = "Line"
    batchStrategy: Literal["MultiRecord", "SingleRecord"] = "MultiRecord"
    maxPayloadInMB: int = Field(default=6, ge=0, le=100)

    @field_validator("modelPackageGroup")
    @classmethod
    def _group(cls, value: str) -> str:
        if len(value) > 63 or not GROUP_NAME_RE.fullmatch(value):
            raise ValueError("a model package group name: 1-63 letters, digits and hyphens")
        return value

    @field_validator("inputPrefix", "outputPrefix")
    @classmethod
    def _s3(cls, value: str) -> str:
        if not S3_PREFIX_RE.fullmatch(value):
            raise ValueError("expected s3://bucket/prefix")
        return value

    @field_validator("instanceType")
    @classmethod
    def _instance(cls, value: str) -> str:
        return validate_instance_type(value)


class BatchPlan(BaseModel):
    kind: Literal["transform"] = "transform"
    modelPackageArn: str
    modelPackageGroup: str
    modelPackageVersion: int
    modelName: str
    transformJobName: str
    scheduledTime: str
    inputPrefix: str
    outputPrefix: str
    settings: dict[str, Any]
    pollSeconds: int = 60


def _fill(template: str, when: datetime) -> str:
    for placeholder, fmt in PLACEHOLDERS.items():
        template = template.replace(placeholder, when.strftime(fmt))
    return template


def resolve_batch(
    raw: Any, *, sagemaker: SageMakerGateway, s3: S3Gateway, role_buckets: RoleBuckets | None = None
) -> BatchPlan:
    """Validate the input, find the package and the input data; nothing is created here.

    ``role_buckets``: the model execution role reads the package's artifacts and writes the
    job's output; both must lie in its buckets (unchecked when ``None``).
    """
    if not isinstance(raw, dict):
        raise InvalidRequest("input", f"expected a JSON object, got {type(raw).__name__}")
    try:
        request = BatchInput.model_validate(raw)
    except ValidationError as exc:
        raise first_error(exc) from exc
    try:
        when = parse_timestamp(request.scheduledTime) if request.scheduledTime else None
    except ValueError as exc:
        raise InvalidRequest("scheduledTime", str(exc)) from exc
    when = when or clock.utcnow()
    group = request.modelPackageGroup
    if request.modelPackageVersion is not None:
        arn = sagemaker.package_arn(group, request.modelPackageVersion)
        package = sagemaker.find_model_package(arn) if arn else None
        if arn is None or package is None:
            raise InvalidRequest(
                "modelPackageVersion", f"no version {request.modelPackageVersion} in group {group!r}"
            )
        if package.get("ModelApprovalStatus") != "Approved":
            raise InvalidRequest(
                "modelPackageVersion",
                f"{group}/{request.modelPackageVersion} is {package.get('ModelApprovalStatus')}",
            )
    else:
        package = sagemaker.latest_approved_package(group)
        if package is None:
            raise NoApprovedModel(f"model package group {group!r} has no Approved package")
        arn = str(package["ModelPackageArn"])
    version = int(str(arn).rsplit("/", 1)[-1])
    output_prefix = _fill(request.outputPrefix, when)
    if role_buckets is not None:
        check_artifacts(package, role_buckets, label=package_label(arn))
        check_location("outputPrefix", output_prefix, role_buckets.write, parameter="BatchDataBucket")
    input_prefix = _fill(request.inputPrefix, when)
    if not s3.has_objects(input_prefix):
        raise InvalidRequest("inputPrefix", f"no objects under {input_prefix}")
    stamp = when.strftime("%Y%m%d-%H%M")
    return BatchPlan(
        modelPackageArn=arn,
        modelPackageGroup=group,
        modelPackageVersion=version,
        modelName=resource_name(group, f"v{version}", salt=arn),  # batch's own (deployments: per endpoint)
        transformJobName=resource_name(group, stamp, salt=f"{group}|{when.isoformat()}"),
        scheduledTime=when.isoformat(),
        inputPrefix=input_prefix,
        outputPrefix=output_prefix,
        settings=request.model_dump(
            include={
                "instanceType",
                "instanceCount",
                "contentType",
                "splitType",
                "assembleWith",
                "batchStrategy",
                "maxPayloadInMB",
            }
        ),
    )


def start_transform(
    plan: BatchPlan, *, sagemaker: SageMakerGateway, role_arn: str, tags: list[dict[str, str]]
) -> dict[str, Any]:
    """Register the model if needed and start the job; a job of that name already there is a duplicate."""
    sagemaker.create_model(
        name=plan.modelName, package_arn=plan.modelPackageArn, role_arn=role_arn, tags=tags
    )
    existing = sagemaker.find_transform_job(plan.transformJobName)
    if existing is not None:
        return {"started": False, "duplicate": True, "status": existing.get("TransformJobStatus"), "polls": 0}
    try:
        _create_job(plan, sagemaker, tags)
    except AwsRequestRejected:
        # Two deliveries of one tick may both find no job and both create it: SageMaker refuses
        # the second (ResourceInUse). The job exists now, so this execution is the duplicate.
        existing = sagemaker.find_transform_job(plan.transformJobName)
        if existing is None:
            raise
        return {"started": False, "duplicate": True, "status": existing.get("TransformJobStatus"), "polls": 0}
    return {"started": True, "duplicate": False, "status": "InProgress", "polls": 0}


def _create_job(plan: BatchPlan, sagemaker: SageMakerGateway, tags: list[dict[str, str]]) -> None:
    s = plan.settings
    sagemaker.create_transform_job(
        TransformJobName=plan.transformJobName,
        ModelName=plan.modelName,
        BatchStrategy=s["batchStrategy"],
        MaxPayloadInMB=s["maxPayloadInMB"],
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": plan.inputPrefix}},
            "ContentType": s["contentType"],
            "SplitType": s["splitType"],
        },
        TransformOutput={"S3OutputPath": plan.outputPrefix, "AssembleWith": s["assembleWith"]},
        TransformResources={"InstanceType": s["instanceType"], "InstanceCount": s["instanceCount"]},
        Tags=tags,
    )


def check_transform(plan: BatchPlan, *, sagemaker: SageMakerGateway) -> dict[str, Any]:
    """The job's status; :class:`TransformJobFailed` with SageMaker's ``FailureReason`` when it failed."""
    job = sagemaker.find_transform_job(plan.transformJobName) or {}
    status = str(job.get("TransformJobStatus", "Unknown"))
    if status in {"Failed", "Stopped"}:
        raise TransformJobFailed(
            f"transform job {plan.transformJobName} {status.lower()}: "
            f"{job.get('FailureReason') or 'no reason given'}"
        )
    return {"status": status, "finished": status in FINISHED, "failureReason": job.get("FailureReason")}
