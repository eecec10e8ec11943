"""Scenario files: the rehearsal contract (DESIGN.md, "Scenarios and the smdeploy CLI").

A bad scenario raises :class:`ScenarioError` with the file, the key and the problem.
"""

from __future__ import annotations

import json
import re
import shlex
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from localcloud.engine.apicalls import SERVED_SERVICES, call_problem
from localcloud.engine.template import (
    REPO_ROOT,
    STAGE_TEMPLATE_PATH,
    Template,
    parameter_problem,
    template_parameters,
)
from localcloud.services.sagemaker.performance import DEFAULT_CONCURRENCY
from smdeploy.instances import is_realtime_instance

PACKAGE_KEY_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}/[1-9]\d*$")
S3_OBJECT_RE = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/.+$")
S3_PREFIX_RE = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$")


class ScenarioError(Exception):
    """The scenario itself is invalid (exit code 2)."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        super().__init__(f"{file}: {key}: {problem}")
        self.file, self.key, self.problem = file, key, problem


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# The AWS/SageMaker endpoint metrics the simulator writes under the same series keys (metric,
# endpoint, variant): a business metric may not take one of these names.
SAGEMAKER_METRIC_NAMES = frozenset(
    {
        "Invocations",
        "InvocationsPerInstance",
        "Invocation4XXErrors",
        "Invocation5XXErrors",
        "ModelLatency",
        "OverheadLatency",
    }
)


def business_metric_name_problem(name: Any) -> str | None:
    """Why ``name`` cannot be a business metric's ``MetricName``, or None.

    CloudWatch: MetricName "Length Constraints: Minimum length of 1. Maximum length of 255." (Metric,
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Metric.html); names are
    ASCII without control characters (the simulator's reading, as for namespaces: "You can use ASCII
    characters for the namespace, except for control characters", PutMetricData API reference).
    """
    if not isinstance(name, str) or not name.strip():
        return "a metric name is a non-empty string"
    if len(name) > 255:
        return f"a CloudWatch metric name has at most 255 characters, this one {len(name)}"
    if not name.isascii() or any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "a CloudWatch metric name is ASCII without control characters"
    if name in SAGEMAKER_METRIC_NAMES:
        return "that is an AWS/SageMaker endpoint metric; give the business metric another name"
    return None


class BusinessMetricSpec(_Strict):
    """``models.<v>.businessMetrics.<Metric>``: an outcome the application reports per served request."""

    rate: float = Field(ge=0, le=1, description="share of reported requests with a successful outcome")
    reported: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="share of served requests whose outcome the application reports (below 1: fewer samples "
        "than requests, a sample-ratio mismatch when only one variant has it)",
    )


class ProfileSpec(_Strict):
    """``models.<v>.profiles.<InstanceType>``: how the version performs on one instance of that type
    under load (localcloud/services/sagemaker/performance.py)."""

    maxRps: float = Field(
        gt=0,
        description="requests per second one instance saturates at: latency grows like a queue's towards "
        "it (flat, a knee at about 95%), and beyond it the excess times out after 60 s (5XX)",
    )
    latencyMs: float | None = Field(
        default=None, gt=0, description="median ModelLatency at low load (default: the version's latencyMs)"
    )
    latencyP99Ms: float | None = Field(
        default=None,
        gt=0,
        description="p99 ModelLatency at low load, above latencyMs (default: the version's latencyP99Ms when "
        "latencyMs is the version's too, else p99 about 1.8x the median)",
    )
    concurrency: int = Field(
        default=DEFAULT_CONCURRENCY,
        ge=1,
        le=1024,
        description="requests one instance works on at once (the M/M/c servers): the sharpness of the knee; "
        "1 is the soft M/M/1 curve",
    )


FEATURE_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# a category is one CSV field: no comma, quote or line break
CATEGORY_VALUE_RE = re.compile(r'^[^,"\r\n]{1,256}$')
SHARE_TOLERANCE = 1e-6


def category_shares(value: Any) -> Any:
    """``categories``: value -> share, shares above 0 summing to 1 (within 1e-6); YAML keys such as
    ``0`` or ``yes`` are taken as the text they are written as (``"0"``, ``"True"``)."""
    if not isinstance(value, dict) or not value:
        raise ValueError("expected a mapping of category -> share, e.g. {a: 0.6, b: 0.4}")
    out: dict[str, float] = {}
    for key, share in value.items():
        name = str(key)
        if not CATEGORY_VALUE_RE.match(name):
            raise ValueError(
                f"category {name!r}: a category is 1 to 256 characters without comma, quote or line break"
            )
        if isinstance(share, bool) or not isinstance(share, int | float) or not share > 0:
            raise ValueError(f"category {name!r}: its share must be a number above 0, got {share!r}")
        out[name] = float(share)
    total = sum(out.values())
    if abs(total - 1.0) > SHARE_TOLERANCE:
        raise ValueError(f"category shares must sum to 1, these sum to {total:g}")
    return out


class FeatureSpec(_Strict):
    """``models.<v>.baseline.features.<name>``: numerical ``{mean, std}`` or categorical ``{categories}``."""

    mean: float | None = Field(default=None, description="numerical: the normal distribution's mean")
    std: float | None = Field(default=None, gt=0, description="numerical: its standard deviation")
    categories: dict[str, float] | None = Field(
        default=None, description="categorical: value -> share of the requests (shares sum to 1)"
    )

    @field_validator("categories", mode="before")
    @classmethod
    def _categories(cls, value: Any) -> Any:
        return None if value is None else category_shares(value)

    @model_validator(mode="after")
    def _one_kind(self) -> FeatureSpec:
        if self.categories is not None:
            if self.mean is not None or self.std is not None:
                raise ValueError("a feature is numerical (mean, std) or categorical (categories), not both")
        elif self.mean is None or self.std is None:
            raise ValueError("a numerical feature needs mean and std (or give categories)")
        return self


class QualitySpec(_Strict):
    """``models.<v>.baseline.quality``: the ModelQuality baseline (binary classification metrics)."""

    problem: Literal["binary"] = Field(default="binary", description="binary classification")
    accuracy: float = Field(ge=0, le=1, description="share of predictions equal to the true label")
    auc: float | None = Field(default=None, ge=0, le=1, description="default: the accuracy (hard labels)")
    f1: float | None = Field(default=None, ge=0, le=1, description="default: the accuracy")
    precision: float | None = Field(default=None, ge=0, le=1, description="default: the accuracy")
    recall: float | None = Field(default=None, ge=0, le=1, description="default: the accuracy")


class BaselineSpec(_Strict):
    """``models.<v>.baseline``: the version's input features (in CSV column order) and model quality.
    Registering the package writes Model Monitor's statistics.json and constraints.json and sets its
    DriftCheckBaselines (localcloud/services/sagemaker/baselines.py)."""

    features: dict[str, FeatureSpec] = Field(
        min_length=1, description="name -> {mean, std} or {categories}, in the order of the CSV columns"
    )
    quality: QualitySpec | None = None

    @field_validator("features")
    @classmethod
    def _feature_names(cls, value: dict[str, FeatureSpec]) -> dict[str, FeatureSpec]:
        for name in value:
            if not FEATURE_NAME_RE.match(name):
                raise ValueError(
                    f"feature name {name!r}: 1 to 64 letters, digits or underscores, not starting with "
                    "a digit"
                )
        return value


class ModelSpec(_Strict):
    errorRate: float = Field(
        default=0.001, ge=0, le=1, description="share of requests answered 5XX (Invocation5XXErrors)"
    )
    latencyMs: float = Field(
        default=40.0,
        gt=0,
        description="median ModelLatency in ms: per-request latency is lognormal with this median (p99 about "
        "1.8x unless latencyP99Ms says otherwise); each minute's median drifts by about 5%",
    )
    latencyP99Ms: float | None = Field(
        default=None,
        gt=0,
        description="p99 ModelLatency in ms, above latencyMs: the lognormal spread is set so that both the "
        "median and the p99 hold",
    )
    businessMetrics: dict[str, BusinessMetricSpec] = Field(
        default_factory=dict,
        description="outcomes the application publishes per variant and minute in the group's namespace "
        "(groups.<g>.strategy.primaryMetric.namespace, else <group>/business), dimensions EndpointName and "
        "VariantName, as statistic sets (SampleCount = reported requests, Sum = successes): "
        "{Conversion: 0.031} (the success rate) or {Conversion: {rate: 0.031, reported: 0.8}}",
    )
    positiveRate: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="share of requests this version labels 1 in captured outputs; two versions agree on "
        "1 - |r1 - r2| of the requests",
    )
    failDeploy: bool = Field(
        default=False,
        description="CreateEndpoint ends Failed; UpdateEndpoint returns to InService on the old config "
        "with FailureReason",
    )
    failureReason: str | None = Field(
        default=None, description="FailureReason SageMaker gives for failDeploy"
    )
    metadata: dict[str, str] = Field(default_factory=dict, description="CustomerMetadataProperties")
    monitor: Literal["ok", "violations", "failed"] = Field(
        default="ok",
        description="Model Monitor verdict on this version's traffic: ok -> Completed, violations -> "
        "CompletedWithViolations, failed -> Failed",
    )
    transformFails: bool = Field(
        default=False, description="batch transform jobs with this version end Failed"
    )
    transformFailureReason: str | None = Field(
        default=None,
        max_length=1024,
        description="FailureReason of those jobs (default: ClientError: See job logs for more information)",
    )
    containers: int = Field(
        default=1,
        ge=1,
        le=20,
        description="containers in the package's InferenceSpecification (a pipeline if > 1)",
    )
    failInvoke: bool = Field(
        default=False,
        description="invocations of this version fail (the multi-model smoke test sees a ModelError)",
    )
    profiles: dict[str, ProfileSpec] = Field(
        default_factory=dict,
        description="instance type -> performance under load, e.g. "
        "{ml.m5.large: {maxRps: 40, latencyMs: 35}}: "
        "traffic, load tests, autoscaling and Inference Recommender jobs on that type follow it; without one "
        "a version answers as latencyMs/errorRate say whatever the load",
    )

    baseline: BaselineSpec | None = Field(
        default=None,
        description="input features (captured requests draw from them) and model quality (ground-truth "
        "labels follow its accuracy); registering the package writes its baseline documents",
    )

    @field_validator("profiles")
    @classmethod
    def _profile_types(cls, value: dict[str, ProfileSpec]) -> dict[str, ProfileSpec]:
        for instance_type in value:
            if not is_realtime_instance(instance_type):
                raise ValueError(
                    f"{instance_type!r} is not an instance type SageMaker offers for real-time inference "
                    "(ProductionVariantInstanceType), e.g. ml.m5.large"
                )
        return value

    @field_validator("businessMetrics", mode="before")
    @classmethod
    def _business_metrics(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("expected a mapping of metric name -> rate or {rate, reported}")
        out: dict[str, BusinessMetricSpec] = {}
        for name, spec in value.items():
            problem = business_metric_name_problem(name)
            if problem:
                raise ValueError(f"metric {name!r}: {problem}")
            if isinstance(spec, bool) or not isinstance(spec, int | float | dict):
                raise ValueError(f"metric {name!r}: expected a rate (0 to 1) or {{rate, reported}}")
            try:
                out[name] = BusinessMetricSpec.model_validate(
                    {"rate": spec} if isinstance(spec, int | float) else spec
                )
            except ValidationError as exc:
                err = exc.errors()[0]
                where = ".".join(str(part) for part in err["loc"])
                problem = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
                raise ValueError(f"metric {name!r}: {where}: {problem}") from None
        return out

    @model_validator(mode="after")
    def _latency(self) -> ModelSpec:
        if self.latencyP99Ms is not None and self.latencyP99Ms <= self.latencyMs:
            raise ValueError(
                f"latencyP99Ms ({self.latencyP99Ms:g}) must be above latencyMs "
                f"({self.latencyMs:g}), the median"
            )
        for instance_type, profile in self.profiles.items():
            median, p99 = self.profile_latency(profile)
            if p99 is not None and p99 <= median:
                raise ValueError(
                    f"profiles.{instance_type}: latencyP99Ms ({p99:g}) must be above latencyMs ({median:g}), "
                    "the median"
                )
        return self

    def profile_latency(self, profile: ProfileSpec) -> tuple[float, float | None]:
        """(median, p99) ModelLatency of a profile: its own, else the version's."""
        if profile.latencyMs is not None:
            return profile.latencyMs, profile.latencyP99Ms
        return self.latencyMs, profile.latencyP99Ms if profile.latencyP99Ms is not None else self.latencyP99Ms


class SystemUpdatingSpec(_Strict):
    """SageMaker maintenance of an endpoint: ``SystemUpdating`` (updates refused) for a while."""

    endpoint: str = Field(min_length=1, description="EndpointName")
    at: float = Field(ge=0, description="virtual seconds; starts then or once the endpoint is InService")
    seconds: float = Field(gt=0, description="how long the endpoint stays SystemUpdating")


class CapacitySpec(_Strict):
    """No instances of a type to be had: creates, updates and scale-outs needing them fail."""

    instanceType: str = Field(min_length=1, description="e.g. ml.g5.xlarge")
    at: float = Field(default=0.0, ge=0, description="virtual seconds")
    until: float | None = Field(default=None, description="virtual seconds; none: to the end")

    @model_validator(mode="after")
    def _window(self) -> CapacitySpec:
        if self.until is not None and self.until <= self.at:
            raise ValueError("until must be after at")
        return self


class EventDeliverySpec(_Strict):
    """``simulation.events``: EventBridge delivers at least once, possibly late; SageMaker may send
    several events per state change (localcloud/services/events.py)."""

    registryEventsPerChange: int = Field(
        default=1, ge=1, le=5, description="SageMaker Model Package State Change events per registry change"
    )
    duplicate: float | list[str] = Field(
        default=0.0,
        description="probability (0-1) that an event is delivered twice, or the detail-types always "
        "delivered twice",
    )
    duplicateAfterSeconds: float = Field(
        default=0.0, ge=0, le=86400, description="the second delivery's lag behind the first"
    )
    delaySeconds: float = Field(
        default=0.0, ge=0, le=86400, description="every event reaches the bus this long after the change"
    )

    @field_validator("duplicate")
    @classmethod
    def _duplicate(cls, value: float | list[str]) -> float | list[str]:
        if isinstance(value, list):
            if not all(isinstance(v, str) and v.strip() for v in value):
                raise ValueError("expected detail-types such as 'SageMaker Model Package State Change'")
        elif not 0.0 <= value <= 1.0:
            raise ValueError(f"a probability is 0 to 1, got {value:g}")
        return value


class SimulationSpec(_Strict):
    endpointCreateSeconds: float = Field(default=480.0, ge=0, description="Creating -> InService")
    endpointUpdateSeconds: float = Field(
        default=300.0, ge=0, description="UpdateEndpoint: Updating -> InService"
    )
    endpointFailureSeconds: float = Field(
        default=1800.0,
        ge=0,
        description="an endpoint that will fail stays Creating/Updating this long (AWS: ~24 min to ~1 h)",
    )
    endpointDeleteSeconds: float = Field(default=60.0, ge=0, description="DeleteEndpoint: Deleting -> gone")
    systemUpdating: list[SystemUpdatingSpec] = Field(default_factory=list)
    insufficientCapacity: list[CapacitySpec] = Field(default_factory=list)
    weightUpdateSeconds: float = Field(
        default=30.0, ge=0, description="UpdateEndpointWeightsAndCapacities: Updating -> InService"
    )
    requestsPerMinute: float = Field(default=600.0, ge=0, description="traffic of every serving endpoint")
    transformSeconds: float = Field(
        default=900.0, ge=0, description="CreateTransformJob: InProgress -> Completed (or Failed)"
    )
    noTrafficMetrics: bool = Field(
        default=False,
        description="a variant without traffic (weight 0) publishes zeros (true) or no datapoints (false)",
    )
    registryEvents: bool = True
    metricDelaySeconds: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="CloudWatch publishes a minute's AWS/SageMaker datapoints this long after it ends: "
        "alarms and readers miss the newest minute(s)",
    )
    listMetricsDelaySeconds: float = Field(
        default=900.0,
        ge=0,
        le=3600,
        description="ListMetrics shows a metric this long after its first datapoint was published (AWS: "
        "'allow up to 15 minutes')",
    )
    captureRecordsPerObject: int = Field(
        default=100,
        ge=1,
        le=10000,
        description="data capture: at most this many sampled requests per S3 object (one object per variant "
        "and minute)",
    )
    events: EventDeliverySpec = Field(
        default_factory=lambda: EventDeliverySpec(),
        description="how EventBridge delivers the events AWS services emit: late, twice, several per change",
    )
    recommenderDefaultSeconds: float = Field(
        default=2700.0,
        gt=0,
        le=86400,
        description="an Inference Recommender Default job: PENDING -> COMPLETED (AWS: 'within 45 minutes')",
    )
    recommenderAdvancedSeconds: float = Field(
        default=7200.0,
        gt=0,
        le=86400,
        description="an Advanced (load test) job: PENDING -> COMPLETED, or its JobDurationInSeconds if "
        "shorter "
        "(AWS: 'an average of 2 hours')",
    )


