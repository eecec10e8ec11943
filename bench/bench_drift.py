"""Simulate hourly data-quality checks of captured rows through ``smdeploy.drift``: the false alarms
of a month without drift, and the delay to detect a drift injected at a random minute.

Baseline: a churn-like training set of ``--baseline-rows`` rows, age ~ N(40, 12), tenure ~ N(36, 20),
charges ~ N(70, 25) (rounded to 2 decimals) and plan a 60 % / b 40 %, summarised as Model Monitor's
baseline job would: statistics.json with 10 equal-width KLL buckets and a KLL sketch (k 2048, c 0.64,
the items compacted level by level as KLL does), constraints.json suggested from the data
(completeness 1, ``is_non_negative`` only where the training data has no negative value, the
plans as the domain), read back with ``parse_baseline``.

Capture: ``--rows-per-minute`` rows a minute, drawn the way the local cloud draws them (each numerical
feature from a normal with its mean and standard deviation, rounded to 2 decimals; the plan from its
shares). A check runs every 60 minutes on the last 60 minutes of capture, with PSI threshold
``--psi-threshold`` and test level ``--alpha`` (both must be crossed for a feature to drift).

1. False alarms: ``--months`` simulated months of 720 checks without drift; an alarm is a check that
   flags any feature. Reported per 30 days with an exact 95 % Poisson interval, beside how often
   PSI alone or the test alone would have alarmed.
2. Detection delay: age's mean moves at a uniformly random minute of the first hour (40 -> 55, and the
   milder 40 -> 46); a check's window mixes the rows before and after. The delay is the virtual
   minutes from the injection to the first check that flags age; median and p90 over ``--trials``
   trials, a trial giving up after ``--max-hours``.

Each check judges a feature with ``smdeploy.drift.feature_drift``, the function
``check_data_quality`` calls per feature, on the drawn values, instead of formatting and parsing
millions of CSV rows. Without drift the tests are skipped on a check none of whose features' PSI
(the engine's ``FeatureBaseline.histogram`` and ``psi``) exceeds the threshold: no feature can drift
then. The first ``--full-checks`` checks of each month are judged in full whatever their PSI. The
constraint checks cannot fire on these rows (no missing cell, no text in a numerical column, only
the baseline's plans, no ``is_non_negative`` on a column that goes negative). The first ``--verify``
checks are also run through ``parse_rows`` and ``check_data_quality`` on CSV text and must reach the
same verdicts. Months and trials run in parallel on ``--workers`` processes. Seeded: the same
numbers on every run.

    .venv/bin/python bench/bench_drift.py [--months M] [--trials K] [--rows-per-minute R] [--seed S] ...
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from localcloud.services.sagemaker.baselines import MONITORING_CONFIG
from smdeploy.drift import Baseline, check_data_quality, feature_drift, parse_baseline, parse_rows, psi

NUMERICAL = {"age": (40.0, 12.0), "tenure": (36.0, 20.0), "charges": (70.0, 25.0)}
PLANS = {"a": 0.6, "b": 0.4}
CHECK_MINUTES = 60  # a check every hour over the last hour
CHECKS_PER_MONTH = 30 * 24


def kll_sketch(
    values: np.ndarray, rng: np.random.Generator, k: int = 2048, c: float = 0.64
) -> list[list[float]]:
    """A KLL sketch of ``values``: level ``h`` holds items of weight ``2**h``; a full level is sorted
    and every other item (random offset) moves up a level (Karnin, Lang, Liberty 2016)."""
    levels: list[list[float]] = [[]]
    for value in values.tolist():
        levels[0].append(value)
        for h in range(len(levels)):
            capacity = max(2, math.ceil(k * c ** (len(levels) - 1 - h)))
            if len(levels[h]) < capacity:
                continue
            if h + 1 == len(levels):
                levels.append([])
            level = sorted(levels[h])
            kept = [level.pop()] if len(level) % 2 else []
            levels[h + 1].extend(level[int(rng.integers(2)) :: 2])
            levels[h] = kept
            break
    return levels


def baseline_files(rows: int, rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
    """statistics.json and constraints.json of a drawn training set, in Model Monitor's shapes."""
    features: list[dict[str, Any]] = []
    constraints: list[dict[str, Any]] = []
    for name, (mean, std) in NUMERICAL.items():
        x = np.round(rng.normal(mean, std, rows), 2)
        counts, edges = np.histogram(x, bins=10)
        buckets = [
            {"lower_bound": float(lo), "upper_bound": float(hi), "count": float(n)}
            for lo, hi, n in zip(edges[:-1], edges[1:], counts, strict=True)
        ]
        sketch = {"parameters": {"c": 0.64, "k": 2048.0}, "data": kll_sketch(x, rng)}
        numbers = {
            "common": {"num_present": rows, "num_missing": 0},
            "mean": float(x.mean()),
            "sum": float(x.sum()),
            "std_dev": float(x.std()),
            "min": float(x.min()),
            "max": float(x.max()),
            "distribution": {"kll": {"buckets": buckets, "sketch": sketch}},
        }
        features.append({"name": name, "inferred_type": "Fractional", "numerical_statistics": numbers})
        constraints.append(
            {
                "name": name,
                "inferred_type": "Fractional",
                "completeness": 1.0,
                "num_constraints": {"is_non_negative": bool(x.min() >= 0)},
            }
        )
    plans = rng.choice(list(PLANS), rows, p=list(PLANS.values()))
    values, counts = np.unique(plans, return_counts=True)
    features.append(
        {
            "name": "plan",
            "inferred_type": "String",
            "string_statistics": {
                "common": {"num_present": rows, "num_missing": 0},
                "distinctness": len(values) / rows,
                "distribution": {
                    "categorical": {
                        "buckets": [
                            {"value": str(v), "count": int(n)} for v, n in zip(values, counts, strict=True)
                        ]
                    }
                },
            },
        }
    )
    constraints.append(
        {
            "name": "plan",
            "inferred_type": "String",
            "completeness": 1.0,
            "string_constraints": {"domains": [str(v) for v in values]},
        }
    )
    statistics = {"version": 0.0, "dataset": {"item_count": rows}, "features": features}
    # the monitoring_config a baseline job suggests, as the local cloud writes it
    return statistics, {"version": 0.0, "features": constraints, "monitoring_config": MONITORING_CONFIG}


