"""The drift engine (smdeploy.drift): SageMaker Model Monitor baselines parsed, data-quality drift
judged by PSI and a test together, constraint violations, two-sample comparison, and model-quality
metrics on hand-computed examples. Baselines are built here in SageMaker's JSON shapes."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np
import pytest
from scipy import stats

from smdeploy.drift import (
    HIGHER_IS_BETTER,
    Baseline,
    BaselineError,
    check_data_quality,
    check_model_quality,
    compare_samples,
    feature_drift,
    model_metric,
    parse_baseline,
    parse_quality_baseline,
    parse_rows,
    psi,
)

# --- SageMaker-shaped baselines -----------------------------------------------------------------


def numerical(name: str, mean: float, std: float, *, n: int = 10_000, sketch: bool = True) -> dict[str, Any]:
    """A normal feature as the Model Monitor container writes it: 10 equal-width KLL buckets and
    (optionally) a two-level sketch whose items are the normal's quantiles (level 1 weighs 2)."""
    low, high = mean - 4 * std, mean + 4 * std
    edges = np.linspace(low, high, 11)
    mass = np.diff(stats.norm.cdf(edges, mean, std))
    buckets = [
        {"lower_bound": float(a), "upper_bound": float(b), "count": float(round(m / mass.sum() * n))}
        for a, b, m in zip(edges[:-1], edges[1:], mass, strict=True)
    ]
    kll: dict[str, Any] = {"buckets": buckets}
    if sketch:
        level0 = stats.norm.ppf((np.arange(512) + 0.5) / 512, mean, std)
        level1 = stats.norm.ppf((np.arange(768) + 0.5) / 768, mean, std)
        kll["sketch"] = {"parameters": {"c": 0.64, "k": 2048.0}, "data": [level0.tolist(), level1.tolist()]}
    return {
        "name": name,
        "inferred_type": "Fractional",
        "numerical_statistics": {
            "common": {"num_present": n, "num_missing": 0},
            "mean": mean,
            "sum": mean * n,
            "std_dev": std,
            "min": low,
            "max": high,
            "distribution": {"kll": kll},
        },
    }


def categorical(name: str, shares: dict[str, float], *, n: int = 10_000) -> dict[str, Any]:
    return {
        "name": name,
        "inferred_type": "String",
        "string_statistics": {
            "common": {"num_present": n, "num_missing": 0},
            "distinctness": len(shares) / n,
            "distribution": {
                "categorical": {"buckets": [{"value": v, "count": round(s * n)} for v, s in shares.items()]}
            },
        },
    }


def statistics_json(*features: dict[str, Any], item_count: int = 10_000) -> dict[str, Any]:
    return {"version": 0.0, "dataset": {"item_count": item_count}, "features": list(features)}


def constraints_json(**config: Any) -> dict[str, Any]:
    monitoring = {
        "evaluate_constraints": "Enabled",
        "emit_metrics": "Enabled",
        "datatype_check_threshold": 1.0,
        "domain_content_threshold": 1.0,
        "distribution_constraints": {
            "perform_comparison": "Enabled",
            "comparison_threshold": 0.1,
            "comparison_method": "Robust",
            "categorical_comparison_threshold": 0.1,
            "categorical_drift_method": "LInfinity",
        },
    }
    monitoring.update(config)
    return {
        "version": 0.0,
        "features": [
            {
                "name": "age",
                "inferred_type": "Fractional",
                "completeness": 1.0,
                "num_constraints": {"is_non_negative": True},
            },
            {
                "name": "plan",
                "inferred_type": "String",
                "completeness": 1.0,
                "string_constraints": {"domains": ["a", "b"]},
            },
        ],
        "monitoring_config": monitoring,
    }


def churn(**config: Any) -> Baseline:
    """age ~ N(40, 12) with a sketch, plan a 60 % / b 40 %, and their constraints."""
    return parse_baseline(
        statistics_json(numerical("age", 40, 12), categorical("plan", {"a": 0.6, "b": 0.4})),
        constraints_json(**config),
    )