ALARM_STATES = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
COMPARISONS = Literal[
    "GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"
]


class AlarmSpec(_Strict):
    """A CloudWatch metric alarm the scenario creates at the start (``PutMetricAlarm``)."""

    name: str = Field(min_length=1, max_length=255, description="AlarmName")
    metric: str = Field(min_length=1, description="MetricName, e.g. Invocation5XXErrors, ModelLatency")
    namespace: str = Field(
        default="AWS/SageMaker",
        description="only AWS/SageMaker alarms are evaluated; others keep what `state`/`setAlarm` set",
    )
    endpoint: str | None = Field(default=None, description="dimension EndpointName")
    variant: str | None = Field(default=None, description="dimension VariantName")
    dimensions: dict[str, str] = Field(default_factory=dict, description="further dimensions, Name: Value")
    statistic: str = Field(
        default="Average", description="Sum, Average, SampleCount, Minimum, Maximum or pNN"
    )
    threshold: float
    comparison: COMPARISONS = "GreaterThanThreshold"
    period: int = Field(default=60, ge=60, description="seconds, a multiple of 60")
    evaluationPeriods: int = Field(default=1, ge=1)
    datapointsToAlarm: int | None = Field(default=None, ge=1, description="M of N; default N")
    treatMissingData: Literal["missing", "notBreaching", "breaching", "ignore"] = "missing"
    description: str | None = None
    state: ALARM_STATES | None = Field(default=None, description="SetAlarmState right after creation")

    @field_validator("statistic")
    @classmethod
    def _statistic(cls, value: str) -> str:
        if value not in {"Sum", "Average", "SampleCount", "Minimum", "Maximum"} and not re.fullmatch(
            r"p(\d{1,2}(\.\d+)?)", value
        ):
            raise ValueError(
                "expected Sum, Average, SampleCount, Minimum, Maximum or a percentile such as p99"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> AlarmSpec:
        if self.period % 60:
            raise ValueError(f"period must be a multiple of 60 seconds, got {self.period}")
        if self.datapointsToAlarm is not None and self.datapointsToAlarm > self.evaluationPeriods:
            raise ValueError("datapointsToAlarm cannot exceed evaluationPeriods")
        return self

    def dimension_list(self) -> list[dict[str, str]]:
        dims = dict(self.dimensions)
        if self.endpoint is not None:
            dims["EndpointName"] = self.endpoint
        if self.variant is not None:
            dims["VariantName"] = self.variant
        return [{"Name": k, "Value": v} for k, v in dims.items()]


_MONITOR_PERIODS = sorted(
    {m for m in range(1, 61) if 60 % m == 0} | {60 * h for h in (1, 2, 3, 4, 6, 8, 12, 24)}
)


class MonitorSpec(_Strict):
    """A Model Monitor schedule on an endpoint (the key of ``monitors``), created at the start."""

    everyMinutes: int = Field(
        default=60,
        description="period; AWS runs hourly to daily, a rehearsal may use a divisor of 60 (e.g. 10)",
    )
    startDelayMinutes: float = Field(
        default=5, ge=0, le=60, description="an execution starts this long after its scheduled time"
    )
    runMinutes: float = Field(default=5, gt=0, le=120, description="how long an execution runs")
    name: str | None = Field(
        default=None,
        pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$",
        description="MonitoringScheduleName (default <endpoint>-monitor)",
    )
    type: Literal["DataQuality", "ModelQuality", "ModelBias", "ModelExplainability"] = "DataQuality"

    @field_validator("everyMinutes")
    @classmethod
    def _period(cls, value: int) -> int:
        if value not in _MONITOR_PERIODS:
            raise ValueError(
                "expected a divisor of 60 (1, 2, 5, 10, 15, 30...) or 60, 120, 180, 240, 360, 480, 720, 1440"
            )
        return value


CALL_PATTERN = r"^[a-z0-9-]+:[A-Z][A-Za-z0-9]+$"


class FaultSpec(_Strict):
    call: str = Field(
        pattern=CALL_PATTERN,
        description="service:Action (sagemaker:CreateModel), or lambda:<FunctionLogicalId> of template.yaml",
    )
    error: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9.]+$")
    times: int = Field(default=1, ge=1)
    after: float = Field(default=0.0, ge=0)
    mode: Literal["before", "lost-response"] = Field(
        default="before",
        description="before: the call fails without effect; lost-response: it takes effect (a function's "
        "handler runs), then the caller gets the error",
    )
    message: str | None = Field(
        default=None,
        min_length=1,
        description='the error message, e.g. Cannot update in-progress endpoint "..." (default: '
        '"injected by the local cloud (<error>)")',
    )


