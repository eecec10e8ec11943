"""What "converged" means after a rehearsal, checked on its report.

The promise of the control plane: whatever happened, every execution ends recorded, the endpoint
serves exactly one model version from one configuration (no split left behind), its lock is
free, and nothing the rollouts created is orphaned (transitional configs, candidate alarms,
models no config uses). The scenario expectation ``{endpoint: E, converged: true}`` and the
convergence matrix both use :func:`problems`.
"""

from __future__ import annotations

from typing import Any


def problems(report: dict[str, Any], endpoint: str | None = None) -> list[str]:
    """Every way the report falls short of convergence; empty when it holds."""
    found: list[str] = []
    running = [e["name"] for e in report["executions"] if e["status"] == "RUNNING"]
    if running:
        found.append(f"still running: {', '.join(running)}")
    unrecorded = [e["name"] for e in report["executions"] if not e.get("outcome")]
    if unrecorded:
        found.append(f"no record for: {', '.join(unrecorded)}")
    locks = [str(item["pk"]) for item in report["locks"] if str(item["pk"]).startswith("LOCK#")]
    if locks:
        found.append(f"locks left: {', '.join(locks)}")
    for name in [endpoint] if endpoint else sorted(report["endpoints"]):
        found += _endpoint_problems(report, name)
    resources = report.get("configResources", {})
    transitional = [name for name, config in resources.items() if config["transitional"]]
    if transitional:
        found.append(f"transitional configs left: {', '.join(transitional)}")
    used = {model for config in resources.values() for model in config["models"]}
    used |= {str(job.get("modelName")) for job in report.get("transformJobs", [])}  # batch's own models
    orphans = [model for model in report["models"] if model not in used]
    if orphans:
        found.append(f"models no config uses: {', '.join(orphans)}")
    # the drift and quality alarms of a monitor are meant to stay (smdeploy.monitoring.names)
    monitor_alarms = ("smdeploy-drift-", "smdeploy-quality-")
    alarms = [
        name
        for name in report["alarms"]
        if name.startswith("smdeploy-") and not name.startswith(monitor_alarms)
    ]
    if alarms:
        found.append(f"candidate alarms left: {', '.join(alarms)}")
    return found


def _endpoint_problems(report: dict[str, Any], name: str) -> list[str]:
    described = report["endpoints"].get(name)
    if described is None:
        return []  # a first deployment that failed leaves no endpoint: that is converged too
    if described["status"] != "InService":
        return [f"endpoint {name} is {described['status']}"]
    serving = {v["modelPackageArn"] for v in described["variants"] if v["weight"] > 0}
    if len(serving) != 1:
        weights = ", ".join(f"{v['name']}@{v['weight']:g}" for v in described["variants"])
        return [f"endpoint {name} serves {len(serving)} versions ({weights})"]
    return []
