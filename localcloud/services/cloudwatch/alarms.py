"""CloudWatch metric alarm evaluation (moto never evaluates alarms), once a virtual minute.

Which alarms: every metric alarm in moto's CloudWatch backend of the cloud's account and region
whose metric(s) are in a namespace the simulator writes: ``AWS/SageMaker``, or the namespace of a
scenario model's ``businessMetrics`` (the simulator's series; a series that does not exist, such as
a variant without traffic, is missing data). Alarms on other namespaces keep whatever state they
have (``SetAlarmState``, e.g. a scenario's ``setAlarm`` step, drives them).

How (see notes/simulator-facts.md):

- ``Statistic`` (SampleCount, Sum, Average, Minimum, Maximum) or ``ExtendedStatistic`` (``pNN``);
  ``Period`` a multiple of 60; datapoint ``j`` covers the ``Period`` ending ``j`` periods before the
  evaluation time (a sliding window ending on the minute boundary just passed).
- ``EvaluationPeriods`` N, ``DatapointsToAlarm`` M (default N); the evaluation range is N + 2
  periods. Missing data, as "Configuring how CloudWatch alarms treat missing data"
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-evaluating-missing-data)
  publishes it (its tables are tests, row by row, in tests/integration/test_simulator_alarms.py):
  with at least N real datapoints in the range the newest N decide, whatever the setting: ALARM
  when at least M breach, else OK. No real datapoint at all: missing → INSUFFICIENT_DATA,
  ignore → the state holds, breaching → ALARM, notBreaching → OK. Otherwise:
  ``breaching``/``notBreaching`` fill the gap to N with breaching/non-breaching points (as few as
  possible); ``missing`` and ``ignore`` decide on the real points alone when one of them is
  non-breaching or at least M breach (ALARM when M breach, else OK). Left: fewer than M real
  points, all breaching. ``ignore`` keeps the state (not enough data). ``missing`` avoids premature
  transitions: ALARM when the oldest breach is at least M periods old, else INSUFFICIENT_DATA
  (a breach at the newest end of otherwise missing data does not alarm until M periods passed).
- Datapoints are read as CloudWatch shows them: minutes not yet published
  (``simulation.metricDelaySeconds``, see ``localcloud/services/cloudwatch/metrics.py``) are
  missing.
- ``EvaluateLowSampleCountPercentile: ignore`` keeps the state while the newest datapoint has fewer
  than 10 / (1 - p) samples.
- Metric math (``Metrics``): the returned expression may use metric ids, numbers, ``+ - * /`` and
  parentheses (``m1/m2``, ``100*(m1/m2)``); in arithmetic a missing value counts as 0 (a point exists
  when any referenced metric has one) and a division by zero drops the point. Anything else
  (functions such as ``FILL`` or ``METRICS()``, anomaly detection bands) leaves the alarm untouched;
  :attr:`AlarmEvaluator.skipped` says why.

A new alarm starts ``INSUFFICIENT_DATA`` (moto starts it ``OK``); ``PutMetricAlarm`` on an existing
alarm keeps its state. On every transition (evaluation or ``SetAlarmState``) the alarm's state,
reason, reason data and timestamps (virtual time) are set, a "CloudWatch Alarm State Change" event
goes to the local bus and the transition is recorded.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

from moto.cloudwatch import models as cw_models

from localcloud.engine.scheduler import Scheduler
from localcloud.services.cloudwatch.metrics import MetricSeries, aggregate, percentile_rank

OPERATORS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "GreaterThanThreshold": ("greater than", lambda v, t: v > t),
    "GreaterThanOrEqualToThreshold": ("greater than or equal to", lambda v, t: v >= t),
    "LessThanThreshold": ("less than", lambda v, t: v < t),
    "LessThanOrEqualToThreshold": ("less than or equal to", lambda v, t: v <= t),
}
BASIC_STATISTICS = {"SampleCount", "Sum", "Average", "Minimum", "Maximum"}
EXTRA_RANGE = 2  # evaluation range = EvaluationPeriods + this many periods


@dataclass(frozen=True)
class Datapoint:
    minute: int  # first minute of the period (its timestamp)
    value: float
    samples: float


@dataclass(frozen=True)
class AlarmTransition:
    at: float
    alarm: str
    old: str
    new: str
    reason: str


class Unsupported(Exception):
    """The alarm uses something the evaluator does not model; it is left alone."""


# --- metric math ----------------------------------------------------------------------------
_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][-+]?\d+)?)|([a-z][A-Za-z0-9_]*)|(.))")


def parse_expression(text: str) -> Callable[[dict[str, float]], float | None]:
    """Compile ``m1/m2``-style arithmetic; raises :class:`Unsupported` for anything else."""
    tokens: list[tuple[str, str]] = []
    for number, name, other in _TOKEN.findall(text.strip()):
        if number:
            tokens.append(("num", number))
        elif name:
            tokens.append(("id", name))
        elif other in "+-*/()":
            tokens.append(("op", other))
        else:
            raise Unsupported(f"expression {text!r} is beyond the simulator's arithmetic")
    pos = 0

    def peek() -> tuple[str, str] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal pos
        if pos >= len(tokens):
            raise Unsupported(f"expression {text!r} ends early")
        pos += 1
        return tokens[pos - 1]

    Node = Callable[[dict[str, float]], float | None]

    def atom() -> Node:
        kind, value = take()
        if kind == "num":
            number = float(value)
            return lambda env: number
        if kind == "id":
            if peek() == ("op", "("):
                raise Unsupported(f"function {value} in {text!r} is beyond the simulator's arithmetic")
            return lambda env: env.get(value, 0.0)
        if value == "(":
            inner = additive()
            if take() != ("op", ")"):
                raise Unsupported(f"unbalanced parentheses in {text!r}")
            return inner
        if value == "-":
            operand = atom()
            return lambda env: None if (v := operand(env)) is None else -v
        raise Unsupported(f"unexpected {value!r} in {text!r}")

    def combine(left: Node, op: str, right: Node) -> Node:
        def node(env: dict[str, float]) -> float | None:
            a, b = left(env), right(env)
            if a is None or b is None:
                return None
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            return None if b == 0 else a / b

        return node

    def multiplicative() -> Node:
        node = atom()
        while peek() in (("op", "*"), ("op", "/")):
            node = combine(node, take()[1], atom())
        return node

    def additive() -> Node:
        node = multiplicative()
        while peek() in (("op", "+"), ("op", "-")):
            node = combine(node, take()[1], multiplicative())
        return node

    result = additive()
    if pos != len(tokens):
        raise Unsupported(f"cannot read {text!r}")
    return result


def _dimensions(dimensions: list[Any]) -> dict[str, str]:
    return {str(d.name): str(d.value) for d in dimensions or []}


def _series_key(metric: str, dimensions: dict[str, str]) -> tuple[str, str, str] | None:
    if set(dimensions) == {"EndpointName", "VariantName", "EndpointConfigName"}:
        # one fleet of a guardrails deployment (see TrafficSimulator: "variant@config")
        fleet = f"{dimensions['VariantName']}@{dimensions['EndpointConfigName']}"
        return (metric, dimensions["EndpointName"], fleet)
    if set(dimensions) != {"EndpointName", "VariantName"}:
        return None  # SageMaker publishes endpoint metrics per variant only
    return (metric, dimensions["EndpointName"], dimensions["VariantName"])


class AlarmEvaluator:
    def __init__(
        self,
        scheduler: Scheduler,
        series: MetricSeries,
        emit: Callable[[str, str, dict[str, Any], list[str]], None],
        *,
        account: str,
        region: str,
    ) -> None:
        self.scheduler = scheduler
        self.series = series
        self._emit = emit
        self.account, self.region = account, region
        self.transitions: list[AlarmTransition] = []
        self.skipped: dict[str, str] = {}  # alarm name -> why it is not evaluated
        self._stack = ExitStack()
        # other accounts whose alarms are evaluated too, and the account each endpoint runs in: an
        # alarm sees the metrics of its own account's endpoints only
        self.other_accounts: list[str] = []
        self.account_of: Callable[[str], str | None] = lambda endpoint: None
        self._evaluating = account

    # --- time -------------------------------------------------------------------------------
    def _stamp(self) -> datetime:
        return self.scheduler.datetime().replace(tzinfo=None)

    @staticmethod
    def _iso(when: datetime) -> str:
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"

    def _minute_time(self, minute: int) -> datetime:
        return self.scheduler.epoch.replace(tzinfo=None) + timedelta(minutes=minute)

    # --- patching ---------------------------------------------------------------------------
    def install(self) -> None:
        backend_cls = cw_models.CloudWatchBackend
        original_put = backend_cls.put_metric_alarm
        original_set = backend_cls.set_alarm_state
        evaluator = self

        def put_metric_alarm(backend: Any, *args: Any, **kwargs: Any) -> Any:
            name = kwargs["name"] if "name" in kwargs else args[0]
            previous = backend.alarms.get(name)
            alarm: Any = original_put(backend, *args, **kwargs)
            now = evaluator._stamp()
            alarm.configuration_updated_timestamp = now
            if previous is not None:
                for attr in ("state_value", "state_reason", "state_reason_data", "state_updated_timestamp"):
                    setattr(alarm, attr, getattr(previous, attr))
                alarm.state_transitioned_timestamp = getattr(
                    previous, "state_transitioned_timestamp", previous.state_updated_timestamp
                )
                alarm.history = previous.history
            else:
                alarm.state_value = "INSUFFICIENT_DATA"
                alarm.state_reason = "Unchecked: Initial alarm creation"
                alarm.state_reason_data = "{}"
                alarm.state_updated_timestamp = alarm.state_transitioned_timestamp = now
            evaluator.skipped.pop(name, None)
            return alarm

        def set_alarm_state(
            backend: Any, alarm_name: str, reason: str, reason_data: str, state_value: str
        ) -> None:
            alarm = backend.alarms.get(alarm_name)
            before = evaluator._state_of(alarm) if alarm is not None else None
            original_set(backend, alarm_name, reason, reason_data, state_value)
            alarm = backend.alarms[alarm_name]
            alarm.state_updated_timestamp = evaluator._stamp()
            if before is not None and before["value"] != state_value:
                alarm.state_transitioned_timestamp = alarm.state_updated_timestamp
                evaluator._transitioned(alarm, before)

        self._stack.enter_context(mock.patch.object(backend_cls, "put_metric_alarm", put_metric_alarm))
        self._stack.enter_context(mock.patch.object(backend_cls, "set_alarm_state", set_alarm_state))

    def uninstall(self) -> None:
        self._stack.close()

    # --- evaluation -------------------------------------------------------------------------
    def evaluate_all(self, minute_end: int) -> None:
        """Evaluate every alarm at the boundary ending minute ``minute_end - 1``."""
        for account in [self.account, *self.other_accounts]:
            self._evaluating = account
            backend = cw_models.cloudwatch_backends[account][self.region]
            for alarm in list(backend.alarms.values()):
                if alarm.rule is not None:
                    continue  # composite alarms: not modelled
                try:
                    self.evaluate(alarm, minute_end)
                except Unsupported as why:
                    self.skipped[alarm.name] = str(why)
        self._evaluating = self.account

    def _points(self, alarm: Any, minute_end: int, count: int) -> tuple[list[Datapoint | None], str, int]:
        """The newest ``count`` datapoints (newest first; None = missing), the statistic, the period."""
        if alarm.metric_data_queries:
            return self._math_points(alarm, minute_end, count)
        application = self._application(alarm.namespace)
        statistic = alarm.extended_statistic or alarm.statistic
        self._check_statistic(statistic)
        period = int(alarm.period or 0)
        if period <= 0 or period % 60:
            raise Unsupported(f"period {alarm.period} is not a multiple of 60 seconds")
        dims = _dimensions(alarm.dimensions)
        key = (
            self.series.application_key(alarm.metric_name, dims)
            if application
            else _series_key(alarm.metric_name, dims)
        )
        series = self.series.lookup(alarm.namespace, key) if key else None
        runs_in = self.account_of(dims["EndpointName"]) if "EndpointName" in dims else None
        if runs_in is not None and runs_in != self._evaluating:
            series = None  # that endpoint's metrics are in another account's CloudWatch
        return self._window(series, statistic, period // 60, minute_end, count), statistic, period

    def _application(self, namespace: str) -> bool:
        """Whether ``namespace`` holds what functions publish with ``PutMetricData`` (evaluated from
        the datapoints they sent, once one was sent); a namespace the simulator writes is not; any
        other is :class:`Unsupported`."""
        if self.series.simulates(namespace):
            return False
        if namespace.startswith("AWS/") or namespace not in self.series.application:
            # A namespace nothing has published to yet keeps the state it was given (a scenario's
            # setAlarm drill on an alarm whose metric nobody simulates stays as set).
            raise Unsupported(f"namespace {namespace} is not simulated")
        return True

    @staticmethod
    def _check_statistic(statistic: str | None) -> None:
        if statistic not in BASIC_STATISTICS and (statistic is None or percentile_rank(statistic) is None):
            raise Unsupported(f"statistic {statistic} is not simulated")

    def _window(
        self, series: dict[int, Any] | None, statistic: str, k: int, minute_end: int, count: int
    ) -> list[Datapoint | None]:
        """The newest ``count`` datapoints of ``k``-minute periods, from published minutes only."""
        published_end = self.series.published_end  # CloudWatch has not published the later minutes yet
        points: list[Datapoint | None] = []
        for j in range(count):
            first = minute_end - (j + 1) * k
            minutes = range(first, min(first + k, published_end))
            stats = [series[m] for m in minutes if m in series] if series else []
            value = aggregate(stats, statistic)
            points.append(
                None if value is None else Datapoint(first, float(value), float(sum(s.count for s in stats)))
            )
        return points

    def _math_points(
        self, alarm: Any, minute_end: int, count: int
    ) -> tuple[list[Datapoint | None], str, int]:
        queries = alarm.metric_data_queries
        returned = [q for q in queries if q.return_data in (True, None, "true")]
        if len(returned) != 1:
            raise Unsupported("a metric math alarm needs exactly one ReturnData query")
        target = returned[0]
        periods = {int(q.metric_stat.period) for q in queries if q.metric_stat is not None}
        if len(periods) != 1 or next(iter(periods)) % 60:
            raise Unsupported("metric math alarm periods differ or are not multiples of 60")
        period = periods.pop()
        by_id: dict[str, list[Datapoint | None]] = {}
        for query in queries:
            stat = query.metric_stat
            if stat is None:
                continue
            application = self._application(stat.metric.namespace)
            self._check_statistic(stat.stat)
            dims = _dimensions(stat.metric.dimensions)
            key = (
                self.series.application_key(stat.metric.metric_name, dims)
                if application
                else _series_key(stat.metric.metric_name, dims)
            )
            series = self.series.lookup(stat.metric.namespace, key) if key else None
            by_id[query.id] = self._window(series, stat.stat, period // 60, minute_end, count)
        if target.metric_stat is not None:
            return by_id[target.id], str(target.metric_stat.stat), period
        expression = parse_expression(str(target.expression or ""))
        points: list[Datapoint | None] = []
        for j in range(count):
            present = {qid: p[j] for qid, p in by_id.items() if p[j] is not None}
            value = (
                expression({qid: p.value for qid, p in present.items() if p is not None}) if present else None
            )
            first = minute_end - (j + 1) * (period // 60)
            points.append(None if value is None else Datapoint(first, value, 1.0))
        return points, "", period

    def evaluate(self, alarm: Any, minute_end: int) -> None:
        if alarm.comparison_operator not in OPERATORS or alarm.threshold_metric_id:
            raise Unsupported(f"comparison {alarm.comparison_operator} is not simulated")
        n = int(alarm.evaluation_periods or 1)
        m = int(alarm.datapoints_to_alarm or n)
        points, statistic, period = self._points(alarm, minute_end, n + EXTRA_RANGE)
        phrase, breaches = OPERATORS[alarm.comparison_operator]
        threshold = float(alarm.threshold)
        treat = alarm.treat_missing_data or "missing"
        current = alarm.state_value
        real = [p for p in points if p is not None]

        q = percentile_rank(statistic) if statistic else None
        low_samples = q is not None and real and real[0].samples < 10 / (1 - q)
        if low_samples and alarm.evaluate_low_sample_count_percentile == "ignore":
            return  # too few samples to judge a percentile: the state holds

        def breaching(p: Datapoint) -> bool:
            return breaches(p.value, threshold)

        new: str | None
        filled = 0
        if not real:
            new = {"missing": "INSUFFICIENT_DATA", "breaching": "ALARM", "notBreaching": "OK"}.get(treat)
            evaluated: list[Datapoint] = []
            filled = n
        elif len(real) >= n:
            evaluated = real[:n]
            new = "ALARM" if sum(map(breaching, evaluated)) >= m else "OK"
        else:
            evaluated = real
            bad = sum(map(breaching, real))
            good = len(real) - bad
            if treat in ("breaching", "notBreaching"):
                filled = n - len(real)
                bad += filled if treat == "breaching" else 0
                new = "ALARM" if bad >= m else "OK"
            elif good or bad >= m:
                # the real datapoints decide: a non-breaching one is there, or M breach
                new = "ALARM" if bad >= m else "OK"
            elif treat == "ignore":
                new = None  # fewer than M datapoints, all breaching: not enough data, the state holds
            else:
                new = self._premature_guard(points, m)
        if new is None or new == current:
            return
        unknown = sum(p is None for p in points)
        reason = self._reason(
            new, current, evaluated, filled, treat, phrase, breaching, threshold, n, m, unknown
        )
        reason_data = {
            "version": "1.0",
            "queryDate": self._iso(self._stamp()),
            **(
                {"startDate": self._iso(self._minute_time(min(p.minute for p in evaluated)))}
                if evaluated
                else {}
            ),
            **({"statistic": statistic} if statistic in BASIC_STATISTICS else {}),
            **({"extendedStatistic": statistic} if q is not None else {}),
            "period": period,
            "recentDatapoints": [p.value for p in reversed(evaluated)],
            "threshold": threshold,
            "evaluatedDatapoints": [
                {
                    "timestamp": self._iso(self._minute_time(p.minute)),
                    "sampleCount": p.samples,
                    "value": p.value,
                }
                for p in evaluated
            ],
        }
        before = self._state_of(alarm)
        alarm.update_state(reason, json.dumps(reason_data), new)
        alarm.state_updated_timestamp = alarm.state_transitioned_timestamp = self._stamp()
        self._transitioned(alarm, before)

    @staticmethod
    def _premature_guard(points: list[Datapoint | None], m: int) -> str:
        """``missing``, fewer than M datapoints in the range, all breaching, the rest missing.

        "alarms are designed to always go into ALARM state when the oldest available breaching
        datapoint during the Evaluation Periods number of data points is at least as old as the
        value of Datapoints to Alarm, and all other more recent data points are breaching or
        missing" (AlarmThatSendsEmail.html#CloudWatch-alarms-avoiding-premature-transition); a
        breach younger than that does not alarm yet ("Because the next data point may be
        non-breaching"), and the alarm has too little data to say OK: INSUFFICIENT_DATA, as the
        published table's row "- - - - X" showed (3 of 3 and 2 of 3).
        """
        oldest_age = max(j for j, p in enumerate(points) if p is not None) + 1  # 1 = the newest period
        return "ALARM" if oldest_age >= m else "INSUFFICIENT_DATA"

    def _reason(
        self,
        new: str,
        old: str,
        evaluated: list[Datapoint],
        filled: int,
        treat: str,
        phrase: str,
        breaching: Callable[[Datapoint], bool],
        threshold: float,
        n: int,
        m: int,
        unknown: int,
    ) -> str:
        if new == "INSUFFICIENT_DATA":
            verb = "was" if unknown == 1 else "were"
            return f"Insufficient Data: {unknown} datapoint{'s' * (unknown != 1)} {verb} unknown."
        as_what = "Breaching" if treat == "breaching" else "NonBreaching"
        if not evaluated:
            return (
                f"Threshold Crossed: no datapoints were received for {n} period{'s' * (n > 1)} and "
                f"{filled} missing datapoint{'s' * (filled > 1)} {'were' if filled > 1 else 'was'} "
                f"treated as [{as_what}]."
            )
        crossing = [p for p in evaluated if breaching(p) == (new == "ALARM")]
        shown = ", ".join(f"{p.value!r} ({self._minute_time(p.minute):%d/%m/%y %H:%M:%S})" for p in crossing)
        total = len(evaluated) + filled
        verb = "was" if len(crossing) == 1 else "were"
        extra = (
            f" and {filled} missing datapoint{'s' * (filled > 1)} treated as [{as_what}]" if filled else ""
        )
        if new == "ALARM":
            return (
                f"Threshold Crossed: {len(crossing)} out of the last {total} datapoints [{shown}] {verb} "
                f"{phrase} the threshold ({threshold!r}){extra} (minimum {m} datapoint{'s' * (m > 1)} "
                f"for {old} -> ALARM transition)."
            )
        need = n - m + 1
        return (
            f"Threshold Crossed: {len(crossing)} out of the last {total} datapoints [{shown}] {verb} not "
            f"{phrase} the threshold ({threshold!r}){extra} (minimum {need} datapoint{'s' * (need > 1)} "
            f"for {old} -> OK transition)."
        )

    # --- transitions ------------------------------------------------------------------------
    def _state_of(self, alarm: Any) -> dict[str, Any]:
        state = {
            "value": alarm.state_value,
            "reason": alarm.state_reason,
            "timestamp": self._iso(alarm.state_updated_timestamp),
        }
        if alarm.state_reason_data and alarm.state_reason_data != "{}":
            state["reasonData"] = alarm.state_reason_data
        return state

    def _transitioned(self, alarm: Any, before: dict[str, Any]) -> None:
        state = self._state_of(alarm)
        self.transitions.append(
            AlarmTransition(
                self.scheduler.now, alarm.name, before["value"], state["value"], alarm.state_reason
            )
        )
        configuration: dict[str, Any] = {"metrics": self._configuration_metrics(alarm)}
        if alarm.description:
            configuration["description"] = alarm.description
        detail = {
            "alarmName": alarm.name,
            "state": state,
            "previousState": before,
            "configuration": configuration,
        }
        self._emit("aws.cloudwatch", "CloudWatch Alarm State Change", detail, [alarm.alarm_arn])

    @staticmethod
    def _configuration_metrics(alarm: Any) -> list[dict[str, Any]]:
        def metric_stat(namespace: str, name: str, dimensions: list[Any], period: Any, stat: Any) -> Any:
            return {
                "metric": {"dimensions": _dimensions(dimensions), "name": name, "namespace": namespace},
                "period": int(period) if period is not None else None,
                "stat": stat,
            }

        if not alarm.metric_data_queries:
            return [
                {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, alarm.alarm_arn)),
                    "metricStat": metric_stat(
                        alarm.namespace,
                        alarm.metric_name,
                        alarm.dimensions,
                        alarm.period,
                        alarm.extended_statistic or alarm.statistic,
                    ),
                    "returnData": True,
                }
            ]
        out = []
        for query in alarm.metric_data_queries:
            entry: dict[str, Any] = {"id": query.id, "returnData": query.return_data in (True, None, "true")}
            if query.label:
                entry["label"] = query.label
            if query.expression:
                entry["expression"] = query.expression
            if query.metric_stat is not None:
                stat = query.metric_stat
                entry["metricStat"] = metric_stat(
                    stat.metric.namespace,
                    stat.metric.metric_name,
                    stat.metric.dimensions,
                    stat.period,
                    stat.stat,
                )
            out.append(entry)
        return out