def draw(
    rng: np.random.Generator, n: int, age_mean: float = 40.0, drifted: int = 0, target: float = 40.0
) -> dict[str, Any]:
    """One window's values per feature; the last ``drifted`` rows' age has mean ``target``."""
    window: dict[str, Any] = {}
    for name, (mean, std) in NUMERICAL.items():
        if name == "age":
            window[name] = np.round(
                np.concatenate([rng.normal(age_mean, std, n - drifted), rng.normal(target, std, drifted)]), 2
            )
        else:
            window[name] = np.round(rng.normal(mean, std, n), 2)
    window["plan"] = rng.choice(list(PLANS), n, p=list(PLANS.values())).tolist()
    return window


@dataclass
class Month:
    alarms: int
    judged: int  # checks judged in full by the engine (the first --full-checks, and every PSI candidate)
    psi_alone: int  # of the first --full-checks: checks where some feature's PSI crossed the threshold
    test_alone: int  # ... where some feature's p-value crossed alpha
    max_psi: float
    verified: int  # checks also run through check_data_quality on CSV text
    disagreements: int


def simulate_month(args: argparse.Namespace, baseline: Baseline, month: int) -> Month:
    """720 hourly checks without drift. A feature drifts only when its PSI exceeds the threshold, so
    a check none of whose features' PSI (the engine's ``histogram`` and ``psi``) exceeds it cannot
    alarm and skips the tests; the first ``--full-checks`` checks are judged in full regardless."""
    rng = np.random.default_rng([args.seed, 1, month])
    n = args.rows_per_minute * CHECK_MINUTES
    result = Month(0, 0, 0, 0, 0.0, 0, 0)
    for check in range(CHECKS_PER_MONTH):
        window = draw(rng, n)
        psis = [psi(*f.histogram(window[f.name])[1:]) for f in baseline.features]
        result.max_psi = max(result.max_psi, *psis)
        full = check < args.full_checks
        if not full and max(psis) <= args.psi_threshold:
            continue
        verdicts = [
            feature_drift(f, window[f.name], psi_threshold=args.psi_threshold, ks_alpha=args.alpha)
            for f in baseline.features
        ]
        assert all(v.psi is not None and math.isclose(v.psi, g) for v, g in zip(verdicts, psis, strict=True))
        result.judged += 1
        result.alarms += any(v.drifted for v in verdicts)
        if full:
            result.psi_alone += any(v.psi is not None and v.psi > args.psi_threshold for v in verdicts)
            result.test_alone += any(v.p_value is not None and v.p_value < args.alpha for v in verdicts)
        if month == 0 and check < args.verify:
            lines = [
                f"{a:.2f},{t:.2f},{c:.2f},{p}"
                for a, t, c, p in zip(
                    window["age"], window["tenure"], window["charges"], window["plan"], strict=True
                )
            ]
            report = check_data_quality(
                baseline,
                parse_rows(lines, len(baseline.features)),
                psi_threshold=args.psi_threshold,
                ks_alpha=args.alpha,
            )
            fast = tuple(v.name for v in verdicts if v.drifted)
            result.verified += 1
            result.disagreements += report.drifted != fast or bool(report.violations)
    return result


