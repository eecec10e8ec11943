"""The numbers of A/B tests and the statistical canary judge (smdeploy.stats): known values,
the always-valid test's invariants, and degenerate inputs."""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist

import pytest

from smdeploy.stats import (
    Sequential,
    cs_half_width,
    fixed_horizon_samples_per_arm,
    log_mixture_ratio,
    mann_whitney_greater,
    msprt,
    msprt_means,
    msprt_rates,
    proportion_increase,
    srm_p_value,
)


def test_mixture_ratio_is_the_published_formula() -> None:
    # Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 d^2 / (2 V (V + tau^2)))  (Johari et al., eq. for mSPRT)
    d, v, tau = 0.004, 2e-6, 0.0015
    expected = math.sqrt(v / (v + tau**2)) * math.exp(tau**2 * d**2 / (2 * v * (v + tau**2)))

    assert math.exp(log_mixture_ratio(d, v, tau)) == pytest.approx(expected, rel=1e-12)
    assert msprt(d, v, tau, confidence=0.95).p_value == pytest.approx(1 / expected, rel=1e-12)


def test_confidence_sequence_is_the_published_formula() -> None:
    v, tau, alpha = 2e-6, 0.0015, 0.05
    expected = math.sqrt(v * (v + tau**2) / tau**2 * (2 * math.log(1 / alpha) + math.log((v + tau**2) / v)))

    result = msprt(0.001, v, tau, confidence=0.95)

    assert cs_half_width(v, tau, 0.95) == pytest.approx(expected, rel=1e-12)
    assert (result.low, result.high) == pytest.approx((0.001 - expected, 0.001 + expected), rel=1e-12)


@pytest.mark.parametrize("estimate", [i * 0.0002 for i in range(-30, 31)])
def test_p_at_most_alpha_exactly_when_the_sequence_excludes_zero(estimate: float) -> None:
    result = msprt(estimate, 1e-6, 0.002, confidence=0.95)

    assert (result.p_value <= 0.05) == result.excludes_zero


def test_p_value_is_a_running_minimum() -> None:
    strong = msprt(0.012, 1e-5, 0.005, confidence=0.95)
    weaker = msprt(0.002, 1e-5, 0.005, confidence=0.95, previous_p=strong.p_value)

    assert strong.p_value < 0.05
    assert weaker.p_value == strong.p_value
    assert msprt(0.0, 1e-5, 0.005, confidence=0.95).p_value == 1.0  # never above 1


def test_rates_use_the_binomial_variance_of_each_arm() -> None:
    result = msprt_rates(300, 10_000, 360, 12_000, tau=0.003, confidence=0.95)

    assert result.estimate == pytest.approx(0.03 - 0.03)
    assert result.variance == pytest.approx(0.03 * 0.97 / 10_000 + 0.03 * 0.97 / 12_000)


def test_means_use_the_sample_variance_of_each_arm() -> None:
    baseline, candidate = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0]

    result = msprt_means(baseline, candidate, tau=1.0, confidence=0.95)

    assert result.estimate == pytest.approx(4.0 - 2.5)
    assert result.variance == pytest.approx((5 / 3) / 4 + 4.0 / 3)


@pytest.mark.parametrize(
    ("name", "result"),
    [
        ("empty baseline", lambda: msprt_rates(0, 0, 5, 100, tau=0.01, confidence=0.95, previous_p=0.3)),
        (
            "no successes anywhere",
            lambda: msprt_rates(0, 500, 0, 500, tau=0.01, confidence=0.95, previous_p=0.3),
        ),
        ("all successes", lambda: msprt_rates(500, 500, 400, 400, tau=0.01, confidence=0.95, previous_p=0.3)),
        ("tau zero", lambda: msprt_rates(10, 500, 20, 500, tau=0.0, confidence=0.95, previous_p=0.3)),
        (
            "constant values",
            lambda: msprt_means([5.0] * 10, [5.0] * 10, tau=1, confidence=0.95, previous_p=0.3),
        ),
        ("one value", lambda: msprt_means([5.0], [6.0, 7.0], tau=1.0, confidence=0.95, previous_p=0.3)),
        ("no values", lambda: msprt_means([], [6.0, 7.0], tau=1.0, confidence=0.95, previous_p=0.3)),
        ("zero variance", lambda: msprt(0.5, 0.0, 1.0, confidence=0.95, previous_p=0.3)),
    ],
)
def test_degenerate_inputs_keep_the_previous_p_and_an_infinite_interval(
    name: str, result: Callable[[], Sequential]
) -> None:
    found = result()

    assert found.degenerate, name
    assert found.p_value == 0.3
    assert (found.low, found.high) == (-math.inf, math.inf)


def test_a_rate_above_one_is_refused() -> None:
    with pytest.raises(ValueError, match="successes <= n"):
        msprt_rates(11, 10, 1, 10, tau=0.1, confidence=0.95)


