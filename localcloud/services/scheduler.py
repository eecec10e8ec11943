"""EventBridge Scheduler: schedules created through the API fire by themselves, in virtual time.

moto serves the API (``CreateSchedule``, ``GetSchedule``, ``UpdateSchedule``, ``DeleteSchedule``,
``ListSchedules``, schedule groups and tags) and stores the schedules; it validates no expression
and never invokes a target. This module adds what the rehearsal needs of the service. Schedules
written in ``template.yaml`` are not these: a scenario fires them with ``schedule: NAME``
(``LocalCloud.fire_schedule``), which builds its payload with the helpers below.

Expressions ("Schedule types in EventBridge Scheduler",
https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html), checked at
``CreateSchedule`` and ``UpdateSchedule``; any other is refused with ``ValidationException``
"Invalid Schedule Expression <expression>." (AWS's answer as reported in localstack/localstack#9284):

- ``rate(value unit)``: ``value`` a positive integer (so one minute at least), ``unit`` one of
  minute | minutes | hour | hours | day | days, singular exactly when the value is 1 (the rule of
  EventBridge's rate expressions, https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html;
  the Scheduler guide does not restate it: UNCONFIRMED there, kept as the stricter reading).
  **Timing (a choice):** occurrences at T + N, T + 2N, ... where T is the virtual time of the
  ``CreateSchedule`` or of the last ``UpdateSchedule`` (an update re-times the schedule). The guide
  says a rate schedule without ``StartDate`` "starts invoking the target immediately"; whether the
  first invocation is at T or at T + N is not spelled out, and the local cloud takes T + N. With a
  ``StartDate`` ("you use the StartDate property to set the first occurrence") the occurrences are
  ``StartDate`` + k·N, the first one not before T.
- ``at(yyyy-mm-ddThh:mm:ss)``: once, at that wall-clock time in ``ScheduleExpressionTimezone``
  (default UTC); ``StartDate``/``EndDate`` do not apply ("EventBridge Scheduler ignores StartDate
  for one-time schedules", API reference). A time already past when the schedule is created or
  updated never fires here (UNCONFIRMED: the documentation does not say).
- ``cron(minutes hours day-of-month month day-of-week year)``: EventBridge's cron syntax
  (``, - * / ? L W #``, month and weekday names; one of day-of-month and day-of-week is ``?``),
  evaluated in ``ScheduleExpressionTimezone``; the first occurrence is the first matching minute
  after T (or at/after ``StartDate``). Daylight-saving gaps and repeats are not modelled.

An occurrence after ``EndDate`` does not happen. A ``DISABLED`` schedule does not fire; enabling
it by an update re-times it from the update. A deleted schedule (or one whose group is deleted)
never fires again. ``ActionAfterCompletion: DELETE`` deletes the schedule after its last
occurrence. ``FlexibleTimeWindow`` ``FLEXIBLE`` fires at the start of the window (AWS picks a time
inside it; a rehearsal sees the earliest). "All schedule types on EventBridge Scheduler invoke
their targets with 60 second precision": here at the exact second.

A firing (background work on the virtual-time scheduler, like Model Monitor executions: it never
keeps a rehearsal alive) delivers to the target ``Arn`` when it names a function of
``template.yaml``:

1. EventBridge Scheduler assumes ``Target.RoleArn``: the role's trust policy must let
   ``scheduler.amazonaws.com`` assume it, and its policies must allow ``lambda:InvokeFunction`` on
   the function (the execution role of "Set up the execution role",
   https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role).
   A refusal is recorded as an IAM denial of that role and as a failed delivery; the handler does
   not run. A role that is not in ``template.yaml`` is not checked (its policies are unknown here).
2. It invokes the function asynchronously (``InvocationType=Event``: "EventBridge Scheduler invokes
   your Lambda function asynchronously",
   https://docs.aws.amazon.com/lambda/latest/dg/with-eventbridge-scheduler.html) with ``Target.Input``, its
   context attributes (``<aws.scheduler.scheduled-time>``, ``<aws.scheduler.schedule-arn>``,
   ``<aws.scheduler.execution-id>``, ``<aws.scheduler.attempt-number>``; "Adding context
   attributes", https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html)
   replaced; without ``Input``, a "Scheduled Event" envelope. Lambda then retries a failing
   function as it retries any asynchronous invocation. Scheduler's own ``RetryPolicy`` (for an
   Invoke call that fails) and dead-letter queues are not modelled.

A target that is no function of ``template.yaml`` (another service, a function from elsewhere) is
recorded as undeliverable. A rehearsal's report counts each schedule's firings by outcome
(``schedulerFirings``, :meth:`EventBridgeScheduler.summary`); its text timeline has one line per
schedule. ``CreateSchedule`` and ``UpdateSchedule`` pass ``Target.RoleArn``: the
caller needs ``iam:PassRole`` on it (a dependent action in the Service Authorization Reference),
checked with the caller's other permissions (``localcloud.iam.requests``).

Also refused at ``CreateSchedule``/``UpdateSchedule`` (``ValidationException``): an unknown time
zone, a ``FlexibleTimeWindow`` mode other than ``OFF``/``FLEXIBLE`` or ``FLEXIBLE`` without
``MaximumWindowInMinutes``, a ``State`` other than ``ENABLED``/``DISABLED``, a ``Target.RoleArn`` not
matching the API's pattern, a schedule name not matching ``[0-9a-zA-Z-_.]+`` or longer than 64
(botocore checks neither client-side), and a Lambda target whose ``Input`` is not well-formed JSON
("If you are configuring a templated Lambda, AWS Step Functions, or EventBridge target, the input
must be a well-formed JSON", API reference ``Target``; refusing it at creation is this simulator's
reading). A schedule group that does not exist: ``ResourceNotFoundException``.
"""

