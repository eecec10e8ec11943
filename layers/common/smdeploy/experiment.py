"""A/B test decisions and the statistical canary judge (pure domain: numbers in, decisions out).

:func:`evaluate` is one look of an A/B test on cumulative per-arm data since the test began; the
state it returns goes into the next look. The test is the always-valid mSPRT of
:mod:`smdeploy.stats`, so looking at every check costs no false positives:

- the mixing standard deviation ``tau`` is the minimum detectable effect in absolute units,
  ``minimumDetectableEffect x |baseline estimate|`` (the pooled estimate of both arms when the
  baseline's is 0). Near-optimal: the mSPRT boundary at information ``1/V`` is lowest for
  ``tau^2 ~ 8 V`` (alpha = 0.05), and ``tau^2 = MDE^2`` puts that optimum at ``V = MDE^2 / 8``,
  about the samples a fixed-horizon test of 80 % power needs (``V = MDE^2 / 7.85``). ``tau``
  follows the baseline estimate from look to look; after ``minSamples`` that estimate moves
  little, and ``bench/bench_ab.py`` measures the false-positive rate that results.
- looks before both arms have ``minSamples`` do not enter the running p-value (the normal
  approximation is poor there; skipping looks keeps the guarantee).
- the confidence sequence is intersected from look to look (still valid, only narrower), and is
  the one on the absolute effect; its relative form divides by the current baseline estimate
  (the baseline's own uncertainty is not in it).
- the sample-ratio mismatch check needs counts that follow the split: rate metrics (requests).
  Mean metrics count per-period values (minutes), the same in both arms whatever the split: no
  SRM check for them.

:func:`judge_metrics` is the statistical canary judge: an error rate read one-sidedly with the
same mSPRT, and latency percentiles compared with a one-sided Mann-Whitney U test.
"""

from __future__ import annotations

import statistics
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from smdeploy import stats

ExperimentDecision = Literal["CONTINUE", "CANDIDATE_WINS", "BASELINE_WINS", "NO_DIFFERENCE", "INVALID"]

# The statistical canary judge needs this many per-minute values per arm for a latency verdict
# (a minute of latency percentiles stands for ~100 requests of the rate checks' minSamples).
MIN_LATENCY_MINUTES = 5


class Arm(BaseModel):
    """What one variant showed since the test began (cumulative)."""

    model_config = ConfigDict(allow_inf_nan=False)

    samples: float = Field(default=0.0, ge=0)  # rates: SampleCount (requests); means: number of values
    total: float = Field(default=0.0, ge=0)  # rates: Sum (successes)
    values: list[float] = Field(default_factory=list)  # means: per-period values (p99 per minute...)


class ExperimentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    metric: str  # a label: "Conversion", "errorRate", "latencyP99"
    kind: Literal["rate", "mean"]
    goal: Literal["maximize", "minimize"]
    confidence: float = Field(gt=0.5, lt=1)
    minimumDetectableEffect: float = Field(gt=0)  # relative: 0.05 = 5 %
    splitPercent: float = Field(gt=0, lt=100)  # the candidate's configured share of traffic
    minSamples: int = Field(default=100, ge=0)  # per arm before any decision
    srmPValue: float = Field(default=0.001, gt=0, lt=1)  # below: a sample-ratio mismatch


class ExperimentState(BaseModel):
    """Carried from one look to the next (JSON in Step Functions)."""

    looks: int = 0
    pValue: float = 1.0  # always-valid p-value (running minimum)
    decision: ExperimentDecision = "CONTINUE"
    baselineSamples: float = 0
    candidateSamples: float = 0
    baselineEstimate: float | None = None
    candidateEstimate: float | None = None
    effect: float | None = None  # candidate - baseline, absolute
    relativeEffect: float | None = None  # effect / |baseline estimate|
    ciLow: float | None = None  # confidence sequence on the absolute effect
    ciHigh: float | None = None
    relCiLow: float | None = None  # the same relative to |baseline estimate|
    relCiHigh: float | None = None
    srmPValue: float | None = None
    test: str = ""
    summary: str = ""  # one line for a timeline


def _pct(value: float, digits: int = 1, *, sign: bool = False) -> str:
    return f"{value * 100:{'+' if sign else ''}.{digits}f}%"


def _level(confidence: float) -> str:
    return f"{confidence * 100:g}%"


def _p(value: float) -> str:
    return f"{value:.2g}"


