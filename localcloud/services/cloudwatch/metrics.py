"""Traffic and ``AWS/SageMaker`` metrics, one virtual minute at a time (background work).

Every minute ``[60m, 60m + 60)`` closes at virtual second ``60(m + 1)``; then, for each endpoint that
was ``InService`` or ``Updating`` during it, ``requestsPerMinute`` requests are split across the
live variants by ``CurrentWeight / sum of CurrentWeights``, time-weighted when the weights or
the variants changed within the minute. Each variant's share is rounded with a carry (no request
is lost or invented over time), so a 10% variant of a 600-request endpoint gets exactly 60.

What a variant's requests produce comes from the scenario behaviour of the model package version it
serves (``errorRate``, ``latencyMs``):

- ``Invocations``: one value a minute (the count); ``InvocationsPerInstance``: count / instances.
- ``Invocation5XXErrors``: 0/1 per request, written as a statistic set (SampleCount = requests,
  Sum = errors), so Average is the error rate and Sum the errors. Errors are binomial draws.
- ``Invocation4XXErrors``: 0 per request (same shape).
- ``ModelLatency`` (microseconds): per-request latency is lognormal with median ``latencyMs`` and
  log-spread ``LATENCY_SIGMA`` (p99 ≈ 1.8 x median); each minute's median drifts by a lognormal
  factor with spread ``MINUTE_DRIFT``. Written as a statistic set; the in-memory series keeps the
  distribution so that percentiles (``p99``...) are exact for the model.

Random draws come from a generator seeded by (LocalCloud seed, endpoint, variant, minute): the same
scenario always gives the same numbers, whatever else runs. A variant with no traffic in a minute
gets no datapoints, or zeros with ``simulation.noTrafficMetrics``.

Datapoints go straight into moto's CloudWatch backend (no API round trip) and into
:class:`MetricSeries`, which the alarm evaluator reads.

CloudWatch publishes them late: a minute's datapoints become visible (to ``GetMetricStatistics``,
``GetMetricData`` and alarm evaluation) ``simulation.metricDelaySeconds`` after the minute ends,
60 s by default, so that "with slightly delayed publishing, the most recent minute never has data"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html, note on
``FILL``) when an alarm evaluates at a minute boundary or a reader asks for the latest minutes.
:attr:`MetricSeries.data` keeps every minute as SageMaker produced it (what really happened, for
the report and autoscaling); :attr:`MetricSeries.published_end` says which minutes CloudWatch
shows.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import NormalDist
from typing import Any

from moto.cloudwatch.models import MetricAggregatedDatum, MetricDatum

from localcloud.services.sagemaker.endpoints import SageMakerSimulator, SimulationSettings, Snapshot

NAMESPACE = "AWS/SageMaker"
LATENCY_SIGMA = 0.25
MINUTE_DRIFT = 0.05
METRICS = (
    "Invocations",
    "InvocationsPerInstance",
    "Invocation4XXErrors",
    "Invocation5XXErrors",
    "ModelLatency",
)
_STANDARD_NORMAL = NormalDist()

SeriesKey = tuple[str, str, str]  # (metric, endpoint, variant)


@dataclass(frozen=True)
class MinuteStat:
    """One minute of one metric: a statistic set, plus what percentiles need.

    ``kind``: ``value`` (one value per minute), ``binary`` (a 0/1 value per request) or
    ``lognormal`` (per-request values from ``components`` = ``(requests, mu, sigma)``).
    """

    count: float
    total: float
    minimum: float
    maximum: float
    kind: str = "value"
    components: tuple[tuple[float, float, float], ...] = ()


class MetricSeries:
    """Per-minute statistics of every ``AWS/SageMaker`` metric the simulator wrote.

    ``get`` returns every minute written; CloudWatch shows only the minutes before
    ``published_end`` (:meth:`publish_through`), which is what alarms evaluate.
    """

    def __init__(self) -> None:
        self.data: dict[SeriesKey, dict[int, MinuteStat]] = {}
        self.published_end = 0  # minutes before this one are published in CloudWatch

    def put(self, key: SeriesKey, minute: int, stat: MinuteStat) -> None:
        self.data.setdefault(key, {})[minute] = stat

    def get(self, key: SeriesKey) -> dict[int, MinuteStat] | None:
        return self.data.get(key)

    def publish_through(self, end_minute: int) -> None:
        """Minutes before ``end_minute`` are visible in CloudWatch from now on."""
        self.published_end = max(self.published_end, end_minute)


def percentile_rank(statistic: str) -> float | None:
    """0.99 for ``p99``, 0.999 for ``p99.9``; None for anything that is not a plain percentile."""
    if len(statistic) < 2 or statistic[0] != "p":
        return None
    try:
        value = float(statistic[1:])
    except ValueError:
        return None
    return value / 100.0 if 0 < value < 100 else None


def _lognormal_quantile(components: tuple[tuple[float, float, float], ...], q: float) -> float:
    """The ``q`` quantile of a mixture of lognormals weighted by request counts (bisection)."""
    total = sum(n for n, _, _ in components)
    lo = min(mu - 8 * sigma for _, mu, sigma in components)
    hi = max(mu + 8 * sigma for _, mu, sigma in components)
    for _ in range(60):
        mid = (lo + hi) / 2
        cdf = sum(n * _STANDARD_NORMAL.cdf((mid - mu) / sigma) for n, mu, sigma in components) / total
        if cdf < q:
            lo = mid
        else:
            hi = mid
    return math.exp((lo + hi) / 2)


def aggregate(stats: list[MinuteStat], statistic: str) -> float | None:
    """``statistic`` (Sum, Average, SampleCount, Minimum, Maximum, pNN) over some minutes."""
    if not stats:
        return None
    count = sum(s.count for s in stats)
    if statistic == "SampleCount":
        return count
    if statistic == "Sum":
        return sum(s.total for s in stats)
    if statistic == "Average":
        return sum(s.total for s in stats) / count if count else None
    if statistic == "Minimum":
        return min(s.minimum for s in stats)
    if statistic == "Maximum":
        return max(s.maximum for s in stats)
    q = percentile_rank(statistic)
    if q is None or not count:
        return None
    kind = stats[0].kind
    if kind == "lognormal":
        return _lognormal_quantile(tuple(c for s in stats for c in s.components), q)
    if kind == "binary":
        ones = sum(s.total for s in stats) / count
        return 1.0 if 1.0 - ones < q else 0.0
    values = sorted(s.total / s.count if s.count else 0.0 for s in stats)
    return values[max(0, math.ceil(q * len(values)) - 1)]


def binomial(rng: random.Random, n: int, p: float) -> int:
    """A binomial draw (inversion for small means, normal approximation for large ones)."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if p > 0.5:
        return n - binomial(rng, n, 1.0 - p)
    mean = n * p
    if mean > 50:
        draw = round(rng.gauss(mean, math.sqrt(mean * (1.0 - p))))
        return min(n, max(0, draw))
    u = rng.random()
    k, prob = 0, (1.0 - p) ** n
    cdf = prob
    ratio = p / (1.0 - p)
    while u > cdf and k < n:
        prob *= (n - k) / (k + 1) * ratio
        k += 1
        cdf += prob
    return k


