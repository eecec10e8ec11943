"""What the strict local cloud costs: rehearsal speed with IAM enforced from template.yaml against
the same rehearsal without it, and the cost of the IAM evaluation per call.

For each mode: the median wall seconds of a rehearsal of `scenarios/canary-promote.yaml` (after a
warm-up) and its speed-up, virtual seconds rehearsed per wall second (goal: at least 10,000x).
Then the IAM figures of one enforced rehearsal: calls authorized, seconds spent in the evaluation
(request mapping, policy evaluation, decision cache) per call, and a cold decision (cache
emptied before each call) per call.

    .venv/bin/python bench/bench_strict.py [--runs N] [scenario]
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

from localcloud.iam.enforcer import IamEnforcer
from localcloud.scenario.contract import load_scenario
from localcloud.scenario.runner import Runner

REPO = Path(__file__).resolve().parent.parent


def rehearse(path: Path, enforce_iam: bool) -> dict[str, Any]:
    with contextlib.redirect_stdout(io.StringIO()):
        return Runner(load_scenario(path), path, enforce_iam=enforce_iam).run().report


def speed(path: Path, runs: int, enforce_iam: bool) -> dict[str, Any]:
    rehearse(path, enforce_iam)  # warm-up: imports, handler cold starts, ASL parse
    walls, report = [], {}
    for _ in range(runs):
        start = time.perf_counter()
        report = rehearse(path, enforce_iam)
        walls.append(time.perf_counter() - start)
    wall = statistics.median(walls)
    return {
        "ok": report["ok"],
        "medianWallSeconds": round(wall, 4),
        "virtualSeconds": report["virtualSeconds"],
        "speedUp": round(report["virtualSeconds"] / wall),
        "iamChecks": report.get("iamChecks", 0),
        "accessDenied": len(report.get("accessDenied", [])),
    }


def iam_cost(path: Path, cold: bool) -> dict[str, Any]:
    """Seconds inside IamEnforcer.authorize per authorized call, with or without the decision cache."""
    spent = [0.0]
    calls = [0]
    original = IamEnforcer.authorize

    def timed(self: IamEnforcer, call_name: str, params: dict[str, Any]) -> Any:
        if cold:
            self._decisions.clear()
        start = time.perf_counter()
        try:
            return original(self, call_name, params)
        finally:
            spent[0] += time.perf_counter() - start
            calls[0] += 1

    IamEnforcer.authorize = timed  # type: ignore[method-assign]
    try:
        rehearse(path, True)
    finally:
        IamEnforcer.authorize = original  # type: ignore[method-assign]
    return {
        "calls": calls[0],
        "secondsTotal": round(spent[0], 4),
        "microsecondsPerCall": round(spent[0] / max(calls[0], 1) * 1e6, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("scenario", nargs="?", default="canary-promote.yaml")
    args = parser.parse_args()
    path = Path(args.scenario) if Path(args.scenario).exists() else REPO / "scenarios" / args.scenario
    strict = speed(path, args.runs, True)
    without = speed(path, args.runs, False)
    result = {
        "scenario": path.name,
        "runs": args.runs,
        "machine": f"CPython {platform.python_version()} on {platform.machine()}",
        "iamEnforced": strict,
        "iamOff": without,
        "iamShareOfWall": round(1 - without["medianWallSeconds"] / strict["medianWallSeconds"], 3),
        "iamPerCallWarm": iam_cost(path, cold=False),
        "iamPerCallCold": iam_cost(path, cold=True),
    }
    print(json.dumps(result, indent=2))
    return 0 if strict["ok"] and strict["accessDenied"] == 0 and strict["speedUp"] >= 10_000 else 1


if __name__ == "__main__":
    sys.exit(main())
