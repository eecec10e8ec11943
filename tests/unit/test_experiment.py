"""A/B test decisions (smdeploy.experiment.evaluate) and the statistical canary judge
(judge_metrics): each decision rule, the carried state, degenerate inputs, and the false-positive
rate of repeated looks."""

from __future__ import annotations

import itertools
import json
import math
import random
from typing import Any

import pytest
from pydantic import ValidationError

from smdeploy.experiment import (
    Arm,
    ExperimentSettings,
    ExperimentState,
    MetricVerdict,
    evaluate,
    judge_metrics,
    min_latency_minutes,
)


def settings(**overrides: Any) -> ExperimentSettings:
    keys: dict[str, Any] = {
        "metric": "Conversion",
        "kind": "rate",
        "goal": "maximize",
        "confidence": 0.95,
        "minimumDetectableEffect": 0.05,
        "splitPercent": 50,
        "minSamples": 100,
    }
    return ExperimentSettings(**{**keys, **overrides})


def rate(samples: float, successes: float) -> Arm:
    return Arm(samples=samples, total=successes)


# --- evaluate: the decision rules, in their order ---------------------------------------------


def test_sample_ratio_mismatch_is_invalid_and_says_observed_and_configured_shares() -> None:
    # 50 % configured, 10,600 of 20,600 observed: chi2 = 300^2 / 5150 = 17.5, p = 3e-5
    state = evaluate(settings(), rate(10_000, 300), rate(10_600, 318), None, deadline=False)

    assert state.decision == "INVALID"
    assert state.srmPValue is not None and state.srmPValue < 0.001
    assert "candidate 51.5%" in state.summary and "configured 50%" in state.summary


def test_sample_ratio_mismatch_comes_before_a_winner() -> None:
    state = evaluate(settings(), rate(10_000, 100), rate(11_000, 1_100), None, deadline=False)

    assert state.decision == "INVALID"


def test_sample_ratio_is_not_judged_before_both_arms_have_min_samples() -> None:
    state = evaluate(settings(minSamples=100), rate(500, 10), rate(60, 2), None, deadline=False)

    assert state.decision == "CONTINUE"
    assert state.srmPValue is None


def test_mean_metrics_have_no_sample_ratio_check() -> None:
    # one value a minute in each arm whatever the split: counting values says nothing about it
    values = [float(v % 7) for v in range(30)]
    state = evaluate(
        settings(kind="mean", goal="minimize", splitPercent=10, minSamples=5),
        Arm(values=values),
        Arm(values=values),
        None,
        deadline=False,
    )

    assert state.decision != "INVALID"
    assert state.srmPValue is None


def test_too_few_samples_continue() -> None:
    state = evaluate(settings(minSamples=1000), rate(999, 10), rate(5000, 400), None, deadline=False)

    assert state.decision == "CONTINUE"
    assert state.pValue == 1.0
    assert "need 1000 per arm" in state.summary


def test_too_few_samples_at_the_deadline_is_no_difference() -> None:
    state = evaluate(settings(minSamples=1000), rate(999, 10), rate(999, 90), None, deadline=True)

    assert state.decision == "NO_DIFFERENCE"
    assert "too few samples" in state.summary


def test_significantly_better_candidate_wins() -> None:
    state = evaluate(settings(), rate(60_000, 1_860), rate(60_000, 2_100), None, deadline=False)

    assert state.decision == "CANDIDATE_WINS"
    assert state.pValue <= 0.05
    assert state.ciLow is not None and state.ciLow > 0


def test_significantly_worse_candidate_loses_to_the_baseline() -> None:
    state = evaluate(settings(), rate(60_000, 2_100), rate(60_000, 1_860), None, deadline=False)

    assert state.decision == "BASELINE_WINS"


def test_lower_is_better_when_the_goal_is_minimize() -> None:
    state = evaluate(
        settings(metric="errorRate", goal="minimize"),
        rate(60_000, 2_100),
        rate(60_000, 1_860),
        None,
        deadline=False,
    )

    assert state.decision == "CANDIDATE_WINS"


def test_confidence_sequence_inside_the_mde_stops_for_futility() -> None:
    # 10 % conversion, 2M per arm each, equal: the CS is about +-1.5 % of the baseline, the MDE 5 %
    state = evaluate(settings(), rate(2_000_000, 200_000), rate(2_000_000, 200_100), None, deadline=False)

    assert state.decision == "NO_DIFFERENCE"
    assert state.relCiLow is not None and state.relCiHigh is not None
    assert state.relCiLow > -0.05 and state.relCiHigh < 0.05
    assert "within the MDE" in state.summary


def test_an_open_question_continues_before_the_deadline() -> None:
    state = evaluate(settings(), rate(20_000, 600), rate(20_000, 630), None, deadline=False)

    assert state.decision == "CONTINUE"
    assert state.ciLow is not None and state.ciLow < 0 < state.ciHigh  # type: ignore[operator]


