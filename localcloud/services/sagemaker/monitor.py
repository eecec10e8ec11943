"""SageMaker Model Monitor (moto has none): schedules and their executions, in virtual time.

Served actions: ``CreateMonitoringSchedule``, ``UpdateMonitoringSchedule``,
``DescribeMonitoringSchedule`` (with ``LastMonitoringExecutionSummary``; the
``MonitoringScheduleConfig`` as given, inline job definition and baselines included),
``ListMonitoringSchedules``, ``ListMonitoringExecutions``, ``StopMonitoringSchedule``,
``StartMonitoringSchedule``, ``DeleteMonitoringSchedule``, and ``ListTags``/``AddTags``/``DeleteTags``
on a schedule's ARN. moto serves the job definitions (``Create``/``Describe``/``Delete``/``List``
``DataQualityJobDefinition(s)`` and ``ModelQualityJobDefinition(s)``); here a duplicate data-quality
name is ``ResourceInUse`` as the model-quality one already is, and a name longer than 63 or off the
pattern is refused.

Requests refused as SageMaker refuses them (botocore's service model, ``sagemaker/2017-07-24``;
botocore checks required members and minimum lengths client-side, not maximum lengths, patterns
or enums): a schedule name longer than 63 or off ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`` (AWS's
"1 validation error detected: ... failed to satisfy constraint" wording); a taken name
(``ResourceInUse``); not exactly one of ``MonitoringJobDefinition`` and
``MonitoringJobDefinitionName``; an inline definition with a ``MonitoringType`` other than
``DataQuality`` (SageMaker's other monitors are scheduled by the name of their job definition, as the
SageMaker Python SDK does; the API reference does not say it: UNCONFIRMED); a definition name with
no job definition of that type; more than one monitoring input or output; a ``RoleArn`` off its
pattern; an ``InstanceType`` outside the enum; ``MaxRuntimeInSeconds`` over 86,400; more than 50
tags; an endpoint that does not exist.

A schedule made or updated through the API is ``Pending`` for ``PENDING_SECONDS`` (UNCONFIRMED
duration), then ``Scheduled``; ``DeleteMonitoringSchedule`` in that state fails with
``ValidationException`` "Monitoring schedule in status Pending" (the answer AWS gave in
aws/amazon-sagemaker-examples#2342), and ``UpdateMonitoringSchedule`` likewise (the same rule
assumed; UNCONFIRMED). ``UpdateMonitoringSchedule`` replaces the whole ``MonitoringScheduleConfig``
(its errors in the model: ``ResourceNotFound``, ``ResourceLimitExceeded``), re-times the executions
from the new expression and keeps the tags; a stopped schedule stays stopped.

- A schedule runs every period: ``cron(0 * ? * * *)`` hourly, ``cron(0 */N ? * * *)`` every N
  hours, ``cron(M H ? * * *)`` daily, or ``NOW`` once (``DataAnalysisStartTime``/``EndTime`` such as
  ``-PT1H``/``-PT0H``); other expressions are a ``ValidationException``. A scenario's ``monitors``
  may also run sub-hourly (every 10 minutes, say), which AWS does not offer, to keep rehearsals
  short.
- At each scheduled time an execution appears ``Pending``; it is ``InProgress`` after the start delay
  and ends after its run time. It covers the period before its scheduled time: the verdict comes
  from the scenario behaviour (``models.<g/v>.monitor``) of the versions the endpoint served in that
  window: any ``failed`` → ``Failed``; else any ``violations`` → ``CompletedWithViolations``; else
  ``Completed``. No traffic in the window, or no data captured (the endpoint's
  ``DataCaptureConfig`` was not enabled at any time in it) → ``Failed`` with "Job inputs had no
  data" (aws/sagemaker-python-sdk#2634). No execution is made while the endpoint does not exist.
- Every step of a schedule is background work: monitoring never keeps a rehearsal alive.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from unittest import mock

from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker import models as sm_models
from moto.sagemaker import responses as sm_responses
from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound, ValidationError

from localcloud.engine.apicalls import service_model
from localcloud.engine.scheduler import Scheduler
from localcloud.services.cloudwatch.metrics import TrafficSimulator
from localcloud.services.sagemaker.endpoints import SimulationSettings

DEFAULT_START_DELAY_SECONDS = 300.0  # AWS: executions start on the hour plus 0-20 minutes
PENDING_SECONDS = 60.0  # a schedule made or updated through the API is Pending this long (UNCONFIRMED)
DEFAULT_RUN_SECONDS = 300.0
FINISHED = {"Completed", "CompletedWithViolations", "Failed", "Stopped"}
NO_DATA = "Job inputs had no data"
ALGORITHM_ERROR = "AlgorithmError: See job logs for more information"
_JOB_DEFINITIONS = {
    "data_quality_job_definitions": "DataQuality",
    "model_quality_job_definitions": "ModelQuality",
    "model_bias_job_definitions": "ModelBias",
    "model_explainability_job_definitions": "ModelExplainability",
}
_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")  # schedules and job definitions
_ROLE_ARN = re.compile(r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+")


@dataclass
class Schedule:
    name: str
    arn: str
    endpoint: str | None
    monitoring_type: str
    config: dict[str, Any]
    period: float | None  # seconds between executions; None for a one-off (NOW) schedule
    offset: float  # executions at offset + k * period virtual seconds
    start_delay: float
    run: float
    created_at: float
    created: datetime
    modified: datetime
    tags: list[dict[str, str]] = field(default_factory=list)
    window: tuple[float, float] | None = None  # NOW: analysis window relative to the run
    status: str = "Scheduled"
    generation: int = 0
    pending_until: float = 0.0  # made or updated through the API: Pending until then

    @property
    def job_definition_name(self) -> str | None:
        name = self.config.get("MonitoringJobDefinitionName")
        return str(name) if name else None


@dataclass
class Execution:
    schedule: str
    endpoint: str
    monitoring_type: str
    scheduled_at: float
    window: tuple[float, float]
    scheduled: datetime
    created: datetime
    modified: datetime
    processing_job_arn: str
    job_definition_name: str | None = None
    status: str = "Pending"
    failure_reason: str | None = None
    ended_at: float | None = None
    packages: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "MonitoringScheduleName": self.schedule,
            "ScheduledTime": self.scheduled,
            "CreationTime": self.created,
            "LastModifiedTime": self.modified,
            "MonitoringExecutionStatus": self.status,
            "ProcessingJobArn": self.processing_job_arn,
            "EndpointName": self.endpoint,
            "MonitoringType": self.monitoring_type,
        }
        if self.failure_reason:
            out["FailureReason"] = self.failure_reason
        if self.job_definition_name:
            out["MonitoringJobDefinitionName"] = self.job_definition_name
        return out


@dataclass
class _Store:
    schedules: dict[str, Schedule] = field(default_factory=dict)
    executions: list[Execution] = field(default_factory=list)


_OFFSET = re.compile(r"^-PT(?:(\d+)H)?(?:(\d+)M)?$")


def _offset_seconds(text: str | None, default: float) -> float:
    if not text:
        return default
    match = _OFFSET.match(text)
    if not match or not (match[1] or match[2]):
        raise ValidationError(f"Invalid data analysis time offset {text!r}: expected e.g. -PT1H or -PT30M.")
    return -(int(match[1] or 0) * 3600 + int(match[2] or 0) * 60)


def parse_schedule(expression: str) -> tuple[float | None, float]:
    """(period seconds, offset seconds) of a Model Monitor schedule expression; (None, 0) for NOW."""
    text = expression.strip()
    if text == "NOW":
        return None, 0.0
    match = re.fullmatch(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+)(?: (\S+))?\)", text)
    if match:
        minute, hour, dom, month, dow, year = match.groups()
        if (
            minute.isdigit()
            and int(minute) < 60
            and dom in {"?", "*"}
            and month == "*"
            and dow in {"?", "*"}
            and year in {None, "*"}
        ):
            offset = int(minute) * 60.0
            if hour == "*":
                return 3600.0, offset
            every = re.fullmatch(r"(?:\*|0)/(\d+)", hour)
            if every and 1 <= int(every[1]) <= 24:
                return int(every[1]) * 3600.0, offset
            if hour.isdigit() and int(hour) < 24:
                return 86400.0, offset + int(hour) * 3600.0
    raise ValidationError(
        f"Invalid ScheduleExpression {expression!r}: use an hourly to daily cron expression "
        "such as cron(0 * ? * * *) or NOW."
    )


def _window(config: dict[str, Any]) -> tuple[float, float]:
    """A NOW schedule's analysis window, relative to its run (default: the hour before)."""
    schedule_config = config.get("ScheduleConfig") or {}
    return (
        _offset_seconds(schedule_config.get("DataAnalysisStartTime"), -3600.0),
        _offset_seconds(schedule_config.get("DataAnalysisEndTime"), 0.0),
    )


