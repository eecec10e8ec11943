"""The numbers behind A/B tests and the statistical canary judge (standard library only: Lambda).

- :func:`msprt` — the mixture sequential probability ratio test with a normal mixing distribution
  (Johari, Pekelis, Walsh, "Always Valid Inference: Continuous Monitoring of A/B Tests",
  Operations Research 70(3), 2022; arXiv:1512.04922 — Optimizely's Stats Engine). For the
  difference ``theta = mean_candidate - mean_baseline`` with estimate ``d`` and estimated variance
  ``V = var_b / n_b + var_c / n_c``, and a mixing distribution ``theta ~ N(0, tau^2)``::

      Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 d^2 / (2 V (V + tau^2)))
      p      = min(previous p, 1 / Lambda)                                  (always valid)
      CS     = d +- sqrt(V (V + tau^2) / tau^2 * (2 ln(1/alpha) + ln((V + tau^2) / V)))

  ``p <= alpha`` exactly when the confidence sequence (CS) excludes 0. Both stay valid however
  often one looks and whenever one stops: P(ever p <= alpha | theta = 0) <= alpha (Ville's
  inequality), up to the normal approximation of the two means. :func:`msprt_rates` and
  :func:`msprt_means` compute ``d`` and ``V`` from counts and from per-period values.
- :func:`srm_p_value` — sample-ratio mismatch: chi-square goodness of fit, 1 d.f.
- :func:`proportion_increase` — one-sided reading of the mSPRT for the canary judge (error rates).
- :func:`mann_whitney_greater` — one-sided Mann-Whitney U (per-minute latency percentiles).
- :func:`fixed_horizon_samples_per_arm` — the classic two-proportion sample size, for comparison.

Degenerate inputs (an empty arm, fewer than two values, zero variance, a rate of 0 or 1 in both
arms, ``tau = 0``) never divide by zero: the p-value stays the previous one and the interval is
``(-inf, +inf)`` (:attr:`Sequential.degenerate`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class Sequential:
    """One look of the mSPRT on ``theta = candidate - baseline``."""

    estimate: float | None  # d; None when an arm has no data
    variance: float  # V; 0 when degenerate
    p_value: float  # always valid: the running minimum, never above ``previous_p``
    low: float  # the confidence sequence on theta at this look; -inf when degenerate
    high: float  # +inf when degenerate

    @property
    def degenerate(self) -> bool:
        return math.isinf(self.low) or math.isinf(self.high)

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def _alpha(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    return 1.0 - confidence


def _degenerate(estimate: float | None, previous_p: float) -> Sequential:
    return Sequential(estimate, 0.0, min(1.0, previous_p), -math.inf, math.inf)


def log_mixture_ratio(estimate: float, variance: float, tau: float) -> float:
    """``ln Lambda`` of the normal-mixture SPRT (finite for ``variance > 0`` and ``tau > 0``).

    With ``r = tau^2 / V`` and ``z^2 = d^2 / V``: ``ln Lambda = (z^2 r / (1 + r) - ln(1 + r)) / 2``.
    """
    r = tau * tau / variance
    return 0.5 * (estimate * estimate / variance * r / (1.0 + r) - math.log1p(r))


def cs_half_width(variance: float, tau: float, confidence: float) -> float:
    """Half-width of the always-valid confidence sequence at variance ``V``."""
    r = tau * tau / variance
    return math.sqrt(variance * (1.0 + r) / r * (2.0 * math.log(1.0 / _alpha(confidence)) + math.log1p(r)))


def msprt(
    estimate: float | None,
    variance: float,
    tau: float,
    *,
    confidence: float,
    previous_p: float = 1.0,
) -> Sequential:
    """One look of the mSPRT from the estimate ``d`` and its variance ``V`` (see the module doc).

    ``tau`` is the mixing standard deviation in the units of ``d``: the test is most powerful for
    effects of about that size at the horizon where ``tau^2 ~ 8 V`` (for alpha = 0.05), and loses
    power only slowly (logarithmically) when ``tau`` is too large, fast when it is too small.
    """
    _alpha(confidence)
    if estimate is None or not variance > 0 or not tau > 0 or not math.isfinite(estimate):
        return _degenerate(estimate, previous_p)
    r = tau * tau / variance
    if not math.isfinite(r):
        return _degenerate(estimate, previous_p)
    p_now = math.exp(-log_mixture_ratio(estimate, variance, tau))
    half = cs_half_width(variance, tau, confidence)
    return Sequential(estimate, variance, min(1.0, previous_p, p_now), estimate - half, estimate + half)


def _rate(successes: float, n: float) -> float | None:
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"a rate needs 0 <= successes <= n, got {successes:g} of {n:g}")
    return successes / n if n > 0 else None


def msprt_rates(
    successes_baseline: float,
    n_baseline: float,
    successes_candidate: float,
    n_candidate: float,
    *,
    tau: float,
    confidence: float,
    previous_p: float = 1.0,
) -> Sequential:
    """mSPRT on the difference of two proportions; each arm's variance is ``p (1 - p) / n``."""
    rate_b = _rate(successes_baseline, n_baseline)
    rate_c = _rate(successes_candidate, n_candidate)
    if rate_b is None or rate_c is None:
        return _degenerate(None, previous_p)
    variance = rate_b * (1 - rate_b) / n_baseline + rate_c * (1 - rate_c) / n_candidate
    return msprt(rate_c - rate_b, variance, tau, confidence=confidence, previous_p=previous_p)