def rows_of(
    n: int, *, seed: int = 2, age: tuple[float, float] = (40, 12), plan: tuple[float, float] = (0.6, 0.4)
) -> list[list[str | None]]:
    rng = np.random.default_rng(seed)
    ages = np.abs(rng.normal(*age, n))  # non-negative: the constraint holds
    plans = rng.choice(["a", "b"], n, p=list(plan))
    return [[f"{a:.2f}", str(p)] for a, p in zip(ages, plans, strict=True)]


# --- parsing --------------------------------------------------------------------------------------


def test_a_sketch_gives_the_baseline_cdf_and_quantiles_of_its_distribution() -> None:
    baseline = parse_baseline(statistics_json(numerical("age", 40, 12)))
    age = baseline.feature("age")

    assert (age.kind, age.inferred_type, age.mean, age.std, age.categories) == (
        "numerical",
        "Fractional",
        40,
        12,
        {},
    )
    assert age.cdf(np.array([28.0, 40.0, 52.0])) == pytest.approx([0.1587, 0.5, 0.8413], abs=0.002)
    assert age.quantile(np.array([0.1, 0.5, 0.9])) == pytest.approx([24.62, 40.0, 55.38], abs=0.05)
    assert age.cdf(np.array([-1e9, 1e9])).tolist() == [0.0, 1.0]
    assert baseline.item_count == 10_000


def test_sketch_items_weigh_two_to_the_power_of_their_level() -> None:
    feature = numerical("x", 2, 1)
    feature["numerical_statistics"].update(min=1.0, max=3.0)
    feature["numerical_statistics"]["distribution"]["kll"]["sketch"]["data"] = [[1.0, 2.0], [3.0]]

    x = parse_baseline(statistics_json(feature)).feature("x")

    # weights 1, 1, 2 (total 4); each value at its mid-rank: 0.5/4, 1.5/4, 3/4
    assert x.cdf(np.array([1.0, 2.0, 3.0])) == pytest.approx([0.125, 0.375, 0.75])


def test_without_a_sketch_the_cdf_is_linear_inside_each_bucket() -> None:
    feature = numerical("x", 15, 5, sketch=False)
    feature["numerical_statistics"]["distribution"]["kll"]["buckets"] = [
        {"lower_bound": 0.0, "upper_bound": 10.0, "count": 10},
        {"lower_bound": 10.0, "upper_bound": 20.0, "count": 30},
        {"lower_bound": 20.0, "upper_bound": 30.0, "count": 60},
    ]

    x = parse_baseline(statistics_json(feature)).feature("x")

    assert x.cdf(np.array([-1.0, 5.0, 10.0, 15.0, 25.0, 31.0])) == pytest.approx([0, 0.05, 0.1, 0.25, 0.7, 1])
    assert x.quantile(np.array([0.25, 0.7])) == pytest.approx([15.0, 25.0])


def test_a_string_feature_is_categorical_with_the_share_of_each_value() -> None:
    plan = parse_baseline(statistics_json(categorical("plan", {"a": 0.6, "b": 0.4}))).feature("plan")

    assert plan.kind == "categorical"
    assert plan.categories == pytest.approx({"a": 0.6, "b": 0.4})
    assert plan.cdf_points == () and plan.mean is None


def test_constraints_give_completeness_domain_non_negative_and_thresholds() -> None:
    baseline = churn(datatype_check_threshold=0.9, domain_content_threshold=0.95)

    assert baseline.feature("age").non_negative is True
    assert baseline.feature("age").completeness == 1.0
    assert baseline.feature("plan").domain == ("a", "b")
    assert (baseline.datatype_check_threshold, baseline.domain_content_threshold) == (0.9, 0.95)
    assert parse_baseline(statistics_json(numerical("age", 40, 12))).feature("age").non_negative is False