def schedule_expression(every_minutes: int) -> str:
    """The cron expression a scenario's ``everyMinutes`` stands for."""
    if every_minutes % 60 == 0:
        hours = every_minutes // 60
        if hours == 1:
            return "cron(0 * ? * * *)"
        return "cron(0 0 ? * * *)" if hours == 24 else f"cron(0 */{hours} ? * * *)"
    return f"cron(0/{every_minutes} * ? * * *)"  # finer than AWS allows: rehearsal only


def _naive_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _listing(
    response: Any,
    items: list[Any],
    filters: dict[str, Callable[[Any, Any], bool]],
    keys: dict[str, Callable[[Any], Any]],
    result_key: str,
    summarize: Callable[[Any], dict[str, Any]],
) -> ActionResult:
    """A List* answer: filtered by the request's parameters, sorted, one page, with NextToken."""
    get = response._get_param
    for param, keep in filters.items():
        value = get(param)
        if value is not None:
            items = [item for item in items if keep(item, value)]
    sort_key = keys.get(get("SortBy") or "CreationTime", keys["CreationTime"])
    items.sort(key=sort_key, reverse=get("SortOrder") != "Ascending")
    page, token = _page(items, response)
    result: dict[str, Any] = {result_key: [summarize(item) for item in page]}
    if token:
        result["NextToken"] = token
    return ActionResult(result)


