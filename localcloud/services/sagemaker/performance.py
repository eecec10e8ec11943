"""How a model version performs on one instance type under load: the one physics of the local cloud.

A scenario gives a version a performance profile per instance type
(``models.<v>.profiles.<InstanceType>: {maxRps, latencyMs, latencyP99Ms, concurrency}``); the
traffic simulator (per-minute ``ModelLatency`` and ``Invocation5XXErrors``), the invocation
simulator (each ``InvokeEndpoint`` of a rehearsed load test), autoscaling (through
``InvocationsPerInstance``) and the Inference Recommender jobs all read it through this module, so
the same knee shows everywhere.

The model: each instance is a queue with ``concurrency`` = c parallel servers (model-server
workers) and the profile's latency as its service time. At per-instance load ``rho = rps / maxRps``
a request's ``ModelLatency`` is its service time (lognormal with median ``latencyMs`` and the spread
that puts the p99 at ``latencyP99Ms``, or ``LATENCY_SIGMA``), plus, with the probability that it
finds every server busy, a queueing wait. That probability is Erlang's C formula
``C(c, c rho)`` and the wait of a request that queues is exponential with mean ``S / (c (1 - rho))``
(``S`` the mean service time): the M/M/c queue (A. K. Erlang, 1917; any queueing text, e.g.
L. Kleinrock, *Queueing Systems* vol. 1, 1975, section 3.5; Wikipedia "M/M/c queue", "Erlang C
formula"). The mean latency therefore inflates by ``1 + C(c, c rho) / (c (1 - rho))``: with the
default c = ``DEFAULT_CONCURRENCY`` (16) it stays within 10 % of ``latencyMs`` up to about 80 % of
``maxRps``, doubles at about 95 % (the knee: :func:`knee_rps`) and grows without bound towards
``maxRps``; a smaller ``concurrency`` gives a softer knee (c = 1 is the M/M/1 inflation
``1 / (1 - rho)``). ``maxRps`` is thus the capacity one instance saturates at, and ``rho`` scales the
profile's latency the way utilization scales an M/M/c response time (a shape, not a claim that
``maxRps = c / latencyMs``).

For one number to draw from and to compute percentiles of, the waited requests' latency
(service + exponential wait) is replaced by the lognormal with the same mean and variance
(Fenton-Wilkinson moment matching: L. F. Fenton, "The sum of log-normal probability distributions
in scatter transmission systems", IRE Trans. Commun. Syst. 8(1), 1960): the latency of answered
requests is a two-part lognormal mixture (:attr:`LoadPoint.answered`), the shape the traffic
simulator writes as a minute's ``ModelLatency`` distribution.

At and past capacity: a model server queues at most so many requests (TorchServe's default
``job_queue_size`` is 100); the queue of a saturated instance is modelled at utilization
``RHO_FULL`` (0.99), so answered requests stop getting slower, and the share ``1 - 1 / rho`` of
arrivals beyond capacity is not answered: SageMaker gives up on it after 60 s ("A customer's model
containers must respond to requests within 60 seconds", InvokeEndpoint API reference,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html) and
answers a 5XX ``ModelError`` (``Received server error (0) from primary with message "Your
invocation timed out while waiting for a response from container primary..."``, as reported in
aws/sagemaker-python-sdk#1119). Answered requests slower than 60 s fail the same way. A failed
request counts at ``TIMEOUT_MS`` in ``ModelLatency`` (UNCONFIRMED: whether SageMaker publishes a
ModelLatency sample for a timed-out request is not documented).

Random draws are the caller's (a seeded ``random.Random``); everything else is deterministic and
cached by (profile, load).
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

LATENCY_SIGMA = 0.25  # per-request log-spread of ModelLatency without a p99: p99 ~ 1.8 x median
Z_99 = 2.3263478740408408  # the 0.99 quantile of the standard normal
DEFAULT_CONCURRENCY = 16  # parallel servers (workers) per instance: the sharpness of the knee
RHO_FULL = 0.99  # a saturated instance's queue: answered requests wait as at this utilization
TIMEOUT_MS = 60_000.0  # InvokeEndpoint: the container must answer within 60 s
TIMEOUT_SIGMA = 0.001  # a failed request's ModelLatency: TIMEOUT_MS, barely spread
_LOAD_STEP = 1e-4  # loads are rounded to this (relative to maxRps) for caching
_NORMAL = NormalDist()

Component = tuple[float, float, float]  # (share, mu = ln ms, sigma)


@dataclass(frozen=True)
class PerformanceProfile:
    """One version on one instance type: ``max_rps`` per instance at saturation, ``latency_ms`` the
    median ModelLatency at low load (``latency_p99_ms`` its p99), ``concurrency`` the servers."""

    max_rps: float
    latency_ms: float
    latency_p99_ms: float | None = None
    concurrency: int = DEFAULT_CONCURRENCY

    def __post_init__(self) -> None:
        if self.max_rps <= 0 or self.latency_ms <= 0 or self.concurrency < 1:
            raise ValueError("maxRps and latencyMs must be above 0 and concurrency at least 1")
        if self.latency_p99_ms is not None and self.latency_p99_ms <= self.latency_ms:
            raise ValueError("latencyP99Ms must be above latencyMs, the median")

    @property
    def sigma(self) -> float:
        """The log-spread of the service time (lognormal: p99 = median x exp(sigma x z(0.99)))."""
        if self.latency_p99_ms is None:
            return LATENCY_SIGMA
        return math.log(self.latency_p99_ms / self.latency_ms) / Z_99

    @property
    def mean_service_ms(self) -> float:
        return self.latency_ms * math.exp(self.sigma**2 / 2)


@dataclass(frozen=True)
class LoadPoint:
    """What one instance does at per-instance load ``rho`` (requests per second / ``max_rps``).

    ``answered``: the ModelLatency distribution of answered requests, lognormal components
    ``(share, ln ms, sigma)`` whose shares sum to 1; ``failed_share``: the share of all arrivals
    that fail after the 60-s timeout (beyond capacity, or slower than 60 s).
    """

    rho: float
    wait_probability: float
    mean_wait_ms: float  # the mean wait of a request that queues
    answered: tuple[Component, ...]
    failed_share: float

    @property
    def mean_latency_ms(self) -> float:
        """Mean ModelLatency of answered requests."""
        return sum(w * math.exp(mu + s * s / 2) for w, mu, s in self.answered)

    def quantile_ms(self, q: float) -> float:
        """The ``q`` quantile of answered requests' ModelLatency (bisection on the mixture)."""
        return mixture_quantile(self.answered, q)

    def exceed_share(self, ms: float) -> float:
        """Share of answered requests slower than ``ms``."""
        x = math.log(ms)
        return sum(w * (1.0 - _NORMAL.cdf((x - mu) / s)) for w, mu, s in self.answered)