class _Look:
    """The numbers of one look, before the decision."""

    def __init__(self, settings: ExperimentSettings, baseline: Arm, candidate: Arm) -> None:
        self.settings = settings
        if settings.kind == "rate":
            self.n_b, self.n_c = baseline.samples, candidate.samples
            self.est_b = baseline.total / baseline.samples if baseline.samples > 0 else None
            self.est_c = candidate.total / candidate.samples if candidate.samples > 0 else None
            pooled_n = baseline.samples + candidate.samples
            self.pooled = (baseline.total + candidate.total) / pooled_n if pooled_n > 0 else None
        else:
            self.n_b, self.n_c = float(len(baseline.values)), float(len(candidate.values))
            self.est_b = statistics.fmean(baseline.values) if baseline.values else None
            self.est_c = statistics.fmean(candidate.values) if candidate.values else None
            everything = baseline.values + candidate.values
            self.pooled = statistics.fmean(everything) if everything else None
        self.effect = self.est_c - self.est_b if self.est_b is not None and self.est_c is not None else None
        self.scale = abs(self.est_b) if self.est_b else None  # the denominator of relative figures

    def tau(self) -> float:
        reference = self.scale or abs(self.pooled or 0.0)
        return self.settings.minimumDetectableEffect * reference

    def value(self, estimate: float | None) -> str:
        if estimate is None:
            return "-"
        return _pct(estimate, 2) if self.settings.kind == "rate" else f"{estimate:.4g}"

    def relative(self, absolute: float | None) -> float | None:
        return absolute / self.scale if absolute is not None and self.scale else None


def evaluate(
    settings: ExperimentSettings,
    baseline: Arm,
    candidate: Arm,
    previous: ExperimentState | None,
    *,
    deadline: bool,
) -> ExperimentState:
    """One look of the A/B test on cumulative arms; ``deadline`` is the last look.

    In order: (1) a sample-ratio mismatch once both arms have ``minSamples`` -> INVALID;
    (2) fewer than ``minSamples`` in an arm -> CONTINUE (NO_DIFFERENCE at the deadline);
    (3) always-valid p <= alpha -> the better arm by ``goal`` wins; (4) the confidence sequence
    inside +-MDE of the baseline -> NO_DIFFERENCE (futility); (5) the deadline -> NO_DIFFERENCE.
    A decided state stays decided (only ``looks`` counts on).
    """
    prior = previous or ExperimentState()
    looks = prior.looks + 1
    if prior.decision != "CONTINUE":
        return prior.model_copy(update={"looks": looks})
    alpha = 1 - settings.confidence
    look = _Look(settings, baseline, candidate)
    is_rate = settings.kind == "rate"
    test = f"mSPRT (always-valid, normal mixture, tau = MDE x baseline, {_level(settings.confidence)}); " + (
        "SRM chi-square" if is_rate else "no SRM check (per-period values)"
    )
    state = ExperimentState(
        looks=looks,
        pValue=prior.pValue,
        baselineSamples=look.n_b,
        candidateSamples=look.n_c,
        baselineEstimate=look.est_b,
        candidateEstimate=look.est_c,
        effect=look.effect,
        relativeEffect=look.relative(look.effect),
        ciLow=prior.ciLow,
        ciHigh=prior.ciHigh,
        srmPValue=prior.srmPValue,
        test=test,
    )
    head = f"look {looks}: {settings.metric}"
    counts = f"n={look.n_b:.0f}/{look.n_c:.0f}"
    enough = look.n_b >= settings.minSamples and look.n_c >= settings.minSamples

    # (1) sample-ratio mismatch
    if enough and is_rate:
        share = settings.splitPercent / 100
        srm = stats.srm_p_value(look.n_b, look.n_c, share)
        state.srmPValue = srm
        if srm < settings.srmPValue:
            observed = look.n_c / (look.n_b + look.n_c)
            return _decided(
                state,
                "INVALID",
                f"{head}: sample-ratio mismatch: candidate {_pct(observed)} of {look.n_b + look.n_c:.0f} "
                f"samples, configured {settings.splitPercent:g}% (SRM p={_p(srm)} < {settings.srmPValue:g})",
            )
    # (2) too few samples
    if not enough:
        line = (
            f"{head} {look.value(look.est_b)} vs {look.value(look.est_c)}, {counts} "
            f"(need {settings.minSamples} per arm)"
        )
        if deadline:
            return _decided(state, "NO_DIFFERENCE", f"{line}: NO_DIFFERENCE (deadline with too few samples)")
        state.summary = f"{line}: CONTINUE"
        return state

    if is_rate:
        result = stats.msprt_rates(
            baseline.total,
            baseline.samples,
            candidate.total,
            candidate.samples,
            tau=look.tau(),
            confidence=settings.confidence,
            previous_p=prior.pValue,
        )
    else:
        result = stats.msprt_means(
            baseline.values,
            candidate.values,
            tau=look.tau(),
            confidence=settings.confidence,
            previous_p=prior.pValue,
        )
    state.pValue = result.p_value
    if not result.degenerate:
        low = result.low if prior.ciLow is None else max(prior.ciLow, result.low)
        high = result.high if prior.ciHigh is None else min(prior.ciHigh, result.high)
        if low > high:  # cannot happen without p <= alpha; keep the current sequence if it does
            low, high = result.low, result.high
        state.ciLow, state.ciHigh = low, high
    state.relCiLow, state.relCiHigh = look.relative(state.ciLow), look.relative(state.ciHigh)
    line = f"{head} {look.value(look.est_b)} vs {look.value(look.est_c)}"
    if state.relativeEffect is not None:
        line += f" ({_pct(state.relativeEffect, sign=True)}"
        if state.relCiLow is not None and state.relCiHigh is not None:
            line += (
                f", {_level(settings.confidence)} CS "
                f"[{_pct(state.relCiLow, sign=True)}, {_pct(state.relCiHigh, sign=True)}]"
            )
        line += ")"
    line += f", p={_p(state.pValue)}, {counts}"

    # (3) a winner
    if state.pValue <= alpha and look.effect is not None and look.effect != 0:
        candidate_better = (look.effect > 0) == (settings.goal == "maximize")
        decision: ExperimentDecision = "CANDIDATE_WINS" if candidate_better else "BASELINE_WINS"
        return _decided(state, decision, f"{line}: {decision}")
    # (4) futility: no difference as large as the MDE
    mde = look.scale * settings.minimumDetectableEffect if look.scale else None
    inside = (
        mde is not None
        and state.ciLow is not None
        and state.ciHigh is not None
        and -mde < state.ciLow
        and state.ciHigh < mde
    )
    if inside:
        return _decided(
            state,
            "NO_DIFFERENCE",
            f"{line}: NO_DIFFERENCE (the CS lies within the MDE, "
            f"+-{settings.minimumDetectableEffect * 100:g}%)",
        )
    # (5) the deadline
    if deadline:
        return _decided(state, "NO_DIFFERENCE", f"{line}: NO_DIFFERENCE (deadline without a decision)")
    state.summary = f"{line}: CONTINUE"
    return state