def _page(items: list[Any], response: Any, default_max: int = 10) -> tuple[list[Any], str | None]:
    start = int(response._get_param("NextToken") or 0)
    size = int(response._get_param("MaxResults") or default_max)
    page = items[start : start + size]
    return page, (str(start + size) if start + size < len(items) else None)


def _constraint(value: Any, path: str, rule: str) -> ValidationError:
    """AWS's wording of a request member that fails its constraint."""
    return ValidationError(
        f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy constraint: {rule}"
    )


def check_name(name: str, path: str) -> None:
    """A schedule's or job definition's name: 1-63 characters of ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``."""
    if len(name) > 63:
        raise _constraint(name, path, "Member must have length less than or equal to 63")
    if not _NAME.fullmatch(name):
        raise _constraint(name, path, f"Member must satisfy regular expression pattern: {_NAME.pattern}")


@cache
def _enum(shape: str) -> tuple[str, ...]:
    """The values of an enum shape of SageMaker's service model (``ProcessingInstanceType``)."""
    model = service_model("sagemaker")
    return tuple(model.shape_for(shape).enum)


def check_job_definition(definition: dict[str, Any], path: str) -> None:
    """What SageMaker checks of an inline ``MonitoringJobDefinition`` beyond botocore's own checks."""
    inputs = definition.get("MonitoringInputs") or []
    if len(inputs) > 1:
        raise _constraint(
            inputs, f"{path}.monitoringInputs", "Member must have length less than or equal to 1"
        )
    outputs = (definition.get("MonitoringOutputConfig") or {}).get("MonitoringOutputs") or []
    if len(outputs) > 1:
        raise _constraint(
            outputs,
            f"{path}.monitoringOutputConfig.monitoringOutputs",
            "Member must have length less than or equal to 1",
        )
    role = str(definition.get("RoleArn") or "")
    if not _ROLE_ARN.fullmatch(role):
        raise _constraint(
            role, f"{path}.roleArn", f"Member must satisfy regular expression pattern: {_ROLE_ARN.pattern}"
        )
    cluster = (definition.get("MonitoringResources") or {}).get("ClusterConfig") or {}
    instance_type = cluster.get("InstanceType")
    if instance_type is not None and instance_type not in _enum("ProcessingInstanceType"):
        raise _constraint(
            instance_type,
            f"{path}.monitoringResources.clusterConfig.instanceType",
            f"Member must satisfy enum value set: [{', '.join(_enum('ProcessingInstanceType'))}]",
        )
    runtime = (definition.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
    if runtime is not None and int(runtime) > 86400:
        raise _constraint(
            runtime,
            f"{path}.stoppingCondition.maxRuntimeInSeconds",
            "Member must have value less than or equal to 86400",
        )


class ModelMonitorSimulator:
    def __init__(
        self,
        scheduler: Scheduler,
        settings: SimulationSettings,
        traffic: TrafficSimulator,
        *,
        account: str,
        region: str,
    ) -> None:
        self.scheduler = scheduler
        self.settings = settings
        self.traffic = traffic
        self.account, self.region = account, region
        self._stores: dict[tuple[str, str], _Store] = {}
        self._stack = ExitStack()

    @property
    def executions(self) -> list[Execution]:
        """Executions of the cloud's own account and region, in creation order."""
        return self._store(self.account, self.region).executions

    def _store(self, account: str, region: str) -> _Store:
        return self._stores.setdefault((account, region), _Store())

    def _stamp(self, at: float | None = None) -> datetime:
        at = self.scheduler.now if at is None else at
        return self.scheduler.epoch.replace(tzinfo=None) + timedelta(seconds=at)

    # --- API ------------------------------------------------------------------------------
    def install(self) -> None:
        sim = self

        def store_of(response: Any) -> _Store:
            return sim._store(response.current_account, response.region)

        def create_monitoring_schedule(response: Any) -> ActionResult:
            name = str(response._get_param("MonitoringScheduleName") or "")
            config = response._get_param("MonitoringScheduleConfig") or {}
            tags = response._get_param("Tags") or []
            check_name(name, "monitoringScheduleName")
            if len(tags) > 50:
                raise _constraint(tags, "tags", "Member must have length less than or equal to 50")
            sim.check_config(response.sagemaker_backend, config)
            schedule = sim.create_schedule(
                response.sagemaker_backend, name=name, config=config, tags=tags, pending=True
            )
            return ActionResult({"MonitoringScheduleArn": schedule.arn})

        def update_monitoring_schedule(response: Any) -> ActionResult:
            store = store_of(response)
            schedule = sim._get(store, response, response._get_param("MonitoringScheduleName"))
            config = response._get_param("MonitoringScheduleConfig") or {}
            sim.update_schedule(response.sagemaker_backend, store, schedule, config)
            return ActionResult({"MonitoringScheduleArn": schedule.arn})

        def describe_monitoring_schedule(response: Any) -> ActionResult:
            schedule = sim._get(store_of(response), response, response._get_param("MonitoringScheduleName"))
            out = sim._describe(schedule)
            latest = sim._latest(store_of(response), schedule.name)
            if latest is not None:
                out["LastMonitoringExecutionSummary"] = latest.summary()
            return ActionResult(out)

        def list_monitoring_schedules(response: Any) -> ActionResult:
            items = list(store_of(response).schedules.values())
            filters = {
                "EndpointName": lambda s, v: s.endpoint == v,
                "NameContains": lambda s, v: v in s.name,
                "StatusEquals": lambda s, v: sim.status(s) == v,
                "MonitoringTypeEquals": lambda s, v: s.monitoring_type == v,
                "MonitoringJobDefinitionName": lambda s, v: s.job_definition_name == v,
                "CreationTimeBefore": lambda s, v: s.created < _naive_utc(v),
                "CreationTimeAfter": lambda s, v: s.created > _naive_utc(v),
                "LastModifiedTimeBefore": lambda s, v: s.modified < _naive_utc(v),
                "LastModifiedTimeAfter": lambda s, v: s.modified > _naive_utc(v),
            }
            keys = {
                "Name": lambda s: s.name,
                "Status": lambda s: sim.status(s),
                "CreationTime": lambda s: s.created,
            }
            return _listing(response, items, filters, keys, "MonitoringScheduleSummaries", sim._summary)

        def list_monitoring_executions(response: Any) -> ActionResult:
            items = list(store_of(response).executions)
            filters = {
                "MonitoringScheduleName": lambda e, v: e.schedule == v,
                "EndpointName": lambda e, v: e.endpoint == v,
                "StatusEquals": lambda e, v: e.status == v,
                "MonitoringTypeEquals": lambda e, v: e.monitoring_type == v,
                "MonitoringJobDefinitionName": lambda e, v: e.job_definition_name == v,
                "ScheduledTimeBefore": lambda e, v: e.scheduled < _naive_utc(v),
                "ScheduledTimeAfter": lambda e, v: e.scheduled > _naive_utc(v),
                "CreationTimeBefore": lambda e, v: e.created < _naive_utc(v),
                "CreationTimeAfter": lambda e, v: e.created > _naive_utc(v),
                "LastModifiedTimeBefore": lambda e, v: e.modified < _naive_utc(v),
                "LastModifiedTimeAfter": lambda e, v: e.modified > _naive_utc(v),
            }
            keys = {
                "ScheduledTime": lambda e: e.scheduled,
                "Status": lambda e: e.status,
                "CreationTime": lambda e: e.created,
            }
            return _listing(
                response, items, filters, keys, "MonitoringExecutionSummaries", lambda e: e.summary()
            )

        def delete_monitoring_schedule(response: Any) -> EmptyResult:
            store = store_of(response)
            schedule = sim._get(store, response, response._get_param("MonitoringScheduleName"))
            sim.refuse_if_pending(schedule)
            schedule.generation += 1
            del store.schedules[schedule.name]
            return EmptyResult()

        def stop_monitoring_schedule(response: Any) -> EmptyResult:
            schedule = sim._get(store_of(response), response, response._get_param("MonitoringScheduleName"))
            if schedule.status != "Stopped":
                schedule.status, schedule.modified = "Stopped", sim._stamp()
                schedule.generation += 1
            return EmptyResult()

        def start_monitoring_schedule(response: Any) -> EmptyResult:
            schedule = sim._get(store_of(response), response, response._get_param("MonitoringScheduleName"))
            if schedule.status == "Stopped":
                schedule.status, schedule.modified = "Scheduled", sim._stamp()
                sim._arm(store_of(response), schedule)
            return EmptyResult()

        for name, method in {
            "create_monitoring_schedule": create_monitoring_schedule,
            "update_monitoring_schedule": update_monitoring_schedule,
            "describe_monitoring_schedule": describe_monitoring_schedule,
            "list_monitoring_schedules": list_monitoring_schedules,
            "list_monitoring_executions": list_monitoring_executions,
            "delete_monitoring_schedule": delete_monitoring_schedule,
            "stop_monitoring_schedule": stop_monitoring_schedule,
            "start_monitoring_schedule": start_monitoring_schedule,
        }.items():
            self._stack.enter_context(
                mock.patch.object(sm_responses.SageMakerResponse, name, method, create=True)
            )
        self._install_backend()

    def _install_backend(self) -> None:
        """Tags of schedules (moto's tag calls find no schedule of ours), and job definitions' names."""
        sim = self
        backend_cls = sm_models.SageMakerModelBackend
        resource_from_arn = backend_cls._get_resource_from_arn
        create_data_quality = backend_cls.create_data_quality_job_definition
        create_model_quality = backend_cls.create_model_quality_job_definition

        def get_resource_from_arn(backend: Any, arn: str) -> Any:
            if ":monitoring-schedule/" not in arn:
                return resource_from_arn(backend, arn)
            name = arn.rsplit("/", 1)[-1]
            schedules = sim._store(str(backend.account_id), str(backend.region_name)).schedules
            found = schedules.get(name) or next(
                (s for s in schedules.values() if s.arn.lower() == arn.lower()), None
            )
            if found is None:
                raise ValidationError(f"Could not find monitoring-schedule with name {name}")
            return found

        def create_data_quality_job_definition(backend: Any, **kwargs: Any) -> Any:
            name = str(kwargs.get("job_definition_name") or "")
            check_name(name, "jobDefinitionName")
            if name in backend.data_quality_job_definitions:  # moto would replace it
                raise ResourceInUseException(
                    f"Resource Already Exists: Data Quality Job Definition with name {name} already "
                    "exists. Choose a different name."
                )
            return create_data_quality(backend, **kwargs)

        def create_model_quality_job_definition(backend: Any, **kwargs: Any) -> Any:
            check_name(str(kwargs.get("job_definition_name") or ""), "jobDefinitionName")
            return create_model_quality(backend, **kwargs)

        for attribute, method in {
            "_get_resource_from_arn": get_resource_from_arn,
            "create_data_quality_job_definition": create_data_quality_job_definition,
            "create_model_quality_job_definition": create_model_quality_job_definition,
        }.items():
            self._stack.enter_context(mock.patch.object(backend_cls, attribute, method))

    def uninstall(self) -> None:
        self._stack.close()

    # --- schedules ------------------------------------------------------------------------
    def create_schedule(
        self,
        backend: Any,
        *,
        name: str,
        config: dict[str, Any],
        tags: list[dict[str, str]] | None = None,
        every_minutes: int | None = None,
        start_delay: float | None = None,
        run: float | None = None,
        endpoint: str | None = None,
        check_endpoint: bool = True,
        pending: bool = False,
    ) -> Schedule:
        """Create a schedule (the API, ``pending``, or a scenario's ``monitors`` with ``every_minutes``)."""
        account, region = str(backend.account_id), str(backend.region_name)
        store = self._store(account, region)
        arn = sm_models.arn_formatter("monitoring-schedule", name, account, region)
        if name in store.schedules:
            raise ResourceInUseException(f'Monitoring schedule "{arn}" already exists.')
        period: float | None
        if every_minutes is not None:
            period, offset = every_minutes * 60.0, 0.0
            config = {**config, "ScheduleConfig": {"ScheduleExpression": schedule_expression(every_minutes)}}
        else:
            expression = str((config.get("ScheduleConfig") or {}).get("ScheduleExpression") or "")
            period, offset = parse_schedule(expression)
        job_endpoint, monitoring_type = self._job_target(backend, config)
        endpoint = endpoint or job_endpoint
        if check_endpoint:
            self._check_endpoint(backend, endpoint)
        window = _window(config) if period is None else None
        now = self._stamp()
        schedule = Schedule(
            name=name,
            arn=arn,
            endpoint=endpoint,
            monitoring_type=str(config.get("MonitoringType") or monitoring_type),
            config=config,
            period=period,
            offset=offset,
            start_delay=DEFAULT_START_DELAY_SECONDS if start_delay is None else start_delay,
            run=DEFAULT_RUN_SECONDS if run is None else run,
            created_at=self.scheduler.now,
            created=now,
            modified=now,
            tags=list(tags or []),
            window=window,
            pending_until=self.scheduler.now + PENDING_SECONDS if pending else 0.0,
        )
        store.schedules[name] = schedule
        self._arm(store, schedule)
        return schedule

    def update_schedule(
        self, backend: Any, store: _Store, schedule: Schedule, config: dict[str, Any]
    ) -> None:
        """``UpdateMonitoringSchedule``: the whole config replaced, executions re-timed from now."""
        self.refuse_if_pending(schedule)
        self.check_config(backend, config)
        expression = str((config.get("ScheduleConfig") or {}).get("ScheduleExpression") or "")
        period, offset = parse_schedule(expression)
        endpoint, monitoring_type = self._job_target(backend, config)
        self._check_endpoint(backend, endpoint)
        schedule.config, schedule.period, schedule.offset = config, period, offset
        schedule.endpoint = endpoint
        schedule.monitoring_type = str(config.get("MonitoringType") or monitoring_type)
        schedule.window = _window(config) if period is None else None
        schedule.created_at = self.scheduler.now  # a NOW schedule runs once more, now
        schedule.modified = self._stamp()
        schedule.pending_until = self.scheduler.now + PENDING_SECONDS
        schedule.generation += 1
        if schedule.status != "Stopped":
            self._arm(store, schedule)

    def check_config(self, backend: Any, config: dict[str, Any]) -> None:
        """What SageMaker refuses in a ``MonitoringScheduleConfig`` (create and update)."""
        monitoring_type = config.get("MonitoringType")
        types = tuple(_JOB_DEFINITIONS.values())
        if monitoring_type is not None and monitoring_type not in types:
            raise _constraint(
                monitoring_type,
                "monitoringScheduleConfig.monitoringType",
                f"Member must satisfy enum value set: [{', '.join(types)}]",
            )
        inline = config.get("MonitoringJobDefinition")
        name = config.get("MonitoringJobDefinitionName")
        if (inline is None) == (name is None):
            raise ValidationError(
                "Provide either MonitoringJobDefinition or MonitoringJobDefinitionName in "
                "MonitoringScheduleConfig, not both and not neither."
            )
        if inline is not None:
            if monitoring_type not in {None, "DataQuality"}:
                raise ValidationError(
                    f"A {monitoring_type} monitoring schedule must name its job definition "
                    "(MonitoringJobDefinitionName): only a DataQuality job can be defined inline."
                )
            check_job_definition(inline, "monitoringScheduleConfig.monitoringJobDefinition")
            return
        check_name(str(name), "monitoringScheduleConfig.monitoringJobDefinitionName")
        wanted = monitoring_type or "DataQuality"
        attribute = next(a for a, t in _JOB_DEFINITIONS.items() if t == wanted)
        if name not in (getattr(backend, attribute, None) or {}):
            kind = attribute.removesuffix("s").replace("_", "-")
            arn = sm_models.arn_formatter(kind, str(name), str(backend.account_id), str(backend.region_name))
            raise ValidationError(f'Could not find job definition "{arn}".')

    def status(self, schedule: Schedule) -> str:
        """``MonitoringScheduleStatus`` now: ``Pending`` for a while after a create or update."""
        if schedule.status == "Scheduled" and self.scheduler.now < schedule.pending_until:
            return "Pending"
        return schedule.status

    def refuse_if_pending(self, schedule: Schedule) -> None:
        # aws/amazon-sagemaker-examples#2342: "(ValidationException) when calling the
        # DeleteMonitoringSchedule operation: Monitoring schedule in status Pending"
        if self.status(schedule) == "Pending":
            raise ValidationError("Monitoring schedule in status Pending")

    @staticmethod
    def _check_endpoint(backend: Any, endpoint: str | None) -> None:
        if endpoint is not None and endpoint not in backend.endpoints:
            endpoint_arn = sm_models.FakeEndpoint.arn_formatter(
                endpoint, str(backend.account_id), str(backend.region_name)
            )
            raise ValidationError(f'Could not find endpoint "{endpoint_arn}".')

    @staticmethod
    def _job_target(backend: Any, config: dict[str, Any]) -> tuple[str | None, str]:
        """(endpoint, monitoring type) of a schedule's job definition, inline or by name (looked up
        among the definitions of its ``MonitoringType`` when it has one)."""
        inline = config.get("MonitoringJobDefinition") or {}
        for monitoring_input in inline.get("MonitoringInputs") or []:
            endpoint = (monitoring_input.get("EndpointInput") or {}).get("EndpointName")
            if endpoint:
                return str(endpoint), "DataQuality"
        name = config.get("MonitoringJobDefinitionName")
        wanted = config.get("MonitoringType")
        for attribute, monitoring_type in _JOB_DEFINITIONS.items():
            if wanted is not None and monitoring_type != wanted:
                continue
            job = getattr(backend, attribute, {}).get(name) if name else None
            if job is None:
                continue
            for key, value in vars(job).items():
                if key.endswith("_job_input") and isinstance(value, dict):
                    endpoint = (value.get("EndpointInput") or {}).get("EndpointName")
                    if endpoint:
                        return str(endpoint), monitoring_type
            return None, monitoring_type
        return None, "DataQuality"

    def _get(self, store: _Store, response: Any, name: str) -> Schedule:
        schedule = store.schedules.get(name)
        if schedule is None:
            arn = sm_models.arn_formatter(
                "monitoring-schedule", name, response.current_account, response.region
            )
            raise ResourceNotFound(f'Could not find monitoring schedule "{arn}".')
        return schedule

    def _summary(self, schedule: Schedule) -> dict[str, Any]:
        out: dict[str, Any] = {
            "MonitoringScheduleName": schedule.name,
            "MonitoringScheduleArn": schedule.arn,
            "CreationTime": schedule.created,
            "LastModifiedTime": schedule.modified,
            "MonitoringScheduleStatus": self.status(schedule),
            "MonitoringType": schedule.monitoring_type,
        }
        if schedule.endpoint:
            out["EndpointName"] = schedule.endpoint
        if schedule.job_definition_name:
            out["MonitoringJobDefinitionName"] = schedule.job_definition_name
        return out

    def _describe(self, schedule: Schedule) -> dict[str, Any]:
        out = self._summary(schedule)
        out.pop("MonitoringJobDefinitionName", None)
        out["MonitoringScheduleConfig"] = schedule.config
        return out

    @staticmethod
    def _latest(store: _Store, name: str) -> Execution | None:
        mine = [e for e in store.executions if e.schedule == name]
        return max(mine, key=lambda e: (e.scheduled, e.created)) if mine else None

    # --- executions -----------------------------------------------------------------------
    def _arm(self, store: _Store, schedule: Schedule) -> None:
        """Queue the schedule's next execution (background work)."""
        now = self.scheduler.now
        generation = schedule.generation
        if schedule.period is None:
            if schedule.created_at == now:
                self.scheduler.at(now, lambda: self._fire(store, schedule, generation, now), background=True)
            return
        k = math.floor((now - schedule.offset) / schedule.period) + 1
        when = schedule.offset + k * schedule.period
        self.scheduler.at(when, lambda: self._fire(store, schedule, generation, when), background=True)

    def _fire(self, store: _Store, schedule: Schedule, generation: int, when: float) -> None:
        if schedule.generation != generation or store.schedules.get(schedule.name) is not schedule:
            return
        if schedule.period is not None:
            self._arm(store, schedule)
        backend = sm_models.sagemaker_backends[self._account_of(schedule)][self._region_of(schedule)]
        if schedule.endpoint is None or schedule.endpoint not in backend.endpoints:
            return
        if schedule.period is not None:
            window = (when - schedule.period, when)
        else:
            start_offset, end_offset = schedule.window or (-3600.0, 0.0)
            window = (when + start_offset, when + end_offset)
        scheduled = self._stamp(when)
        digest = hashlib.sha1(f"{schedule.arn}@{when}".encode(), usedforsecurity=False).hexdigest()[:8]
        execution = Execution(
            schedule=schedule.name,
            endpoint=schedule.endpoint,
            monitoring_type=schedule.monitoring_type,
            scheduled_at=when,
            window=window,
            scheduled=scheduled,
            created=self._stamp(),
            modified=self._stamp(),
            processing_job_arn=sm_models.arn_formatter(
                "processing-job",
                f"model-monitoring-{scheduled:%Y%m%d%H%M}-{digest}",
                self._account_of(schedule),
                self._region_of(schedule),
            ),
            job_definition_name=schedule.job_definition_name,
        )
        store.executions.append(execution)

        def start() -> None:
            execution.status, execution.modified = "InProgress", self._stamp()

        def finish() -> None:
            first, end = math.floor(window[0] / 60), math.ceil(window[1] / 60)
            packages = self.traffic.packages_served(execution.endpoint, first, end)
            execution.packages = dict(sorted(packages.items()))
            verdicts = {self.settings.behaviour(p).monitor for p in packages}
            # Model Monitor analyses captured requests only: without data capture it has no input,
            # whatever the traffic (aws/sagemaker-python-sdk#2634: "Job inputs had no data").
            captured = self.traffic.sagemaker.captured(execution.endpoint, window[0], window[1])
            if not packages or not captured:
                execution.status, execution.failure_reason = "Failed", NO_DATA
            elif "failed" in verdicts:
                execution.status, execution.failure_reason = "Failed", ALGORITHM_ERROR
            elif "violations" in verdicts:
                execution.status = "CompletedWithViolations"
            else:
                execution.status = "Completed"
            execution.modified = self._stamp()
            execution.ended_at = self.scheduler.now

        self.scheduler.after(schedule.start_delay, start, background=True)
        self.scheduler.after(schedule.start_delay + schedule.run, finish, background=True)

    @staticmethod
    def _account_of(schedule: Schedule) -> str:
        return schedule.arn.split(":")[4]

    @staticmethod
    def _region_of(schedule: Schedule) -> str:
        return schedule.arn.split(":")[3]