from __future__ import annotations

import calendar
import json
import math
import re
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from moto.scheduler import models as scheduler_models
from moto.scheduler.exceptions import ValidationException

from localcloud.engine.scheduler import Scheduler
from localcloud.iam import AccessDenial, IamEnforcer

SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
SCHEDULE_ARN = "<aws.scheduler.schedule-arn>"
EXECUTION_ID = "<aws.scheduler.execution-id>"
ATTEMPT_NUMBER = "<aws.scheduler.attempt-number>"
SERVICE_PRINCIPAL = "scheduler.amazonaws.com"
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]+")  # API reference, Target
_NAME = re.compile(r"[0-9a-zA-Z-_.]+")


# --- what a target receives (shared with LocalCloud.fire_schedule) ----------------------------------
def context_attributes(
    schedule_arn: str, scheduled_time: str, execution_id: str, attempt: int = 1
) -> dict[str, str]:
    """The context attributes Scheduler replaces in a target's ``Input``, with their values."""
    return {
        SCHEDULED_TIME: scheduled_time,
        SCHEDULE_ARN: schedule_arn,
        EXECUTION_ID: execution_id,
        ATTEMPT_NUMBER: str(attempt),
    }


def with_context(text: str, attributes: dict[str, str]) -> Any:
    """A target's ``Input`` (JSON text) with its context attributes replaced, parsed."""
    for attribute, replacement in attributes.items():
        text = text.replace(attribute, replacement)
    return json.loads(text)


