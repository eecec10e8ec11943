"""Rehearse the canary scenarios; report work per rollout and the rollback reaction.

For each scenario, once with each way of waiting (``waits: events``, the default: waiting states end
on the endpoint's events, and ``waits: polling``): median wall seconds per rehearsal (after a
warm-up, imports excluded), state transitions and SageMaker API calls of the rollout execution (the
last one), and for rollbacks the reaction: virtual seconds from the first evidence (a candidate
alarm going to ALARM, or a Model Monitor execution ending with violations) until the baseline
carries all the weight again.

    .venv/bin/python bench/bench_canary.py [--runs N] [--waits events|polling|both] [scenario ...]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from localcloud.scenario.contract import load_scenario
from localcloud.scenario.runner import Runner

REPO = Path(__file__).resolve().parent.parent
DEFAULT = [
    "canary-promote.yaml",
    "canary-rollback.yaml",
    "canary-monitor-violation.yaml",
    "guardrails-canary.yaml",
    "guardrails-rollback.yaml",
]


def rehearse(path: Path, waits: str) -> dict[str, Any]:
    scenario = load_scenario(path)
    for config in scenario.groups.values():
        config["waits"] = waits
    with contextlib.redirect_stdout(io.StringIO()):
        return Runner(scenario, path).run().report


def first_evidence(report: dict[str, Any], since: float) -> float | None:
    times = [
        change["at"]
        for change in report.get("alarmStateChanges", [])
        if change["to"] == "ALARM" and change["at"] >= since
    ]
    times += [
        run["endedAt"]
        for run in report.get("monitoringExecutions", [])
        if run.get("status") in {"CompletedWithViolations", "Failed"} and (run.get("endedAt") or -1) >= since
    ]
    return min(times) if times else None


def baseline_restored(report: dict[str, Any], endpoint: str, baseline: str, after: float) -> float | None:
    for change in report.get("weightChanges", []):
        if (
            change["endpoint"] == endpoint
            and change["at"] >= after
            and change["weights"].get(baseline) == 1.0
        ):
            others = [w for name, w in change["weights"].items() if name != baseline]
            if all(w == 0 for w in others):
                return float(change["at"])
    return None


def measure(path: Path, runs: int, waits: str) -> dict[str, Any]:
    rehearse(path, waits)  # warm-up
    walls, report = [], {}
    for _ in range(runs):
        start = time.perf_counter()
        report = rehearse(path, waits)
        walls.append(time.perf_counter() - start)
    rollout = report["executions"][-1]
    calls = {
        call: n
        for call, n in report["apiCalls"].items()
        if call.startswith("sagemaker:") and "ModelPackage" not in call
    }
    result: dict[str, Any] = {
        "scenario": path.name,
        "waits": waits,
        "ok": report["ok"],
        "outcome": rollout["outcome"],
        "medianWallSeconds": round(statistics.median(walls), 4),
        "virtualSeconds": report["virtualSeconds"],
        "rolloutTransitions": rollout["transitions"],
        "rolloutVirtualSeconds": (rollout["stoppedAt"] or 0) - (rollout["startedAt"] or 0),
        "sagemakerCallsAllExecutions": calls,
    }
    if rollout["outcome"] == "ROLLED_BACK":
        plan = (rollout.get("output") or {}).get("plan") or {}
        endpoint = next(iter(report["endpoints"]))
        baseline = report["endpoints"][endpoint]["variants"][0]["name"]
        evidence = first_evidence(report, rollout["startedAt"] or 0)
        restored = baseline_restored(
            report, endpoint, plan.get("baselineVariantName", baseline), evidence or 0
        )
        result["firstEvidenceAt"] = evidence
        result["baselineRestoredAt"] = restored
        result["rollbackReactionSeconds"] = (
            restored - evidence if restored is not None and evidence is not None else None
        )
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--waits", choices=["events", "polling", "both"], default="both")
    parser.add_argument("scenarios", nargs="*", default=DEFAULT)
    args = parser.parse_args()
    modes = ["events", "polling"] if args.waits == "both" else [args.waits]
    results = []
    for name in args.scenarios:
        path = Path(name) if Path(name).exists() else REPO / "scenarios" / name
        if path.exists():
            results.extend(measure(path, args.runs, waits) for waits in modes)
    print(
        json.dumps(
            {
                "runs": args.runs,
                "machine": f"CPython {platform.python_version()} on {platform.machine()}",
                "results": results,
            },
            indent=2,
        )
    )
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