def _decided(state: ExperimentState, decision: ExperimentDecision, summary: str) -> ExperimentState:
    state.decision = decision
    state.summary = summary
    return state


# --- the statistical canary judge -------------------------------------------------------------


class MetricVerdict(BaseModel):
    metric: str
    status: Literal["WORSE", "OK", "TOO_FEW"]
    effect: float | None  # candidate - baseline (rate: absolute; latency: median ms)
    relativeEffect: float | None
    pValue: float | None
    ciLow: float | None
    ciHigh: float | None
    samples: tuple[float, float]  # (baseline, candidate): requests, or minutes of latency values
    reason: str


def min_latency_minutes(min_samples: int) -> int:
    """Per-minute latency values each arm needs: ``max(5, minSamples // 100)`` (a minute's
    percentile summarizes many requests; 5 values are the least a rank test can read)."""
    return max(MIN_LATENCY_MINUTES, min_samples // 100)


def judge_metrics(
    metrics: dict[str, tuple[Arm, Arm]],
    *,
    confidence: float,
    minSamples: int,
    tolerance: float = 0.1,
    previous: dict[str, float] | None = None,
) -> tuple[list[MetricVerdict], dict[str, float]]:
    """Compare the candidate with the baseline on each metric: ``{name: (baseline, candidate)}``.

    - ``errorRate`` (total = 5XX errors, samples = requests): the mSPRT read one-sidedly
      (:func:`smdeploy.stats.proportion_increase`): WORSE when the confidence sequence lies above 0
      and the relative increase exceeds ``tolerance``. Its always-valid p is a running minimum,
      returned to be passed back as ``previous``. TOO_FEW below ``minSamples`` requests per arm.
    - ``latency*`` (per-minute percentile values in ms): one-sided Mann-Whitney U, WORSE when
      p < alpha and the candidate's median is more than ``tolerance`` above the baseline's.
      TOO_FEW below :func:`min_latency_minutes`. A fixed-sample test: its p is per look and not
      carried (a running minimum of it would only add false alarms); the tolerance on the median
      keeps noise from repeated looks from rolling back a healthy candidate.
    """
    carried = dict(previous or {})
    alpha = 1 - confidence
    verdicts: list[MetricVerdict] = []
    for name, (baseline, candidate) in metrics.items():
        if name == "errorRate":
            verdicts.append(
                _error_rate(name, baseline, candidate, confidence, minSamples, tolerance, carried)
            )
        elif name.startswith("latency"):
            verdicts.append(_latency(name, baseline, candidate, alpha, minSamples, tolerance))
        else:
            raise ValueError(f"unknown canary metric {name!r}: errorRate, latencyP50 or latencyP99")
    return verdicts, carried


def _error_rate(
    name: str,
    baseline: Arm,
    candidate: Arm,
    confidence: float,
    min_samples: int,
    tolerance: float,
    carried: dict[str, float],
) -> MetricVerdict:
    samples = (baseline.samples, candidate.samples)
    previous_p = carried.get(name, 1.0)
    if min(samples) < min_samples or min(samples) <= 0:
        return MetricVerdict(
            metric=name,
            status="TOO_FEW",
            effect=None,
            relativeEffect=None,
            pValue=previous_p,
            ciLow=None,
            ciHigh=None,
            samples=samples,
            reason=f"{name}: {samples[0]:.0f}/{samples[1]:.0f} requests, need {min_samples} per arm: TOO_FEW",
        )
    found = stats.proportion_increase(
        baseline.total,
        baseline.samples,
        candidate.total,
        candidate.samples,
        confidence=confidence,
        tolerance=tolerance,
        previous_p=previous_p,
    )
    test = found.test
    carried[name] = test.p_value
    assert found.baseline_rate is not None and found.candidate_rate is not None
    effect = found.candidate_rate - found.baseline_rate
    line = (
        f"{name}: candidate {_pct(found.candidate_rate, 2)} vs baseline {_pct(found.baseline_rate, 2)} "
        f"({effect * 100:+.2f} pts"
    )
    if not test.degenerate:
        line += f", {_level(confidence)} CS [{test.low * 100:+.2f}, {test.high * 100:+.2f}]"
    line += f"), p={_p(test.p_value)}"
    if found.worse:
        status: Literal["WORSE", "OK"] = "WORSE"
        line += ": WORSE"
        if test.degenerate:
            line += " (every candidate request failed, none of the baseline's)"
    else:
        status = "OK"
        if test.low > 0:
            line += f": OK (increase within the {tolerance * 100:g}% tolerance)"
        else:
            line += ": OK"
    return MetricVerdict(
        metric=name,
        status=status,
        effect=effect,
        relativeEffect=found.relative,
        pValue=test.p_value,
        ciLow=None if test.degenerate else test.low,
        ciHigh=None if test.degenerate else test.high,
        samples=samples,
        reason=line,
    )


def _latency(
    name: str,
    baseline: Arm,
    candidate: Arm,
    alpha: float,
    min_samples: int,
    tolerance: float,
) -> MetricVerdict:
    samples = (float(len(baseline.values)), float(len(candidate.values)))
    need = min_latency_minutes(min_samples)
    if min(samples) < need:
        return MetricVerdict(
            metric=name,
            status="TOO_FEW",
            effect=None,
            relativeEffect=None,
            pValue=None,
            ciLow=None,
            ciHigh=None,
            samples=samples,
            reason=f"{name}: {samples[0]:.0f}/{samples[1]:.0f} minutes of values, need {need}: TOO_FEW",
        )
    median_b = statistics.median(baseline.values)
    median_c = statistics.median(candidate.values)
    effect = median_c - median_b
    relative = effect / median_b if median_b > 0 else None
    test = stats.mann_whitney_greater(baseline.values, candidate.values)
    worse = test.p_value < alpha and relative is not None and relative > tolerance
    line = (
        f"{name}: candidate median {median_c:.4g} ms vs baseline {median_b:.4g} ms"
        + (f" ({_pct(relative, sign=True)})" if relative is not None else "")
        + f", Mann-Whitney p={_p(test.p_value)} over {samples[0]:.0f}/{samples[1]:.0f} minutes"
    )
    if worse:
        line += ": WORSE"
    elif test.p_value < alpha:
        line += f": OK (increase within the {tolerance * 100:g}% tolerance)"
    else:
        line += ": OK"
    return MetricVerdict(
        metric=name,
        status="WORSE" if worse else "OK",
        effect=effect,
        relativeEffect=relative,
        pValue=test.p_value,
        ciLow=None,
        ciHigh=None,
        samples=samples,
        reason=line,
    )
