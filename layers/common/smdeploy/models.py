"""Pydantic models: what comes in (events, manual input, group config) and the deployment plan."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from smdeploy.strategy import RolloutPlan, StrategyConfig

# SageMaker's own patterns (DescribeEndpoint / CreateModel API reference).
ENDPOINT_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
GROUP_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
MODEL_PACKAGE_ARN_RE = re.compile(
    r"^arn:aws[a-z\-]*:sagemaker:(?P<region>[a-z0-9\-]+):(?P<account>\d{12}):"
    # The lookahead caps the group at 63 characters: the repetition alone does not count hyphens.
    r"model-package/(?P<group>(?=[a-zA-Z0-9-]{1,63}/)[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})"
    r"/(?P<version>[1-9]\d{0,9})$"
)
INSTANCE_TYPE_RE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")


def _schema_pattern(regex: re.Pattern[str]) -> str:
    """A regex as a JSON Schema ``pattern`` (ECMA-262 has no ``(?P<name>`` groups)."""
    return re.sub(r"\(\?P<\w+>", "(", regex.pattern)


def package_label(arn: str) -> str:
    """``group/version`` of a model package ARN, for messages and subjects."""
    return "/".join(arn.split("/")[-2:])


class Outcome(StrEnum):
    DEPLOYED = "DEPLOYED"
    PROMOTED = "PROMOTED"
    ROLLED_BACK = "ROLLED_BACK"
    SKIPPED_DUPLICATE = "SKIPPED_DUPLICATE"
    SUPERSEDED = "SUPERSEDED"
    INVALID_REQUEST = "INVALID_REQUEST"
    FAILED = "FAILED"
    COMPLETED = "COMPLETED"  # a batch transform job finished
    NO_APPROVED_MODEL = "NO_APPROVED_MODEL"  # a batch transform found nothing to score with
    # An execution stopped, timed out or failed before recording; a recovery converged its endpoint.
    ABORTED = "ABORTED"
    # A load test found no configuration that meets the requirements (loadTest.onNoFit: fail).
    NO_FIT = "NO_FIT"


def parse_timestamp(value: Any) -> datetime | None:
    """Read a timestamp in any encoding AWS events use.

    ISO-8601 strings (``Z``, ``+00:00`` or ``+0000``), epoch milliseconds as an integer, a float
    or a string of digits. ``None`` stays ``None``.
    """
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, bool):
        raise ValueError("a timestamp cannot be a boolean")
    if isinstance(value, int | float):
        return _from_epoch_millis(value, value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return _from_epoch_millis(float(text), value)
        text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text.replace("Z", "+00:00"))
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"not an ISO-8601 time or epoch milliseconds: {value!r}") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValueError(f"not a timestamp: {value!r}")


def _from_epoch_millis(millis: float, original: Any) -> datetime:
    # Out-of-range values raise OverflowError or OSError from the C library (an int too large for a
    # float already in float()); pydantic only turns ValueError into a validation error, so every
    # failure is reported as ValueError here.
    try:
        return datetime.fromtimestamp(float(millis) / 1000.0, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError(f"epoch milliseconds out of range: {original!r}") from exc


FlexibleTime = Annotated[datetime | None, BeforeValidator(parse_timestamp)]


def _tags_as_map(value: Any) -> Any:
    """Tags come as a ``{key: value}`` map in events and as ``[{Key, Value}]`` from the API."""
    if isinstance(value, list):
        return {str(item.get("Key")): str(item.get("Value", "")) for item in value if isinstance(item, dict)}
    return value


class ModelPackageStateChange(BaseModel):
    """``detail`` of the "SageMaker Model Package State Change" event (unknown fields ignored)."""

    model_config = ConfigDict(extra="ignore")

    ModelPackageArn: str
    ModelPackageGroupName: str | None = None
    ModelPackageVersion: int | None = None
    ModelApprovalStatus: Literal["Approved", "Rejected", "PendingManualApproval"]
    ModelPackageStatus: str | None = None
    CreationTime: FlexibleTime = None
    LastModifiedTime: FlexibleTime = None
    CustomerMetadataProperties: dict[str, str] = Field(default_factory=dict)
    Tags: Annotated[dict[str, str], BeforeValidator(_tags_as_map)] = Field(default_factory=dict)


def validate_endpoint_name(value: str) -> str:
    # fullmatch: `$` alone lets a trailing newline through. The pattern does not count hyphens;
    # SageMaker also caps the length at 63.
    if len(value) > 63 or not ENDPOINT_NAME_RE.fullmatch(value):
        raise ValueError(
            "SageMaker endpoint names are 1-63 letters, digits and hyphens, "
            "starting and ending with a letter or digit"
        )
    return value


def validate_instance_type(value: str) -> str:
    if not INSTANCE_TYPE_RE.fullmatch(value):
        raise ValueError("expected a SageMaker instance type such as ml.m5.large")
    return value


# Names SageMaker would accept, checked the same way wherever they come in.
EndpointName = Annotated[str, AfterValidator(validate_endpoint_name)]
InstanceType = Annotated[str, AfterValidator(validate_instance_type)]


class ManualDeployInput(BaseModel):
    """What an operator types to start a deployment by hand (console, CLI or a scenario)."""

    model_config = ConfigDict(
        extra="forbid",
        title="smdeploy manual deployment input",
        json_schema_extra={
            "description": "Input accepted by the deploy state machine when started by hand. "
            "An EventBridge 'SageMaker Model Package State Change' event is accepted too.",
            "examples": [
                {"modelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3"},
                {
                    "modelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3",
                    "endpointName": "churn-prod",
                    "instanceType": "ml.m5.xlarge",
                    "initialInstanceCount": 2,
                    "reason": "re-deploy after incident 42",
                },
            ],
        },
    )

    # The published JSON Schema carries the same shapes the validators below enforce (schema only:
    # the validators keep their own, clearer error messages).
    modelPackageArn: str = Field(
        description="ARN of a versioned model package: "
        "arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/VERSION",
        json_schema_extra={"pattern": _schema_pattern(MODEL_PACKAGE_ARN_RE)},
    )
    endpointName: EndpointName | None = Field(
        default=None,
        description="Target endpoint; defaults to the group's configured endpoint",
        json_schema_extra={"pattern": _schema_pattern(ENDPOINT_NAME_RE), "maxLength": 63},
    )
    instanceType: InstanceType | None = Field(
        default=None,
        description="e.g. ml.m5.large",
        json_schema_extra={"pattern": _schema_pattern(INSTANCE_TYPE_RE)},
    )
    initialInstanceCount: int | None = Field(default=None, ge=1, le=100)
    createEndpoint: bool = Field(
        default=False,
        description="Create endpointName if it does not exist. Without it, an endpointName that the "
        "group's config does not name and that does not exist is refused (INVALID_REQUEST)",
    )
    reason: str | None = Field(default=None, max_length=512, description="Free text kept in the record")
    strategy: StrategyConfig | None = Field(
        default=None,
        description="Rollout strategy keys to override (type, steps, bakeMinutes, checkIntervalSeconds, ...)",
    )
    throughStages: bool | None = Field(
        default=None,
        description="With the group's stages: go on to the stages after endpointName's once this "
        "deployment succeeds (through their gates), as an approval does. Default: stop at endpointName",
    )

    @field_validator("modelPackageArn")
    @classmethod
    def _arn_shape(cls, value: str) -> str:
        if not MODEL_PACKAGE_ARN_RE.fullmatch(value):
            raise ValueError(
                "expected arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/VERSION (a versioned package)"
            )
        return value


CaptureMode = Literal["Input", "Output"]
CAPTURE_MODES: tuple[CaptureMode, ...] = ("Input", "Output")


class DataCapture(BaseModel):
    """What an endpoint records of its requests and responses (for Model Monitor), in S3."""

    model_config = ConfigDict(extra="forbid")

    samplingPercentage: int = Field(ge=1, le=100)
    destination: str = Field(pattern=r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$")
    capture: list[CaptureMode] = Field(default_factory=lambda: list(CAPTURE_MODES), min_length=1)
    kmsKeyId: str | None = None

    def api(self) -> dict[str, Any]:
        """The ``DataCaptureConfig`` of ``CreateEndpointConfig``."""
        config: dict[str, Any] = {
            "EnableCapture": True,
            "InitialSamplingPercentage": self.samplingPercentage,
            "DestinationS3Uri": self.destination,
            "CaptureOptions": [{"CaptureMode": mode} for mode in dict.fromkeys(self.capture)],
        }
        if self.kmsKeyId:
            config["KmsKeyId"] = self.kmsKeyId
        return config


class Serverless(BaseModel):
    """A serverless endpoint: memory and concurrency instead of instances."""

    model_config = ConfigDict(extra="forbid")

    memorySizeMB: Literal[1024, 2048, 3072, 4096, 5120, 6144] = 2048
    maxConcurrency: int = Field(default=20, ge=1, le=200)
    provisionedConcurrency: int | None = Field(default=None, ge=1, le=200)

    @model_validator(mode="after")
    def _provisioned_within_max(self) -> Serverless:
        if self.provisionedConcurrency is not None and self.provisionedConcurrency > self.maxConcurrency:
            raise ValueError("provisionedConcurrency cannot exceed maxConcurrency")
        return self

    def api(self) -> dict[str, Any]:
        """The ``ServerlessConfig`` of a production variant."""
        config: dict[str, Any] = {"MemorySizeInMB": self.memorySizeMB, "MaxConcurrency": self.maxConcurrency}
        if self.provisionedConcurrency is not None:
            config["ProvisionedConcurrency"] = self.provisionedConcurrency
        return config


S3_URI_PATTERN = r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$"
SNS_TOPIC_PATTERN = r"^arn:aws[a-z\-]*:sns:[a-z0-9\-]+:\d{12}:[A-Za-z0-9_\-]{1,256}$"


class AsyncInference(BaseModel):
    """An asynchronous endpoint: requests queue, results land in S3, SNS says when."""

    model_config = ConfigDict(extra="forbid")

    outputPath: str = Field(pattern=S3_URI_PATTERN, description="S3 prefix for the results")
    failurePath: str | None = Field(default=None, pattern=S3_URI_PATTERN)
    successTopic: str | None = Field(default=None, pattern=SNS_TOPIC_PATTERN)
    errorTopic: str | None = Field(default=None, pattern=SNS_TOPIC_PATTERN)
    maxConcurrentInvocationsPerInstance: int | None = Field(default=None, ge=1, le=1000)
    kmsKeyId: str | None = None

    def api(self) -> dict[str, Any]:
        """The ``AsyncInferenceConfig`` of ``CreateEndpointConfig``."""
        output: dict[str, Any] = {"S3OutputPath": self.outputPath}
        if self.failurePath:
            output["S3FailurePath"] = self.failurePath
        topics = {"SuccessTopic": self.successTopic, "ErrorTopic": self.errorTopic}
        if any(topics.values()):
            output["NotificationConfig"] = {k: v for k, v in topics.items() if v}
        if self.kmsKeyId:
            output["KmsKeyId"] = self.kmsKeyId
        config: dict[str, Any] = {"OutputConfig": output}
        if self.maxConcurrentInvocationsPerInstance is not None:
            config["ClientConfig"] = {
                "MaxConcurrentInvocationsPerInstance": self.maxConcurrentInvocationsPerInstance
            }
        return config


class MultiModel(BaseModel):
    """A multi-model endpoint: one container that loads each model from an S3 prefix on demand."""

    model_config = ConfigDict(extra="forbid")

    artifactPrefix: str = Field(
        pattern=r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/(.+/)?$",
        description="S3 prefix the endpoint loads models from (ends with /)",
    )
    smokePayload: str = Field(default="", max_length=65536, description="body of the smoke invocation")
    contentType: str = Field(default="text/csv", max_length=256)


class Autoscaling(BaseModel):
    """Application Auto Scaling of the serving variant's instance count."""

    model_config = ConfigDict(extra="forbid")

    minCapacity: int = Field(ge=0, le=100, description="0 (scale to zero) only on asynchronous endpoints")
    maxCapacity: int = Field(ge=1, le=100)
    targetInvocationsPerInstance: float | None = Field(
        default=None, gt=0, description="Real-time: SageMakerVariantInvocationsPerInstance per minute"
    )
    targetBacklogPerInstance: float | None = Field(
        default=None, gt=0, description="Asynchronous: ApproximateBacklogSizePerInstance"
    )
    scaleInCooldownSeconds: int = Field(default=300, ge=0, le=3600)
    scaleOutCooldownSeconds: int = Field(default=300, ge=0, le=3600)

    @model_validator(mode="after")
    def _range(self) -> Autoscaling:
        if self.minCapacity > self.maxCapacity:
            raise ValueError("minCapacity cannot exceed maxCapacity")
        if self.targetInvocationsPerInstance is not None and self.targetBacklogPerInstance is not None:
            raise ValueError(
                "set targetInvocationsPerInstance (real-time) or targetBacklogPerInstance (async)"
            )
        return self


class VariantSpec(BaseModel):
    """One production variant of a group that serves its model on several instance settings."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    instanceType: InstanceType
    initialInstanceCount: int = Field(default=1, ge=1, le=100)
    weight: float = Field(default=1.0, gt=0, le=100, description="relative share of the traffic")
    autoscaling: Autoscaling | None = Field(default=None, description="this variant's own; else the group's")


class LoadTestRequirements(BaseModel):
    """What the candidate's configuration must sustain: the latency percentile at the traffic."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    p99LatencyMs: float = Field(gt=0, le=60_000, description="InvokeEndpoint answers within 60 s at most")
    requestsPerSecond: float = Field(gt=0, le=100_000)


class TrafficPhase(BaseModel):
    """One phase of an Inference Recommender load test (``TrafficPattern`` ``PHASES``)."""

    model_config = ConfigDict(extra="forbid")

    users: int = Field(ge=1, le=3, description="InitialNumberOfUsers: 1-3 (API_Phase)")
    spawnRate: int = Field(ge=0, le=3000, description="new users per minute")
    seconds: int = Field(ge=120, le=3600, description="DurationInSeconds")


class LoadTestConfig(BaseModel):
    """``loadTest``: an Inference Recommender job sizes the candidate before it takes traffic."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["advanced", "default"] = "advanced"
    requirements: LoadTestRequirements | None = None
    instanceTypes: list[InstanceType] = Field(default_factory=list, max_length=10)
    trafficPattern: dict[Literal["phases"], list[TrafficPhase]] | None = None
    payloads: str | None = Field(default=None, pattern=r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/.+$")
    contentType: str = Field(default="text/csv", min_length=1, max_length=256, description="of the payloads")
    onNoFit: Literal["fail", "use-current"] = "fail"
    maxWaitHours: float = Field(default=6, gt=0, le=48, description="how long the job may take")

    @model_validator(mode="after")
    def _consistent(self) -> LoadTestConfig:
        if self.type == "advanced":
            if self.requirements is None:
                raise ValueError("an advanced load test needs requirements (p99LatencyMs, requestsPerSecond)")
            if not self.instanceTypes:
                raise ValueError("an advanced load test needs the instanceTypes to try")
        if len(set(self.instanceTypes)) != len(self.instanceTypes):
            raise ValueError("instanceTypes lists a type twice")
        return self


class DataQualityMonitoring(BaseModel):
    """``monitoring.dataQuality``: compare each feature of the captured inputs with the package's
    baseline statistics (PSI and Kolmogorov-Smirnov, ``smdeploy.drift``)."""

    model_config = ConfigDict(extra="forbid")

    everyMinutes: int = Field(default=60, ge=5, le=1440, description="how often a check runs")
    features: Literal["all"] | list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(
        default="all", description="the features judged: all, or a list of baseline feature names"
    )
    psiThreshold: float = Field(default=0.2, gt=0, le=5, description="a feature drifts above this PSI")
    ksAlpha: float = Field(
        default=0.01, gt=0, le=0.2, description="... and when its test's p-value is below this"
    )
    minSamples: int = Field(default=100, ge=20, le=1_000_000, description="fewer captured rows: no verdict")


class ModelQualityMonitoring(BaseModel):
    """``monitoring.modelQuality``: join ground-truth labels with captured predictions by event id."""

    model_config = ConfigDict(extra="forbid")

    groundTruth: str = Field(
        pattern=r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$",
        description="S3 prefix where labels arrive (SageMaker's ground-truth JSON Lines, yyyy/mm/dd/hh/)",
    )
    metric: Literal[
        "auc", "accuracy", "f1", "precision", "recall", "weighted_f1", "mae", "mse", "rmse", "r2"
    ] = "auc"
    minDrop: float = Field(
        gt=0, le=1_000_000, description="alarm when the metric is this much worse than the baseline"
    )
    windowHours: int = Field(default=24, ge=1, le=168, description="captured predictions joined with labels")
    minSamples: int = Field(
        default=100, ge=20, le=1_000_000, description="fewer labelled requests: no verdict"
    )


class RolloutDrift(BaseModel):
    """``monitoring.duringRollout``: drift as evidence while a candidate serves beside the baseline."""

    model_config = ConfigDict(extra="forbid")

    predictions: bool = Field(default=True, description="the candidate's predictions against the baseline's")
    inputs: bool = Field(
        default=True, description="the candidate's inputs against its own baseline statistics"
    )


class MonitoringConfig(BaseModel):
    """``monitoring``: after each deployment, monitors watch the serving version with its own baselines."""

    model_config = ConfigDict(extra="forbid")

    engine: Literal["builtin", "model-monitor"] = "builtin"
    dataQuality: DataQualityMonitoring | None = None
    modelQuality: ModelQualityMonitoring | None = None
    onDrift: Literal["notify", "rollback"] = "notify"
    duringRollout: RolloutDrift = Field(default_factory=RolloutDrift)

    @model_validator(mode="after")
    def _something_to_watch(self) -> MonitoringConfig:
        if self.dataQuality is None and self.modelQuality is None:
            raise ValueError("monitoring needs dataQuality, modelQuality or both")
        if self.engine == "model-monitor" and self.dataQuality and self.dataQuality.everyMinutes % 60:
            raise ValueError(
                "dataQuality.everyMinutes: Model Monitor schedules run hourly at most "
                f"(a multiple of 60, got {self.dataQuality.everyMinutes})"
            )
        return self


# An IAM role's ARN: arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME
ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::\d{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$"


def role_account(role_arn: str) -> str:
    return role_arn.split(":")[4]


def role_name(role_arn: str) -> str:
    return role_arn.rsplit("/", 1)[-1]


class Stage(BaseModel):
    """One endpoint of a staged promotion: a version deploys here after the stage before it."""

    model_config = ConfigDict(extra="forbid")

    endpoint: EndpointName
    gate: Literal["auto", "manual"] = Field(
        default="auto",
        description="manual: after the stage before succeeds, wait for `smdeploy approve|reject ENDPOINT`",
    )
    timeoutHours: float = Field(
        default=24, gt=0, le=168, description="a manual gate left unanswered this long closes (GateTimedOut)"
    )
    roleArn: str | None = Field(
        default=None,
        pattern=ROLE_ARN_PATTERN,
        description="the stage's endpoint is in another account: every SageMaker, CloudWatch and "
        "Application Auto Scaling call for it goes through this role (stage-account.yaml creates it)",
    )
    modelRoleArn: str | None = Field(
        default=None,
        pattern=ROLE_ARN_PATTERN,
        description="with roleArn: the execution role of the stage's models, in the stage's account "
        "(default: the role stage-account.yaml creates, <role name>-model)",
    )

    @model_validator(mode="after")
    def _model_role_with_its_stage(self) -> Stage:
        if self.modelRoleArn is not None:
            if self.roleArn is None:
                raise ValueError("modelRoleArn: only a stage in another account (roleArn) takes a model role")
            if role_account(self.modelRoleArn) != role_account(self.roleArn):
                raise ValueError(
                    f"modelRoleArn: the models run in the stage's account {role_account(self.roleArn)}, "
                    f"not {role_account(self.modelRoleArn)}"
                )
        return self

    def model_role(self) -> str | None:
        """The execution role of the stage's models (None: the stack's own)."""
        if self.roleArn is None:
            return None
        # stage-account.yaml's model role: <role name>-model, no path
        return self.modelRoleArn or f"{self.roleArn.split(':role/')[0]}:role/{role_name(self.roleArn)}-model"


class GroupConfig(BaseModel):
    """Per model-package-group deployment config, stored as JSON in an SSM parameter."""

    model_config = ConfigDict(extra="forbid")

    endpoint: EndpointName | None = None
    instanceType: InstanceType | None = None
    initialInstanceCount: int | None = Field(default=None, ge=1, le=100)
    strategy: StrategyConfig | None = None
    retainConfigs: int | None = Field(default=None, ge=1, le=10)
    dataCapture: DataCapture | None = None
    serverless: Serverless | None = None
    asyncInference: AsyncInference | None = None
    autoscaling: Autoscaling | None = None
    multiModel: MultiModel | None = None
    variants: list[VariantSpec] | None = Field(
        default=None,
        min_length=2,
        max_length=10,
        description="serve the model on several production variants (instance settings and weights)",
    )
    containerMode: Literal["Serial", "Direct"] | None = Field(
        default=None, description="how a package with several containers runs: a serial pipeline or direct"
    )
    allowedAccounts: list[Annotated[str, Field(pattern=r"^\d{12}$")]] = Field(
        default_factory=list, description="Other AWS accounts whose model packages this group may deploy"
    )
    loadTest: LoadTestConfig | None = Field(
        default=None, description="size the candidate with an Inference Recommender job before it serves"
    )
    preempt: bool = Field(
        default=False,
        description="a newer approved version of the group rolls a running rollout back at its next "
        "check (PREEMPTED), so that the newer version deploys next",
    )
    monitoring: MonitoringConfig | None = Field(
        default=None, description="drift and quality monitors that follow the serving version"
    )
    waits: Literal["events", "polling"] | None = Field(
        default=None,
        description="how waiting states end: on the endpoint's events (state changes, its alarms "
        "going to ALARM) with a look every eventFallbackSeconds anyway (default), or by polling alone",
    )
    stages: list[Stage] | None = Field(
        default=None,
        min_length=2,
        max_length=5,
        description="staged promotion: each approved version deploys to the first endpoint, then to "
        "each next one after the one before succeeds (and its manual gate, if any, is approved)",
    )
    eventFallbackSeconds: int | None = Field(
        default=None,
        ge=30,
        le=3600,
        description="waits: events - the longest an endpoint wait lasts without an event before the "
        "state machine looks anyway (default 300)",
    )

    def stage_role(self, endpoint: str | None) -> str | None:
        """The role of ``endpoint``'s stage when it is in another account (None: here)."""
        for stage in self.stages or []:
            if stage.endpoint == endpoint:
                return stage.roleArn
        return None

    def default_endpoint(self) -> str | None:
        """Where an approved version deploys: ``endpoint``, or the first stage's."""
        return self.stages[0].endpoint if self.stages else self.endpoint

    def configured_endpoints(self) -> list[str]:
        """Every endpoint the config names (a deployment may create any of them)."""
        if self.stages:
            return [stage.endpoint for stage in self.stages]
        return [self.endpoint] if self.endpoint else []

    @model_validator(mode="after")
    def _stages_are_consistent(self) -> GroupConfig:
        if self.stages is None:
            return self
        if self.endpoint is not None:
            raise ValueError("with stages, each stage names its endpoint: drop 'endpoint'")
        names = [stage.endpoint for stage in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"stages: an endpoint appears twice ({', '.join(names)})")
        if self.stages[0].gate != "auto":
            raise ValueError("stages[0].gate: the first stage has no stage before it to pass")
        elsewhere = [i for i, stage in enumerate(self.stages) if stage.roleArn is not None]
        if elsewhere:
            # What these need lives in this account (the capture and async buckets, the artifacts'
            # multi-model prefix, Model Monitor's schedules and Inference Recommender's jobs) or
            # scales the endpoint from here: not through a stage role.
            here_only = {
                "dataCapture": self.dataCapture,
                "monitoring": self.monitoring,
                "autoscaling": self.autoscaling or any(v.autoscaling for v in self.variants or []),
                "asyncInference": self.asyncInference,
                "multiModel": self.multiModel,
                "loadTest": self.loadTest,
            }
            used = [key for key, value in here_only.items() if value]
            if used:
                raise ValueError(
                    f"stages[{elsewhere[0]}].roleArn: a stage in another account takes no "
                    f"{', '.join(used)} (their resources are in this account)"
                )
        return self

    @model_validator(mode="after")
    def _serverless_is_consistent(self) -> GroupConfig:
        if self.serverless is not None:
            if self.instanceType is not None or self.initialInstanceCount is not None:
                raise ValueError("a serverless group takes no instanceType or initialInstanceCount")
            if self.dataCapture is not None:
                raise ValueError("data capture is not available on serverless endpoints")
            if self.monitoring is not None:
                raise ValueError("monitoring reads captured data, and serverless endpoints capture none")
            if self.asyncInference is not None:
                raise ValueError("an endpoint is serverless or asynchronous, not both")
            if self.autoscaling is not None:
                raise ValueError(
                    "serverless endpoints scale on their own; autoscaling applies to instance-based variants"
                )
            if self.multiModel is not None:
                raise ValueError("serverless endpoints do not host multi-model endpoints")
            if self.containerMode == "Direct":
                raise ValueError("serverless endpoints do not run multi-container models")
        if self.variants is not None:
            if self.instanceType is not None or self.initialInstanceCount is not None:
                raise ValueError("with variants, set instanceType and initialInstanceCount per variant")
            if self.serverless is not None:
                raise ValueError("a serverless endpoint hosts a single production variant")
            if self.strategy is not None and self.strategy.type.startswith("guardrails-"):
                raise ValueError(
                    "guardrails shift one variant to its new fleet; with several variants use canary, linear "
                    "or all-at-once (a replacement of every variant in one update)"
                )
        scalings = [self.autoscaling, *(v.autoscaling for v in self.variants or [])]
        for scaling in [s for s in scalings if s is not None]:
            if self.asyncInference is None:
                if scaling.minCapacity == 0:
                    raise ValueError(
                        "autoscaling.minCapacity 0 (scale to zero) needs an asynchronous endpoint"
                    )
                if scaling.targetBacklogPerInstance is not None:
                    raise ValueError("targetBacklogPerInstance applies to asynchronous endpoints only")
            elif scaling.targetInvocationsPerInstance is not None:
                raise ValueError(
                    "asynchronous endpoints scale on their backlog: use targetBacklogPerInstance"
                )
        return self