def test_srm_p_value_of_a_known_count() -> None:
    # 4900 / 5100 against 50 %: chi2 = 2 * 100^2 / 5000 = 4 = Z^2, p = 2 (1 - Phi(2)) = 0.0455003
    assert srm_p_value(4900, 5100, 0.5) == pytest.approx(2 * (1 - NormalDist().cdf(2.0)), rel=1e-9)
    assert srm_p_value(4900, 5100, 0.5) == pytest.approx(0.0455003, abs=1e-7)


def test_srm_p_value_is_one_for_the_configured_split_and_empty_arms() -> None:
    assert srm_p_value(9000, 1000, 0.1) == 1.0
    assert srm_p_value(0, 0, 0.1) == 1.0


def test_srm_p_value_of_a_lopsided_split_is_tiny() -> None:
    # 10 % configured, 12 % observed out of 100,000: chi2 = 2000^2 / (100000 * 0.09) = 444
    assert srm_p_value(88_000, 12_000, 0.1) < 1e-90


def test_mann_whitney_against_a_hand_computed_case_with_ties() -> None:
    # pooled: 1b 2b 2b 2c 3b 3c 4c 5c -> candidate ranks 3 + 5.5 + 7 + 8 = 23.5, U = 23.5 - 10 = 13.5
    # var = 4*4/12 * (9 - (3^3-3 + 2^3-2) / (8*7)) = 79/7; z = (13.5 - 8 - 0.5) / sqrt(79/7)
    result = mann_whitney_greater([1, 2, 2, 3], [2, 3, 4, 5])

    z = 5 / math.sqrt(79 / 7)
    assert result.u == 13.5
    assert result.z == pytest.approx(z)
    assert result.p_value == pytest.approx(1 - NormalDist().cdf(z))
    assert result.p_value == pytest.approx(0.06833, abs=1e-5)


def test_mann_whitney_is_one_sided() -> None:
    low, high = [float(v) for v in range(10)], [float(v) for v in range(20, 30)]

    assert mann_whitney_greater(low, high).p_value < 0.001
    assert mann_whitney_greater(high, low).p_value > 0.999


@pytest.mark.parametrize(("baseline", "candidate"), [([], [1.0]), ([3.0, 3.0], [3.0, 3.0, 3.0])])
def test_mann_whitney_without_information_gives_p_one(baseline: list[float], candidate: list[float]) -> None:
    assert mann_whitney_greater(baseline, candidate).p_value == 1.0


def test_fixed_horizon_sample_size_of_the_textbook_case() -> None:
    # p1 = 0.10, p2 = 0.11, two-sided 95 %, power 80 %:
    # (1.959964 sqrt(2 * 0.105 * 0.895) + 0.841621 sqrt(0.09 + 0.0979))^2 / 0.01^2 = 14750.6 -> 14751
    by_hand = (1.959964 * math.sqrt(2 * 0.105 * 0.895) + 0.841621 * math.sqrt(0.09 + 0.0979)) ** 2 / 0.01**2

    assert math.ceil(by_hand) == 14751
    assert fixed_horizon_samples_per_arm(0.10, 0.10, 0.95, 0.80) == 14751


def test_fixed_horizon_sample_size_refuses_impossible_rates() -> None:
    with pytest.raises(ValueError, match="rates"):
        fixed_horizon_samples_per_arm(0.6, 1.0, 0.95, 0.8)


def test_proportion_increase_is_worse_when_significant_and_beyond_tolerance() -> None:
    found = proportion_increase(10, 10_000, 80, 10_000, confidence=0.95, tolerance=0.1)

    assert found.test.low > 0
    assert found.relative == pytest.approx(7.0)
    assert found.worse


def test_proportion_increase_within_tolerance_is_not_worse_even_if_significant() -> None:
    # 1.00 % against 1.05 % over ten million requests each: z ~ 11, but only +5 %
    found = proportion_increase(100_000, 10_000_000, 105_000, 10_000_000, confidence=0.95, tolerance=0.1)

    assert found.test.low > 0
    assert not found.worse


def test_proportion_decrease_is_not_worse() -> None:
    found = proportion_increase(80, 10_000, 10, 10_000, confidence=0.95, tolerance=0.1)

    assert found.test.high < 0
    assert not found.worse


def test_errors_over_a_clean_baseline_are_worse() -> None:
    found = proportion_increase(0, 5_000, 40, 5_000, confidence=0.95, tolerance=0.1)

    assert found.relative is None
    assert found.worse


def test_every_candidate_request_failing_against_none_is_worse_without_a_variance() -> None:
    found = proportion_increase(0, 200, 200, 200, confidence=0.95, tolerance=0.1, previous_p=0.5)

    assert found.test.degenerate
    assert found.test.p_value == 0.5
    assert found.worse


def test_no_errors_anywhere_is_not_worse() -> None:
    found = proportion_increase(0, 5_000, 0, 5_000, confidence=0.95, tolerance=0.1)

    assert found.test.degenerate
    assert not found.worse
