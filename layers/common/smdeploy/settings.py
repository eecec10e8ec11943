"""Settings read from the Lambda environment at cold start, one model per function.

Domain code never reads ``os.environ``; handlers build one of these and pass values down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from smdeploy.buckets import BUCKET_NAME_RE, RoleBuckets


class _EnvSettings(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        return cls.model_validate(dict(os.environ if env is None else env))


class _RoleBucketSettings(_EnvSettings):
    """What the model execution role may read and write, as the template resolved it.

    Comma-separated bucket names: ModelArtifactBuckets (or the SageMaker default bucket) to read;
    DataCaptureBucket, AsyncResultsBucket and BatchDataBucket to write.
    """

    model_artifact_buckets: tuple[str, ...] = Field(alias="MODEL_ARTIFACT_BUCKETS", min_length=1)
    model_write_buckets: tuple[str, ...] = Field(alias="MODEL_WRITE_BUCKETS", min_length=1)
    data_capture_bucket: str | None = Field(default=None, alias="DATA_CAPTURE_BUCKET")

    @field_validator("model_artifact_buckets", "model_write_buckets", mode="before")
    @classmethod
    def _bucket_list(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        names = tuple(name.strip() for name in value.split(",") if name.strip())
        for name in names:
            if not BUCKET_NAME_RE.fullmatch(name):
                raise ValueError(f"{name!r} is not an S3 bucket name")
        return names

    def role_buckets(self) -> RoleBuckets:
        return RoleBuckets(
            read=self.model_artifact_buckets,
            write=self.model_write_buckets,
            capture=self.data_capture_bucket,
        )


class PlanSettings(_RoleBucketSettings):
    """resolve_plan: where group configs live and the template defaults."""

    group_config_prefix: str = Field(alias="GROUP_CONFIG_PREFIX", pattern=r"^/.*/$")
    default_instance_type: str = Field(alias="DEFAULT_INSTANCE_TYPE")
    default_instance_count: int = Field(alias="DEFAULT_INSTANCE_COUNT", ge=1)
    poll_seconds: int = Field(alias="ENDPOINT_POLL_SECONDS", ge=5, le=3600)
    first_check_seconds: int = Field(default=240, alias="ENDPOINT_FIRST_CHECK_SECONDS", ge=5, le=3600)
    deploy_timeout_seconds: int = Field(alias="ENDPOINT_DEPLOY_TIMEOUT_SECONDS", ge=60, le=86400)
    lock_wait_seconds: int = Field(default=3600, alias="LOCK_WAIT_SECONDS", ge=0, le=86400)
    account_id: str | None = Field(default=None, alias="ACCOUNT_ID", pattern=r"^\d{12}$")
    lock_poll_seconds: int = Field(default=60, alias="LOCK_POLL_SECONDS", ge=5, le=3600)
    # The history tells which versions were rolled back since their last approval (they will not
    # deploy, so they supersede nothing and are no restore target). The template always sets it.
    deployments_table: str | None = Field(default=None, alias="DEPLOYMENTS_TABLE", min_length=3)
    # the name of the role a stage in another account lets this stack assume (stage-account.yaml)
    stage_role_name: str | None = Field(default=None, alias="STAGE_ROLE_NAME", pattern=r"^[\w+=,.@-]{1,64}$")

    def defaults(self) -> dict[str, object]:
        return {
            "instanceType": self.default_instance_type,
            "initialInstanceCount": self.default_instance_count,
            "pollSeconds": self.poll_seconds,
            "firstCheckSeconds": self.first_check_seconds,
            "lockWaitSeconds": self.lock_wait_seconds,
            "accountId": self.account_id,
            "lockPollSeconds": self.lock_poll_seconds,
            "stageRoleName": self.stage_role_name,
            "deployTimeoutSeconds": self.deploy_timeout_seconds,
        }


class BatchSettings(_RoleBucketSettings):
    """resolve_batch: the buckets the model execution role may use (the plan checks them)."""


class ModelSettings(_EnvSettings):
    """create_model: the role SageMaker assumes to run the model."""

    model_execution_role_arn: str = Field(alias="MODEL_EXECUTION_ROLE_ARN", pattern=r"^arn:aws[a-z-]*:iam::")


class RecordSettings(_EnvSettings):
    """record_outcome: the deployment history table and the notification topic."""

    deployments_table: str = Field(alias="DEPLOYMENTS_TABLE", min_length=3)
    notify_topic_arn: str = Field(alias="NOTIFY_TOPIC_ARN", pattern=r"^arn:aws[a-z-]*:sns:")


class WakeupSettings(_EnvSettings):
    """await_event, wake_on_event: where waiting tokens are kept (and, for approval changes, where
    the group configs naming a group's endpoints live)."""

    deployments_table: str = Field(alias="DEPLOYMENTS_TABLE", min_length=3)
    group_config_prefix: str = Field(alias="GROUP_CONFIG_PREFIX", pattern=r"^/.*/$")


class GateSettings(_EnvSettings):
    """stage_gate: the gates and records, the notifications, the state machine a stage starts."""

    deployments_table: str = Field(alias="DEPLOYMENTS_TABLE", min_length=3)
    notify_topic_arn: str = Field(alias="NOTIFY_TOPIC_ARN", pattern=r"^arn:aws[a-z-]*:sns:")
    deploy_state_machine_arn: str = Field(
        alias="DEPLOY_STATE_MACHINE_ARN", pattern=r"^arn:aws[a-z-]*:states:"
    )


class WithdrawalSettings(_EnvSettings):
    """withdrawn_approval: where group configs and the history live, and what to start."""

    group_config_prefix: str = Field(alias="GROUP_CONFIG_PREFIX", pattern=r"^/.*/$")
    deployments_table: str = Field(alias="DEPLOYMENTS_TABLE", min_length=3)
    deploy_state_machine_arn: str = Field(
        alias="DEPLOY_STATE_MACHINE_ARN", pattern=r"^arn:aws[a-z-]*:states:"
    )


class MonitoringSettings(_EnvSettings):
    """configure_monitoring, check_drift, drift_alarm: what the monitors are made of and report to."""

    deployments_table: str = Field(alias="DEPLOYMENTS_TABLE", min_length=3)
    notify_topic_arn: str = Field(default="", alias="NOTIFY_TOPIC_ARN")
    check_function_arn: str = Field(default="", alias="CHECK_DRIFT_FUNCTION_ARN")
    scheduler_role_arn: str = Field(default="", alias="DRIFT_SCHEDULER_ROLE_ARN")
    model_execution_role_arn: str = Field(default="", alias="MODEL_EXECUTION_ROLE_ARN")
    monitor_image_uri: str = Field(default="", alias="MODEL_MONITOR_IMAGE_URI")
    deploy_state_machine_arn: str = Field(default="", alias="DEPLOY_STATE_MACHINE_ARN")