def test_an_open_question_at_the_deadline_is_no_difference() -> None:
    state = evaluate(settings(), rate(20_000, 600), rate(20_000, 630), None, deadline=True)

    assert state.decision == "NO_DIFFERENCE"
    assert "deadline" in state.summary


def test_a_decided_state_stays_decided() -> None:
    won = evaluate(settings(), rate(60_000, 1_860), rate(60_000, 2_100), None, deadline=False)

    again = evaluate(settings(), rate(120_000, 4_000), rate(120_000, 3_000), won, deadline=True)

    assert again == won.model_copy(update={"looks": won.looks + 1})


def test_means_decide_on_per_period_values() -> None:
    baseline = [300.0 + (v % 5) for v in range(30)]
    candidate = [250.0 + (v % 5) for v in range(30)]

    state = evaluate(
        settings(metric="latencyP99", kind="mean", goal="minimize", minSamples=5),
        Arm(values=baseline),
        Arm(values=candidate),
        None,
        deadline=False,
    )

    assert state.decision == "CANDIDATE_WINS"
    assert state.baselineSamples == 30
    assert state.effect == pytest.approx(-50.0)


# --- evaluate: the carried state -------------------------------------------------------------


def test_running_p_value_and_sequence_only_tighten_over_looks() -> None:
    # evidence that fades: +12 % at first, then the arms converge
    looks = [
        ((20_000, 600), (20_000, 672)),
        ((40_000, 1_200), (40_000, 1_290)),
        ((80_000, 2_400), (80_000, 2_420)),
    ]
    state: ExperimentState | None = None
    seen = []
    for (n_b, x_b), (n_c, x_c) in looks:
        state = evaluate(settings(), rate(n_b, x_b), rate(n_c, x_c), state, deadline=False)
        seen.append(state)

    assert [s.looks for s in seen] == [1, 2, 3]
    assert all(later.pValue <= earlier.pValue for earlier, later in itertools.pairwise(seen))
    assert seen[-1].pValue < 1.0
    assert all(later.ciLow >= earlier.ciLow for earlier, later in itertools.pairwise(seen))  # type: ignore[operator]
    assert all(later.ciHigh <= earlier.ciHigh for earlier, later in itertools.pairwise(seen))  # type: ignore[operator]
    # the last look alone says less: its p is higher and its sequence reaches lower
    alone = evaluate(settings(), rate(80_000, 2_400), rate(80_000, 2_420), None, deadline=False)
    assert alone.pValue > seen[-1].pValue
    assert alone.ciLow is not None and alone.ciLow < seen[-1].ciLow  # type: ignore[operator]


def test_state_survives_a_json_round_trip() -> None:
    state = evaluate(settings(), rate(20_000, 600), rate(20_000, 660), None, deadline=False)

    text = json.dumps(state.model_dump(mode="json"))

    assert ExperimentState.model_validate(json.loads(text)) == state
    assert "Infinity" not in text and "NaN" not in text


def test_summary_reads_as_one_line_of_a_timeline() -> None:
    state = evaluate(settings(), rate(4_200, 130), rate(4_210, 144), None, deadline=False)

    assert state.summary == (
        "look 1: Conversion 3.10% vs 3.42% (+10.5%, 95% CS [-73.0%, +94.0%]), p=1, n=4200/4210: CONTINUE"
    )


@pytest.mark.parametrize(
    ("baseline", "candidate"),
    [
        (rate(5_000, 0), rate(5_000, 0)),  # no conversions anywhere
        (rate(5_000, 5_000), rate(5_000, 5_000)),  # all of them
    ],
)
def test_degenerate_rates_continue_without_an_interval(baseline: Arm, candidate: Arm) -> None:
    state = evaluate(settings(), baseline, candidate, None, deadline=False)

    assert state.decision == "CONTINUE"
    assert (state.ciLow, state.ciHigh, state.pValue) == (None, None, 1.0)


def test_constant_values_continue_without_an_interval() -> None:
    state = evaluate(
        settings(kind="mean", minSamples=5),
        Arm(values=[7.0] * 10),
        Arm(values=[7.0] * 10),
        None,
        deadline=False,
    )

    assert state.decision == "CONTINUE"
    assert state.ciLow is None


def test_empty_arms_continue() -> None:
    state = evaluate(settings(minSamples=0), Arm(), Arm(), None, deadline=False)

    assert state.decision == "CONTINUE"
    assert state.baselineEstimate is None


@pytest.mark.parametrize(
    "bad", [{"confidence": 1.0}, {"splitPercent": 0}, {"minimumDetectableEffect": 0}, {"kind": "median"}]
)
def test_settings_out_of_range_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        settings(**bad)