def _without(path: list[Any]) -> dict[str, Any]:
    statistics = statistics_json(numerical("age", 40, 12, sketch=False), categorical("plan", {"a": 1.0}))
    node: Any = statistics
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return statistics


@pytest.mark.parametrize(
    ("statistics", "message"),
    [
        (
            _without(["features", 0, "numerical_statistics"]),
            "statistics.json features[0].numerical_statistics: missing",
        ),
        (_without(["dataset"]), "statistics.json dataset: missing"),
        (
            _without(["features", 0, "numerical_statistics", "std_dev"]),
            "statistics.json features[0].numerical_statistics.std_dev: missing",
        ),
        (
            _without(["features", 0, "numerical_statistics", "distribution", "kll", "buckets"]),
            "statistics.json features[0].numerical_statistics.distribution.kll.buckets: missing",
        ),
        (
            _without(
                ["features", 1, "string_statistics", "distribution", "categorical", "buckets", 0, "count"]
            ),
            "features[1].string_statistics.distribution.categorical.buckets[0].count: missing",
        ),
    ],
)
def test_a_malformed_statistics_json_names_the_field(statistics: dict[str, Any], message: str) -> None:
    with pytest.raises(BaselineError, match=re.escape(message)):
        parse_baseline(statistics)


def test_a_feature_without_any_statistics_says_so() -> None:
    statistics = _without(["features", 0, "numerical_statistics"])
    statistics["features"][0]["inferred_type"] = "Unknown"

    with pytest.raises(
        BaselineError, match=re.escape("statistics.json features[0]: neither numerical_statistics")
    ):
        parse_baseline(statistics)


def test_a_non_numeric_mean_and_an_unknown_constrained_feature_name_their_fields() -> None:
    statistics = statistics_json(numerical("age", 40, 12), categorical("plan", {"a": 1.0}))
    statistics["features"][0]["numerical_statistics"]["mean"] = "forty"
    with pytest.raises(
        BaselineError, match=re.escape("features[0].numerical_statistics.mean: expected a number")
    ):
        parse_baseline(statistics)

    constraints = constraints_json()
    constraints["features"][1]["name"] = "region"
    good = statistics_json(numerical("age", 40, 12), categorical("plan", {"a": 1.0}))
    with pytest.raises(BaselineError, match=re.escape("constraints.json features[1].name: 'region' is not")):
        parse_baseline(good, constraints)


def test_an_unknown_feature_lookup_names_the_known_features() -> None:
    with pytest.raises(KeyError, match="known: age, plan"):
        churn().feature("tenure")


def test_parse_rows_pads_short_rows_and_reads_empty_cells_as_missing() -> None:
    rows = parse_rows(['1.5,"a,b"', "2,,x", "", "3", "4,5,6,7"], 3)

    assert rows == [["1.5", "a,b", None], ["2", None, "x"], ["3", None, None], ["4", "5", "6", "7"]]


# --- data quality: drift --------------------------------------------------------------------------


def test_a_sample_from_the_baseline_distribution_does_not_drift() -> None:
    report = check_data_quality(churn(), rows_of(2000))

    assert report.sufficient and report.drifted == () and report.violations == ()
    for feature in report.features:
        assert feature.psi is not None and feature.psi < 0.05
        assert feature.p_value is not None and feature.p_value > 0.01
    assert [f.test for f in report.features] == ["ks", "chi2"]


def test_a_mean_shift_of_one_standard_deviation_drifts() -> None:
    report = check_data_quality(churn(), rows_of(2000, age=(52, 12)))

    age = report.features[0]
    assert age.psi is not None and age.psi > 0.2
    assert age.p_value is not None and age.p_value < 1e-10
    assert age.drifted and report.drifted == ("age",)
    assert age.current_mean == pytest.approx(52, abs=1)


