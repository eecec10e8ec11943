"""SageMaker Inference Recommender jobs in virtual time (moto has none of these operations).

Served: ``CreateInferenceRecommendationsJob``, ``DescribeInferenceRecommendationsJob``,
``ListInferenceRecommendationsJobs``, ``StopInferenceRecommendationsJob`` and
``ListInferenceRecommendationsJobSteps``, in the shapes of the SageMaker API reference (botocore's
service model). Like every call they go through the local cloud's fault injection and IAM
(``sagemaker:<Operation>`` on ``arn:aws:sagemaker:REGION:ACCOUNT:inference-recommendations-job/NAME``;
the List calls on ``*``; creating passes ``RoleArn``: ``iam:PassRole``).

Life of a job: ``PENDING`` for ``PENDING_SECONDS``, ``IN_PROGRESS``, then ``COMPLETED`` when its run
time is over: ``simulation.recommenderDefaultSeconds`` for a ``Default`` job (AWS: "Inference
recommendation jobs complete within 45 minutes") and ``simulation.recommenderAdvancedSeconds`` for an
``Advanced`` one, or its ``JobDurationInSeconds`` when shorter (AWS: "an average of 2 hours to
complete depending on the job duration set and the total number of inference configurations
tested"; https://docs.aws.amazon.com/sagemaker/latest/dg/inference-recommender-recommendation-jobs.html).
``StopInferenceRecommendationsJob``: ``STOPPING``, then ``STOPPED`` after ``STOP_SECONDS``, with no
results. ``FAILED`` with a ``FailureReason``: a version whose behaviour has ``failDeploy`` (its
benchmark endpoint never becomes healthy; after ``endpointFailureSeconds``), a sample payload that is
missing or that the job's role may not read (``s3:GetObject``), a model artifact the role may not
read. No EventBridge event: the EventBridge reference lists no Inference Recommender event among
SageMaker's ("Amazon SageMaker AI events",
https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-sagemaker.html); callers poll
``DescribeInferenceRecommendationsJob``.

Refused at creation (``ValidationException`` unless said otherwise), as SageMaker refuses them:
a job name taken (``ResourceInUse``); ``JobType`` other than ``Default``/``Advanced``; not exactly one
of ``ModelPackageVersionArn`` and ``ModelName`` (a model name needs ``ContainerConfig``; both
documented on "Create an inference recommendation"); a package or model that does not exist; an
``InstanceType`` SageMaker does not offer for real-time inference (AWS's enum-constraint message,
1-based index); more than 10 ``EndpointConfigurations``; an ``Advanced`` job without
``EndpointConfigurations`` (this simulator's rule: a load test names what it tests); traffic phases
with a negative spawn rate, with ``InitialNumberOfUsers`` outside 1-3, or lasting under 120 s or over
3,600 s in an ``Advanced`` job ("Specifies how many concurrent users to start with. The value should
be between 1 and 3."; "For custom load tests, the value should be between 120 and 3600. This value
should not exceed JobDurationInSeconds.", API reference ``Phase``), phases longer in total than
``JobDurationInSeconds``, a ``PHASES`` pattern without phases or a ``STAIRS`` one without stairs;
``JobDurationInSeconds`` above ``MAX_JOB_SECONDS`` (UNCONFIRMED limit, read as "the maximum value is
18,000 seconds"); a latency threshold whose ``Percentile`` is not ``P95``/``P99``, or not ``P95`` in an
``Advanced`` job ("Acceptable values are P95 and P99. For custom load tests, specify the value as
P95.", API reference ``ModelLatencyThreshold``); no sample payload (``ContainerConfig.PayloadConfig``
or the package's ``SamplePayloadUrl``), or one that is not a ``.tar.gz`` ("This path must point to a
single gzip compressed tar archive (.tar.gz suffix)", ``SamplePayloadUrl``); a serverless
configuration (not simulated here; a local-cloud limit, said so in the message).

Results, from the same physics as traffic and load tests (``performance.py``) and the prices shipped
in ``smdeploy/data/instance_prices.json`` (``smdeploy.instances``):

- What is tested: each ``EndpointConfigurations`` entry, once per combination of its
  ``EnvironmentParameterRanges`` values, at most ``ResourceLimit.MaxNumberOfTests``; a ``Default`` job
  without them each instance type of ``ContainerConfig.SupportedInstanceTypes``, else of the package's
  ``SupportedRealtimeInferenceInstanceTypes``, else every type the version has a profile for. A
  type the version has no profile for is a failed step ("no performance profile"): the local cloud
  has no physics for it.
- Per tested type, the per-instance capacity: with a latency threshold, the highest load whose
  threshold percentile stays within it (:func:`performance.max_rps_within`); without one, the knee
  (mean latency doubled: AWS reports "the point in time where the invocations graph first starts to
  plateau", https://docs.aws.amazon.com/sagemaker/latest/dg/inference-recommender-interpret-results.html).
  A type that cannot meet the threshold even idle is a failed step and no recommendation.
- ``InitialInstanceCount``: ``ceil(StoppingConditions.MaxInvocations / MaxInvocations)`` (the
  requirement in requests per minute over one instance's), 1 without a requirement. This is the
  simulator's reading of "Recommendation jobs also provide an initial instance count".
- ``Metrics`` per instance, as the API reference words each ("for the instance"):
  ``MaxInvocations`` requests per minute one instance sustains (integer); ``ModelLatency`` in
  milliseconds (integer; "Units: Milliseconds" on the results page, although the same guide's example
  value, 263596, reads like microseconds: do not rely on its unit) at the threshold's percentile,
  P95 without one, at that load; ``CostPerHour`` one instance's on-demand price (USD);
  ``CostPerInference`` = ``CostPerHour / (60 x MaxInvocations)`` (the guide's example has 0.204 /
  (60 x 648) = 5.2469e-06); ``CpuUtilization`` the instance's utilization at that load in percent
  (the queue's); no ``MemoryUtilization`` (the API's "not available"). A type without a shipped
  price has no cost metrics.
- ``InferenceRecommendations``: the fitting configurations, cheapest first: with a requirement
  (``StoppingConditions.MaxInvocations``) by ``CostPerHour x InitialInstanceCount``, then
  ``CostPerInference``; without one by ``CostPerInference`` (unpriced last; AWS documents no order,
  this is the simulator's); at most 10 (the API's limit); absent when nothing fits (the job still
  ``COMPLETED``: the steps say why).
  ``ListInferenceRecommendationsJobSteps``: one ``BENCHMARK`` step per test, fitting or not.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

from moto.core.responses import ActionResult
from moto.s3.exceptions import MissingBucket
from moto.s3.models import s3_backends
from moto.sagemaker import models as sm_models
from moto.sagemaker import responses as sm_responses
from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound, ValidationError
from moto.utilities.utils import get_partition

from localcloud.engine.scheduler import Scheduler
from localcloud.services.sagemaker.endpoints import ModelBehaviour, SageMakerSimulator, package_key
from localcloud.services.sagemaker.performance import (
    PerformanceProfile,
    knee_rps,
    load_point,
    max_rps_within,
)
from smdeploy.instances import REALTIME_INSTANCE_TYPES, is_realtime_instance, price_per_hour

PENDING_SECONDS = 60.0  # PENDING -> IN_PROGRESS
STOP_SECONDS = 60.0  # STOPPING -> STOPPED
MAX_JOB_SECONDS = 18000  # JobDurationInSeconds
MAX_INITIAL_USERS = 3  # Phase.InitialNumberOfUsers: "should be between 1 and 3" (API reference, Phase)
PHASE_SECONDS = (120, 3600)  # Phase.DurationInSeconds "for custom load tests" (API reference, Phase)
MAX_ENDPOINT_CONFIGURATIONS = 10
MAX_RECOMMENDATIONS = 10  # DescribeInferenceRecommendationsJob: InferenceRecommendations 1-10 items
PERCENTILES = {"P95": 0.95, "P99": 0.99}
DEFAULT_PERCENTILE = "P95"
JOB_NAME_PATTERN = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}"
RUNNING = ("PENDING", "IN_PROGRESS")
OPERATIONS = (
    "CreateInferenceRecommendationsJob",
    "DescribeInferenceRecommendationsJob",
    "ListInferenceRecommendationsJobs",
    "StopInferenceRecommendationsJob",
    "ListInferenceRecommendationsJobSteps",
)


def _constraint(value: Any, where: str, problem: str) -> ValidationError:
    """AWS's request-validation message for one member."""
    return ValidationError(
        f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy constraint: {problem}"
    )