def mixture_quantile(components: tuple[Component, ...], q: float) -> float:
    """The ``q`` quantile (in the components' unit) of a weighted mixture of lognormals."""
    total = sum(w for w, _, _ in components)
    lo = min(mu - 8 * s for _, mu, s in components)
    hi = max(mu + 8 * s for _, mu, s in components)
    for _ in range(60):
        mid = (lo + hi) / 2
        cdf = sum(w * _NORMAL.cdf((mid - mu) / s) for w, mu, s in components) / total
        if cdf < q:
            lo = mid
        else:
            hi = mid
    return math.exp((lo + hi) / 2)


@functools.lru_cache(maxsize=4096)
def erlang_c(servers: int, offered: float) -> float:
    """Erlang's C formula: the probability that an arrival at an M/M/c queue with ``servers``
    servers and ``offered`` Erlangs of load (``c rho``) waits. 1 at or past saturation.

    Computed from Erlang B's stable recursion ``B(k) = a B(k-1) / (k + a B(k-1))``, then
    ``C = c B / (c - a (1 - B))``.
    """
    if offered <= 0:
        return 0.0
    if offered >= servers:
        return 1.0
    b = 1.0
    for k in range(1, servers + 1):
        b = offered * b / (k + offered * b)
    return servers * b / (servers - offered * (1.0 - b))


def load_point(profile: PerformanceProfile, rps_per_instance: float) -> LoadPoint:
    """The instance's behaviour when ``rps_per_instance`` requests a second arrive at it."""
    rho = max(0.0, rps_per_instance) / profile.max_rps
    return _load_point(profile, round(rho / _LOAD_STEP) * _LOAD_STEP)