def detection_delay(
    args: argparse.Namespace, baseline: Baseline, target: float, case: int, trial: int
) -> float:
    """Minutes from the injection to the first check that flags age (inf when none did)."""
    rng = np.random.default_rng([args.seed, 2, case, trial])
    injected = int(rng.integers(0, CHECK_MINUTES))
    age = baseline.feature("age")
    for k in range(1, args.max_hours + 1):
        end = k * CHECK_MINUTES
        drifted_minutes = end - max(end - CHECK_MINUTES, injected)
        n = args.rows_per_minute * CHECK_MINUTES
        values = draw(rng, n, drifted=args.rows_per_minute * drifted_minutes, target=target)["age"]
        if feature_drift(age, values, psi_threshold=args.psi_threshold, ks_alpha=args.alpha).drifted:
            return float(end - injected)
    return math.inf


def poisson_interval(count: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) interval for a Poisson mean."""
    tail = (1 - confidence) / 2
    low = 0.0 if count == 0 else float(stats.chi2.ppf(tail, 2 * count)) / 2
    return low, float(stats.chi2.ppf(1 - tail, 2 * count + 2)) / 2


def minutes(value: float, horizon: int) -> str:
    return f"> {horizon} h" if math.isinf(value) else f"{value:.0f} min"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--months", type=int, default=50, help="simulated 30-day months without drift")
    parser.add_argument("--trials", type=int, default=200, help="injected drifts per case")
    parser.add_argument("--rows-per-minute", type=int, default=20, help="captured rows per minute")
    parser.add_argument("--psi-threshold", type=float, default=0.2)
    parser.add_argument("--alpha", type=float, default=0.01, help="ks_alpha: the tests' level")
    parser.add_argument("--baseline-rows", type=int, default=10_000, help="rows of the training set")
    parser.add_argument("--max-hours", type=int, default=48, help="a trial gives up after this many checks")
    parser.add_argument("--full-checks", type=int, default=48, help="checks a month judged in full")
    parser.add_argument("--verify", type=int, default=24, help="checks also run on CSV text, must agree")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()

    start = time.perf_counter()
    statistics, constraints = baseline_files(args.baseline_rows, np.random.default_rng([args.seed, 0]))
    baseline = parse_baseline(statistics, constraints)
    n = args.rows_per_minute * CHECK_MINUTES
    sketch_items = [
        sum(len(level) for level in f["numerical_statistics"]["distribution"]["kll"]["sketch"]["data"])
        for f in statistics["features"]
        if "numerical_statistics" in f
    ]
    print(
        f"Data-quality checks: a check every {CHECK_MINUTES} min over the last {CHECK_MINUTES} min, "
        f"{args.rows_per_minute} rows/min ({n:,} rows a check), PSI > {args.psi_threshold:g} and "
        f"p < {args.alpha:g} both needed; baseline of {args.baseline_rows:,} rows "
        f"(KLL sketches of {min(sketch_items)}-{max(sketch_items)} items), seed {args.seed}"
    )
    print(
        "constraints: is_non_negative "
        + ", ".join(f"{f.name}={f.non_negative}" for f in baseline.features if f.kind == "numerical")
        + f"; plan domain {baseline.feature('plan').domain}"
    )

    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        months = list(
            pool.map(simulate_month, *zip(*[(args, baseline, m) for m in range(args.months)], strict=True))
        )
        cases = [(46.0, 1), (55.0, 0)]
        delays = {
            target: list(
                pool.map(
                    detection_delay,
                    *zip(*[(args, baseline, target, case, t) for t in range(args.trials)], strict=True),
                )
            )
            for target, case in cases
        }
    wall = time.perf_counter() - start

    checks = args.months * CHECKS_PER_MONTH
    alarms = sum(m.alarms for m in months)
    low, high = poisson_interval(alarms)
    per_month = args.months
    print()
    full = sum(min(args.full_checks, CHECKS_PER_MONTH) for _ in months)
    print(
        "| without drift | checks | alarms | per 30 days (95 % interval) | max PSI "
        "| judged in full | PSI alone would alarm | test alone would alarm |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.months} months | {checks:,} | {alarms} | {alarms / per_month:.3f} "
        f"({low / per_month:.3f}-{high / per_month:.3f}) | {max(m.max_psi for m in months):.3f} "
        f"| {sum(m.judged for m in months):,} "
        f"| {sum(m.psi_alone for m in months) / max(full, 1) * 100:.2f} % "
        f"| {sum(m.test_alone for m in months) / max(full, 1) * 100:.2f} % |"
    )
    print(
        f"(a check whose PSI stays <= {args.psi_threshold:g} on every feature cannot alarm: the tests run on "
        f"the first {args.full_checks} checks of each month and on every PSI candidate; the last two "
        f"columns are shares of those {full:,} first checks)"
    )
    print()
    print("| age drift | trials | detected | median delay | p90 delay | first check flags it |")
    print("|---|---|---|---|---|---|")
    summary: dict[float, tuple[float, float]] = {}
    for target, _ in sorted(cases, reverse=True):
        d = np.array(delays[target])
        median, p90 = float(np.quantile(d, 0.5, method="higher")), float(np.quantile(d, 0.9, method="higher"))
        summary[target] = (median, p90)
        first = np.mean(d <= CHECK_MINUTES)
        print(
            f"| 40 -> {target:g} ({(target - 40) / 12:.2f} std) | {len(d)} "
            f"| {np.isfinite(d).mean() * 100:.1f} % "
            f"| {minutes(median, args.max_hours)} | {minutes(p90, args.max_hours)} | {first * 100:.1f} % |"
        )
    verified = sum(m.verified for m in months)
    disagreements = sum(m.disagreements for m in months)
    print()
    print(
        f"check_data_quality on CSV text agreed with the per-feature verdicts on {verified - disagreements} "
        f"of {verified} checks"
    )
    goals = {
        "false alarms < 1 per 30 days (upper 95 % bound)": high / per_month < 1,
        "40 -> 55 flagged within two checks for 90 % of injections (p90 <= 120 min)": summary[55.0][1] <= 120,
        "CSV path agrees": disagreements == 0,
    }
    for goal, met in goals.items():
        print(f"goal {'met' if met else 'NOT met'}: {goal}")
    print(
        f"{wall:.1f} s wall for {checks:,} checks without drift and {sum(len(v) for v in delays.values())} "
        f"injected drifts on {args.workers} processes; "
        f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}"
    )
    return 0 if all(goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