def test_a_categorical_shift_drifts_on_psi_and_chi_square() -> None:
    report = check_data_quality(churn(), rows_of(2000, plan=(0.2, 0.8)))

    plan = report.features[1]
    assert plan.bins == ("a", "b", "(other)")
    assert plan.current_hist == pytest.approx((0.2, 0.8, 0.0), abs=0.03)
    assert plan.psi is not None and plan.psi > 0.2 and plan.p_value is not None and plan.p_value < 1e-10
    assert report.drifted == ("plan",)


def test_a_tiny_shift_on_a_huge_sample_is_significant_but_not_material() -> None:
    report = check_data_quality(churn(), rows_of(100_000, age=(41.2, 12)), features=["age"])

    age = report.features[0]
    assert age.p_value is not None and age.p_value < 0.01  # the test alone would alarm
    assert age.psi is not None and age.psi < 0.2  # ... but the change is not material
    assert not age.drifted and report.drifted == ()


def test_a_big_shift_on_30_rows_is_insufficient_and_drifts_nothing() -> None:
    report = check_data_quality(churn(), rows_of(30, age=(80, 12)))

    assert not report.sufficient
    assert report.features[0].psi is not None and report.features[0].psi > 0.2
    assert report.drifted == ()


def test_numerical_bins_are_equal_probability_bins_of_the_baseline() -> None:
    age = check_data_quality(churn(), rows_of(2000)).features[0]

    assert len(age.bins) == 10 and age.bins[0].startswith("[-inf, 24.6") and age.bins[-1].endswith(", inf)")
    assert age.baseline_hist == pytest.approx([0.1] * 10, abs=1e-3)
    assert sum(age.current_hist) == pytest.approx(1.0)


def test_feature_drift_judges_present_values_directly() -> None:
    age = churn().feature("age")
    shifted = np.random.default_rng(3).normal(52, 12, 1200)

    assert feature_drift(age, shifted).drifted
    assert not feature_drift(age, np.random.default_rng(3).normal(40, 12, 1200)).drifted


def test_psi_is_zero_for_equal_histograms_and_matches_the_formula() -> None:
    assert psi([0.5, 0.5], [50, 50]) == 0.0
    assert psi([0.2, 0.8], [0.6, 0.4]) == pytest.approx(0.4 * math.log(3) + 0.4 * math.log(2))
    # an empty bin is floored at eps instead of dividing by zero
    assert psi([1.0, 0.0], [0.5, 0.5]) == pytest.approx(
        (0.5 - 1) * math.log(0.5 / 1) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    )


# --- data quality: constraints --------------------------------------------------------------------


def test_completeness_below_the_constraint_is_a_violation_and_the_feature_drifts() -> None:
    rows = rows_of(2000)
    for row in rows[:100]:
        row[0] = None

    report = check_data_quality(churn(), rows)

    age = report.features[0]
    assert age.missing == pytest.approx(0.05) and age.samples == 1900
    assert [v.constraint_check_type for v in age.violations] == ["completeness_check"]
    assert age.psi is not None and age.psi < 0.05  # the distribution did not move...
    assert report.drifted == ("age",)  # ... the violation alone makes it drift


def test_values_outside_the_domain_break_the_categorical_values_check() -> None:
    rows = rows_of(2000)
    for row in rows[:20]:  # 1 %
        row[1] = "c"

    strict = check_data_quality(churn(), rows)
    lenient = check_data_quality(churn(domain_content_threshold=0.98), rows)

    assert [(v.feature_name, v.constraint_check_type) for v in strict.violations] == [
        ("plan", "categorical_values_check")
    ]
    assert "'c'" in strict.violations[0].description
    assert strict.drifted == ("plan",)
    assert lenient.violations == () and lenient.drifted == ()


def test_a_negative_value_breaks_is_non_negative() -> None:
    rows = rows_of(2000)
    rows[5][0] = "-3.5"

    report = check_data_quality(churn(), rows)

    assert [(v.feature_name, v.constraint_check_type) for v in report.violations] == [
        ("age", "data_type_check")
    ]
    assert "negative" in report.violations[0].description
    assert report.drifted == ("age",)