def msprt_means(
    values_baseline: Sequence[float],
    values_candidate: Sequence[float],
    *,
    tau: float,
    confidence: float,
    previous_p: float = 1.0,
) -> Sequential:
    """mSPRT on the difference of two means of per-period values (sample variances; n = values)."""
    if not values_baseline or not values_candidate:
        return _degenerate(None, previous_p)
    estimate = statistics.fmean(values_candidate) - statistics.fmean(values_baseline)
    if len(values_baseline) < 2 or len(values_candidate) < 2:
        return _degenerate(estimate, previous_p)
    variance = statistics.variance(values_baseline) / len(values_baseline) + statistics.variance(
        values_candidate
    ) / len(values_candidate)
    return msprt(estimate, variance, tau, confidence=confidence, previous_p=previous_p)


def srm_p_value(n_baseline: float, n_candidate: float, candidate_share: float) -> float:
    """Sample-ratio mismatch: p of the chi-square goodness of fit (1 d.f.) of the observed counts
    against the configured candidate share (a fraction in (0, 1)).

    ``chi2 = (n_c - N s)^2 / (N s (1 - s))`` and ``chi2 (1 d.f.) = Z^2``, so
    ``p = P(|Z| >= sqrt(chi2)) = erfc(sqrt(chi2 / 2))`` (the normal tail, precise far out).
    """
    if not 0 < candidate_share < 1:
        raise ValueError(f"candidate share must lie in (0, 1), got {candidate_share}")
    total = n_baseline + n_candidate
    if total <= 0:
        return 1.0
    expected = total * candidate_share
    chi2 = (n_candidate - expected) ** 2 / (total * candidate_share * (1 - candidate_share))
    return math.erfc(math.sqrt(chi2 / 2))


@dataclass(frozen=True, slots=True)
class Increase:
    """One-sided reading of the mSPRT on two proportions: is the candidate's rate higher?"""

    test: Sequential
    baseline_rate: float | None
    candidate_rate: float | None
    relative: float | None  # (candidate - baseline) / baseline; None when the baseline rate is 0
    worse: bool