@dataclass
class Test:
    """One benchmark: an instance type (and environment) of a job."""

    index: int
    instance_type: str
    environment: list[dict[str, str]]
    inference_specification: str | None = None


@dataclass
class RecommendationJob:
    name: str
    arn: str
    job_type: str
    role_arn: str
    description: str
    input_config: dict[str, Any]
    stopping: dict[str, Any] | None
    package_arn: str | None
    model_name: str | None
    payload_url: str
    tests: list[Test]
    created: datetime
    created_at: float  # virtual seconds
    run_seconds: float
    tags: list[dict[str, str]] = field(default_factory=list)
    status: str = "PENDING"
    last_modified: datetime | None = None
    completed: datetime | None = None
    failure_reason: str | None = None
    recommendations: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    entries: list[int] = field(default_factory=list)  # scheduler entries still due

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "JobName": self.name,
            "JobDescription": self.description,
            "JobType": self.job_type,
            "JobArn": self.arn,
            "RoleArn": self.role_arn,
            "Status": self.status,
            "CreationTime": self.created,
            "LastModifiedTime": self.last_modified or self.created,
            "InputConfig": self.input_config,
        }
        if self.completed is not None:
            out["CompletionTime"] = self.completed
        if self.failure_reason is not None:
            out["FailureReason"] = self.failure_reason
        if self.stopping is not None:
            out["StoppingConditions"] = self.stopping
        if self.recommendations:
            out["InferenceRecommendations"] = self.recommendations
        return out

    def summary(self) -> dict[str, Any]:
        out = {
            key: value
            for key, value in self.describe().items()
            if key
            in {
                "JobName",
                "JobDescription",
                "JobType",
                "JobArn",
                "Status",
                "CreationTime",
                "CompletionTime",
                "RoleArn",
                "LastModifiedTime",
                "FailureReason",
            }
        }
        if self.model_name:
            out["ModelName"] = self.model_name
        if self.package_arn:
            out["ModelPackageVersionArn"] = self.package_arn
        out["SamplePayloadUrl"] = self.payload_url
        return out