def test_non_numeric_values_break_the_data_type_check_beyond_its_threshold() -> None:
    rows = rows_of(2000)
    for row in rows[:20]:  # 1 %
        row[0] = "unknown"

    strict = check_data_quality(churn(), rows)
    lenient = check_data_quality(churn(datatype_check_threshold=0.95), rows)

    assert [v.constraint_check_type for v in strict.violations] == ["data_type_check"]
    assert strict.features[0].samples == 1980 and strict.features[0].missing == 0.0
    assert lenient.violations == ()


def test_rows_with_fewer_or_more_columns_break_the_column_checks() -> None:
    rows: list[list[str | None]] = [list(row) for row in rows_of(2000)]
    rows[0] = ["41.0"]
    rows[1] = ["41.0", "a", "surplus"]

    report = check_data_quality(churn(), rows)

    assert [
        (v.feature_name, v.constraint_check_type)
        for v in report.violations
        if "column" in v.constraint_check_type
    ] == [
        ("plan", "missing_column_check"),
        ("_c2", "extra_column_check"),
    ]


def test_disabled_constraints_are_not_evaluated() -> None:
    rows = rows_of(2000)
    rows[5][0] = "-3.5"

    assert check_data_quality(churn(evaluate_constraints="Disabled"), rows).violations == ()


def test_a_features_subset_judges_only_those_features() -> None:
    report = check_data_quality(churn(), rows_of(2000, age=(60, 12)), features=["plan"])

    assert [f.name for f in report.features] == ["plan"]
    assert report.drifted == ()


def test_an_unknown_feature_in_the_subset_is_named() -> None:
    with pytest.raises(ValueError, match=r"'tenure' not in the baseline; known: age, plan"):
        check_data_quality(churn(), rows_of(200), features=["plan", "tenure"])


def test_the_report_is_json_ready() -> None:
    rows = rows_of(2000, age=(52, 12))
    rows[0][1] = "c"

    document = json.loads(json.dumps(check_data_quality(churn(), rows).to_dict()))

    assert document["drifted"] == ["age", "plan"]
    assert document["violations"][0]["constraint_check_type"] == "categorical_values_check"
    assert document["features"][0]["bins"][0].startswith("[-inf, ")
    assert isinstance(document["features"][0]["p_value"], float)


# --- two samples ----------------------------------------------------------------------------------


def binary(n: int, positive: float) -> list[str]:
    ones = round(n * positive)
    return ["1"] * ones + ["0"] * (n - ones)


def test_binary_predictions_at_20_and_60_percent_positive_diverge() -> None:
    result = compare_samples(binary(400, 0.2), binary(380, 0.6))

    assert result.test == "chi2" and result.diverged
    assert result.psi == pytest.approx(0.4 * math.log(3) + 0.4 * math.log(2), abs=0.005)
    assert result.p_value is not None and result.p_value < 1e-12
    assert result.describe().startswith("PSI 0.72 > 0.2, chi-square p ")
    assert result.describe().endswith("< 0.01 over 400/380 predictions")


def test_binary_predictions_at_the_same_rate_do_not_diverge() -> None:
    result = compare_samples(binary(400, 0.2), [float(v) for v in binary(380, 0.2)])

    assert result.bins == ("0", "1")  # "1" and 1.0 are one category
    assert not result.diverged and result.psi is not None and result.psi < 0.01
    assert result.p_value is not None and result.p_value > 0.5


def test_numeric_scores_use_psi_on_deciles_and_the_two_sample_ks_test() -> None:
    rng = np.random.default_rng(11)
    a = rng.beta(2, 5, 500).tolist()

    shifted = compare_samples(a, rng.beta(5, 2, 500).tolist())
    same = compare_samples(a, rng.beta(2, 5, 500).tolist())

    assert shifted.test == "ks" and len(shifted.bins) == 10
    assert shifted.diverged and shifted.ks_statistic is not None and shifted.ks_statistic > 0.5
    assert not same.diverged and same.psi is not None and same.psi < 0.2