def _segments(
    history: list[tuple[float, Snapshot]], start: float, end: float
) -> list[tuple[float, Snapshot]]:
    """(seconds, snapshot) pieces of ``[start, end)`` from a serving history."""
    current: Snapshot = ()
    changes: list[tuple[float, Snapshot]] = []
    for t, snapshot in history:
        if t <= start:
            current = snapshot
        elif t < end:
            changes.append((t, snapshot))
        else:
            break
    pieces: list[tuple[float, Snapshot]] = []
    t0, snap = start, current
    for t, snapshot in changes:
        pieces.append((t - t0, snap))
        t0, snap = t, snapshot
    pieces.append((end - t0, snap))
    return [(seconds, s) for seconds, s in pieces if seconds > 0 and s]


class TrafficSimulator:
    def __init__(
        self,
        settings: SimulationSettings,
        sagemaker: SageMakerSimulator,
        *,
        seed: int,
        epoch: datetime,
        cloudwatch_backend: Any,
        now: Callable[[], float] | None = None,
    ) -> None:
        self.settings = settings
        self.sagemaker = sagemaker
        self.seed = seed
        self.epoch = epoch.replace(tzinfo=None)
        self._cloudwatch_backend = cloudwatch_backend  # a callable: the moto backend of the cloud
        self._now = now  # the virtual clock; without one, every minute is published at once
        self.series = MetricSeries()
        # minutes written but not yet published: (visible from, minute, CloudWatch datapoints)
        self._unpublished: list[tuple[float, int, list[Any]]] = []
        # endpoint -> minute -> package -> requests (what Model Monitor executions look at)
        self.served: dict[str, dict[int, dict[str, int]]] = {}
        self._carry: dict[tuple[str, str], float] = {}

    def packages_served(self, endpoint: str, first_minute: int, end_minute: int) -> dict[str, int]:
        """Requests per package version on ``endpoint`` in minutes ``[first_minute, end_minute)``."""
        minutes = self.served.get(endpoint, {})
        out: dict[str, int] = {}
        for minute in range(first_minute, end_minute):
            for package, requests in minutes.get(minute, {}).items():
                out[package] = out.get(package, 0) + requests
        return out

    def minute(self, m: int) -> None:
        """Traffic and metrics of minute ``m`` (``[60m, 60m + 60)``) for every serving endpoint."""
        start, end = 60.0 * m, 60.0 * m + 60.0
        rpm = self.settings.requests_per_minute
        datapoints: list[Any] = []
        for endpoint, history in self.sagemaker.serving.items():
            if not history or (not history[-1][1] and history[-1][0] <= start):
                continue  # not serving during this minute
            expected: dict[str, dict[str, float]] = {}  # variant -> package -> requests
            fleets: dict[tuple[str, str], dict[str, float]] = {}  # (variant, config) -> package -> requests
            instances: dict[str, int | None] = {}
            for seconds, snapshot in _segments(history, start, end):
                total_weight = sum(v.weight for v in snapshot)
                for variant in snapshot:
                    instances[variant.name] = variant.instances
                    share = variant.weight / total_weight if total_weight > 0 else 0.0
                    requests = rpm * seconds / 60.0 * share
                    parts = expected.setdefault(variant.name, {})
                    parts[variant.package] = parts.get(variant.package, 0.0) + requests
                    if variant.fleet:
                        fleet = fleets.setdefault((variant.name, variant.fleet), {})
                        fleet[variant.package] = fleet.get(variant.package, 0.0) + requests
            for variant_name in sorted(expected):
                self._variant_minute(
                    endpoint, variant_name, m, expected[variant_name], instances[variant_name], datapoints
                )
            # During a guardrails deployment SageMaker also publishes each fleet's metrics with
            # its EndpointConfigName; the series key is "variant@config".
            for (variant_name, config), parts in sorted(fleets.items()):
                self._variant_minute(
                    endpoint, variant_name, m, parts, instances[variant_name], datapoints, fleet=config
                )
        visible_from = end + max(0.0, self.settings.metric_delay_seconds)
        self._unpublished.append((visible_from, m, datapoints))
        self.publish_due()

    def publish_due(self) -> None:
        """Publish, in minute order, every minute whose publishing delay has passed."""
        now = self._now() if self._now is not None else math.inf
        while self._unpublished and self._unpublished[0][0] <= now + 1e-9:
            _, m, datapoints = self._unpublished.pop(0)
            if datapoints:
                self._cloudwatch_backend().metric_data.extend(datapoints)
            self.series.publish_through(m + 1)

    def _variant_minute(
        self,
        endpoint: str,
        variant: str,
        m: int,
        parts: dict[str, float],
        instances: int | None,
        datapoints: list[Any],
        fleet: str | None = None,
    ) -> None:
        dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
        if fleet is not None:
            dimensions.append({"Name": "EndpointConfigName", "Value": fleet})
            variant = f"{variant}@{fleet}"
        key = (endpoint, variant)
        wanted = self._carry.get(key, 0.0) + sum(parts.values())
        requests = math.floor(wanted + 1e-9)
        self._carry[key] = max(0.0, wanted - requests)
        timestamp = self.epoch + timedelta(seconds=60 * m)
        if requests <= 0:
            if self.settings.no_traffic_metrics:
                zero = MinuteStat(1, 0.0, 0.0, 0.0)
                for metric in (
                    "Invocations",
                    "InvocationsPerInstance",
                    "Invocation4XXErrors",
                    "Invocation5XXErrors",
                ):
                    self.series.put((metric, endpoint, variant), m, zero)
                    datapoints.append(MetricDatum(NAMESPACE, metric, 0.0, dimensions, timestamp, "None"))
            return
        by_package = self._split(requests, parts)
        rng = random.Random(f"{self.seed}/{endpoint}/{variant}/{m}")
        errors = 0
        components = []
        for package, n in by_package.items():
            behaviour = self.settings.behaviour(package)
            errors += binomial(rng, n, behaviour.error_rate)
            median_us = behaviour.latency_ms * 1000.0 * math.exp(rng.gauss(0.0, MINUTE_DRIFT))
            components.append((float(n), math.log(median_us), LATENCY_SIGMA))
        if fleet is None:  # a fleet's requests are already counted under its variant
            minute_served = self.served.setdefault(endpoint, {}).setdefault(m, {})
            for package, n in by_package.items():
                minute_served[package] = minute_served.get(package, 0) + n

        latency_total = sum(n * math.exp(mu + sigma * sigma / 2) for n, mu, sigma in components)
        latency_min = min(
            math.exp(mu + sigma * _STANDARD_NORMAL.inv_cdf(1 / (n + 1))) for n, mu, sigma in components
        )
        latency_max = max(
            math.exp(mu + sigma * _STANDARD_NORMAL.inv_cdf(n / (n + 1))) for n, mu, sigma in components
        )
        per_instance = requests / instances if instances else float(requests)
        stats = {
            "Invocations": MinuteStat(1, float(requests), float(requests), float(requests)),
            "InvocationsPerInstance": MinuteStat(1, per_instance, per_instance, per_instance),
            "Invocation4XXErrors": MinuteStat(requests, 0.0, 0.0, 0.0, "binary"),
            "Invocation5XXErrors": MinuteStat(
                requests,
                float(errors),
                1.0 if errors == requests else 0.0,
                1.0 if errors else 0.0,
                "binary",
            ),
            "ModelLatency": MinuteStat(
                requests, latency_total, latency_min, latency_max, "lognormal", tuple(components)
            ),
        }
        for metric, stat in stats.items():
            self.series.put((metric, endpoint, variant), m, stat)
            unit = "Microseconds" if metric == "ModelLatency" else "None"
            if stat.kind == "value":
                datapoints.append(MetricDatum(NAMESPACE, metric, stat.total, dimensions, timestamp, unit))
            else:
                datapoints.append(
                    MetricAggregatedDatum(
                        NAMESPACE,
                        metric,
                        min_stat=stat.minimum,
                        max_stat=stat.maximum,
                        sample_count=stat.count,
                        sum_stat=stat.total,
                        dimensions=dimensions,
                        timestamp=timestamp,
                        unit=unit,
                    )
                )

    @staticmethod
    def _split(requests: int, parts: dict[str, float]) -> dict[str, int]:
        """Whole requests per package, in proportion to ``parts`` (largest remainder)."""
        if len(parts) == 1:
            return {next(iter(parts)): requests}
        total = sum(parts.values())
        exact = {package: requests * share / total for package, share in parts.items()}
        whole = {package: math.floor(value) for package, value in exact.items()}
        left = requests - sum(whole.values())
        for package in sorted(exact, key=lambda p: (whole[p] - exact[p], p))[:left]:
            whole[package] += 1
        return {package: n for package, n in whole.items() if n > 0}
