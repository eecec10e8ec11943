"""The fault matrix: one injected fault per (call site x kind) during a canary rollout.

Every run must end consistent: every execution finished, the endpoint serving exactly one
config at 100%, no endpoint lock left, the outcome recorded, and no endpoint config or model
beyond the retention rule. The matrix size and how many runs held are printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.statemachine.helpers import rehearse

KINDS = ("ThrottlingException", "InternalFailure", "ValidationException")
ROLLOUT_STARTS = 300.0
# Registry calls the scenario itself makes; faults there would test the scenario, not the control plane.
SCENARIO_CALLS = {
    "sagemaker:CreateModelPackageGroup",
    "sagemaker:CreateModelPackage",
    "sagemaker:UpdateModelPackage",
    "sagemaker:ListModelPackageGroups",
    "states:StartExecution",
    "states:DescribeExecution",
}


CANARY = {"type": "canary", "steps": [50], "bakeMinutes": 3, "checkIntervalSeconds": 60, "minInvocations": 10}
# The other deployment options: SageMaker's own canary with autoscaling, and a multi-model endpoint.
GUARDRAILS = {
    "endpoint": "churn-prod",
    "strategy": {
        "type": "guardrails-canary",
        "canaryPercent": 20,
        "bakeMinutes": 3,  # the candidate alarms' window: 2 x 60 s + 60 s publishing delay
        "terminationWaitMinutes": 1,
    },
    "autoscaling": {"minCapacity": 1, "maxCapacity": 3},
}
MULTI_MODEL = {"endpoint": "churn-prod", "multiModel": {"artifactPrefix": "s3://mme-models/churn/"}}


def scenario(
    candidate_error_rate: float, faults: list[dict[str, Any]], group: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "name": "fault matrix",
        "groups": {"churn": group or {"endpoint": "churn-prod", "strategy": CANARY}},
        "data": {"s3://mme-models/README.txt": "multi-model artifacts"},
        "parameters": {"ModelArtifactBuckets": "sagemaker-us-east-1-123456789012,mme-models"},
        "models": {"churn/1": {"errorRate": 0.001}, "churn/2": {"errorRate": candidate_error_rate}},
        "simulation": {"endpointCreateSeconds": 120, "endpointUpdateSeconds": 120, "requestsPerMinute": 600},
        "faults": faults,
        "timeline": [
            {"at": 0, "approve": {"group": "churn", "version": 1}},
            {"at": ROLLOUT_STARTS, "approve": {"group": "churn", "version": 2}},
        ],
    }


def inconsistencies(report: dict[str, Any], scaled: bool = False) -> list[str]:
    problems = []
    running = [e["name"] for e in report["executions"] if e["status"] == "RUNNING"]
    if running:
        problems.append(f"still running: {running}")
    rollout = report["executions"][-1]
    if not rollout["outcome"]:
        problems.append("rollout outcome not recorded")
    endpoint = report["endpoints"].get("churn-prod")
    if endpoint is None or endpoint["status"] != "InService":
        problems.append(f"endpoint not InService: {endpoint and endpoint['status']}")
    elif [v["weight"] for v in endpoint["variants"]] != [1.0]:
        problems.append(f"endpoint variants {[(v['name'], v['weight']) for v in endpoint['variants']]}")
    locks = [item["pk"] for item in report["locks"] if str(item["pk"]).startswith("LOCK#")]
    if locks:
        problems.append(f"locks left: {locks}")
    configs = report["endpointConfigs"]
    if len(configs) > 2:
        problems.append(f"endpoint configs beyond retention: {configs}")
    models = report["models"]
    expected_models = 2 if rollout["outcome"] == "PROMOTED" else 1
    if len(models) > expected_models:
        problems.append(f"models beyond retention after {rollout['outcome']}: {models}")
    alarms = [name for name in report["alarms"] if name.startswith("smdeploy-")]
    if alarms:
        problems.append(f"candidate alarms left: {alarms}")
    if scaled and endpoint is not None and not all(v.get("autoscaling") for v in endpoint["variants"]):
        problems.append("the serving variant is not registered for autoscaling")
    return problems


def call_sites(tmp_path: Path, error_rate: float, group: dict[str, Any] | None = None) -> list[str]:
    tmp_path.mkdir()
    reference = rehearse(tmp_path, scenario(error_rate, [], group))
    assert reference.ok or not inconsistencies(reference.report)
    return sorted(call for call in reference.report["apiCalls"] if call not in SCENARIO_CALLS)


@pytest.mark.matrix  # minutes: `make matrix` (CI) runs it with the convergence matrix
@pytest.mark.parametrize(
    ("path", "error_rate", "group", "kinds"),
    [
        ("promote", 0.001, None, KINDS),
        ("rollback", 0.3, None, KINDS),
        # one refused call each: a throttled one is retried the same way everywhere
        ("guardrails with autoscaling", 0.001, GUARDRAILS, ("ValidationException",)),
        ("multi-model", 0.001, MULTI_MODEL, ("ValidationException",)),
    ],
)
def test_one_fault_per_call_site_and_kind_leaves_everything_consistent(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    path: str,
    error_rate: float,
    group: dict[str, Any] | None,
    kinds: tuple[str, ...],
) -> None:
    sites = call_sites(tmp_path / "reference", error_rate, group)
    scaled = bool(group and group.get("autoscaling"))
    failures, fired = [], 0
    for site in sites:
        for kind in kinds:
            fault = {"call": site, "error": kind, "times": 1, "after": ROLLOUT_STARTS}
            run_dir = tmp_path / f"{site.replace(':', '-')}-{kind}"
            run_dir.mkdir()
            report = rehearse(run_dir, scenario(error_rate, [fault], group)).report
            fired += bool(report["faultsInjected"])
            problems = inconsistencies(report, scaled)
            if problems:
                failures.append(f"{site} x {kind}: {'; '.join(problems)}")
    size = len(sites) * len(kinds)
    held = size - len(failures)
    with capsys.disabled():
        print(f"\nfault matrix ({path}): {size} runs ({fired} with the fault fired), {held} consistent")
    assert not failures, "\n".join(failures)


def test_the_consistency_check_sees_what_a_persistent_fault_leaves_behind(tmp_path: Path) -> None:
    # Deletes refused more often than the steps retry: the clean-up gives up and says so.
    fault = {
        "call": "sagemaker:DeleteEndpointConfig",
        "error": "ValidationException",
        "times": 10,
        "after": ROLLOUT_STARTS,
    }
    report = rehearse(tmp_path, scenario(0.001, [fault])).report
    assert report["executions"][-1]["outcome"] == "PROMOTED"
    assert any("endpoint configs beyond retention" in problem for problem in inconsistencies(report))