def test_too_few_samples_are_not_tested_and_never_diverge() -> None:
    result = compare_samples(binary(30, 0.1), binary(30, 0.9))

    assert result.p_value is None and not result.diverged
    assert result.psi is not None and result.psi > 0.2
    assert "too few" in result.describe()


# --- model quality ------------------------------------------------------------------------------


def test_auc_is_the_rank_formula_with_ties_averaged() -> None:
    # positives 0.4, 0.8, 0.6 against negatives 0.1, 0.4, 0.6: 1.5 + 3 + 2.5 of 9 pairs
    labels = ["0", "0", "1", "1", "0", "1"]
    scores = ["0.1", "0.4", "0.4", "0.8", "0.6", "0.6"]

    assert model_metric("binary", "auc", scores, labels) == pytest.approx(7 / 9)


def test_auc_of_hard_predictions_is_balanced_accuracy() -> None:
    labels = ["1", "1", "0", "0", "0"]
    predictions = ["1", "0", "0", "0", "1"]

    assert model_metric("binary", "auc", predictions, labels) == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_accuracy_precision_recall_and_f1_count_a_score_of_one_half_as_positive() -> None:
    labels = ["1", "0", "1", "1", "0", "0", "1", "0"]
    scores = ["0.9", "0.6", "0.4", "0.7", "0.5", "0.1", "0.8", "0.3"]  # tp 3, fn 1, fp 2, tn 2

    assert model_metric("binary", "accuracy", scores, labels) == pytest.approx(5 / 8)
    assert model_metric("binary", "precision", scores, labels) == pytest.approx(3 / 5)
    assert model_metric("binary", "recall", scores, labels) == pytest.approx(3 / 4)
    assert model_metric("binary", "f1", scores, labels) == pytest.approx(2 / 3)


def test_regression_metrics_on_a_hand_computed_example() -> None:
    predictions, labels = ["2", "4", "6"], ["1", "4", "8"]  # errors 1, 0, -2

    assert model_metric("regression", "mae", predictions, labels) == pytest.approx(1.0)
    assert model_metric("regression", "mse", predictions, labels) == pytest.approx(5 / 3)
    assert model_metric("regression", "rmse", predictions, labels) == pytest.approx(math.sqrt(5 / 3))
    assert model_metric("regression", "r2", predictions, labels) == pytest.approx(1 - 5 / (74 / 3))


def test_multiclass_accuracy_and_weighted_f1() -> None:
    labels, predictions = ["a", "a", "b", "c"], ["a", "b", "b", "c"]  # f1: a 2/3, b 2/3, c 1

    assert model_metric("multiclass", "accuracy", predictions, labels) == pytest.approx(0.75)
    assert model_metric("multiclass", "weighted_f1", predictions, labels) == pytest.approx(0.75)


def test_an_unknown_metric_is_named() -> None:
    with pytest.raises(ValueError, match="unknown binary metric 'gini'"):
        model_metric("binary", "gini", ["1"], ["1"])


def quality_statistics(**metrics: float) -> dict[str, Any]:
    body: dict[str, Any] = {name: {"value": v, "standard_deviation": "NaN"} for name, v in metrics.items()}
    body["confusion_matrix"] = {"0": {"0": 1, "1": 2}, "1": {"0": 0, "1": 1}}
    return {"version": 0.0, "dataset": {"item_count": 1000}, "binary_classification_metrics": body}


def test_parse_quality_baseline_reads_binary_metrics_and_constraints() -> None:
    constraints = {
        "version": 0.0,
        "binary_classification_constraints": {
            "auc": {"threshold": 0.8, "comparison_operator": "LessThanThreshold"},
            "false_positive_rate": {"threshold": 0.2, "comparison_operator": "GreaterThanThreshold"},
        },
    }

    baseline = parse_quality_baseline(quality_statistics(accuracy=0.9, auc=0.93), constraints)

    assert baseline.problem == "binary"
    assert baseline.metrics == {"accuracy": 0.9, "auc": 0.93}
    assert baseline.constraints == {
        "auc": (0.8, "LessThanThreshold"),
        "false_positive_rate": (0.2, "GreaterThanThreshold"),
    }