def proportion_increase(
    successes_baseline: float,
    n_baseline: float,
    successes_candidate: float,
    n_candidate: float,
    *,
    confidence: float,
    tolerance: float,
    tau: float | None = None,
    previous_p: float = 1.0,
) -> Increase:
    """Whether the candidate's proportion (errors out of requests) is higher than the baseline's.

    ``worse`` only when the confidence sequence lies above 0 and the relative increase exceeds
    ``tolerance`` (with enough traffic tiny increases are significant; they are not worth a
    rollback). A baseline rate of 0 makes any significant increase count. The two-sided CS read
    one-sidedly keeps the error below alpha (conservative).

    ``tau`` defaults to the larger of the two rates: the mixture weighs changes of the order of the
    error rate itself (a doubling), which suits a canary that must see large increases quickly.

    Perfect separation — every candidate request failed, none of the baseline's — has no variance
    to test with and needs no test: ``worse`` (p stays the previous one).
    """
    rate_b = _rate(successes_baseline, n_baseline)
    rate_c = _rate(successes_candidate, n_candidate)
    if tau is None:
        tau = max(rate_b or 0.0, rate_c or 0.0)
    test = msprt_rates(
        successes_baseline,
        n_baseline,
        successes_candidate,
        n_candidate,
        tau=tau,
        confidence=confidence,
        previous_p=previous_p,
    )
    if rate_b is None or rate_c is None:
        return Increase(test, rate_b, rate_c, None, False)
    relative = (rate_c - rate_b) / rate_b if rate_b > 0 else None
    if rate_b == 0 and rate_c == 1:
        return Increase(test, rate_b, rate_c, relative, True)
    exceeds = rate_c > 0 if relative is None else relative > tolerance
    return Increase(test, rate_b, rate_c, relative, test.low > 0 and exceeds)


@dataclass(frozen=True, slots=True)
class MannWhitney:
    u: float  # U of the candidate: pairs (candidate, baseline) with candidate larger (+ half the ties)
    z: float
    p_value: float  # one-sided: candidate values tend to be larger


def mann_whitney_greater(baseline: Sequence[float], candidate: Sequence[float]) -> MannWhitney:
    """One-sided Mann-Whitney U test that the candidate's values tend to be larger.

    Normal approximation with the tie correction of the variance and a continuity correction of
    0.5 (as ``scipy.stats.mannwhitneyu(candidate, baseline, alternative="greater",
    method="asymptotic")``). No data, or every value tied: p = 1.
    """
    n_b, n_c = len(baseline), len(candidate)
    if n_b == 0 or n_c == 0:
        return MannWhitney(0.0, 0.0, 1.0)
    pooled = sorted([(float(v), 0) for v in baseline] + [(float(v), 1) for v in candidate])
    n = n_b + n_c
    rank_sum_c = 0.0
    ties = 0.0
    i = 0
    while i < n:
        j = i
        while j + 1 < n and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        average_rank = (i + j) / 2 + 1  # ranks i+1 .. j+1
        rank_sum_c += average_rank * sum(arm for _, arm in pooled[i : j + 1])
        t = j - i + 1
        ties += t**3 - t
        i = j + 1
    u = rank_sum_c - n_c * (n_c + 1) / 2
    mean = n_b * n_c / 2
    variance = n_b * n_c / 12 * ((n + 1) - ties / (n * (n - 1))) if n > 1 else 0.0
    if variance <= 0:
        return MannWhitney(u, 0.0, 1.0)
    z = (u - mean - 0.5) / math.sqrt(variance)
    return MannWhitney(u, z, 0.5 * math.erfc(z / math.sqrt(2)))


def fixed_horizon_samples_per_arm(
    base_rate: float, mde_relative: float, confidence: float, power: float
) -> int:
    """Samples per arm of the classic two-sided test of two proportions (normal approximation)::

        n = (z_{1-alpha/2} sqrt(2 pbar (1 - pbar)) + z_{power} sqrt(p1 q1 + p2 q2))^2 / (p2 - p1)^2

    with ``p1 = base_rate``, ``p2 = base_rate (1 + mde_relative)``, ``pbar = (p1 + p2) / 2``
    (Fleiss, Statistical Methods for Rates and Proportions, without continuity correction),
    rounded up.
    """
    alpha = _alpha(confidence)
    if not 0 < power < 1:
        raise ValueError(f"power must lie in (0, 1), got {power}")
    p1 = base_rate
    p2 = base_rate * (1 + mde_relative)
    if not (0 < p1 < 1 and 0 < p2 < 1 and p1 != p2):
        raise ValueError(f"rates must lie in (0, 1) and differ: {p1:g}, {p2:g}")
    pbar = (p1 + p2) / 2
    z_alpha = _NORMAL.inv_cdf(1 - alpha / 2)
    z_power = _NORMAL.inv_cdf(power)
    root = z_alpha * math.sqrt(2 * pbar * (1 - pbar)) + z_power * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(root * root / (p2 - p1) ** 2)