class PackageRef(_Strict):
    group: str = Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
    version: int = Field(ge=1, le=1000)

    @property
    def key(self) -> str:
        return f"{self.group}/{self.version}"


class StartSpec(_Strict):
    stateMachine: str = "deploy"
    input: Any = Field(default_factory=dict)


class StopSpec(_Strict):
    """``StopExecution``, as an operator does from the console: the execution ends ABORTED at once."""

    execution: int | None = Field(
        default=None, ge=1, description="executions are numbered from 1 in start order"
    )
    running: bool = Field(
        default=False,
        description="instead of a number: the newest execution still running then (none running: nothing)",
    )

    @model_validator(mode="after")
    def _one_target(self) -> StopSpec:
        if (self.execution is None) == (not self.running):
            raise ValueError("name an execution number or say running: true (one of the two)")
        return self


class AwsCallSpec(_Strict):
    """A call made by hand (a user with boto3 or the console), e.g. a weight changed by someone."""

    call: str = Field(pattern=CALL_PATTERN, description="service:Action, e.g. sagemaker:UpdateEndpoint")
    params: dict[str, Any] = Field(default_factory=dict, description="the request, as boto3 takes it")


class SetAlarmSpec(_Strict):
    """``SetAlarmState`` on an alarm (lasts until the next evaluation of an AWS/SageMaker alarm)."""

    name: str = Field(min_length=1)
    state: ALARM_STATES
    reason: str = "set by the scenario"