def test_parse_quality_baseline_reads_regression_metrics() -> None:
    statistics = {
        "version": 0.0,
        "dataset": {"item_count": 500},
        "regression_metrics": {
            "mae": {"value": 0.37, "standard_deviation": 0.004},
            "rmse": {"value": 0.61, "standard_deviation": 0.003},
            "r2": {"value": 0.8, "standard_deviation": 0.02},
        },
    }

    baseline = parse_quality_baseline(statistics)

    assert baseline.problem == "regression" and baseline.metrics == {"mae": 0.37, "rmse": 0.61, "r2": 0.8}
    assert "r2" in HIGHER_IS_BETTER and "rmse" not in HIGHER_IS_BETTER


def test_a_bad_comparison_operator_names_its_field() -> None:
    constraints = {
        "binary_classification_constraints": {"auc": {"threshold": 0.8, "comparison_operator": "Below"}}
    }

    with pytest.raises(
        BaselineError, match=re.escape("binary_classification_constraints.auc.comparison_operator")
    ):
        parse_quality_baseline(quality_statistics(auc=0.9), constraints)


def pairs(n: int, correct: int) -> tuple[list[str], list[str]]:
    labels = ["1", "0"] * (n // 2)
    predictions = [label if i < correct else str(1 - int(label)) for i, label in enumerate(labels)]
    return predictions, labels


def test_model_quality_degrades_when_the_metric_drops_by_min_drop() -> None:
    baseline = parse_quality_baseline(quality_statistics(accuracy=0.9))

    worse = check_model_quality(baseline, "accuracy", *pairs(200, 160), min_drop=0.05)
    steady = check_model_quality(baseline, "accuracy", *pairs(200, 176), min_drop=0.05)

    assert worse.current == pytest.approx(0.8) and worse.drop == pytest.approx(0.1) and worse.degraded
    assert steady.drop == pytest.approx(0.02) and not steady.degraded
    assert steady.violations == ()


def test_a_broken_quality_constraint_is_a_violation_named_by_its_operator() -> None:
    constraints = {
        "binary_classification_constraints": {
            "accuracy": {"threshold": 0.9, "comparison_operator": "LessThanThreshold"}
        }
    }
    baseline = parse_quality_baseline(quality_statistics(accuracy=0.92), constraints)

    report = check_model_quality(baseline, "accuracy", *pairs(200, 176), min_drop=0.1)

    assert report.drop == pytest.approx(0.04) and report.degraded  # below min_drop, but the constraint broke
    assert report.violations[0].to_dict() == {
        "metric_name": "accuracy",
        "constraint_check_type": "LessThanThreshold",
        "description": "Metric accuracy with 0.88 was LessThanThreshold 0.9",
    }


def test_model_quality_with_too_few_pairs_is_insufficient() -> None:
    baseline = parse_quality_baseline(quality_statistics(accuracy=0.9))

    report = check_model_quality(baseline, "accuracy", *pairs(40, 10), min_drop=0.05)

    assert not report.sufficient and not report.degraded and report.current == pytest.approx(0.25)


def test_an_error_metric_drops_when_it_grows() -> None:
    statistics = {"dataset": {"item_count": 10}, "regression_metrics": {"rmse": {"value": 1.0}}}
    baseline = parse_quality_baseline(statistics)
    labels = [str(float(i)) for i in range(100)]
    predictions = [str(float(i) + (2 if i % 2 else -2)) for i in range(100)]  # rmse 2

    report = check_model_quality(baseline, "rmse", predictions, labels, min_drop=0.5)

    assert report.current == pytest.approx(2.0) and report.drop == pytest.approx(1.0) and report.degraded
    assert json.loads(json.dumps(report.to_dict()))["drop"] == 1.0