def scheduled_event(
    *, event_id: str, source: str, account: str, region: str, when: str, resource: str, detail: Any
) -> dict[str, Any]:
    """The "Scheduled Event" envelope a schedule without ``Input`` delivers."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Scheduled Event",
        "source": source,
        "account": account,
        "time": when,
        "region": region,
        "resources": [resource],
        "detail": detail,
    }


# --- expressions ---------------------------------------------------------------------------------------
class InvalidExpression(ValueError):
    """Not an expression EventBridge Scheduler accepts."""


_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_AT = re.compile(r"at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)")
_CRON = re.compile(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)")
_MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}  # JAN=1 ... (upper-cased below)
_WEEKDAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
CRON_YEARS = (1970, 2199)


def rate_seconds(expression: str) -> float:
    match = _RATE.fullmatch(expression)
    if not match:
        raise InvalidExpression(expression)
    value, unit = int(match[1]), match[2]
    if value < 1 or (value == 1) != (not unit.endswith("s")):
        raise InvalidExpression(expression)
    return float(value * _UNIT_SECONDS[unit.rstrip("s")])


def _number(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise InvalidExpression(text)
    return int(text)


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    """A cron field of numbers: lists of ``*``, ``a``, ``a-b``, each with an optional ``/step``."""
    values: set[int] = set()
    for part in text.split(","):
        base, slash, step_text = part.partition("/")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _number(first, names), _number(last, names)
        else:
            start = _number(base, names)
            end = high if slash else start
        step = int(step_text) if step_text.isdigit() else (0 if slash else 1)
        if step < 1 or not low <= start <= end <= high:
            raise InvalidExpression(text)
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _aws_weekday(day: date) -> int:
    """1 = Sunday ... 7 = Saturday, as cron's day-of-week counts."""
    return (day.weekday() + 1) % 7 + 1


def _nearest_weekday(year: int, month: int, target: int) -> int:
    """The ``W`` wildcard: the weekday nearest ``target`` in the same month."""
    last = calendar.monthrange(year, month)[1]
    target = min(target, last)
    weekday = date(year, month, target).weekday()
    if weekday == 5:  # Saturday -> Friday, unless that leaves the month
        return target - 1 if target > 1 else target + 2
    if weekday == 6:  # Sunday -> Monday, unless that leaves the month
        return target + 1 if target < last else target - 2
    return target


def _day_matcher(dom: str, dow: str) -> Callable[[date], bool]:
    if (dom == "?") == (dow == "?"):
        raise InvalidExpression(f"{dom} {dow}")  # exactly one of the two is "?"
    if dom != "?":
        if dom == "L":
            return lambda d: d.day == calendar.monthrange(d.year, d.month)[1]
        if dom == "LW":
            return lambda d: d.day == _nearest_weekday(d.year, d.month, 31) and d.weekday() < 5
        if dom.endswith("W") and dom[:-1].isdigit() and 1 <= int(dom[:-1]) <= 31:
            target = int(dom[:-1])
            return lambda d: d.day == _nearest_weekday(d.year, d.month, target)
        days = _field(dom, 1, 31)
        return lambda d: d.day in days
    if dow == "L":
        return lambda d: _aws_weekday(d) == 7
    if dow.endswith("L"):
        weekday = _number(dow[:-1], _WEEKDAYS)
        if not 1 <= weekday <= 7:
            raise InvalidExpression(dow)
        return lambda d: _aws_weekday(d) == weekday and d.day + 7 > calendar.monthrange(d.year, d.month)[1]
    if "#" in dow:
        day_text, _, nth_text = dow.partition("#")
        weekday = _number(day_text, _WEEKDAYS)
        if not (1 <= weekday <= 7 and nth_text.isdigit() and 1 <= int(nth_text) <= 5):
            raise InvalidExpression(dow)
        nth = int(nth_text)
        return lambda d: _aws_weekday(d) == weekday and (d.day - 1) // 7 + 1 == nth
    weekdays = _field(dow, 1, 7, _WEEKDAYS)
    return lambda d: _aws_weekday(d) in weekdays


