"""Simulate many A/B tests with known true effects through ``smdeploy.experiment.evaluate``.

Traffic is made the way the local cloud makes it (``localcloud/services/cloudwatch/metrics.py``):
every minute ``requestsPerMinute`` requests are split by the configured split, each arm's share
rounded with a carry, and the successes of an arm are a binomial draw around its true rate; a
minute is published ``--metric-delay-seconds`` after it ends. Every ``--check-interval`` seconds
the judge looks, exactly as the state machine's judge calls it: cumulative ``Arm``s since the
start, the previous ``ExperimentState``, and ``deadline`` on the last look at
``--max-minutes`` (which, like the judge, waits for the last minutes to be published).

For each true effect (0, the MDE, twice the MDE; relative to the base rate) it reports the
decisions, the false-positive rate at effect 0 (goal <= 1 - confidence), the power at the MDE
(goal >= 0.8), the minutes and samples per arm to a decision against the fixed-horizon test's
samples per arm (``smdeploy.stats.fixed_horizon_samples_per_arm``), and the share of
NO_DIFFERENCE reached early by futility. Seeded: the same numbers on every run.

    .venv/bin/python bench/bench_ab.py [--runs N] [--seed S] [--requests-per-minute R] ...
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from smdeploy.experiment import Arm, ExperimentSettings, ExperimentState, evaluate
from smdeploy.stats import fixed_horizon_samples_per_arm


@dataclass
class Outcome:
    decision: str
    minutes: float  # virtual minutes from the start to the look that decided (or the deadline)
    samples: float  # per arm (the smaller arm) at that look
    early: bool  # decided before the deadline


def minute_requests(requests_per_minute: float, share: float, minutes: int) -> np.ndarray:
    """Requests of one arm in each minute: its share of the traffic, rounded with a carry."""
    out = np.zeros(minutes, dtype=np.int64)
    carry = 0.0
    for m in range(minutes):
        wanted = carry + requests_per_minute * share
        out[m] = math.floor(wanted + 1e-9)
        carry = max(0.0, wanted - out[m])
    return out


def simulate(args: argparse.Namespace, effect: float, seed: int) -> list[Outcome]:
    minutes = math.ceil(args.max_minutes)
    share = args.split / 100
    n_c = minute_requests(args.requests_per_minute, share, minutes)
    n_b = minute_requests(args.requests_per_minute, 1 - share, minutes)
    rng = np.random.default_rng(seed)
    # successes[run, minute] for every run at once; cumulated for the looks
    x_b = rng.binomial(n_b, args.base_rate, size=(args.runs, minutes)).cumsum(axis=1)
    x_c = rng.binomial(n_c, args.base_rate * (1 + effect), size=(args.runs, minutes)).cumsum(axis=1)
    cum_b, cum_c = n_b.cumsum(), n_c.cumsum()
    settings = ExperimentSettings(
        metric="Conversion",
        kind="rate",
        goal="maximize",
        confidence=args.confidence,
        minimumDetectableEffect=args.mde,
        splitPercent=args.split,
        minSamples=args.min_samples,
    )
    deadline_s = args.max_minutes * 60
    looks: list[tuple[float, int, bool]] = []  # (time s, minutes published, deadline)
    t = float(args.check_interval)
    while True:
        last = t >= deadline_s
        t = min(t, deadline_s)
        published = minutes if last else int((t - args.metric_delay_seconds) // 60)
        looks.append((t, min(published, minutes), last))
        if last:
            break
        t += args.check_interval
    outcomes = []
    for run in range(args.runs):
        state: ExperimentState | None = None
        for at, published, last in looks:
            if published <= 0:
                continue
            i = published - 1
            state = evaluate(
                settings,
                Arm(samples=float(cum_b[i]), total=float(x_b[run, i])),
                Arm(samples=float(cum_c[i]), total=float(x_c[run, i])),
                state,
                deadline=last,
            )
            if state.decision != "CONTINUE":
                outcomes.append(
                    Outcome(state.decision, at / 60, float(min(cum_b[i], cum_c[i])), early=not last)
                )
                break
    return outcomes


def summarize(args: argparse.Namespace, effect: float, outcomes: list[Outcome]) -> dict[str, Any]:
    runs = len(outcomes)

    def share(pred: Any) -> float:
        return sum(1 for o in outcomes if pred(o)) / runs

    wins = share(lambda o: o.decision == "CANDIDATE_WINS")
    result: dict[str, Any] = {
        "effect": effect,
        "runs": runs,
        "candidateWins": wins,
        "baselineWins": share(lambda o: o.decision == "BASELINE_WINS"),
        "futility": share(lambda o: o.decision == "NO_DIFFERENCE" and o.early),
        "deadline": share(lambda o: o.decision == "NO_DIFFERENCE" and not o.early),
        "invalid": share(lambda o: o.decision == "INVALID"),
        "medianMinutes": statistics.median(o.minutes for o in outcomes),
        "medianSamples": statistics.median(o.samples for o in outcomes),
    }
    fixed_mde = fixed_horizon_samples_per_arm(args.base_rate, args.mde, args.confidence, 0.8)
    result["winsByFixedHorizon"] = share(lambda o: o.decision == "CANDIDATE_WINS" and o.samples <= fixed_mde)
    decided = [o for o in outcomes if o.early]
    result["medianSamplesDecided"] = statistics.median(o.samples for o in decided) if decided else None
    if effect > 0:
        power = wins
        result["fixedSamplesSamePower"] = (
            fixed_horizon_samples_per_arm(args.base_rate, effect, args.confidence, power)
            if 0.5 < power < 1
            else None
        )
        result["fixedSamples80"] = fixed_horizon_samples_per_arm(args.base_rate, effect, args.confidence, 0.8)
    return result


def fmt(value: Any, kind: str = "n") -> str:
    if value is None:
        return "-"
    if kind == "%":
        return f"{value * 100:.1f} %"
    return f"{value:,.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=4000, help="A/B tests per true effect")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--base-rate", type=float, default=0.03)
    parser.add_argument("--mde", type=float, default=0.05, help="minimum detectable effect, relative")
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--split", type=float, default=50.0, help="candidate's share of traffic, %%")
    parser.add_argument("--requests-per-minute", type=float, default=2000.0)
    parser.add_argument("--max-minutes", type=float, default=480.0, help="maxDurationMinutes")
    parser.add_argument("--check-interval", type=int, default=300, help="checkIntervalSeconds")
    parser.add_argument("--metric-delay-seconds", type=float, default=60.0)
    parser.add_argument("--min-samples", type=int, default=100)
    args = parser.parse_args()

    fixed = fixed_horizon_samples_per_arm(args.base_rate, args.mde, args.confidence, 0.8)
    per_arm_minute = args.requests_per_minute * min(args.split, 100 - args.split) / 100
    alpha = 1 - args.confidence
    print(
        f"A/B tests: base rate {args.base_rate:g}, MDE {args.mde * 100:g} % relative, "
        f"confidence {args.confidence:g}, split {args.split:g} %, {args.requests_per_minute:g} requests/min, "
        f"a look every {args.check_interval} s, deadline {args.max_minutes:g} min, "
        f"{args.runs} tests per effect, seed {args.seed}"
    )
    print(
        f"fixed-horizon test (two-sided, 80 % power at the MDE): {fixed:,} samples per arm "
        f"= {fixed / per_arm_minute:.0f} min of traffic; the deadline allows "
        f"{per_arm_minute * args.max_minutes:,.0f} per arm ({per_arm_minute * args.max_minutes / fixed:.2f}x)"
    )
    if args.split != 50:
        print("unequal split: samples per arm are the smaller arm's; fixed-horizon figures assume equal arms")
    start = time.perf_counter()
    results = []
    for k, multiple in enumerate((0, 1, 2)):
        effect = multiple * args.mde
        results.append(summarize(args, effect, simulate(args, effect, args.seed + k)))
    wall = time.perf_counter() - start

    print()
    print(
        "| true effect | candidate wins | baseline wins | no difference: futility | no difference: deadline "
        "| median min to decision | median samples/arm | median samples/arm (decided early) "
        "| fixed horizon, same power | fixed horizon, 80 % |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['effect'] * 100:+g} % | {fmt(r['candidateWins'], '%')} | {fmt(r['baselineWins'], '%')} "
            f"| {fmt(r['futility'], '%')} | {fmt(r['deadline'], '%')} | {fmt(r['medianMinutes'])} "
            f"| {fmt(r['medianSamples'])} | {fmt(r['medianSamplesDecided'])} "
            f"| {fmt(r.get('fixedSamplesSamePower'))} | {fmt(r.get('fixedSamples80'))} |"
        )
    null, at_mde, twice = results
    false_positive = null["candidateWins"] + null["baselineWins"]
    goals = {
        f"false positives at effect 0 <= {alpha:g}": false_positive <= alpha,
        "power at the MDE >= 0.8": at_mde["candidateWins"] >= 0.8,
        "median samples per arm at the MDE < fixed horizon of the same power": (
            at_mde["fixedSamplesSamePower"] is not None
            and at_mde["medianSamples"] < at_mde["fixedSamplesSamePower"]
        ),
    }
    print()
    print(f"false-positive rate at effect 0: {false_positive * 100:.2f} % (goal <= {alpha * 100:g} %)")
    print(f"power at the MDE: {at_mde['candidateWins'] * 100:.1f} % (goal >= 80 %)")
    print(
        f"power at 2x the MDE: {twice['candidateWins'] * 100:.1f} %, median {twice['medianMinutes']:.0f} min "
        f"to a decision"
    )
    print(
        f"candidate wins decided by the fixed horizon's {fixed:,} samples per arm: "
        + ", ".join(f"{r['winsByFixedHorizon'] * 100:.1f} % at {r['effect'] * 100:+g} %" for r in results)
    )
    for goal, met in goals.items():
        print(f"goal {'met' if met else 'NOT met'}: {goal}")
    print(
        f"{wall:.1f} s wall for {3 * args.runs} tests; "
        f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}"
    )
    return 0 if all(goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