class InferenceRecommender:
    """The jobs of one local cloud (one account and region)."""

    def __init__(self, scheduler: Scheduler, sagemaker: SageMakerSimulator) -> None:
        self.scheduler = scheduler
        self.sagemaker = sagemaker
        self.jobs: dict[str, RecommendationJob] = {}  # JobName -> job, in creation order
        self.status_log: list[tuple[float, str, str]] = []  # (t, job name, status)
        self._stack = ExitStack()

    # --- patching -------------------------------------------------------------------------
    def install(self) -> None:
        jobs = self

        def serve(method: Callable[[Any, Any], dict[str, Any]]) -> Callable[[Any], ActionResult]:
            def action(response: Any) -> ActionResult:
                return ActionResult(method(response.sagemaker_backend, response._get_param))

            return action

        handlers = {
            "create_inference_recommendations_job": jobs.create,
            "describe_inference_recommendations_job": jobs.describe,
            "list_inference_recommendations_jobs": jobs.list_jobs,
            "stop_inference_recommendations_job": jobs.stop,
            "list_inference_recommendations_job_steps": jobs.list_steps,
        }
        for name, method in handlers.items():
            self._stack.enter_context(
                mock.patch.object(sm_responses.SageMakerResponse, name, serve(method), create=True)
            )

    def uninstall(self) -> None:
        self._stack.close()

    # --- the API ------------------------------------------------------------------------------
    def create(self, backend: Any, param: Callable[[str], Any]) -> dict[str, Any]:
        name = str(param("JobName") or "")
        job_type = param("JobType")
        role_arn = str(param("RoleArn") or "")
        config = dict(param("InputConfig") or {})
        stopping = param("StoppingConditions")
        self._check_name(name)
        if job_type not in {"Default", "Advanced"}:
            raise _constraint(job_type, "jobType", "Member must satisfy enum value set: [Default, Advanced]")
        account, region = str(backend.account_id), str(backend.region_name)
        arn = sm_models.arn_formatter("inference-recommendations-job", name, account, region)
        if name in self.jobs:
            raise ResourceInUseException(
                f'Cannot create already existing inference recommendations job "{self.jobs[name].arn}".'
            )
        package_arn, model_name, behaviour_key = self._subject(backend, config)
        self._check_configurations(config, job_type)
        duration = self._check_traffic(config, str(job_type))
        self._check_stopping(stopping, job_type)
        payload = self._payload(backend, config, package_arn)
        tags = list(param("Tags") or [])
        if len(tags) > 50:
            raise _constraint(tags, "tags", "Member must have length less than or equal to 50")
        tests = self._tests(backend, config, job_type, package_arn, behaviour_key)
        run_seconds = (
            self.sagemaker.settings.recommender_default_seconds
            if job_type == "Default"
            else min(self.sagemaker.settings.recommender_advanced_seconds, float(duration or math.inf))
        )
        now = self.sagemaker.stamp()
        job = RecommendationJob(
            name=name,
            arn=arn,
            job_type=str(job_type),
            role_arn=role_arn,
            description=str(param("JobDescription") or ""),
            input_config=config,
            stopping=dict(stopping) if stopping else None,
            package_arn=package_arn,
            model_name=model_name,
            payload_url=payload,
            tests=tests,
            created=now,
            created_at=self.scheduler.now,
            run_seconds=run_seconds,
            tags=tags,
        )
        job.last_modified = now
        self.jobs[name] = job
        self.status_log.append((self.scheduler.now, name, "PENDING"))
        job.entries.append(
            self.scheduler.after(PENDING_SECONDS, lambda: self._start(backend, job, behaviour_key))
        )
        return {"JobArn": arn}

    def describe(self, backend: Any, param: Callable[[str], Any]) -> dict[str, Any]:
        return self._job(backend, param("JobName")).describe()

    def stop(self, backend: Any, param: Callable[[str], Any]) -> dict[str, Any]:
        job = self._job(backend, param("JobName"))
        if job.status not in RUNNING:
            raise ValidationError(
                f'Inference recommendations job "{job.arn}" is {job.status}: only a PENDING or IN_PROGRESS '
                "job can be stopped."
            )
        for entry in job.entries:
            self.scheduler.cancel(entry)
        job.entries.clear()
        self._set_status(job, "STOPPING")

        def stopped() -> None:
            if job.status == "STOPPING":
                self._set_status(job, "STOPPED", ended=True)

        self.scheduler.after(STOP_SECONDS, stopped)
        return {}

    def list_jobs(self, backend: Any, param: Callable[[str], Any]) -> dict[str, Any]:
        jobs = list(self.jobs.values())
        contains = param("NameContains")
        status = param("StatusEquals")
        package = param("ModelPackageVersionArnEquals")
        model = param("ModelNameEquals")
        bounds = {
            key: _as_datetime(param(key))
            for key in (
                "CreationTimeAfter",
                "CreationTimeBefore",
                "LastModifiedTimeAfter",
                "LastModifiedTimeBefore",
            )
        }
        selected = []
        for job in jobs:
            modified = (job.last_modified or job.created).replace(tzinfo=None)
            created = job.created.replace(tzinfo=None)
            if contains and str(contains).lower() not in job.name.lower():
                continue
            if status and job.status != status:
                continue
            if package and job.package_arn != package:
                continue
            if model and job.model_name != model:
                continue
            if bounds["CreationTimeAfter"] and not created > bounds["CreationTimeAfter"]:
                continue
            if bounds["CreationTimeBefore"] and not created < bounds["CreationTimeBefore"]:
                continue
            if bounds["LastModifiedTimeAfter"] and not modified > bounds["LastModifiedTimeAfter"]:
                continue
            if bounds["LastModifiedTimeBefore"] and not modified < bounds["LastModifiedTimeBefore"]:
                continue
            selected.append(job)
        sort_by = param("SortBy") or "CreationTime"
        keys: dict[str, Callable[[RecommendationJob], Any]] = {
            "Name": lambda j: j.name,
            "CreationTime": lambda j: j.created,
            "Status": lambda j: j.status,
        }
        if sort_by not in keys:
            raise _constraint(
                sort_by, "sortBy", "Member must satisfy enum value set: [Name, CreationTime, Status]"
            )
        selected.sort(key=keys[sort_by], reverse=(param("SortOrder") or "Descending") == "Descending")
        return _page([j.summary() for j in selected], "InferenceRecommendationsJobs", param)

    def list_steps(self, backend: Any, param: Callable[[str], Any]) -> dict[str, Any]:
        job = self._job(backend, param("JobName"))
        status = param("Status")
        steps = [s for s in job.steps if not status or s["Status"] == status]
        return _page(steps, "Steps", param)

    # --- validation -----------------------------------------------------------------------------
    @staticmethod
    def _check_name(name: str) -> None:
        if not 1 <= len(name) <= 64:
            raise _constraint(name, "jobName", "Member must have length between 1 and 64")
        if not re.fullmatch(JOB_NAME_PATTERN, name):
            raise _constraint(
                name, "jobName", f"Member must satisfy regular expression pattern: {JOB_NAME_PATTERN}"
            )

    def _job(self, backend: Any, name: Any) -> RecommendationJob:
        job = self.jobs.get(str(name))
        if job is None:
            arn = sm_models.arn_formatter(
                "inference-recommendations-job", str(name), str(backend.account_id), str(backend.region_name)
            )
            raise ResourceNotFound(f'Could not find inference recommendations job "{arn}".')
        return job

    def _subject(self, backend: Any, config: dict[str, Any]) -> tuple[str | None, str | None, str]:
        """(package ARN, model name, ``group/version`` whose behaviour applies)."""
        package_arn = config.get("ModelPackageVersionArn")
        model_name = config.get("ModelName")
        if bool(package_arn) == bool(model_name):
            raise ValidationError(
                "InputConfig takes exactly one of ModelPackageVersionArn and ModelName, "
                f"got {'both' if package_arn else 'neither'}."
            )
        if package_arn:
            if not any(p.arn == package_arn for p in backend.model_packages.values()):
                raise ValidationError(f'Could not find model package "{package_arn}".')
            return str(package_arn), None, package_key(str(package_arn))
        if str(model_name) not in backend._models:
            arn = sm_models.arn_formatter(
                "model", str(model_name), str(backend.account_id), str(backend.region_name)
            )
            raise ValidationError(f'Could not find model "{arn}".')
        if not config.get("ContainerConfig"):
            raise ValidationError("InputConfig with a ModelName needs a ContainerConfig.")
        source = self.sagemaker.package_of_model(backend, str(model_name))
        return None, str(model_name), package_key(source) if source else f"model:{model_name}"

    @staticmethod
    def _check_configurations(config: dict[str, Any], job_type: str) -> None:
        configurations = list(config.get("EndpointConfigurations") or [])
        if job_type == "Advanced" and not configurations:
            raise ValidationError(
                "An Advanced job (a load test) needs InputConfig.EndpointConfigurations: the instance types "
                "to test."
            )
        if len(configurations) > MAX_ENDPOINT_CONFIGURATIONS:
            raise _constraint(
                f"[{len(configurations)} items]",
                "inputConfig.endpointConfigurations",
                f"Member must have length less than or equal to {MAX_ENDPOINT_CONFIGURATIONS}",
            )
        enum = ", ".join(sorted(REALTIME_INSTANCE_TYPES))
        for index, entry in enumerate(configurations, start=1):
            instance_type = entry.get("InstanceType")
            if entry.get("ServerlessConfig"):
                raise ValidationError(
                    f"inputConfig.endpointConfigurations.{index}: the local cloud does not simulate "
                    "serverless benchmarks (ServerlessConfig); test instance types."
                )
            if instance_type is None:
                raise ValidationError(
                    f"inputConfig.endpointConfigurations.{index} needs an InstanceType or a ServerlessConfig."
                )
            if not is_realtime_instance(str(instance_type)):
                raise _constraint(
                    instance_type,
                    f"inputConfig.endpointConfigurations.{index}.member.instanceType",
                    f"Member must satisfy enum value set: [{enum}]",
                )

    @staticmethod
    def _check_traffic(config: dict[str, Any], job_type: str) -> int | None:
        """Checks the traffic pattern and duration; returns ``JobDurationInSeconds``."""
        duration = config.get("JobDurationInSeconds")
        if duration is not None and not 1 <= int(duration) <= MAX_JOB_SECONDS:
            raise _constraint(
                duration,
                "inputConfig.jobDurationInSeconds",
                f"Member must have value between 1 and {MAX_JOB_SECONDS}",
            )
        pattern = config.get("TrafficPattern")
        if not pattern:
            return int(duration) if duration is not None else None
        kind = pattern.get("TrafficType") or "PHASES"
        if kind not in {"PHASES", "STAIRS"}:
            raise _constraint(
                kind,
                "inputConfig.trafficPattern.trafficType",
                "Member must satisfy enum value set: [PHASES, STAIRS]",
            )
        total = 0
        if kind == "PHASES":
            phases = list(pattern.get("Phases") or [])
            if not phases:
                raise _constraint(
                    "[]",
                    "inputConfig.trafficPattern.phases",
                    "Member must have length greater than or equal to 1",
                )
            for index, phase in enumerate(phases, start=1):
                where = f"inputConfig.trafficPattern.phases.{index}.member"
                for key, low in (("InitialNumberOfUsers", 1), ("SpawnRate", 0), ("DurationInSeconds", 1)):
                    value = phase.get(key)
                    if value is None or int(value) < low:
                        member = key[0].lower() + key[1:]
                        raise _constraint(
                            value,
                            f"{where}.{member}",
                            f"Member must have value greater than or equal to {low}",
                        )
                users, seconds = int(phase["InitialNumberOfUsers"]), int(phase["DurationInSeconds"])
                if users > MAX_INITIAL_USERS:
                    raise ValidationError(
                        f"Phase {index}: InitialNumberOfUsers is {users}; it must be between 1 and "
                        f"{MAX_INITIAL_USERS} (grow the load with SpawnRate)."
                    )
                if job_type == "Advanced" and not PHASE_SECONDS[0] <= seconds <= PHASE_SECONDS[1]:
                    raise ValidationError(
                        f"Phase {index}: DurationInSeconds is {seconds}; for a custom load test it must be "
                        f"between {PHASE_SECONDS[0]} and {PHASE_SECONDS[1]}."
                    )
                total += seconds
        else:
            stairs = pattern.get("Stairs")
            if not stairs:
                raise ValidationError("A STAIRS traffic pattern needs Stairs.")
            for key, low in (("DurationInSeconds", 1), ("NumberOfSteps", 1), ("UsersPerStep", 1)):
                value = stairs.get(key)
                if value is not None and int(value) < low:
                    member = key[0].lower() + key[1:]
                    raise _constraint(
                        value,
                        f"inputConfig.trafficPattern.stairs.{member}",
                        f"Member must have value greater than or equal to {low}",
                    )
            total = int(stairs.get("DurationInSeconds") or 0)
        if duration is not None and total > int(duration):
            raise ValidationError(
                f"The traffic pattern lasts {total} s, longer than JobDurationInSeconds ({int(duration)} s)."
            )
        return int(duration) if duration is not None else None

    @staticmethod
    def _check_stopping(stopping: dict[str, Any] | None, job_type: str) -> None:
        if not stopping:
            return
        invocations = stopping.get("MaxInvocations")
        if invocations is not None and int(invocations) < 1:
            raise _constraint(
                invocations,
                "stoppingConditions.maxInvocations",
                "Member must have value greater than or equal to 1",
            )
        thresholds = list(stopping.get("ModelLatencyThresholds") or [])
        if len(thresholds) > 1:
            raise _constraint(
                f"[{len(thresholds)} items]",
                "stoppingConditions.modelLatencyThresholds",
                "Member must have length less than or equal to 1",
            )
        for threshold in thresholds:
            percentile = threshold.get("Percentile")
            if percentile not in PERCENTILES:
                raise ValidationError(
                    f"ModelLatencyThresholds Percentile {percentile!r} is not valid: acceptable values "
                    "are P95 and P99."
                )
            if job_type == "Advanced" and percentile != "P95":
                raise ValidationError(
                    f"ModelLatencyThresholds Percentile {percentile!r} is not valid for a custom load test "
                    "(JobType Advanced): specify P95."
                )
            value = threshold.get("ValueInMilliseconds")
            if value is None or int(value) < 1:
                raise ValidationError("ModelLatencyThresholds ValueInMilliseconds must be 1 or more.")

    @staticmethod
    def _payload(backend: Any, config: dict[str, Any], package_arn: str | None) -> str:
        container = config.get("ContainerConfig") or {}
        url = (container.get("PayloadConfig") or {}).get("SamplePayloadUrl")
        if not url and package_arn:
            for package in backend.model_packages.values():
                if package.arn == package_arn:
                    url = getattr(package, "sample_payload_url", None)
        if not url:
            raise ValidationError(
                "No sample payload: give InputConfig.ContainerConfig.PayloadConfig.SamplePayloadUrl or "
                "register the model package with a SamplePayloadUrl."
            )
        if not str(url).startswith("s3://") or not str(url).endswith(".tar.gz"):
            raise ValidationError(
                f"SamplePayloadUrl {url} must point to a single gzip compressed tar archive (.tar.gz) in S3."
            )
        return str(url)

    def _tests(
        self,
        backend: Any,
        config: dict[str, Any],
        job_type: str,
        package_arn: str | None,
        behaviour_key: str,
    ) -> list[Test]:
        tests: list[Test] = []
        if config.get("EndpointConfigurations"):
            for entry in config.get("EndpointConfigurations") or []:
                ranges = (
                    (entry.get("EnvironmentParameterRanges") or {}).get("CategoricalParameterRanges")
                ) or []
                names = [str(r["Name"]) for r in ranges]
                values = [list(r.get("Value") or []) for r in ranges]
                for combo in itertools.product(*values) if ranges else [()]:
                    environment = [
                        {"Key": key, "ValueType": "String", "Value": str(value)}
                        for key, value in zip(names, combo, strict=True)
                    ]
                    tests.append(
                        Test(
                            len(tests),
                            str(entry["InstanceType"]),
                            environment,
                            entry.get("InferenceSpecificationName"),
                        )
                    )
            limit = (config.get("ResourceLimit") or {}).get("MaxNumberOfTests")
            return tests[: int(limit)] if limit else tests
        container = config.get("ContainerConfig") or {}
        types = [t for t in container.get("SupportedInstanceTypes") or [] if is_realtime_instance(str(t))]
        if not types and package_arn:
            for package in backend.model_packages.values():
                if package.arn == package_arn:
                    spec = package.inference_specification or {}
                    types = list(spec.get("SupportedRealtimeInferenceInstanceTypes") or [])
        if not types:
            types = sorted(self.sagemaker.settings.behaviour(behaviour_key).profiles)
        return [Test(i, str(t), []) for i, t in enumerate(dict.fromkeys(types))]

    # --- running --------------------------------------------------------------------------------
    def _set_status(
        self, job: RecommendationJob, status: str, reason: str | None = None, *, ended: bool = False
    ) -> None:
        now = self.sagemaker.stamp()
        job.status = status
        job.last_modified = now
        if reason is not None:
            job.failure_reason = reason
        if ended:
            job.completed = now
        self.status_log.append((self.scheduler.now, job.name, status))

    def _start(self, backend: Any, job: RecommendationJob, behaviour_key: str) -> None:
        if job.status != "PENDING":
            return
        self._set_status(job, "IN_PROGRESS")
        behaviour = self.sagemaker.settings.behaviour(behaviour_key)
        problem = self._access_problem(backend, job)
        if problem is not None:
            job.entries.append(self.scheduler.after(PENDING_SECONDS, lambda: self._fail(job, problem)))
            return
        if behaviour.fail_deploy:
            where = job.tests[0].instance_type if job.tests else "the model"
            reason = (
                f"Benchmark failed: the endpoint for {where} "
                f"did not become healthy: {behaviour.failure_reason}"
            )
            delay = min(job.run_seconds, self.sagemaker.settings.endpoint_failure_seconds)
            job.entries.append(self.scheduler.after(delay, lambda: self._fail(job, reason)))
            return
        started = self.scheduler.now
        job.entries.append(
            self.scheduler.after(
                max(0.0, job.run_seconds - PENDING_SECONDS),
                lambda: self._complete(job, behaviour, started),
            )
        )

    def _fail(self, job: RecommendationJob, reason: str) -> None:
        if job.status == "IN_PROGRESS":
            job.entries.clear()
            self._set_status(job, "FAILED", reason[:1024], ended=True)

    def _access_problem(self, backend: Any, job: RecommendationJob) -> str | None:
        """Why the job cannot read its sample payload or model artifacts with its role, or None."""
        bucket, _, key = job.payload_url[5:].partition("/")
        s3 = s3_backends[str(backend.account_id)][get_partition(str(backend.region_name))]
        try:
            stored = s3.get_object(bucket, key)
        except MissingBucket:
            stored = None
        if stored is None:
            return f"ClientError: Could not find the sample payload at {job.payload_url}."
        if not self.sagemaker._role_allows(
            job.role_arn, "sagemaker:CreateInferenceRecommendationsJob", "s3:GetObject", f"{bucket}/{key}"
        ):
            return (
                f"ClientError: Access denied reading the sample payload {job.payload_url} with role "
                f"{job.role_arn}: it needs s3:GetObject on it."
            )
        containers: list[dict[str, Any]] = []
        for package in backend.model_packages.values():
            if job.package_arn and package.arn == job.package_arn:
                containers = list((package.inference_specification or {}).get("Containers") or [])
        for container in containers:
            url = container.get("ModelDataUrl")
            if not url or not str(url).startswith("s3://"):
                continue
            artifact_bucket, _, artifact_key = str(url)[5:].partition("/")
            if not self.sagemaker._role_allows(
                job.role_arn,
                "sagemaker:CreateInferenceRecommendationsJob",
                "s3:GetObject",
                f"{artifact_bucket}/{artifact_key}",
            ):
                return (
                    f"Failed to download model data(bucket: {artifact_bucket}, key: {artifact_key}). Please "
                    "ensure that there is an object located at the URL and that the role passed to "
                    "CreateInferenceRecommendationsJob has permissions to download the model."
                )
        return None

    def _complete(self, job: RecommendationJob, behaviour: ModelBehaviour, started: float) -> None:
        if job.status != "IN_PROGRESS":
            return
        job.entries.clear()
        threshold = ((job.stopping or {}).get("ModelLatencyThresholds") or [None])[0]
        required = (job.stopping or {}).get("MaxInvocations")
        slot = (self.scheduler.now - started) / max(1, len(job.tests))
        fits: list[tuple[tuple[float, float, str], dict[str, Any]]] = []
        for test in job.tests:
            window = (self._at(started + slot * test.index), self._at(started + slot * (test.index + 1)))
            profile = behaviour.profiles.get(test.instance_type)
            step: dict[str, Any] = {"StepType": "BENCHMARK", "JobName": job.name, "Status": "COMPLETED"}
            benchmark: dict[str, Any] = {
                "EndpointConfiguration": self._endpoint_configuration(job, test, 1),
                "ModelConfiguration": _model_configuration(test),
                "InvocationStartTime": window[0],
                "InvocationEndTime": window[1],
            }
            step["InferenceBenchmark"] = benchmark
            job.steps.append(step)
            if profile is None:
                step["Status"] = "FAILED"
                benchmark["FailureReason"] = (
                    f"No performance profile for {test.instance_type} in the scenario's model "
                    f"(models.<version>.profiles): the local cloud cannot benchmark it."
                )
                continue
            measured = benchmark_metrics(profile, test.instance_type, threshold)
            if measured is None:
                step["Status"] = "FAILED"
                assert threshold is not None
                idle = load_point(profile, 0.0).quantile_ms(PERCENTILES[threshold["Percentile"]])
                benchmark["FailureReason"] = (
                    f"ModelLatency {threshold['Percentile']} is {idle:.0f} ms even at the lowest load, above "
                    f"the threshold of {threshold['ValueInMilliseconds']} ms."
                )
                continue
            benchmark["Metrics"] = measured
            count = max(1, math.ceil(int(required) / measured["MaxInvocations"])) if required else 1
            benchmark["EndpointConfiguration"]["InitialInstanceCount"] = count
            recommendation = {
                "RecommendationId": _recommendation_id(job.name, test.index),
                "Metrics": dict(measured),
                "EndpointConfiguration": dict(benchmark["EndpointConfiguration"]),
                "ModelConfiguration": benchmark["ModelConfiguration"],
                "InvocationStartTime": window[0],
                "InvocationEndTime": window[1],
            }
            cost = measured.get("CostPerHour")
            hourly = cost * count if cost is not None else math.inf
            per_inference = measured.get("CostPerInference", math.inf)
            # with a requirement, the cheapest endpoint that meets it; without, the cheapest inference
            rank = (
                (hourly, per_inference, test.instance_type)
                if required
                else (
                    per_inference,
                    hourly,
                    test.instance_type,
                )
            )
            fits.append((rank, recommendation))
        fits.sort(key=lambda item: item[0])
        job.recommendations = [recommendation for _, recommendation in fits[:MAX_RECOMMENDATIONS]]
        self._set_status(job, "COMPLETED", ended=True)

    def _at(self, t: float) -> datetime:
        """Virtual second ``t`` as moto keeps times (naive UTC)."""
        return (self.scheduler.epoch + timedelta(seconds=t)).replace(tzinfo=None)

    @staticmethod
    def _endpoint_configuration(job: RecommendationJob, test: Test, count: int) -> dict[str, Any]:
        stem = job.name[:40]
        return {
            "EndpointName": f"sm-epc-{stem}-{test.index + 1:04d}",
            "VariantName": f"sm-epv-{stem}-{test.index + 1:04d}",
            "InstanceType": test.instance_type,
            "InitialInstanceCount": count,
        }