class DriftFeatureSpec(_Strict):
    """``drift.features.<name>``: merged over the feature's distribution (numerical: mean and/or std;
    categorical: all its categories, which may name values the baseline never saw)."""

    mean: float | None = None
    std: float | None = Field(default=None, gt=0)
    categories: dict[str, float] | None = None

    @field_validator("categories", mode="before")
    @classmethod
    def _categories(cls, value: Any) -> Any:
        return None if value is None else category_shares(value)

    @model_validator(mode="after")
    def _something(self) -> DriftFeatureSpec:
        if self.mean is None and self.std is None and self.categories is None:
            raise ValueError("a drifted feature needs mean, std or categories")
        return self


class DriftSpec(_Strict):
    """From the step's time on, requests served by the version draw these features from the drifted
    distributions, and its predictions are right with ``accuracy`` (ground-truth labels)."""

    group: str = Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
    version: int = Field(ge=1, le=1000)
    features: dict[str, DriftFeatureSpec] = Field(default_factory=dict)
    accuracy: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _something(self) -> DriftSpec:
        if not self.features and self.accuracy is None:
            raise ValueError("a drift changes features, accuracy or both")
        return self

    @property
    def key(self) -> str:
        return f"{self.group}/{self.version}"


class Step(_Strict):
    at: float = Field(ge=0)
    register_: PackageRef | None = Field(default=None, alias="register")
    approve: PackageRef | None = None
    reject: PackageRef | None = None
    event: str | None = None
    start: StartSpec | None = None
    schedule: str | None = None
    setAlarm: SetAlarmSpec | None = None
    stop: StopSpec | None = None
    aws: AwsCallSpec | None = None
    drift: DriftSpec | None = None
    cli: str | None = Field(
        default=None,
        description="an operator command run by a person at that time, as `smdeploy <cli>` would run it "
        '(smdeploy_cli.operator), e.g. "abort churn-prod --reason drill"',
    )

    @field_validator("cli")
    @classmethod
    def _cli_command(cls, value: str | None) -> str | None:
        if value is not None:
            problem = cli_problem(value)
            if problem:
                raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        actions = [name for name in ACTIONS if getattr(self, _ATTR.get(name, name)) is not None]
        if len(actions) != 1:
            raise ValueError(f"each step needs exactly one of {', '.join(ACTIONS)} (got {actions or 'none'})")
        return self

    @property
    def action(self) -> str:
        return next(name for name in ACTIONS if getattr(self, _ATTR.get(name, name)) is not None)


