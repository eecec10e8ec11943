"""Reading metrics back: ``GetMetricData`` and ``ListMetrics`` as CloudWatch answers them.

moto 5.2.5 answers these calls, but not as CloudWatch does; this module replaces its backend's
``get_metric_data`` and ``list_metrics`` (and stamps ``PutMetricData`` with virtual time):

- ``MetricStat`` queries match a metric by namespace, name and exactly its dimensions ("CloudWatch
  treats each unique combination of dimensions as a separate metric", GetMetricStatistics API
  reference). moto drops the namespace as soon as dimensions are given, and without dimensions
  matches every metric of that name.
- ``StartTime`` is rounded down to the whole minute ("Start time less than 15 days ago - Round down
  to the nearest whole minute", GetMetricData API reference; to the period for periods of 5 to 30
  seconds); datapoints are the ``Period``-long intervals from there, each timestamped by its start;
  ``EndTime`` is exclusive. Minutes CloudWatch has not published yet
  (``simulation.metricDelaySeconds``) are absent, as they are from moto's backend.
- Statistics: ``SampleCount``, ``Sum``, ``Average``, ``Minimum``, ``Maximum`` over the values and
  statistic sets of the interval, and percentiles ``pNN``/``pNN.NN``, which moto does not compute
  (it answers nothing). For the ``AWS/SageMaker`` metrics the simulator publishes, CloudWatch has
  the per-request values: the percentile is exact for the simulated distribution (the same
  computation as the alarm evaluator's, ``metrics.aggregate``). Otherwise the percentile comes
  from the raw values, and a statistic set counts only if its ``SampleCount`` is 1 or its
  ``Minimum`` equals its ``Maximum``: "CloudWatch needs raw data points to calculate percentile
  statistics. If you publish data using a statistic set instead, you can only retrieve percentile
  statistics for this data if one of the following conditions is true" (GetMetricStatistics API
  reference, https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html);
  "Percentile statistics are not available for metrics when any of the metric values are negative
  numbers" (same page). An interval without a percentile has no datapoint. So the business metrics
  of an application (0/1 outcomes published as statistic sets) have ``Sum``, ``SampleCount`` and
  ``Average`` but no ``p50``. Other extended statistics (``tm99``, ``IQM``...) are refused as not
  simulated.
- Query ids: "The first character must be a lowercase letter" (MetricDataQuery, API reference);
  a metric math ``Expression`` is answered as moto answers it (the values of the query it names).
  Metrics Insights (``SELECT``) queries go to moto unchanged.
- ``ListMetrics``: "After you create a metric, allow up to 15 minutes for the metric to appear"
  and it "doesn't return information about metrics if those metrics haven't reported data in the
  past two weeks" (ListMetrics API reference,
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_ListMetrics.html): a metric
  is listed from ``simulation.listMetricsDelaySeconds`` (900 s: the full 15 minutes) after its first
  datapoint was published, while it has a datapoint at most 14 days old. ``Dimensions`` filters
  keep the metrics that have each named dimension (with that value, if one is given), as
  ``ListMetrics`` filters; each metric is listed once.

IAM: both actions take no resource-level permission; the local cloud checks them against the
caller's policies with resource ``*`` (``localcloud/iam``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

from moto.cloudwatch import models as cw_models
from moto.cloudwatch.exceptions import InvalidParameterValue, ValidationError
from moto.cloudwatch.metric_data_expression_parser import parse_expression

from localcloud.services.cloudwatch.metrics import SimulatedDatum, aggregate, percentile_rank

BASIC = ("SampleCount", "Sum", "Average", "Minimum", "Maximum")
# Extended statistics CloudWatch knows that the simulator does not compute (Statistics definitions,
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html).
_OTHER_EXTENDED = re.compile(r"^(tm|wm|tc|ts)\d{1,2}(\.\d{1,2})?$|^(TM|WM|TC|TS|PR)\(.*\)$|^IQM$")
_PERCENTILE = re.compile(r"^p\d{1,2}(\.\d{1,2})?$")
_QUERY_ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
LISTED_FOR = timedelta(days=14)  # ListMetrics: metrics with data in the past two weeks

Identity = tuple[str, str, frozenset[tuple[str, str]]]  # (namespace, name, dimensions)


def _naive(when: datetime) -> datetime:
    """UTC without tzinfo, as the simulator timestamps datapoints."""
    if when.tzinfo is not None:
        when = (when - when.utcoffset()).replace(tzinfo=None)  # type: ignore[operator]
    return when


def _dimensions(dimensions: Iterable[Any]) -> frozenset[tuple[str, str]]:
    out = set()
    for d in dimensions or []:
        if isinstance(d, dict):
            out.add((str(d["Name"]), str(d.get("Value"))))
        else:
            out.add((str(d.name), str(d.value)))
    return frozenset(out)


def identity(datum: Any) -> Identity:
    return (str(datum.namespace), str(datum.name), _dimensions(datum.dimensions))


def check_statistic(stat: str, where: str) -> None:
    """Refuse what the simulator cannot answer: an unknown statistic, or one it does not compute."""
    if stat in BASIC or (_PERCENTILE.match(stat) and percentile_rank(stat) is not None):
        return
    if _OTHER_EXTENDED.match(stat):
        raise InvalidParameterValue(f"The statistic {stat} ({where}) is not simulated by the local cloud.")
    raise InvalidParameterValue(f"The value {stat} for parameter {where} is invalid.")


def statistic(data: list[Any], stat: str) -> float | None:
    """``stat`` over the datapoints of one interval (None: CloudWatch has no value for it)."""
    if not data:
        return None
    q = percentile_rank(stat)
    if q is None:
        count = sum(1.0 if isinstance(d, cw_models.MetricDatum) else float(d.sample_count) for d in data)
        total = sum(float(d.value) if isinstance(d, cw_models.MetricDatum) else float(d.sum) for d in data)
        if stat == "SampleCount":
            return count
        if stat == "Sum":
            return total
        if stat == "Average":
            return total / count if count else None
        lows = [float(d.value) if isinstance(d, cw_models.MetricDatum) else float(d.min) for d in data]
        highs = [float(d.value) if isinstance(d, cw_models.MetricDatum) else float(d.max) for d in data]
        return min(lows) if stat == "Minimum" else max(highs)
    if all(isinstance(d, SimulatedDatum) and d.raw for d in data):
        kinds = {d.stat.kind for d in data}
        if len(kinds) == 1:
            return aggregate([d.stat for d in data], stat)
    weighted: list[tuple[float, float]] = []
    for d in data:
        if isinstance(d, SimulatedDatum) and d.raw:
            return None  # per-request values mixed with other data: not modelled
        if isinstance(d, cw_models.MetricDatum):
            weighted.append((float(d.value), 1.0))
        elif float(d.sample_count) == 1:
            weighted.append((float(d.sum), 1.0))
        elif float(d.min) == float(d.max):
            weighted.append((float(d.min), float(d.sample_count)))
        else:
            return None  # a statistic set: CloudWatch has no raw values to take a percentile of
    if any(value < 0 for value, _ in weighted):
        return None
    weighted.sort()
    wanted = q * sum(weight for _, weight in weighted)
    seen = 0.0
    for value, weight in weighted:
        seen += weight
        if seen >= wanted - 1e-9:
            return value
    return weighted[-1][0]


def _start(start: datetime, period: int) -> datetime:
    """CloudWatch's rounding of ``StartTime`` (data less than 15 days old)."""
    start = start.replace(microsecond=0)
    if period < 60:
        return start - timedelta(seconds=start.second % period)
    return start.replace(second=0)