class DeployRequest(BaseModel):
    """A normalized request, whichever way it came in."""

    source: Literal["approval", "manual"]
    modelPackageArn: str
    eventId: str | None = None
    eventTime: datetime | None = None
    overrides: dict[str, Any] = Field(default_factory=dict)
    reason: str | None = None
    # An approval: which change to Approved (the package's LastModifiedTime, else the event id).
    transition: str | None = None
    # A withdrawal: the Rejected package that must stop serving (modelPackageArn names it too).
    withdrawn: str | None = None
    cause: Literal["rejected", "drift"] | None = None  # why a withdrawal stops the version serving


class DeploymentPlan(BaseModel):
    """Everything the state machine needs to deploy one model package to one endpoint."""

    # recovery: converges the endpoint an execution left when it stopped before recording.
    source: Literal["approval", "manual", "recovery"]
    modelPackageArn: str
    modelPackageGroup: str
    modelPackageVersion: int
    endpointName: str
    # PENDING: resolved before the endpoint's lock was taken; the endpoint is read again under it.
    # ADD_MODEL: a multi-model endpoint exists; the model is copied under its prefix, no update.
    # RECOVER: converge the endpoint a stopped execution (``recovers``) left, clean up, record.
    action: Literal["PENDING", "CREATE", "UPDATE", "SKIP", "SUPERSEDED", "ADD_MODEL", "RECOVER"]
    modelName: str
    endpointConfigName: str
    variantName: str
    instanceType: str
    initialInstanceCount: int
    instanceSettingsExplicit: bool = False
    pollSeconds: int
    firstCheckSeconds: int = 0
    maxPolls: int
    waits: Literal["events", "polling"] = "polling"  # how waiting states end (smdeploy.wakeup)
    # staged promotion: where this deployment stands, and the stage that follows it (smdeploy.stages)
    stage: dict[str, Any] | None = None  # {index, of, endpoint}
    nextStage: dict[str, Any] | None = None  # {index, endpoint, gate, timeoutSeconds}
    # a stage in another account: the role its endpoint's calls go through, its models' role
    roleArn: str | None = None
    modelRoleArn: str | None = None
    eventFallbackSeconds: int = 300  # waits: events - the look without an event
    currentEndpointConfigName: str | None = None
    reason: str | None = None
    configSources: list[str] = Field(default_factory=list)
    rollout: RolloutPlan | None = None
    retainConfigs: int = 2
    dataCapture: dict[str, Any] | None = None  # DataCaptureConfig; None keeps what the endpoint has
    serverless: dict[str, Any] | None = None  # ServerlessConfig of the candidate variant
    asyncInference: dict[str, Any] | None = None  # AsyncInferenceConfig; None keeps what the endpoint has
    autoscaling: dict[str, Any] | None = None  # what smdeploy.scaling registers on the serving variant
    notes: list[str] = Field(default_factory=list)  # what the plan changed from what was asked, and why
    containers: list[dict[str, Any]] | None = None  # CreateModel Containers; None: from the package
    containerMode: Literal["Serial", "Direct"] | None = None  # InferenceExecutionConfig.Mode
    isMultiModel: bool = False
    variants: list[dict[str, Any]] | None = None  # several production variants (VariantSpec dumps)
    multiModel: dict[str, Any] | None = None  # artifactPrefix, targetModel, sourceArtifact, image, smoke*
    lockWaitSeconds: int = 3600
    lockPollSeconds: int = 60
    lockLeaseSeconds: int = 4 * 3600
    supersededBy: str | None = None
    approvalTransition: str | None = None  # approval: the change to Approved it deploys (claim key)
    recovers: str | None = None  # RECOVER: the execution that stopped without recording
    recoversStatus: str | None = None  # its status: ABORTED, TIMED_OUT or FAILED
    withdrawn: str | None = None  # a withdrawal: the Rejected (or drifting) package that must stop serving
    cause: Literal["rejected", "drift"] | None = None  # a withdrawal's cause: a rejection or a drift alarm
    monitoring: dict[str, Any] | None = None  # the group's MonitoringConfig (smdeploy.monitoring)
    preempt: bool = False  # a newer approval rolls this rollout back at its next check
    # UPDATE only: what serves now, and the configs the rollout goes through.
    baselineVariantName: str | None = None
    baselineModelName: str | None = None
    baselineModelPackageArn: str | None = None
    canaryConfigName: str | None = None
    finalConfigName: str | None = None
    shadowConfigName: str | None = None  # a shadow test's config: the baseline plus the candidate as shadow
    # loadTest: the group's settings and the Inference Recommender job that sizes the candidate
    loadTest: dict[str, Any] | None = None
    loadTestJobName: str | None = None


