"""Rehearse the first-deploy scenario N times; report median wall seconds and work per deployment.

Imports and the first (cold) rehearsal are excluded from the timing: the figure is what each
further rehearsal costs in one process, as in the test suite or a batch of `smdeploy simulate`s.

    .venv/bin/python bench/bench_first_deploy.py [--runs N] [--scenario PATH]
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

from localcloud.scenario.contract import load_scenario
from localcloud.scenario.runner import Runner

REPO = Path(__file__).resolve().parent.parent
# Registry calls the scenario itself makes (registering and approving packages), not the control plane.
SCENARIO_CALLS = {
    "sagemaker:CreateModelPackageGroup",
    "sagemaker:CreateModelPackage",
    "sagemaker:UpdateModelPackage",
    "sagemaker:ListModelPackageGroups",
    "sagemaker:ListModelPackages",
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--scenario", default=str(REPO / "scenarios" / "first-deploy.yaml"))
    args = parser.parse_args()
    path = Path(args.scenario)
    scenario = load_scenario(path)
    with contextlib.redirect_stdout(io.StringIO()):
        Runner(scenario, path).run()  # warm-up: handler cold starts, ASL parser start-up
    walls, reports = [], []
    for _ in range(args.runs):
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            rehearsal = Runner(scenario, path).run()
        walls.append(time.perf_counter() - start)
        reports.append(rehearsal.report)
    report = reports[-1]
    deploys = [e for e in report["executions"] if e["stateMachine"] == "DeployStateMachine"]
    control_plane = {
        call: count
        for call, count in report["apiCalls"].items()
        if call.startswith("sagemaker:") and call not in SCENARIO_CALLS
    }
    result = {
        "scenario": str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path),
        "runs": args.runs,
        "ok": all(r["ok"] for r in reports),
        "medianWallSeconds": round(statistics.median(walls), 4),
        "minWallSeconds": round(min(walls), 4),
        "maxWallSeconds": round(max(walls), 4),
        "virtualSeconds": report["virtualSeconds"],
        "deployments": len(deploys),
        "stateTransitionsPerDeployment": sum(e["transitions"] for e in deploys) / max(1, len(deploys)),
        "sagemakerCallsPerDeployment": sum(control_plane.values()) / max(1, len(deploys)),
        "sagemakerCallsByControlPlane": control_plane,
        "machine": f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}",
    }
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