class MetricReads:
    """The patches of moto's CloudWatch backend; ``now`` is the virtual clock (naive UTC)."""

    def __init__(self, now: Callable[[], datetime], list_delay: Callable[[], float]) -> None:
        self._now = now
        self._list_delay = list_delay
        self._first_seen: dict[Identity, datetime] = {}
        self._stack = ExitStack()
        # what PutMetricData stored, passed on (the cloud aggregates it for alarm evaluation)
        self.on_put: Callable[[str, list[Any]], None] | None = None

    def note(self, datapoints: Iterable[Any]) -> None:
        """Datapoints CloudWatch has just published (ListMetrics shows their metric 15 min later)."""
        now = self._now()
        for datum in datapoints:
            self._first_seen.setdefault(identity(datum), now)

    # --- patching ---------------------------------------------------------------------------
    def install(self) -> None:
        backend_cls = cw_models.CloudWatchBackend
        original_data = backend_cls.get_metric_data
        original_put = backend_cls.put_metric_data
        reads = self

        def get_metric_data(
            backend: Any,
            queries: list[dict[str, Any]],
            start_time: datetime,
            end_time: datetime,
            scan_by: str = "TimestampAscending",
        ) -> list[dict[str, Any]]:
            if any(str(q.get("Expression", "")).lstrip().upper().startswith("SELECT") for q in queries):
                return list(original_data(backend, queries, start_time, end_time, scan_by))
            return reads.get_metric_data(backend, queries, start_time, end_time, scan_by)

        def put_metric_data(backend: Any, namespace: str, metric_data: list[dict[str, Any]]) -> None:
            now = reads._now()
            stamped = [m if m.get("Timestamp") else {**m, "Timestamp": now} for m in metric_data]
            before = len(backend.metric_data)
            original_put(backend, namespace, stamped)
            reads.note(backend.metric_data[before:])
            if reads.on_put is not None:
                reads.on_put(namespace, backend.metric_data[before:])

        original_list = backend_cls.list_metrics

        def list_metrics_entry(
            backend: Any, next_token: str | None, namespace: str, metric_name: str, dimensions: Any
        ) -> tuple[str | None, list[Any]]:
            if next_token:
                return original_list(backend, next_token, namespace, metric_name, dimensions)
            return reads.list_metrics(backend, namespace, metric_name, dimensions)

        for name, replacement in (
            ("get_metric_data", get_metric_data),
            ("list_metrics", list_metrics_entry),
            ("put_metric_data", put_metric_data),
        ):
            self._stack.enter_context(mock.patch.object(backend_cls, name, replacement))

    def uninstall(self) -> None:
        self._stack.close()

    # --- GetMetricData -----------------------------------------------------------------------
    def get_metric_data(
        self,
        backend: Any,
        queries: list[dict[str, Any]],
        start_time: datetime,
        end_time: datetime,
        scan_by: str,
    ) -> list[dict[str, Any]]:
        start_time, end_time = _naive(start_time), _naive(end_time)
        if start_time > end_time:
            raise ValidationError("The parameter EndTime must be greater than StartTime.")
        if start_time == end_time:
            raise ValidationError("The parameter StartTime must not equal parameter EndTime.")
        for number, query in enumerate(queries, start=1):
            if not _QUERY_ID.match(str(query.get("Id", ""))):
                raise ValidationError(
                    f"The value {query.get('Id')!r} for parameter MetricDataQueries.member.{number}.Id is "
                    "invalid: the first character must be a lowercase letter, then letters, digits and "
                    "underscores."
                )
            if "MetricStat" in query:
                check_statistic(
                    str(query["MetricStat"].get("Stat")), f"MetricDataQueries.member.{number}.MetricStat.Stat"
                )
        by_metric: dict[tuple[str, str], list[Any]] = {}
        earliest = _start(start_time, 60)  # no query starts before the minute of StartTime
        for datum in backend.get_all_metrics():
            stamp = _naive(datum.timestamp)
            if earliest <= stamp < end_time:
                by_metric.setdefault((str(datum.namespace), str(datum.name)), []).append(datum)
        results: list[dict[str, Any]] = []
        returned: list[dict[str, Any]] = []
        for query in queries:
            if "MetricStat" not in query:
                continue
            result = self._metric_stat(query, by_metric, start_time, end_time, scan_by)
            results.append(result)
            if query.get("ReturnData", True):
                returned.append(result)
        for query in queries:
            if "Expression" not in query:
                continue
            values, timestamps = parse_expression(query["Expression"], results)
            returned.append(
                {
                    "id": query["Id"],
                    "label": query.get("Label") or query["Id"],
                    "values": values,
                    "timestamps": timestamps,
                    "status_code": "Complete",
                }
            )
        return returned

    def _metric_stat(
        self,
        query: dict[str, Any],
        by_metric: dict[tuple[str, str], list[Any]],
        start_time: datetime,
        end_time: datetime,
        scan_by: str,
    ) -> dict[str, Any]:
        metric_stat = query["MetricStat"]
        metric = metric_stat["Metric"]
        namespace, name = str(metric.get("Namespace")), str(metric.get("MetricName"))
        period = int(metric_stat["Period"])
        stat = str(metric_stat["Stat"])
        unit = metric_stat.get("Unit")
        dimensions = _dimensions(metric.get("Dimensions") or [])
        start = _start(start_time, period)
        intervals: dict[int, list[Any]] = {}
        for datum in by_metric.get((namespace, name), []):
            if _dimensions(datum.dimensions) != dimensions or (unit and datum.unit != unit):
                continue
            stamp = _naive(datum.timestamp)
            if stamp < start:
                continue
            intervals.setdefault(int((stamp - start).total_seconds() // period), []).append(datum)
        timestamps: list[datetime] = []
        values: list[float] = []
        for index in sorted(intervals):
            value = statistic(intervals[index], stat)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            timestamps.append((start + timedelta(seconds=index * period)).replace(tzinfo=UTC))
            values.append(float(value))
        if scan_by == "TimestampDescending":
            timestamps.reverse()
            values.reverse()
        return {
            "id": query["Id"],
            "label": query.get("Label") or f"{name} {stat}",
            "values": values,
            "timestamps": timestamps,
            "status_code": "Complete",
        }

    # --- ListMetrics ----------------------------------------------------------------------
    def list_metrics(
        self, backend: Any, namespace: str | None, metric_name: str | None, dimensions: Any
    ) -> tuple[str | None, list[Any]]:
        now = self._now()
        delay = timedelta(seconds=max(0.0, self._list_delay()))
        wanted = [(str(d["Name"]), d.get("Value")) for d in dimensions or []]
        newest: dict[Identity, Any] = {}
        for datum in backend.get_all_metrics():
            if (namespace and datum.namespace != namespace) or (metric_name and datum.name != metric_name):
                continue
            key = identity(datum)
            have = dict(key[2])
            if any(
                dim not in have or (value is not None and have[dim] != str(value)) for dim, value in wanted
            ):
                continue
            seen = self._first_seen.setdefault(key, now)
            if now - seen < delay or now - _naive(datum.timestamp) > LISTED_FOR:
                continue
            newest.setdefault(key, datum)
        return backend._get_paginated(list(newest.values()))