class PlanTaskInput(BaseModel):
    """What a Task state that works on a resolved plan passes to its handler."""

    model_config = ConfigDict(extra="ignore")

    executionArn: str
    plan: DeploymentPlan


class StepTaskInput(PlanTaskInput):
    """A rollout step: the plan plus whatever the step needs from the execution state."""

    configName: str | None = None
    status: dict[str, Any] | None = None
    stepIndex: int | None = None
    judgement: dict[str, Any] | None = None
    canary: dict[str, Any] | None = None
    outcome: Outcome | None = None
    guardrails: bool = False  # UpdateEndpoint with the plan's DeploymentConfig (guardrails-* strategies)
    phase: Literal["bake", "shadow"] = "bake"  # JudgeCanary: a bake check, or a look at a shadow test


class LoadTestTaskInput(PlanTaskInput):
    """A call of the load-test function: start the job, or look at it."""

    action: Literal["start", "check"]
    loadTest: dict[str, Any] | None = None  # what the previous call returned


class RecordTaskInput(BaseModel):
    """What the record states pass: the outcome and whatever the execution knows by then."""

    model_config = ConfigDict(extra="ignore")

    executionArn: str
    outcome: Outcome
    state: dict[str, Any] = Field(default_factory=dict)  # the execution state ($) as the record state sees it

    def fields(self) -> dict[str, Any]:
        """What the record is made of, from the execution state (any part may be missing)."""
        return {
            "executionArn": self.executionArn,
            "outcome": self.outcome.value,
            "plan": self.state.get("plan"),
            "error": self.state.get("error"),
            "raw": self.state.get("raw"),
            "verdict": self.state.get("judgement"),
            "cleanup": self.state.get("cleanup"),
            "transform": self.state.get("transform"),
            "autoscaling": self.state.get("autoscaling"),
            "converge": self.state.get("converge"),
            "shadow": self.state.get("shadow"),
            "loadTest": self.state.get("loadTest"),
            "monitoring": self.state.get("monitoring"),
        }


class ConvergeTaskInput(StepTaskInput):
    """A call of the convergence loop (``smdeploy.converge``): why it runs and what it saw last."""

    intent: Literal["rollback", "recover", "prepare"]
    converge: dict[str, Any] | None = None  # the previous call's result; None or {} starts a loop
    avoid: list[str] = Field(default_factory=list)  # model packages that must not keep serving

    @field_validator("avoid", mode="before")
    @classmethod
    def _no_avoid(cls, value: Any) -> Any:
        return [] if value is None else value
