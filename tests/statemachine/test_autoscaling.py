"""Autoscaling through the deploy state machine: registered at the end of every path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.statemachine.helpers import execution, rehearse

SCALING = {"minCapacity": 2, "maxCapacity": 6, "targetInvocationsPerInstance": 200}


def scenario(candidate_error_rate: float) -> dict[str, Any]:
    return {
        "name": "autoscaling",
        "groups": {
            "churn": {
                "endpoint": "churn-prod",
                "initialInstanceCount": 2,
                "autoscaling": SCALING,
                "strategy": {"type": "canary", "steps": [20], "bakeMinutes": 10, "minInvocations": 10},
            }
        },
        "models": {"churn/1": {"errorRate": 0.001}, "churn/2": {"errorRate": candidate_error_rate}},
        "timeline": [
            {"at": 0, "approve": {"group": "churn", "version": 1}},
            {"at": 3600, "approve": {"group": "churn", "version": 2}},
        ],
    }


def _serving_scaling(report: dict[str, Any]) -> list[Any]:
    return [v.get("autoscaling") for v in report["endpoints"]["churn-prod"]["variants"] if v["weight"] > 0]


def test_a_first_deploy_registers_the_new_variant(tmp_path: Path) -> None:
    result = rehearse(tmp_path, {**scenario(0.001), "timeline": scenario(0.001)["timeline"][:1]})
    first = execution(result, 1)
    assert first["outcome"] == "DEPLOYED"
    registered = first["output"]["autoscaling"]
    assert registered["registered"] == [result.report["endpoints"]["churn-prod"]["variants"][0]["name"]]
    assert _serving_scaling(result.report) == [
        {"minCapacity": 2, "maxCapacity": 6, "policies": ["smdeploy-invocations-per-instance"]}
    ]


def test_a_promotion_releases_the_baseline_before_the_update_and_registers_the_candidate(
    tmp_path: Path,
) -> None:
    result = rehearse(tmp_path, scenario(0.001))
    second = execution(result, 2)
    assert second["outcome"] == "PROMOTED"
    # the update to the candidate-only config deregistered the baseline first (SageMaker refuses it otherwise)
    assert result.report["apiCalls"]["application-autoscaling:DeregisterScalableTarget"] == 1
    variants = result.report["endpoints"]["churn-prod"]["variants"]
    assert len(variants) == 1 and variants[0]["name"].startswith("churn-v2-")
    assert second["output"]["autoscaling"]["registered"] == [variants[0]["name"]]
    assert variants[0]["autoscaling"]["minCapacity"] == 2


def test_a_rollback_leaves_the_baseline_registered(tmp_path: Path) -> None:
    result = rehearse(tmp_path, scenario(0.5))
    second = execution(result, 2)
    assert second["outcome"] == "ROLLED_BACK"
    variants = result.report["endpoints"]["churn-prod"]["variants"]
    assert len(variants) == 1 and variants[0]["name"].startswith("churn-v1-")
    calls = result.report["apiCalls"]
    assert "application-autoscaling:DeregisterScalableTarget" not in calls
    # registered once by the first deployment, once again (the same settings) after the rollback
    assert calls["application-autoscaling:RegisterScalableTarget"] == 2
    assert _serving_scaling(result.report) == [
        {"minCapacity": 2, "maxCapacity": 6, "policies": ["smdeploy-invocations-per-instance"]}
    ]


def test_each_of_several_variants_gets_its_own_autoscaling_or_the_groups(tmp_path: Path) -> None:
    own = {"minCapacity": 1, "maxCapacity": 2, "targetInvocationsPerInstance": 300}
    spec = scenario(0.001)
    spec["groups"]["churn"] = {
        "endpoint": "churn-prod",
        "variants": [
            {"instanceType": "ml.m5.large", "initialInstanceCount": 2},
            {"instanceType": "ml.c5.xlarge", "autoscaling": own},
        ],
        "autoscaling": SCALING,
    }
    result = rehearse(tmp_path, spec)
    assert execution(result, 2)["outcome"] == "PROMOTED"
    ranges = [
        (v["autoscaling"]["minCapacity"], v["autoscaling"]["maxCapacity"])
        for v in result.report["endpoints"]["churn-prod"]["variants"]
    ]
    assert ranges == [(2, 6), (1, 2)]
    # both baseline variants were released before the update that replaced them
    assert result.report["apiCalls"]["application-autoscaling:DeregisterScalableTarget"] == 2