@dataclass(frozen=True)
class Cron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: frozenset[int]
    years: frozenset[int]
    day: Callable[[date], bool]

    @classmethod
    def parse(cls, expression: str) -> Cron:
        match = _CRON.fullmatch(expression)
        if not match:
            raise InvalidExpression(expression)
        minutes, hours, dom, month, dow, year = match.groups()
        return cls(
            minutes=tuple(sorted(_field(minutes, 0, 59))),
            hours=tuple(sorted(_field(hours, 0, 23))),
            months=_field(month, 1, 12, {k.upper(): v for k, v in _MONTHS.items()}),
            years=_field(year, *CRON_YEARS),
            day=_day_matcher(dom, dow),
        )

    def next_after(self, after: datetime, zone: tzinfo) -> datetime | None:
        """The first matching minute strictly after ``after`` (aware), in UTC; None when none is left."""
        local = after.astimezone(zone)
        day = local.date()
        while day.year <= max(self.years):
            if day.year in self.years and day.month in self.months and self.day(day):
                for hour in self.hours:
                    for minute in self.minutes:
                        candidate = datetime.combine(day, time(hour, minute), tzinfo=zone)
                        if candidate > after:
                            return candidate.astimezone(UTC)
            day += timedelta(days=1)
        return None


def check_expression(expression: str, zone: tzinfo) -> None:
    """Raise :class:`InvalidExpression` unless Scheduler accepts ``expression``."""
    if expression.startswith("rate("):
        rate_seconds(expression)
    elif expression.startswith("at("):
        at_time(expression, zone)
    else:
        Cron.parse(expression)


def at_time(expression: str, zone: tzinfo) -> datetime:
    match = _AT.fullmatch(expression)
    if not match:
        raise InvalidExpression(expression)
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=zone).astimezone(UTC)
    except ValueError:
        raise InvalidExpression(expression) from None


def _zone(name: str | None) -> tzinfo:
    if not name or name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationException(f"Invalid Schedule Expression Timezone {name}.") from None


def _as_datetime(value: Any) -> datetime | None:
    """A timestamp as moto stores it from a REST-JSON body (epoch seconds), aware UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value)
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _constraint(value: Any, path: str, rule: str) -> ValidationException:
    """AWS's wording of a request member that fails its constraint."""
    return ValidationException(
        f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy constraint: {rule}"
    )


# --- the simulator -----------------------------------------------------------------------------------
@dataclass
class Firing:
    """One occurrence of an API-created schedule and what became of it."""

    at: float
    schedule: str  # group/name
    scheduled_time: str
    target: str  # the target's ARN
    function: str | None  # logical id of the template function invoked, if any
    outcome: str  # invoked | denied | undeliverable
    detail: str | None = None


@dataclass
class _Armed:
    generation: int = 0
    since: float = 0.0  # virtual time of the CreateSchedule or last UpdateSchedule


@dataclass
class ScheduleLog:
    """Per schedule (``group/name``): its last expression, target and role, and its firings."""

    expression: str
    target: str
    role: str
    firings: list[Firing] = field(default_factory=list)
    deleted: bool = False