@functools.lru_cache(maxsize=65536)
def _load_point(profile: PerformanceProfile, rho: float) -> LoadPoint:
    c = profile.concurrency
    sigma = profile.sigma
    mu = math.log(profile.latency_ms)
    served = 1.0 if rho <= 1.0 else 1.0 / rho  # beyond capacity the excess is never answered
    rho_q = min(rho, RHO_FULL)
    waits = erlang_c(c, c * rho_q)
    service = profile.mean_service_ms
    mean_wait = service / (c * (1.0 - rho_q))
    answered: list[Component] = []
    if waits < 1.0:
        answered.append((1.0 - waits, mu, sigma))
    if waits > 1e-12:
        mean = service + mean_wait
        variance = service**2 * (math.exp(sigma**2) - 1.0) + mean_wait**2
        sigma_w = math.sqrt(math.log1p(variance / mean**2))
        answered.append((waits, math.log(mean) - sigma_w**2 / 2, sigma_w))
    point = LoadPoint(rho, waits, mean_wait, tuple(answered), 0.0)
    too_slow = point.exceed_share(TIMEOUT_MS)
    failed = (1.0 - served) + served * too_slow
    return LoadPoint(rho, waits, mean_wait, tuple(answered), min(1.0, failed))


@dataclass(frozen=True)
class Outcome:
    """One request: its ModelLatency (ms) and, when it failed, ``error`` (``timeout`` or ``model``)."""

    latency_ms: float
    error: str | None = None


def sample(
    profile: PerformanceProfile, rps_per_instance: float, rng: random.Random, *, error_rate: float = 0.0
) -> Outcome:
    """One request at ``rps_per_instance``: a latency drawn from the load point's distribution, or a
    failure: a ``timeout`` at 60 s (beyond capacity, or slower than that), or, with ``error_rate``
    (the version's own errors), a ``model`` error with the latency it took."""
    point = load_point(profile, rps_per_instance)
    served = 1.0 if point.rho <= 1.0 else 1.0 / point.rho
    if rng.random() >= served:
        return Outcome(TIMEOUT_MS, "timeout")
    u = rng.random()
    _, mu, sigma = point.answered[-1]
    for weight, m, s in point.answered:
        if u < weight:
            mu, sigma = m, s
            break
        u -= weight
    latency = math.exp(rng.gauss(mu, sigma))
    if latency >= TIMEOUT_MS:
        return Outcome(TIMEOUT_MS, "timeout")
    if error_rate > 0 and rng.random() < error_rate:
        return Outcome(latency, "model")
    return Outcome(latency)


def minute_components(point: LoadPoint, drift: float = 0.0) -> tuple[Component, ...]:
    """The ModelLatency distribution of all of a minute's requests at ``point`` (failed ones at
    ``TIMEOUT_MS``): the components the traffic simulator writes, shares summing to 1, in ln ms.
    ``drift`` (log scale) moves the answered requests' latency (a minute's drift), not the timeout."""
    keep = 1.0 - point.failed_share
    out = [(keep * w, mu + drift, s) for w, mu, s in point.answered if keep * w > 0]
    if point.failed_share > 0:
        out.append((point.failed_share, math.log(TIMEOUT_MS), TIMEOUT_SIGMA))
    return tuple(out)


def latency_factor(profile: PerformanceProfile, rps_per_instance: float) -> float:
    """Mean latency of answered requests over the mean at no load."""
    return load_point(profile, rps_per_instance).mean_latency_ms / profile.mean_service_ms


def _bisect_rps(profile: PerformanceProfile, check: Callable[[float], bool]) -> float:
    """The highest per-instance rate below saturation at which ``check`` holds (it holds below, fails
    above); 0 when it fails at no load."""
    lo, hi = 0.0, profile.max_rps * RHO_FULL
    if not check(lo):
        return 0.0
    if check(hi):
        return hi
    for _ in range(50):
        mid = (lo + hi) / 2
        if check(mid):
            lo = mid
        else:
            hi = mid
    return lo


def knee_rps(profile: PerformanceProfile) -> float:
    """The knee of the latency curve: the per-instance rate at which the mean latency has doubled."""
    return _bisect_rps(profile, lambda rps: latency_factor(profile, rps) <= 2.0)


def percentile_ms(profile: PerformanceProfile, rps_per_instance: float, percentile: float) -> float:
    """The ``percentile`` (0.99 for p99) of answered requests' ModelLatency at that load."""
    return load_point(profile, rps_per_instance).quantile_ms(percentile)


def max_rps_within(profile: PerformanceProfile, percentile: float, threshold_ms: float) -> float:
    """The highest per-instance rate at which the ``percentile`` latency stays within
    ``threshold_ms`` (and, being below capacity, nothing fails); 0 when even an idle instance is
    slower than that. What a load test finds, and what the recommender reports."""
    return _bisect_rps(profile, lambda rps: percentile_ms(profile, rps, percentile) <= threshold_ms)
