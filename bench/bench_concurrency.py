"""Concurrency rehearsal: many approvals at the same virtual instant, and a burst on one endpoint.

- ``--endpoints`` groups (default 100), each approved at t=0 for an endpoint of its own;
- one endpoint, ``hot-prod``, live on hot/1, receives ``--burst`` approvals (default 10) within
  one virtual minute.

Checks every execution's outcome (first deployments DEPLOYED; on hot-prod the first rollout of the
burst PROMOTED, the others that waited for the lock SUPERSEDED, the latest PROMOTED) and that
hot-prod ends on the latest version; prints wall time and executions per wall second.

    .venv/bin/python bench/bench_concurrency.py [--endpoints N] [--burst M]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from localcloud.scenario.contract import load_scenario
from localcloud.scenario.runner import Runner
from localcloud.services.sagemaker.endpoints import package_key

BURST_AT = 3600


def scenario(endpoints: int, burst: int) -> dict[str, Any]:
    groups: dict[str, Any] = {f"g{i:03d}": {"endpoint": f"e{i:03d}"} for i in range(endpoints)}
    groups["hot"] = {
        "endpoint": "hot-prod",
        "strategy": {"type": "canary", "steps": [50], "bakeMinutes": 4, "checkIntervalSeconds": 120},
    }
    timeline: list[dict[str, Any]] = [{"at": 0, "approve": {"group": g, "version": 1}} for g in groups]
    spacing = 60 / burst
    timeline += [
        {"at": BURST_AT + round(i * spacing, 3), "approve": {"group": "hot", "version": 2 + i}}
        for i in range(burst)
    ]
    return {
        "name": f"{endpoints} endpoints at once, {burst} approvals for one endpoint in a minute",
        "groups": groups,
        "simulation": {"requestsPerMinute": 120},
        "timeline": timeline,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoints", type=int, default=100)
    parser.add_argument("--burst", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "concurrency.yaml"
        path.write_text(yaml.safe_dump(scenario(args.endpoints, args.burst), sort_keys=False))
        loaded = load_scenario(path)
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            report = Runner(loaded, path).run().report
        wall = time.perf_counter() - start
    executions = report["executions"]
    latest = f"hot/{1 + args.burst}"
    by_package: dict[str, list[str]] = {}
    for ex in executions:
        arn = (ex.get("output") or {}).get("modelPackageArn") or ""
        by_package.setdefault(package_key(arn) if arn else ex["name"], []).append(ex["outcome"])
    hot = report["endpoints"].get("hot-prod", {})
    problems = []
    first_deploys = [ex for ex in executions if ex["outcome"] == "DEPLOYED"]
    if len(first_deploys) != args.endpoints + 1:
        problems.append(f"{len(first_deploys)} first deployments, expected {args.endpoints + 1}")
    outcomes = Counter(ex["outcome"] for ex in executions)
    if outcomes["PROMOTED"] + outcomes["SUPERSEDED"] != args.burst:
        problems.append(f"burst outcomes {dict(outcomes)}")
    serving = {package_key(v["modelPackageArn"] or "") for v in hot.get("variants", []) if v["weight"] > 0}
    if serving != {latest}:
        problems.append(f"hot-prod serves {serving}, expected {latest}")
    if any(ex["status"] == "RUNNING" for ex in executions):
        problems.append("executions still running")
    result = {
        "endpoints": args.endpoints,
        "burst": args.burst,
        "executions": len(executions),
        "outcomes": dict(sorted(outcomes.items())),
        "hotProdServes": sorted(serving),
        "virtualSeconds": report["virtualSeconds"],
        "wallSeconds": round(wall, 2),
        "executionsPerWallSecond": round(len(executions) / wall, 1),
        "stateTransitions": sum(ex["transitions"] for ex in executions),
        "ok": not problems,
        "problems": problems,
        "machine": f"CPython {platform.python_version()} on {platform.machine()}",
    }
    print(json.dumps(result, indent=2))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