def test_false_positives_at_effect_zero_stay_below_alpha_over_many_looks() -> None:
    # 300 A/B tests of identical arms (10 %), 30 looks of 2,000 requests per arm each; binomial
    # counts by their normal approximation. The naive z-test on the same looks shows what the
    # sequential test protects against.
    rng = random.Random(7)
    runs, looks, per_look, p = 300, 30, 2_000, 0.10
    sd = math.sqrt(per_look * p * (1 - p))
    sequential = naive = 0
    for _ in range(runs):
        state: ExperimentState | None = None
        x_b = x_c = 0
        naive_hit = False
        for k in range(1, looks + 1):
            x_b += round(per_look * p + sd * rng.gauss(0, 1))
            x_c += round(per_look * p + sd * rng.gauss(0, 1))
            n = k * per_look
            if state is None or state.decision == "CONTINUE":
                state = evaluate(settings(), rate(n, x_b), rate(n, x_c), state, deadline=k == looks)
            rb, rc = x_b / n, x_c / n
            naive_hit = naive_hit or abs(rc - rb) / math.sqrt((rb * (1 - rb) + rc * (1 - rc)) / n) > 1.96
        assert state is not None
        sequential += state.decision in ("CANDIDATE_WINS", "BASELINE_WINS")
        naive += naive_hit

    assert sequential / runs <= 0.05
    assert naive / runs > 0.10


# --- judge_metrics: the statistical canary judge -----------------------------------------------


def judge(metrics: dict[str, tuple[Arm, Arm]], **keys: Any) -> tuple[list[MetricVerdict], dict[str, float]]:
    return judge_metrics(metrics, **{"confidence": 0.95, "minSamples": 100, **keys})


def test_error_rate_worse_when_significantly_higher_beyond_tolerance() -> None:
    verdicts, carried = judge({"errorRate": (rate(10_000, 10), rate(10_000, 80))})

    (verdict,) = verdicts
    assert verdict.status == "WORSE"
    assert verdict.ciLow is not None and verdict.ciLow > 0
    assert verdict.reason.startswith("errorRate: candidate 0.80% vs baseline 0.10% (+0.70 pts, 95% CS [+")
    assert verdict.reason.endswith(": WORSE")
    assert carried == {"errorRate": verdict.pValue}


def test_error_rate_increase_within_tolerance_is_ok() -> None:
    verdicts, _ = judge({"errorRate": (rate(10_000_000, 100_000), rate(10_000_000, 105_000))})

    assert verdicts[0].status == "OK"
    assert "within the 10% tolerance" in verdicts[0].reason


def test_error_rate_below_min_samples_is_too_few() -> None:
    verdicts, _ = judge({"errorRate": (rate(5_000, 0), rate(99, 50))})

    assert verdicts[0].status == "TOO_FEW"


def test_error_rate_p_value_is_carried_as_a_running_minimum() -> None:
    verdicts, carried = judge(
        {"errorRate": (rate(10_000, 50), rate(10_000, 50))}, previous={"errorRate": 0.001}
    )

    assert verdicts[0].pValue == 0.001
    assert carried["errorRate"] == 0.001


def test_every_candidate_request_failing_is_worse() -> None:
    verdicts, _ = judge({"errorRate": (rate(500, 0), rate(200, 200))})

    assert verdicts[0].status == "WORSE"


def test_latency_worse_when_stochastically_larger_beyond_tolerance() -> None:
    baseline = [300.0 + v for v in range(10)]
    candidate = [400.0 + v for v in range(10)]

    verdicts, carried = judge({"latencyP99": (Arm(values=baseline), Arm(values=candidate))})

    assert verdicts[0].status == "WORSE"
    assert verdicts[0].relativeEffect == pytest.approx(100 / 304.5)
    assert "latencyP99" not in carried  # a fixed-sample test: nothing to carry


def test_latency_increase_within_tolerance_is_ok() -> None:
    baseline = [300.0 + v for v in range(10)]
    candidate = [315.0 + v for v in range(10)]  # +5 %, every minute slower

    verdicts, _ = judge({"latencyP50": (Arm(values=baseline), Arm(values=candidate))})

    assert verdicts[0].pValue is not None and verdicts[0].pValue < 0.05
    assert verdicts[0].status == "OK"


def test_latency_faster_candidate_is_ok() -> None:
    verdicts, _ = judge(
        {"latencyP99": (Arm(values=[400.0 + v for v in range(10)]), Arm(values=[300.0] * 10))}
    )

    assert verdicts[0].status == "OK"


@pytest.mark.parametrize(("min_samples", "minutes"), [(100, 5), (499, 5), (1000, 10), (3000, 30)])
def test_latency_needs_max_5_or_min_samples_over_100_minutes(min_samples: int, minutes: int) -> None:
    short = Arm(values=[300.0] * (minutes - 1))
    enough = Arm(values=[300.0] * minutes)

    too_few, _ = judge({"latencyP99": (enough, short)}, minSamples=min_samples)
    ok, _ = judge({"latencyP99": (enough, enough)}, minSamples=min_samples)

    assert min_latency_minutes(min_samples) == minutes
    assert too_few[0].status == "TOO_FEW"
    assert ok[0].status == "OK"


def test_unknown_canary_metric_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown canary metric"):
        judge({"throughput": (Arm(), Arm())})
