"""Rehearse the nightly batch scenario N times; report median wall seconds and work per batch run.

A batch run is one execution of the batch-transform state machine (one schedule tick). Besides
the timing of `scenarios/batch-nightly.yaml`, each batch scenario is rehearsed once more to show
the state transitions and the control plane's API calls per run on every path (completed,
failed, no approved model): the report's `controlPlaneApiCalls`, without the scenario's registry
steps or the local Scheduler's StartExecution. S3 calls are not counted by the local cloud.
Imports and the first (cold) rehearsal are excluded from the timing.

    .venv/bin/python bench/bench_batch.py [--runs N] [--scenario PATH]
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
MACHINE = "BatchTransformStateMachine"
PATHS = ("batch-nightly", "batch-fails", "batch-no-approved-model")


def rehearse(path: Path) -> dict[str, Any]:
    scenario = load_scenario(path)
    with contextlib.redirect_stdout(io.StringIO()):
        return Runner(scenario, path).run().report


def per_run(report: dict[str, Any]) -> dict[str, Any]:
    runs = [e for e in report["executions"] if e["stateMachine"] == MACHINE]
    calls = report["controlPlaneApiCalls"]  # not the scenario's registry steps nor the Scheduler's start
    n = max(1, len(runs))
    return {
        "runs": len(runs),
        "outcomes": [e["outcome"] for e in runs],
        "stateTransitionsPerRun": sum(e["transitions"] for e in runs) / n,
        "apiCallsPerRun": round(sum(calls.values()) / n, 2),
        "sagemakerCallsPerRun": round(sum(v for k, v in calls.items() if k.startswith("sagemaker:")) / n, 2),
        "apiCalls": calls,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--scenario", default=str(REPO / "scenarios" / "batch-nightly.yaml"))
    args = parser.parse_args()
    path = Path(args.scenario)
    rehearse(path)  # warm-up: handler cold starts, ASL parser start-up
    walls, reports = [], []
    for _ in range(args.runs):
        start = time.perf_counter()
        reports.append(rehearse(path))
        walls.append(time.perf_counter() - start)
    report = reports[-1]
    result = {
        "scenario": str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path),
        "rehearsals": args.runs,
        "ok": all(r["ok"] for r in reports),
        "medianWallSeconds": round(statistics.median(walls), 4),
        "minWallSeconds": round(min(walls), 4),
        "maxWallSeconds": round(max(walls), 4),
        "virtualSeconds": report["virtualSeconds"],
        **{k: v for k, v in per_run(report).items() if k != "apiCalls"},
        "paths": {name: per_run(rehearse(REPO / "scenarios" / f"{name}.yaml")) for name in PATHS},
        "machine": f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}",
    }
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