ACTIONS = (
    "register",
    "approve",
    "reject",
    "event",
    "start",
    "schedule",
    "setAlarm",
    "stop",
    "aws",
    "drift",
    "cli",
)
_ATTR = {"register": "register_"}  # "register" would shadow BaseModel.register


def operator_verbs() -> tuple[str, ...]:
    """The operator CLI's verbs (imported when a ``cli`` step is checked, not with this module)."""
    from smdeploy_cli.operator import VERBS

    return tuple(VERBS)


def cli_problem(command: str) -> str | None:
    """Why ``command`` is no operator command (``abort churn-prod --reason drill``), or None.
    Only the verb is checked here: the CLI's own arguments are its business, and a wrong one is
    its exit code 2 in the rehearsal, as on a terminal."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        return f"cannot split {command!r} into words: {exc}"
    verbs = operator_verbs()
    if not words:
        return f"an empty command: expected one of {', '.join(verbs)} and its arguments"
    if words[0] not in verbs:
        return f"unknown command {words[0]!r}: expected one of {', '.join(verbs)}"
    return None


class OutputsSpec(_Strict):
    prefix: str = Field(description="s3://bucket/prefix of transform job outputs")
    count: int = Field(ge=0, description="how many output objects the transform jobs wrote under it")

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not S3_PREFIX_RE.fullmatch(value):
            raise ValueError("expected s3://bucket/prefix")
        return value


SUBJECTS = (
    "endpoint",
    "execution",
    "executions",
    "noCalls",
    "transformJob",
    "transformJobs",
    "outputs",
    "notified",
    "cli",
)


class Expect(_Strict):
    endpoint: str | None = None
    serving: str | None = None
    settings: dict[str, Any] | None = Field(
        default=None, description="a part of the live endpoint config's settings (DataCaptureConfig, ...)"
    )
    autoscaling: dict[str, Any] | None = Field(
        default=None,
        description="a part of every serving variant's autoscaling (minCapacity, maxCapacity, policies)",
    )
    targetModels: list[str] | None = Field(
        default=None, description="the models under a multi-model endpoint's prefix, e.g. [churn-v1.tar.gz]"
    )
    containers: dict[str, Any] | None = Field(
        default=None, description="every serving variant's model containers, e.g. {count: 2, mode: Direct}"
    )
    absent: bool | None = None
    monitoredBy: str | None = Field(
        default=None,
        description="with endpoint: the drift monitor watches GROUP/VERSION with its own baselines, and no "
        "alarm, baseline or Model Monitor schedule of another version is left",
    )
    notified: str | None = Field(default=None, description="a part of a notification's subject, e.g. DRIFT")
    converged: bool | None = Field(
        default=None,
        description="with endpoint: every execution ended and recorded, one version serving from one "
        "config, lock free, no transitional config, orphan model or candidate alarm left",
    )
    status: str | None = None
    execution: int | None = Field(default=None, ge=1)
    outcome: (
        Literal[
            "DEPLOYED",
            "PROMOTED",
            "ROLLED_BACK",
            "SKIPPED_DUPLICATE",
            "SUPERSEDED",
            "INVALID_REQUEST",
            "FAILED",
            "COMPLETED",
            "NO_APPROVED_MODEL",
            "ABORTED",
            "NO_FIT",
        ]
        | None
    ) = None
    error: str | None = None
    cause: str | None = Field(default=None, description="a part of the execution's cause")
    verdict: str | None = Field(
        default=None,
        description="the execution's last verdict (HEALTHY, UNHEALTHY, CANDIDATE_WINS, BASELINE_WINS, "
        "NO_DIFFERENCE, INVALID, SHADOW_PASSED...)",
    )
    executions: int | None = Field(default=None, ge=0)
    noCalls: list[str] | None = None
    transformJob: int | None = Field(
        default=None, ge=1, description="transform jobs numbered in creation order"
    )
    modelPackage: str | None = Field(default=None, description="GROUP/VERSION the transform job scored with")
    failureReason: str | None = Field(default=None, description="a part of the transform job's FailureReason")
    transformJobs: int | None = Field(default=None, ge=0, description="how many transform jobs were created")
    outputs: OutputsSpec | None = None
    cli: int | None = Field(default=None, ge=1, description="the N-th cli step's run, numbered from 1")
    exitCode: int | None = Field(
        default=None, ge=0, le=255, description="with cli: its exit code (default 0)"
    )
    output: str | None = Field(
        default=None, description="with cli: a part of what it printed (stdout, stderr)"
    )

    @field_validator("serving", "modelPackage", "monitoredBy")
    @classmethod
    def _serving_shape(cls, value: str | None) -> str | None:
        if value is not None and not PACKAGE_KEY_RE.match(value):
            raise ValueError("expected GROUP/VERSION, e.g. churn/1")
        return value

    @model_validator(mode="after")
    def _one_subject(self) -> Expect:
        subjects = [n for n in SUBJECTS if getattr(self, n) is not None]
        if len(subjects) != 1:
            raise ValueError(f"each expectation names exactly one of {', '.join(SUBJECTS)}")
        if (
            self.settings is not None
            or self.autoscaling is not None
            or self.targetModels is not None
            or self.containers is not None
        ) and self.endpoint is None:
            raise ValueError(
                "settings, autoscaling, targetModels and containers belong to an endpoint expectation"
            )
        if (self.modelPackage is not None or self.failureReason is not None) and self.transformJob is None:
            raise ValueError("modelPackage and failureReason belong to a transformJob expectation")
        if self.transformJob is not None and (
            self.status is None and self.modelPackage is None and self.failureReason is None
        ):
            raise ValueError("a transformJob expectation needs status, modelPackage or failureReason")
        if self.cause is not None and self.execution is None:
            raise ValueError("cause belongs to an execution expectation")
        if (self.exitCode is not None or self.output is not None) and self.cli is None:
            raise ValueError("exitCode and output belong to a cli expectation")
        if self.endpoint is not None:
            if (
                self.serving is None
                and self.absent is None
                and self.status is None
                and self.converged is None
                and self.monitoredBy is None
            ):
                raise ValueError(
                    "an endpoint expectation needs serving, absent, status, converged or monitoredBy"
                )
            if self.outcome is not None or self.error is not None:
                raise ValueError("outcome and error belong to an execution expectation")
        if self.execution is not None:
            if self.outcome is None and self.status is None and self.error is None and self.cause is None:
                raise ValueError("an execution expectation needs outcome, status, error or cause")
            if self.serving is not None or self.absent is not None:
                raise ValueError("serving and absent belong to an endpoint expectation")
        return self


class GroundTruthSpec(_Strict):
    """``groundTruth``: labels for captured predictions, uploaded as Model Monitor reads them
    (localcloud/services/sagemaker/groundtruth.py)."""

    uri: str = Field(description="s3://bucket/prefix: labels go under <uri>/yyyy/mm/dd/hh/ (bucket created)")
    delayMinutes: float = Field(
        default=60.0, ge=0, le=10080, description="labels of a capture object arrive this long after it"
    )
    share: float = Field(
        default=1.0, gt=0, le=1, description="share of the captured requests that get a label"
    )

    @field_validator("uri")
    @classmethod
    def _uri(cls, value: str) -> str:
        if not S3_PREFIX_RE.fullmatch(value):
            raise ValueError("expected s3://bucket/prefix")
        return value


class Scenario(_Strict):
    name: str = Field(min_length=1)
    description: str | None = None
    region: str = Field(default="us-east-1", pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    account: str = Field(default="123456789012", pattern=r"^\d{12}$")
    groups: dict[str, dict[str, Any]] = Field(default_factory=dict)
    models: dict[str, ModelSpec] = Field(default_factory=dict)
    simulation: SimulationSpec = Field(default_factory=SimulationSpec)
    faults: list[FaultSpec] = Field(default_factory=list)
    alarms: list[AlarmSpec] = Field(
        default_factory=list, description="CloudWatch alarms created at the start"
    )
    monitors: dict[str, MonitorSpec] = Field(
        default_factory=dict, description="endpoint name -> Model Monitor schedule created at the start"
    )
    data: dict[str, str] = Field(
        default_factory=dict,
        description="objects put in the local S3 before the timeline starts: s3://bucket/key -> text "
        "(buckets are created as needed)",
    )
    parameters: dict[str, str | int | float] = Field(
        default_factory=dict, description="template.yaml parameter values instead of their defaults"
    )
    bucketPolicies: dict[
        Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")], dict[str, Any]
    ] = Field(
        default_factory=dict,
        description="bucket name -> its bucket policy (a JSON policy document with a Statement list), "
        "set before the timeline starts: what lets another account's role read it",
    )
    accounts: dict[Annotated[str, Field(pattern=r"^\d{12}$")], dict[str, str | int | float]] = Field(
        default_factory=dict,
        description="other accounts (stages deployed through a role): account id -> stage-account.yaml "
        "parameter values (HubAccountId defaults to the scenario's account); each has that stack's roles",
    )
    groundTruth: GroundTruthSpec | None = Field(
        default=None,
        description="labels for the captured predictions of versions with an accuracy (baseline.quality, "
        "drift)",
    )
    timeline: list[Step] = Field(min_length=1)
    until: float | None = Field(
        default=None, ge=0, description="run the clock to here; default: until only background work is left"
    )
    expect: list[Expect] = Field(default_factory=list)

    @field_validator("alarms")
    @classmethod
    def _alarm_names(cls, value: list[AlarmSpec]) -> list[AlarmSpec]:
        names = [a.name for a in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"alarm names must be unique, {duplicates[0]!r} is repeated")
        return value

    @field_validator("monitors")
    @classmethod
    def _monitor_endpoints(cls, value: dict[str, MonitorSpec]) -> dict[str, MonitorSpec]:
        for endpoint in value:
            if not re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", endpoint):
                raise ValueError(f"monitor key {endpoint!r} is not an endpoint name")
        return value

    @field_validator("data")
    @classmethod
    def _data_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for uri in value:
            if not S3_OBJECT_RE.fullmatch(uri) or uri.endswith("/"):
                raise ValueError(f"data key {uri!r} is not an object URI s3://bucket/key")
        return value

    @field_validator("models")
    @classmethod
    def _model_keys(cls, value: dict[str, ModelSpec]) -> dict[str, ModelSpec]:
        for key in value:
            if not PACKAGE_KEY_RE.match(key):
                raise ValueError(f"model key {key!r} is not GROUP/VERSION, e.g. churn/1")
        return value


def _key_of(loc: tuple[Any, ...]) -> str:
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += f".{part}" if key else str(part)
    return key or "(top level)"


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario; raise :class:`ScenarioError` naming the file, key and problem."""
    file = str(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError(file, "(file)", f"cannot read: {exc.strerror}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        raise ScenarioError(file, where, f"not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(raw, dict):
        raise ScenarioError(file, "(top level)", "expected a mapping of scenario keys")
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(
            part for part in err["loc"] if not (isinstance(part, str) and part.startswith("function-"))
        )
        problem = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            problem = "unknown key"
        raise ScenarioError(file, _key_of(loc), problem) from exc
    for index, fault in enumerate(scenario.faults):
        refused = fault_call_problem(fault.call)
        if refused:
            raise ScenarioError(file, f"faults[{index}].call", refused)
    for index, step in enumerate(scenario.timeline):
        _check_step(file, path, index, step)
        if step.drift is not None:
            _check_drift(file, scenario, f"timeline[{index}].drift", step.drift)
    cli_steps = sum(1 for step in scenario.timeline if step.cli is not None)
    for index, expect in enumerate(scenario.expect):
        if expect.execution is not None and expect.execution > 10_000:
            raise ScenarioError(file, f"expect[{index}].execution", "execution numbers start at 1")
        if expect.cli is not None and expect.cli > cli_steps:
            raise ScenarioError(
                file,
                f"expect[{index}].cli",
                f"the timeline has {cli_steps} cli step{'' if cli_steps == 1 else 's'}",
            )
    for bucket, document in scenario.bucketPolicies.items():
        statements = document.get("Statement")
        if not (isinstance(statements, list) and statements and all(isinstance(s, dict) for s in statements)):
            raise ScenarioError(file, f"bucketPolicies.{bucket}.Statement", "a list of policy statements")
        for index, statement in enumerate(statements):
            for key in ("Effect", "Principal", "Action", "Resource"):
                if key not in statement:
                    raise ScenarioError(file, f"bucketPolicies.{bucket}.Statement[{index}].{key}", "missing")
    stage_declared = template_parameters(STAGE_TEMPLATE_PATH)
    for account_id, values in scenario.accounts.items():
        if account_id == scenario.account:
            raise ScenarioError(file, f"accounts.{account_id}", "that is the scenario's own account")
        for name, value in values.items():
            if name not in stage_declared:
                raise ScenarioError(
                    file,
                    f"accounts.{account_id}.{name}",
                    "no such parameter to set in stage-account.yaml (known: "
                    + ", ".join(stage_declared)
                    + ")",
                )
            refused = parameter_problem(stage_declared[name], parameter_text(value))
            if refused:
                raise ScenarioError(file, f"accounts.{account_id}.{name}", refused)
        missing = [
            n
            for n, d in stage_declared.items()
            if "Default" not in d and n != "HubAccountId" and n not in values
        ]
        if missing:
            raise ScenarioError(file, f"accounts.{account_id}", f"set {', '.join(missing)} (no default)")
    declared = template_parameters()
    for name, value in scenario.parameters.items():
        if name not in declared:
            raise ScenarioError(
                file,
                f"parameters.{name}",
                f"no such parameter in template.yaml (known: {', '.join(declared)})",
            )
        refused = parameter_problem(declared[name], parameter_text(value))
        if refused:
            raise ScenarioError(file, f"parameters.{name}", refused)
    return scenario


def _check_step(file: str, path: Path, index: int, step: Step) -> None:
    """What a step names must exist: its event file (an event), state machine, schedule, call."""
    key = f"timeline[{index}]"
    if step.event is not None:
        event_file = resolve_relative(path, step.event)
        if event_file is None:
            raise ScenarioError(file, f"{key}.event", f"no such file {step.event!r}")
        problem = event_problem(event_file)
        if problem:
            raise ScenarioError(file, f"{key}.event", f"{step.event}: {problem}")
    if step.start is not None:
        try:
            _template().state_machine_by_alias(step.start.stateMachine)
        except KeyError as exc:
            raise ScenarioError(file, f"{key}.start.stateMachine", str(exc.args[0])) from exc
    if step.schedule is not None:
        schedules = _schedule_names()
        if step.schedule not in schedules:
            known = ", ".join(sorted(n for n in schedules if n[:1].isupper())) or "none"
            raise ScenarioError(
                file, f"{key}.schedule", f"no schedule {step.schedule!r} in template.yaml (known: {known})"
            )
    if step.aws is not None:
        problem = call_problem(step.aws.call)
        if problem:
            raise ScenarioError(file, f"{key}.aws.call", problem)
        problem = params_problem(step.aws.call, step.aws.params)
        if problem:
            raise ScenarioError(file, f"{key}.aws.params", problem)


def _check_drift(file: str, scenario: Scenario, key: str, drift: DriftSpec) -> None:
    """A drift names a version of ``models``, features of its baseline, fields of their kind."""
    if not any(name.split("/", 1)[0] == drift.group for name in scenario.models):
        raise ScenarioError(file, f"{key}.group", f"no version of {drift.group!r} in models")
    spec = scenario.models.get(drift.key)
    if spec is None:
        known = ", ".join(sorted(n for n in scenario.models if n.split("/", 1)[0] == drift.group))
        raise ScenarioError(file, f"{key}.version", f"no {drift.key} in models (known: {known})")
    if not drift.features:
        return
    if spec.baseline is None:
        raise ScenarioError(
            file, f"{key}.features", f"{drift.key} has no baseline (models.{drift.key}.baseline) to drift"
        )
    for name, change in drift.features.items():
        feature = spec.baseline.features.get(name)
        if feature is None:
            known = ", ".join(spec.baseline.features)
            raise ScenarioError(
                file,
                f"{key}.features.{name}",
                f"no feature {name!r} in {drift.key}'s baseline (known: {known})",
            )
        if feature.categories is not None and (change.mean is not None or change.std is not None):
            field = "mean" if change.mean is not None else "std"
            raise ScenarioError(
                file, f"{key}.features.{name}.{field}", f"{name} is categorical: drift its categories"
            )
        if feature.categories is None and change.categories is not None:
            raise ScenarioError(
                file, f"{key}.features.{name}.categories", f"{name} is numerical: drift its mean or std"
            )


def event_problem(event_file: Path) -> str | None:
    """Why a raw event file is not an event EventBridge could carry, or None.

    An event on a bus has the ``source``, ``detail-type`` and ``detail`` (a JSON object) that
    PutEvents requires (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html).
    """
    try:
        event = json.loads(event_file.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot read: {exc}"
    except json.JSONDecodeError as exc:
        return f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    if not isinstance(event, dict):
        return f"expected an EventBridge event (a JSON object), got a JSON {type(event).__name__}"
    for name in ("source", "detail-type"):
        if not isinstance(event.get(name), str) or not event[name]:
            return f"an EventBridge event needs a non-empty string {name!r}"
    if not isinstance(event.get("detail"), dict):
        return "an EventBridge event needs a 'detail' object"
    return None


def fault_call_problem(call: str) -> str | None:
    """Why a fault's ``call`` names neither a served call nor a function of template.yaml, or None."""
    service, _, name = call.partition(":")
    if service == "lambda" and name in _template().functions():
        return None
    problem = call_problem(call)
    if problem is None or service != "lambda":
        return problem
    known = ", ".join(sorted(_template().functions()))
    return f"no function {name!r} in template.yaml (known: {known}) and no Lambda action {name!r}"


def params_problem(call: str, params: dict[str, Any]) -> str | None:
    """Why boto3 would refuse ``params`` for ``call`` before sending it, or None."""
    from botocore.exceptions import ParamValidationError
    from botocore.validate import validate_parameters

    from localcloud.engine.apicalls import service_model

    service, _, action = call.partition(":")
    model = service_model(SERVED_SERVICES[service]).operation_model(action)
    try:
        validate_parameters(params, model.input_shape)
    except ParamValidationError as exc:
        return str(exc.kwargs.get("report", exc)).strip()
    return None


@cache
def _template() -> Template:
    return Template()


def _schedule_names() -> set[str]:
    """Every name a ``schedule`` step may use (as ``LocalCloud.find_schedule`` accepts them)."""
    names: set[str] = set()
    for schedule in _template().schedules():
        names |= {schedule.name, schedule.name.lower(), schedule.schedule_name}
        if schedule.target_kind == "stateMachine":
            short = schedule.target_logical_id.removesuffix("StateMachine")
            # ``batchtransform`` and its first word, ``batch`` (as DESIGN.md's scenarios write it)
            names |= {short.lower(), re.split(r"(?<=[a-z])(?=[A-Z])", short)[0].lower()}
    return names


def parameter_text(value: str | float) -> str:
    """A parameter value as CloudFormation passes it (a string; ``3`` rather than ``3.0``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def resolve_relative(scenario_path: Path, name: str) -> Path | None:
    """A path relative to the scenario file, else to the repository root."""
    for base in (scenario_path.parent, REPO_ROOT):
        candidate = (base / name).resolve()
        if candidate.is_file():
            return candidate
    return None