def benchmark_metrics(
    profile: PerformanceProfile, instance_type: str, threshold: dict[str, Any] | None
) -> dict[str, Any] | None:
    """``RecommendationMetrics`` of one instance of ``instance_type`` (see the module docstring);
    None when the threshold cannot be met even at the lowest load."""
    percentile = str((threshold or {}).get("Percentile") or DEFAULT_PERCENTILE)
    q = PERCENTILES[percentile]
    if threshold is not None:
        rps = max_rps_within(profile, q, float(threshold["ValueInMilliseconds"]))
    else:
        rps = knee_rps(profile)
    per_minute = math.floor(rps * 60.0)
    if per_minute < 1:
        return None
    point = load_point(profile, per_minute / 60.0)
    metrics: dict[str, Any] = {
        "MaxInvocations": per_minute,
        "ModelLatency": round(point.quantile_ms(q)),
        "CpuUtilization": round(min(point.rho, 1.0) * 100.0, 1),
    }
    price = price_per_hour(instance_type)
    if price is not None:
        metrics["CostPerHour"] = price
        metrics["CostPerInference"] = price / (60.0 * per_minute)
    return metrics


def _model_configuration(test: Test) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if test.inference_specification:
        out["InferenceSpecificationName"] = test.inference_specification
    if test.environment:
        out["EnvironmentParameters"] = test.environment
    return out


def _recommendation_id(job_name: str, index: int) -> str:
    digest = hashlib.sha256(f"{job_name}/{index}".encode()).hexdigest()
    return f"{job_name}/{digest[:8]}"


def _as_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC).replace(tzinfo=None)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).replace(tzinfo=None)


def _page(items: list[dict[str, Any]], key: str, param: Callable[[str], Any]) -> dict[str, Any]:
    """One page of ``items`` (``MaxResults``, default 10; ``NextToken`` an offset)."""
    size = int(param("MaxResults") or 10)
    token = param("NextToken")
    try:
        start = int(token) if token else 0
    except ValueError:
        raise ValidationError(f"Invalid pagination token {token!r}.") from None
    out: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        out["NextToken"] = str(start + size)
    return out