class EventBridgeScheduler:
    """Fires the schedules moto holds, at their occurrences in virtual time.

    ``invoke(function, payload, trigger)`` queues an asynchronous invocation of a template function
    (logical id); ``failed(function_or_arn, trigger, error_type, message)`` records a delivery that
    never reached the function; ``function_of(arn)`` is the logical id of a template function's
    ARN, or None.
    """

    def __init__(
        self,
        scheduler: Scheduler,
        iam: IamEnforcer,
        *,
        function_of: Callable[[str], str | None],
        invoke: Callable[[str, Any, str], None],
        failed: Callable[[str, str, str, str], None],
        account: str,
        region: str,
    ) -> None:
        self.scheduler = scheduler
        self.iam = iam
        self.function_of = function_of
        self.invoke = invoke
        self.failed = failed
        self.account, self.region = account, region
        self.schedules: dict[str, ScheduleLog] = {}  # group/name -> log, in creation order
        self._armed: dict[tuple[str, str, str, str], _Armed] = {}  # (account, region, group, name)
        self._stack = ExitStack()

    @property
    def firings(self) -> list[Firing]:
        return sorted((f for log in self.schedules.values() for f in log.firings), key=lambda f: f.at)

    # --- moto ----------------------------------------------------------------------------------
    def install(self) -> None:
        sim = self
        backend_cls = scheduler_models.EventBridgeSchedulerBackend
        original_create = backend_cls.create_schedule
        original_update = backend_cls.update_schedule
        original_delete = backend_cls.delete_schedule
        original_delete_group = backend_cls.delete_schedule_group

        def create_schedule(backend: Any, **kwargs: Any) -> Any:
            backend.get_schedule_group(kwargs.get("group_name"))  # ResourceNotFoundException
            sim.validate(kwargs)
            schedule = original_create(backend, **kwargs)
            sim.arm(backend, schedule)
            return schedule

        def update_schedule(backend: Any, **kwargs: Any) -> Any:
            sim.validate(kwargs)
            # UpdateSchedule replaces every field: an omitted State is ENABLED again (API reference)
            kwargs["state"] = kwargs.get("state") or "ENABLED"
            schedule = original_update(backend, **kwargs)
            sim.arm(backend, schedule)
            return schedule

        def delete_schedule(backend: Any, group_name: str | None, name: str) -> None:
            original_delete(backend, group_name, name)
            sim.disarm(backend, group_name or "default", name)

        def delete_schedule_group(backend: Any, name: str | None) -> None:
            group = backend.get_schedule_group(name)
            for schedule_name in list(group.schedules):
                sim.disarm(backend, group.name, schedule_name)
            original_delete_group(backend, name)

        for attribute, method in {
            "create_schedule": create_schedule,
            "update_schedule": update_schedule,
            "delete_schedule": delete_schedule,
            "delete_schedule_group": delete_schedule_group,
        }.items():
            self._stack.enter_context(mock.patch.object(backend_cls, attribute, method))
        # Creation and modification dates, and moto's StartDate check, in virtual time.
        self._stack.enter_context(mock.patch.object(scheduler_models, "unix_time", self._unix_time))
        self._stack.enter_context(
            mock.patch.object(
                scheduler_models, "utcnow", lambda: self.scheduler.datetime().replace(tzinfo=None)
            )
        )

    def uninstall(self) -> None:
        self._stack.close()

    def _unix_time(self, dt: datetime | None = None) -> float:
        moment = self.scheduler.datetime() if dt is None else dt
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()

    # --- validation --------------------------------------------------------------------------------
    @staticmethod
    def validate(request: dict[str, Any]) -> None:
        """Refuse what EventBridge Scheduler refuses at ``CreateSchedule``/``UpdateSchedule``."""
        name = str(request.get("name") or "")
        if len(name) > 64:
            raise _constraint(name, "name", "Member must have length less than or equal to 64")
        if not _NAME.fullmatch(name):
            raise _constraint(name, "name", "Member must satisfy regular expression pattern: [0-9a-zA-Z-_.]+")
        zone = _zone(request.get("schedule_expression_timezone"))
        expression = str(request.get("schedule_expression") or "")
        try:
            check_expression(expression, zone)
        except InvalidExpression:
            raise ValidationException(f"Invalid Schedule Expression {expression}.") from None
        window = request.get("flexible_time_window") or {}
        mode = window.get("Mode")
        if mode not in {"OFF", "FLEXIBLE"}:
            raise _constraint(
                mode, "flexibleTimeWindow.mode", "Member must satisfy enum value set: [OFF, FLEXIBLE]"
            )
        if mode == "FLEXIBLE" and not window.get("MaximumWindowInMinutes"):
            raise ValidationException("MaximumWindowInMinutes is required when Mode is FLEXIBLE.")
        state = request.get("state")
        if state is not None and state not in {"ENABLED", "DISABLED"}:
            raise _constraint(state, "state", "Member must satisfy enum value set: [ENABLED, DISABLED]")
        target = request.get("target") or {}
        role = str(target.get("RoleArn") or "")
        if not _ROLE_ARN.fullmatch(role):
            raise _constraint(
                role, "target.roleArn", f"Member must satisfy regular expression pattern: {_ROLE_ARN.pattern}"
            )
        if ":lambda:" in str(target.get("Arn") or "") and target.get("Input") is not None:
            try:
                json.loads(str(target["Input"]))
            except ValueError:
                raise ValidationException(
                    "Target Input must be well-formed JSON for a Lambda target."
                ) from None

    # --- timing ----------------------------------------------------------------------------------------
    def _key(self, backend: Any, group: str, name: str) -> tuple[str, str, str, str]:
        return (str(backend.account_id), str(backend.region_name), group, name)

    def arm(self, backend: Any, schedule: Any) -> None:
        """(Re-)time ``schedule`` from now: after a create or an update."""
        key = self._key(backend, schedule.group_name, schedule.name)
        armed = self._armed.setdefault(key, _Armed())
        armed.generation += 1
        armed.since = self.scheduler.now
        label = f"{schedule.group_name}/{schedule.name}"
        target = schedule.target or {}
        log = self.schedules.setdefault(label, ScheduleLog(schedule.schedule_expression, "", ""))
        log.expression, log.deleted = schedule.schedule_expression, False
        log.target, log.role = str(target.get("Arn") or ""), str(target.get("RoleArn") or "")
        if (schedule.state or "ENABLED") == "ENABLED":
            self._queue_next(key, schedule, after=self.scheduler.now, first=True)

    def disarm(self, backend: Any, group: str, name: str) -> None:
        armed = self._armed.pop(self._key(backend, group, name), None)
        if armed is not None:
            armed.generation += 1  # a queued occurrence finds itself stale
        log = self.schedules.get(f"{group}/{name}")
        if log is not None:
            log.deleted = True

    def next_occurrence(self, schedule: Any, after: float, since: float, *, first: bool) -> float | None:
        """Virtual second of the schedule's next occurrence, or None when there is none: after
        ``after`` (an occurrence just fired), or at or after it when ``first`` (just created or
        updated, at ``since``)."""
        epoch = self.scheduler.epoch
        expression = str(schedule.schedule_expression)
        zone = _zone(schedule.schedule_expression_timezone)
        if expression.startswith("at("):
            when = (at_time(expression, zone) - epoch).total_seconds()
            return when if first and when >= after else None
        start = _as_datetime(schedule.start_date)
        end = _as_datetime(schedule.end_date)
        start_at = (start - epoch).total_seconds() if start is not None else None
        occurrence: float | None
        if expression.startswith("rate("):
            period = rate_seconds(expression)
            base = start_at if start_at is not None else since + period
            # occurrences base + k * period: the first one at or after ``after``, later ones after it
            k = math.ceil((after - base) / period) if first else math.floor((after - base) / period) + 1
            occurrence = base + max(0, k) * period
        else:
            floor = max(after, start_at - 1.0) if start_at is not None else after
            found = Cron.parse(expression).next_after(epoch + timedelta(seconds=floor), zone)
            occurrence = (found - epoch).total_seconds() if found is not None else None
        if occurrence is None or (end is not None and occurrence > (end - epoch).total_seconds()):
            return None
        return occurrence

    def _queue_next(
        self, key: tuple[str, str, str, str], schedule: Any, *, after: float, first: bool
    ) -> bool:
        armed = self._armed.get(key)
        if armed is None:
            return False
        when = self.next_occurrence(schedule, after, armed.since, first=first)
        if when is None:
            return False
        generation = armed.generation
        self.scheduler.at(when, lambda: self._fire(key, generation, when), background=True)
        return True

    # --- firing ----------------------------------------------------------------------------------------
    def _fire(self, key: tuple[str, str, str, str], generation: int, when: float) -> None:
        armed = self._armed.get(key)
        if armed is None or armed.generation != generation:
            return
        account, region, group, name = key
        backend = scheduler_models.scheduler_backends[account][region]
        schedule_group = backend.schedule_groups.get(group)
        schedule = schedule_group.schedules.get(name) if schedule_group is not None else None
        if schedule is None or (schedule.state or "ENABLED") != "ENABLED":
            return
        self._deliver(schedule, when, generation)
        if not self._queue_next(key, schedule, after=when, first=False) and (
            schedule.action_after_completion == "DELETE"
        ):
            backend.delete_schedule(group, name)  # "deletes the schedule shortly after its last invocation"

    def _deliver(self, schedule: Any, when: float, generation: int) -> None:
        label = f"{schedule.group_name}/{schedule.name}"
        log = self.schedules[label]
        target = schedule.target or {}
        target_arn, role_arn = str(target.get("Arn") or ""), str(target.get("RoleArn") or "")
        scheduled = (self.scheduler.epoch + timedelta(seconds=when)).strftime("%Y-%m-%dT%H:%M:%SZ")
        execution_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{schedule.arn}#{generation}#{when}"))
        function = self.function_of(target_arn)

        def record(outcome: str, detail: str | None = None) -> None:
            log.firings.append(
                Firing(self.scheduler.now, label, scheduled, target_arn, function, outcome, detail)
            )

        if function is None:
            message = f"the local cloud delivers only to functions of template.yaml, not to {target_arn}"
            record("undeliverable", message)
            self.failed(target_arn, label, "ResourceNotFoundException", message)
            return
        denial = self._role_denial(role_arn, target_arn)
        if denial is not None:
            session = f"arn:aws:sts::{self.account}:assumed-role/{denial.role}/{execution_id}"
            record("denied", f"{denial.action} on {denial.resource}")
            self.failed(function, label, denial.code, denial.message(session))
            return
        attributes = context_attributes(schedule.arn, scheduled, execution_id)
        if target.get("Input") is not None:
            payload = with_context(str(target["Input"]), attributes)
        else:
            payload = scheduled_event(
                event_id=execution_id,
                source="aws.scheduler",
                account=self.account,
                region=self.region,
                when=scheduled,
                resource=schedule.arn,
                detail="{}",
            )
        record("invoked")
        self.invoke(function, payload, label)

    def _role_denial(self, role_arn: str, function_arn: str) -> AccessDenial | None:
        """Scheduler assumes the role, then invokes the function with it."""
        denial = self.iam.authorize_assume(role_arn, SERVICE_PRINCIPAL)
        if denial is not None:
            return denial
        context = {"aws:resourceaccount": [self.account]}
        return self.iam.authorize_role(
            role_arn, "lambda:Invoke", "lambda:InvokeFunction", function_arn, context
        )

    # --- report ----------------------------------------------------------------------------------------
    def summary(self) -> dict[str, dict[str, Any]]:
        """Per schedule (``group/name``): expression, target, role, how often it fired and with what
        outcome, first and last firing (virtual seconds); ``deleted`` once it is gone."""
        out: dict[str, dict[str, Any]] = {}
        for label, log in self.schedules.items():
            outcomes = [f.outcome for f in log.firings]
            functions = {f.function for f in log.firings if f.function}
            out[label] = {
                "expression": log.expression,
                "target": next(iter(functions)) if len(functions) == 1 else log.target,
                "role": log.role.rsplit("/", 1)[-1],
                "fired": len(outcomes),
                "invoked": outcomes.count("invoked"),
                "denied": outcomes.count("denied"),
                "undeliverable": outcomes.count("undeliverable"),
                "firstAt": log.firings[0].at if log.firings else None,
                "lastAt": log.firings[-1].at if log.firings else None,
                "deleted": log.deleted,
            }
        return out
