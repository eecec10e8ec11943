"""Traffic and ``AWS/SageMaker`` metrics, one virtual minute at a time (background work).

Every minute ``[60m, 60m + 60)`` closes at virtual second ``60(m + 1)``; then, for each endpoint that
was ``InService`` or ``Updating`` during it, ``requestsPerMinute`` requests are split across the
live variants by ``CurrentWeight / sum of CurrentWeights``, time-weighted when the weights or
the variants changed within the minute. Each variant's share is rounded with a carry (no request
is lost or invented over time), so a 10% variant of a 600-request endpoint gets exactly 60.

What a variant's requests produce comes from the scenario behaviour of the model package version it
serves (``errorRate``, ``latencyMs``, ``latencyP99Ms``, ``businessMetrics``):

- ``Invocations``: one value a minute (the count); ``InvocationsPerInstance``: count / instances.
- ``Invocation5XXErrors``: 0/1 per request, written as a statistic set (SampleCount = requests,
  Sum = errors), so Average is the error rate and Sum the errors. Errors are binomial draws.
- ``Invocation4XXErrors``: 0 per request (same shape).
- ``ModelLatency`` (microseconds): per-request latency is lognormal with median ``latencyMs``
  and log-spread ``LATENCY_SIGMA`` (p99 ≈ 1.8 x median), or, with ``latencyP99Ms``, the spread
  ``ln(latencyP99Ms / latencyMs) / z(0.99)`` that puts the p99 there; each minute's median (and so
  its p99) drifts by a lognormal factor with spread ``MINUTE_DRIFT``. Written as a statistic set;
  the in-memory series, and the datum CloudWatch keeps, hold the distribution so that percentiles
  (``p99``...) are exact for the model (``localcloud/services/cloudwatch/reads.py``).

Under load: when the version a variant serves has a performance profile for the variant's instance
type (``models.<v>.profiles.<InstanceType>``), the minute's ``ModelLatency`` and
``Invocation5XXErrors`` follow the load per instance, ``requests / 60 / instances`` requests a second
(with the variant's instance count at the end of the minute), through the physics of
``localcloud/services/sagemaker/performance.py``: the latency distribution of answered requests at
that load (drifting by the same minute factor), the share beyond capacity or slower than 60 s failing
(5XX, counted at 60 s in ``ModelLatency``), and the version's ``errorRate`` on the answered rest.
Without a profile for (version, instance type) a minute is exactly what it was before profiles
existed, whatever the load. Autoscaling reads ``InvocationsPerInstance`` as before: scaling out
lowers the load per instance and so the latency and errors.

Shadow variants (``ShadowProductionVariants`` of the live config) take no part in the weight
split: each receives a copy of ``min(1, its weight / the production weights)`` of the production
traffic (:func:`shadow_share`), rounded with its own carry, and publishes the same
``AWS/SageMaker`` metrics with its own ``VariantName``, from its own version's behaviour. Model
Monitor sees its requests too (``served``): its captured data lies beside production's.

Business metrics, as the application behind the endpoint publishes them (``PutMetricData`` with
statistic sets): for each production variant that served requests of a version with
``businessMetrics`` in a minute, per metric, ``n = reported x requests`` outcomes are reported
(rounded down with a carry, so that over time exactly that share is reported) and
``successes ~ Binomial(n, rate)``; the minute is written as one statistic set (SampleCount = n,
Sum = successes, Minimum/Maximum the smallest/largest 0/1 outcome) of the metric with
dimensions ``EndpointName`` and ``VariantName`` in the group's namespace
(``SimulationSettings.business_namespace``), with the same publishing delay as the
``AWS/SageMaker`` metrics. Shadow variants answer nobody: no outcome, no business metric. CloudWatch
holds only the statistic set, so it has no percentile of such a metric ("CloudWatch needs raw data
points to calculate percentile statistics", GetMetricStatistics API reference).

Random draws come from a generator seeded by (LocalCloud seed, endpoint, variant, minute), and the
business outcomes from one seeded by the same and ``business``: the same scenario always gives the
same numbers, whatever else runs. A variant with no traffic in a minute gets no datapoints, or
zeros with ``simulation.noTrafficMetrics``.

With data capture enabled on the endpoint, each minute's sampled requests are written to S3 when
the minute is published (``localcloud/services/sagemaker/capture.py``).

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
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from localcloud.services.sagemaker.capture import DataCaptureWriter
from localcloud.services.sagemaker.endpoints import (
    ModelBehaviour,
    SageMakerSimulator,
    SimulationSettings,
    Snapshot,
)
from localcloud.services.sagemaker.performance import (
    LATENCY_SIGMA,
    Z_99,
    load_point,
    minute_components,
    mixture_quantile,
)

NAMESPACE = "AWS/SageMaker"
MINUTE_DRIFT = 0.05
MS_TO_US = math.log(1000.0)  # ModelLatency is in microseconds; profiles in milliseconds
METRICS = (
    "Invocations",
    "InvocationsPerInstance",
    "Invocation4XXErrors",
    "Invocation5XXErrors",
    "ModelLatency",
)
_STANDARD_NORMAL = NormalDist()

SeriesKey = tuple[str, str, str]  # (metric, endpoint, variant)
APPLICATION = "(application)"  # the third part of an application metric's key (MetricSeries.application_key)


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


class SimulatedDatum(MetricAggregatedDatum):
    """A minute the simulator published as a statistic set, with what it summarizes: ``stat`` (the
    distribution, for exact percentiles) and ``raw``: whether CloudWatch holds the per-request
    values (an AWS service's own metric) or only the statistic set (an application's
    ``PutMetricData``, whose percentiles CloudWatch cannot compute)."""

    def __init__(
        self,
        namespace: str,
        name: str,
        stat: MinuteStat,
        dimensions: list[dict[str, str]],
        timestamp: datetime,
        unit: str,
        *,
        raw: bool,
    ) -> None:
        super().__init__(
            namespace,
            name,
            min_stat=stat.minimum,
            max_stat=stat.maximum,
            sample_count=stat.count,
            sum_stat=stat.total,
            dimensions=dimensions,
            timestamp=timestamp,
            unit=unit,
        )
        self.stat = stat
        self.raw = raw


class MetricSeries:
    """Per-minute statistics of every metric the simulator wrote: ``AWS/SageMaker`` and the
    business metrics of scenario models (``namespace_of`` says which namespace a series is in).

    ``get`` returns every minute written; CloudWatch shows only the minutes before
    ``published_end`` (:meth:`publish_through`), which is what alarms evaluate.
    """

    def __init__(self) -> None:
        self.data: dict[SeriesKey, dict[int, MinuteStat]] = {}
        self.namespaces: dict[SeriesKey, str] = {}  # series not in AWS/SageMaker
        self.declared: set[str] = {NAMESPACE}  # namespaces the simulator writes (or will)
        self.published_end = 0  # minutes before this one are published in CloudWatch
        self.application: set[str] = set()  # namespaces functions publish to with PutMetricData

    def put(self, key: SeriesKey, minute: int, stat: MinuteStat, namespace: str = NAMESPACE) -> None:
        self.data.setdefault(key, {})[minute] = stat
        if namespace != NAMESPACE:
            self.namespaces[key] = namespace
            self.declared.add(namespace)

    def get(self, key: SeriesKey) -> dict[int, MinuteStat] | None:
        return self.data.get(key)

    def namespace_of(self, key: SeriesKey) -> str:
        return self.namespaces.get(key, NAMESPACE)

    def lookup(self, namespace: str, key: SeriesKey) -> dict[int, MinuteStat] | None:
        """The series of ``key`` if it is in ``namespace``."""
        return self.data.get(key) if key in self.data and self.namespace_of(key) == namespace else None

    @staticmethod
    def application_key(metric: str, dimensions: dict[str, str]) -> SeriesKey:
        """The series of a metric an application publishes with ``PutMetricData`` (any dimensions)."""
        return (metric, ",".join(f"{k}={v}" for k, v in sorted(dimensions.items())), APPLICATION)

    def put_application(self, namespace: str, datum: Any, minute: int) -> None:
        """Add one ``PutMetricData`` datum (moto's MetricDatum or MetricAggregatedDatum) to its minute:
        alarms on application metrics evaluate these, as CloudWatch aggregates what it was sent."""
        dims = {str(d.name): str(d.value) for d in getattr(datum, "dimensions", None) or []}
        key = self.application_key(str(datum.name), dims)
        if hasattr(datum, "value"):
            values = [float(datum.value)]
            count, total, low, high = 1.0, values[0], values[0], values[0]
        else:
            count, total = float(datum.sample_count), float(datum.sum_stat)
            low, high = float(datum.min_stat), float(datum.max_stat)
        before = self.data.setdefault(key, {}).get(minute)
        if before is not None:
            count, total = count + before.count, total + before.total
            low, high = min(low, before.minimum), max(high, before.maximum)
        self.data[key][minute] = MinuteStat(count, total, low, high)
        self.namespaces[key] = namespace
        self.application.add(namespace)

    def simulates(self, namespace: str) -> bool:
        """Whether the simulator writes metrics in ``namespace`` (AWS/SageMaker, or the namespace of
        a scenario model's business metrics)."""
        return namespace in self.declared

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
        return mixture_quantile(tuple(c for s in stats for c in s.components), q)
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


def shadow_share(shadow_weight: float, production_weight: float) -> float:
    """The share of the production traffic a shadow variant receives a copy of:
    ``min(1, shadow weight / production weight)`` (none while production has no weight).

    UNCONFIRMED in AWS's own words: the CreateEndpointConfig API reference says only that production
    traffic is "replicated" to the ``ShadowProductionVariants``; the developer guide's example
    ("Testing models with shadow variants",
    https://docs.aws.amazon.com/sagemaker/latest/dg/model-shadow-deployment.html) gives both
    variants ``InitialVariantWeight`` 1, for a full copy; shadow tests call the share the "traffic
    sampling percentage" (https://docs.aws.amazon.com/sagemaker/latest/dg/shadow-tests-create.html;
    ``ShadowModelVariantConfig.SamplingPercentage``, API reference: the percentage of inference
    requests SageMaker replicates from the production variant to the shadow variant). Guides outside
    AWS's documentation read the shadow's weight relative to the production variant's as that
    percentage (0.1 against 1: 10% mirrored).
    """
    if production_weight <= 0:
        return 0.0
    return min(1.0, max(0.0, shadow_weight) / production_weight)


def latency_sigma(behaviour: ModelBehaviour) -> float:
    """The per-request log-spread of a version's ModelLatency: ``LATENCY_SIGMA``, or the one that puts
    the p99 at ``latency_p99_ms`` (lognormal: p99 = median x exp(sigma x z(0.99)))."""
    if behaviour.latency_p99_ms is None:
        return LATENCY_SIGMA
    return math.log(behaviour.latency_p99_ms / behaviour.latency_ms) / Z_99


Served = tuple[Snapshot, Snapshot]  # (production variants, shadow variants)


def _with_shadows(
    history: list[tuple[float, Snapshot]], shadows: list[tuple[float, Snapshot]]
) -> list[tuple[float, Served]]:
    """One history of (production, shadow) snapshots from the two histories of an endpoint."""
    if not any(snapshot for _, snapshot in shadows):
        return [(t, (snapshot, ())) for t, snapshot in history]
    merged: list[tuple[float, Served]] = []
    production: Snapshot = ()
    shadow: Snapshot = ()
    i = j = 0
    while i < len(history) or j < len(shadows):
        if j >= len(shadows) or (i < len(history) and history[i][0] <= shadows[j][0]):
            t, production = history[i][0], history[i][1]
            i += 1
        else:
            t, shadow = shadows[j][0], shadows[j][1]
            j += 1
        if merged and merged[-1][0] == t:
            merged.pop()
        if not merged or merged[-1][1] != (production, shadow):
            merged.append((t, (production, shadow)))
    return merged


def _segments(history: list[tuple[float, Served]], start: float, end: float) -> list[tuple[float, Served]]:
    """(seconds, (production, shadows)) pieces of ``[start, end)`` in which production traffic flows."""
    current: Served = ((), ())
    changes: list[tuple[float, Served]] = []
    for t, snapshot in history:
        if t <= start:
            current = snapshot
        elif t < end:
            changes.append((t, snapshot))
        else:
            break
    pieces: list[tuple[float, Served]] = []
    t0, snap = start, current
    for t, snapshot in changes:
        pieces.append((t - t0, snap))
        t0, snap = t, snapshot
    pieces.append((end - t0, snap))
    return [(seconds, s) for seconds, s in pieces if seconds > 0 and s[0]]


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
        self.series.declared.update(
            settings.business_namespace(package)
            for package, behaviour in settings.behaviours.items()
            if behaviour.business_metrics
        )
        # minutes written but not yet published: (visible from, minute, CloudWatch datapoints, S3 writes)
        self._unpublished: list[tuple[float, int, list[Any], list[Callable[[], None]]]] = []
        # endpoint -> minute -> package -> requests (what Model Monitor executions look at)
        self.served: dict[str, dict[int, dict[str, int]]] = {}
        self._carry: dict[tuple[str, ...], float] = {}
        # called with each minute's datapoints as CloudWatch publishes them (ListMetrics keeps track)
        self.on_publish: Callable[[list[Any]], None] | None = None
        self.capture = DataCaptureWriter(
            seed=seed,
            epoch=self.epoch,
            s3_backend=self._s3_backend,
            positive_rate=lambda package: settings.behaviour(package).positive_rate,
            max_records=lambda: settings.capture_records_per_object,
        )

    def _s3_backend(self) -> Any:
        cloudwatch = self._cloudwatch_backend()
        return s3_backends[cloudwatch.account_id][get_partition(cloudwatch.region_name)]

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
        writes: list[Callable[[], None]] = []
        for endpoint, history in self.sagemaker.serving.items():
            if not history or (not history[-1][1] and history[-1][0] <= start):
                continue  # not serving during this minute
            expected: dict[str, dict[str, float]] = {}  # variant -> package -> requests
            fleets: dict[tuple[str, str], dict[str, float]] = {}  # (variant, config) -> package -> requests
            copies: dict[str, dict[str, float]] = {}  # shadow variant -> package -> copied requests
            instances: dict[str, int | None] = {}
            types: dict[str, str | None] = {}
            shadow_history = self.sagemaker.shadow_serving.get(endpoint, [])
            for seconds, (snapshot, shadows) in _segments(_with_shadows(history, shadow_history), start, end):
                total_weight = sum(v.weight for v in snapshot)
                for variant in snapshot:
                    instances[variant.name] = variant.instances
                    types[variant.name] = variant.instance_type
                    share = variant.weight / total_weight if total_weight > 0 else 0.0
                    requests = rpm * seconds / 60.0 * share
                    parts = expected.setdefault(variant.name, {})
                    parts[variant.package] = parts.get(variant.package, 0.0) + requests
                    if variant.fleet:
                        fleet = fleets.setdefault((variant.name, variant.fleet), {})
                        fleet[variant.package] = fleet.get(variant.package, 0.0) + requests
                for shadow in shadows:
                    instances[shadow.name] = shadow.instances
                    types[shadow.name] = shadow.instance_type
                    share = shadow_share(shadow.weight, total_weight)
                    parts = copies.setdefault(shadow.name, {})
                    parts[shadow.package] = parts.get(shadow.package, 0.0) + rpm * seconds / 60.0 * share
            production: dict[str, dict[str, int]] = {}
            for variant_name in sorted(expected):
                production[variant_name] = self._variant_minute(
                    endpoint,
                    variant_name,
                    m,
                    expected[variant_name],
                    instances[variant_name],
                    datapoints,
                    instance_type=types[variant_name],
                )
            shadowed: dict[str, dict[str, int]] = {}
            for variant_name in sorted(copies):
                shadowed[variant_name] = self._variant_minute(
                    endpoint,
                    variant_name,
                    m,
                    copies[variant_name],
                    instances[variant_name],
                    datapoints,
                    shadow=True,
                    instance_type=types[variant_name],
                )
            # During a guardrails deployment SageMaker also publishes each fleet's metrics with
            # its EndpointConfigName; the series key is "variant@config".
            for (variant_name, config), parts in sorted(fleets.items()):
                self._variant_minute(
                    endpoint,
                    variant_name,
                    m,
                    parts,
                    instances[variant_name],
                    datapoints,
                    fleet=config,
                    instance_type=types[variant_name],
                )
            capture = self.sagemaker.capture_config(endpoint)
            if capture is not None:
                write = self.capture.minute(
                    endpoint,
                    m,
                    capture,
                    {v: p for v, p in production.items() if p},
                    {v: p for v, p in shadowed.items() if p},
                )
                if write is not None:
                    writes.append(write)
        visible_from = end + max(0.0, self.settings.metric_delay_seconds)
        self._unpublished.append((visible_from, m, datapoints, writes))
        self.publish_due()

    def _by_account(self, datapoints: list[Any]) -> dict[str | None, list[Any]]:
        """Each endpoint's metrics go to the CloudWatch of the account it runs in (None: the cloud's)."""
        out: dict[str | None, list[Any]] = {}
        for datum in datapoints:
            endpoint = next((d.value for d in datum.dimensions if d.name == "EndpointName"), None)
            out.setdefault(self.sagemaker.account_of(endpoint) if endpoint else None, []).append(datum)
        return out

    def publish_due(self) -> None:
        """Publish, in minute order, every minute whose publishing delay has passed."""
        now = self._now() if self._now is not None else math.inf
        while self._unpublished and self._unpublished[0][0] <= now + 1e-9:
            _, m, datapoints, writes = self._unpublished.pop(0)
            if datapoints:
                for account, points in self._by_account(datapoints).items():
                    self._cloudwatch_backend(account).metric_data.extend(points)
                if self.on_publish is not None:
                    self.on_publish(datapoints)
            for write in writes:
                write()
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
        *,
        shadow: bool = False,
        instance_type: str | None = None,
    ) -> dict[str, int]:
        """Write one variant's minute; returns its requests per package (in the order of the split).

        A package whose version has a performance profile for ``instance_type`` answers as that
        profile does at the minute's load per instance (``requests / 60 / instances``): latency and
        timeouts from :mod:`localcloud.services.sagemaker.performance`; otherwise as its behaviour
        says, whatever the load.
        """
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
            return {}
        by_package = self._split(requests, parts)
        rng = random.Random(f"{self.seed}/{endpoint}/{variant}/{m}")
        errors = 0
        components = []
        rps_per_instance = requests / 60.0 / (instances or 1)
        for package, n in by_package.items():
            behaviour = self.settings.behaviour(package)
            profile = behaviour.profiles.get(instance_type) if instance_type else None
            if profile is None:
                errors += binomial(rng, n, behaviour.error_rate)
                median_us = behaviour.latency_ms * 1000.0 * math.exp(rng.gauss(0.0, MINUTE_DRIFT))
                components.append((float(n), math.log(median_us), latency_sigma(behaviour)))
                continue
            point = load_point(profile, rps_per_instance)
            # answered requests fail at the version's own rate; the rest time out (performance.py)
            failing = point.failed_share + (1.0 - point.failed_share) * behaviour.error_rate
            errors += binomial(rng, n, failing)
            drift = rng.gauss(0.0, MINUTE_DRIFT)
            for share, mu_ms, sigma in minute_components(point, drift):
                components.append((n * share, mu_ms + MS_TO_US, sigma))
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
                    SimulatedDatum(NAMESPACE, metric, stat, dimensions, timestamp, unit, raw=True)
                )
        if fleet is None and not shadow:
            self._business_minute(endpoint, variant, m, by_package, dimensions, timestamp, datapoints)
        return by_package

    def _business_minute(
        self,
        endpoint: str,
        variant: str,
        m: int,
        by_package: dict[str, int],
        dimensions: list[dict[str, str]],
        timestamp: datetime,
        datapoints: list[Any],
    ) -> None:
        """The outcomes the application reports for a variant's requests of one minute (see the module
        docstring): one statistic set per business metric."""
        reported: dict[tuple[str, str], list[int]] = {}  # (namespace, metric) -> [samples, successes]
        rng: random.Random | None = None
        for package, n in by_package.items():
            behaviour = self.settings.behaviour(package)
            if not behaviour.business_metrics:
                continue
            namespace = self.settings.business_namespace(package)
            for metric in sorted(behaviour.business_metrics):
                outcome = behaviour.business_metrics[metric]
                key = (endpoint, variant, metric, package)
                wanted = self._carry.get(key, 0.0) + n * outcome.reported
                samples = math.floor(wanted + 1e-9)
                self._carry[key] = max(0.0, wanted - samples)
                if rng is None:
                    rng = random.Random(f"{self.seed}/{endpoint}/{variant}/{m}/business")
                successes = binomial(rng, samples, outcome.rate)
                total = reported.setdefault((namespace, metric), [0, 0])
                total[0] += samples
                total[1] += successes
        for (namespace, metric), (samples, successes) in sorted(reported.items()):
            if samples <= 0:
                continue  # nothing reported this minute: the application publishes nothing
            stat = MinuteStat(
                samples,
                float(successes),
                1.0 if successes == samples else 0.0,
                1.0 if successes else 0.0,
                "binary",
            )
            self.series.put((metric, endpoint, variant), m, stat, namespace)
            datapoints.append(
                SimulatedDatum(namespace, metric, stat, dimensions, timestamp, "None", raw=False)
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
