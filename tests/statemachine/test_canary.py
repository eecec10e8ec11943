"""Canary rollouts: the real deploy ASL and handlers against the simulated endpoint, alarms and traffic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.statemachine.helpers import PACKAGE, execution, rehearse


def canary(tmp_path: Path, *, strategy: dict[str, Any] | None = None, **scenario: Any):  # type: ignore[no-untyped-def]
    """churn/1 is live on churn-prod; churn/2 is approved an hour later."""
    base: dict[str, Any] = {
        "name": "canary",
        "groups": {
            "churn": {
                "endpoint": "churn-prod",
                "strategy": strategy
                or {"type": "canary", "steps": [10, 50], "bakeMinutes": 10, "checkIntervalSeconds": 120},
            }
        },
        "models": {"churn/1": {"errorRate": 0.001}, "churn/2": {"errorRate": 0.002}},
        "simulation": {"requestsPerMinute": 600},
        "timeline": [
            {"at": 0, "approve": {"group": "churn", "version": 1}},
            {"at": 3600, "approve": {"group": "churn", "version": 2}},
        ],
    }
    for key, value in scenario.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) and key in base else value
    return rehearse(tmp_path, base)


def variants(report: dict[str, Any]) -> list[tuple[str, float]]:
    return [(v["modelPackageArn"], v["weight"]) for v in report["endpoints"]["churn-prod"]["variants"]]


def test_healthy_candidate_is_promoted_and_serves_alone(tmp_path: Path) -> None:
    result = canary(tmp_path)
    rollout = execution(result, 2)
    assert (rollout["status"], rollout["outcome"]) == ("SUCCEEDED", "PROMOTED")
    assert variants(result.report) == [(PACKAGE.format(2), 1.0)]
    # each step was judged, healthy, and the history is in the execution output (= the record)
    history = rollout["output"]["verdictHistory"]
    assert len(history) == 2
    assert "NEXT_STEP" in history[0] and "PROMOTE" in history[1]


def test_traffic_moves_in_the_plan_steps_before_promotion(tmp_path: Path) -> None:
    result = canary(tmp_path)
    candidate_weights = [
        weight
        for change in result.report["weightChanges"]
        for name, weight in change["weights"].items()
        if "v2" in name
    ]
    assert [w for w in candidate_weights if w > 0][:3] == [0.1, 0.5, 1.0]


def test_promotion_cleans_up_the_canary_config_and_candidate_alarms(tmp_path: Path) -> None:
    result = canary(tmp_path)
    cleanup = execution(result, 2)["output"]["cleanup"]
    assert any("canary" in name for name in cleanup["deletedConfigs"])
    # exactly the two alarms made for the candidate variant (churn/2) on churn-prod
    assert all(name.startswith("smdeploy-churn-prod-churn-v2-") for name in cleanup["deletedAlarms"])
    assert sorted(name.rsplit("-", 2)[-2] for name in cleanup["deletedAlarms"]) == ["5xx", "p99"]
    assert not [name for name in result.report["alarms"] if name.startswith("smdeploy-")]
    assert result.report["apiCalls"]["cloudwatch:DeleteAlarms"] == 1


def test_candidate_with_high_error_rate_is_rolled_back_to_the_baseline(tmp_path: Path) -> None:
    result = canary(tmp_path, models={"churn/2": {"errorRate": 0.2}})
    rollout = execution(result, 2)
    assert (rollout["status"], rollout["outcome"], rollout["error"]) == (
        "FAILED",
        "ROLLED_BACK",
        "DeploymentRolledBack",
    )
    assert "5xx-rate is ALARM" in rollout["cause"]
    assert variants(result.report) == [(PACKAGE.format(1), 1.0)]
    assert result.report["apiCalls"]["sagemaker:DeleteModel"] == 1


def test_rollback_gives_the_weight_back_before_replacing_the_config(tmp_path: Path) -> None:
    result = canary(tmp_path, models={"churn/2": {"errorRate": 0.2}})
    changes = [c for c in result.report["weightChanges"] if c["at"] >= 3600]
    restored = next(
        i
        for i, c in enumerate(changes)
        if any("v2" in n and w == 0 for n, w in c["weights"].items()) and i > 1
    )
    assert len(changes[restored]["weights"]) == 2  # still the two-variant config, candidate at 0
    assert len(changes[-1]["weights"]) == 1  # then the baseline-only config


def test_rollback_reaction_is_within_one_check_interval_plus_the_weight_update(tmp_path: Path) -> None:
    result = canary(tmp_path, models={"churn/2": {"errorRate": 0.2}}, simulation={"weightUpdateSeconds": 30})
    alarm_at = min(c["at"] for c in result.report["alarmStateChanges"] if c["to"] == "ALARM")
    restored_at = min(
        c["at"]
        for c in result.report["weightChanges"]
        if c["at"] > alarm_at and all(w == (1.0 if "v1" in n else 0.0) for n, w in c["weights"].items())
    )
    assert restored_at - alarm_at <= 120 + 30


def test_errors_of_the_old_fleet_do_not_abort_a_healthy_candidate(tmp_path: Path) -> None:
    result = canary(tmp_path, models={"churn/1": {"errorRate": 0.3}, "churn/2": {"errorRate": 0.001}})
    assert execution(result, 2)["outcome"] == "PROMOTED"


def test_candidate_that_fails_to_deploy_is_rolled_back_and_the_baseline_keeps_serving(tmp_path: Path) -> None:
    result = canary(tmp_path, models={"churn/2": {"failDeploy": True}})
    rollout = execution(result, 2)
    assert (rollout["outcome"], rollout["error"]) == ("ROLLED_BACK", "DeploymentRolledBack")
    assert "EndpointUpdateFailed" in rollout["cause"]
    assert variants(result.report) == [(PACKAGE.format(1), 1.0)]


def test_no_traffic_is_inconclusive_and_rolls_back_after_the_extensions(tmp_path: Path) -> None:
    result = canary(tmp_path, simulation={"requestsPerMinute": 0})
    rollout = execution(result, 2)
    assert rollout["outcome"] == "ROLLED_BACK"
    assert "inconclusive (no extension left)" in rollout["cause"]
    assert variants(result.report) == [(PACKAGE.format(1), 1.0)]


def test_throttled_weight_shifts_are_retried(tmp_path: Path) -> None:
    result = canary(
        tmp_path,
        faults=[
            {
                "call": "sagemaker:UpdateEndpointWeightsAndCapacities",
                "error": "ThrottlingException",
                "times": 2,
            }
        ],
    )
    assert execution(result, 2)["outcome"] == "PROMOTED"
    assert len(result.report["faultsInjected"]) == 2


@pytest.mark.parametrize(
    ("strategy", "field"),
    [
        ({"steps": [50, 10]}, "strategy.steps"),
        ({"steps": [10, 120]}, "strategy.steps"),
        ({"bakeMinutes": 1, "checkIntervalSeconds": 300}, "strategy"),
        ({"alarms": ["no-such-alarm"]}, "strategy.alarms"),
    ],
)
def test_impossible_strategy_in_a_manual_start_is_invalid_before_anything_is_touched(
    tmp_path: Path, strategy: dict[str, Any], field: str
) -> None:
    result = canary(
        tmp_path,
        simulation={"registryEvents": False},
        timeline=[
            {"at": 0, "approve": {"group": "churn", "version": 1}},
            {"at": 0, "start": {"input": {"modelPackageArn": PACKAGE.format(1)}}},
            {"at": 3000, "approve": {"group": "churn", "version": 2}},
            {"at": 3600, "start": {"input": {"modelPackageArn": PACKAGE.format(2), "strategy": strategy}}},
        ],
    )
    assert execution(result, 1)["outcome"] == "DEPLOYED"
    rollout = execution(result, 2)
    assert (rollout["outcome"], rollout["error"]) == ("INVALID_REQUEST", "InvalidRequest")
    assert rollout["cause"].startswith(f"{field}")
    calls = result.report["apiCalls"]
    assert calls["sagemaker:CreateModel"] == 1  # the first deployment's only
    assert "sagemaker:UpdateEndpoint" not in calls


def test_impossible_strategy_in_the_group_config_names_the_parameter_and_key(tmp_path: Path) -> None:
    result = canary(tmp_path, strategy={"steps": [50, 10]})
    first = execution(result, 1)
    assert first["outcome"] == "INVALID_REQUEST"
    assert first["cause"].startswith("ssm:/smdeploy/groups/churn.strategy.steps: steps must increase")
    assert result.report["endpoints"] == {}


def test_an_in_progress_update_rejection_is_waited_out_not_failed(tmp_path: Path) -> None:
    busy = (
        'Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-prod".'
    )
    result = canary(
        tmp_path,
        faults=[
            {"call": "sagemaker:UpdateEndpoint", "error": "ValidationException", "times": 3, "message": busy}
        ],
    )
    assert execution(result, 2)["outcome"] == "PROMOTED"
    assert len(result.report["faultsInjected"]) == 3


def test_the_rollback_record_carries_the_verdict_and_the_candidate_alarms_are_gone(tmp_path: Path) -> None:
    result = canary(tmp_path, models={"churn/2": {"errorRate": 0.2}})
    assert not [name for name in result.report["alarms"] if name.startswith("smdeploy-")]
    assert result.report["models"] == sorted(result.report["models"])
    assert len(result.report["models"]) == 1  # the candidate model is gone, the baseline's stays
    notification = result.report["notifications"][-1]["message"]
    assert notification["outcome"] == "ROLLED_BACK"
    assert notification["verdict"] == "UNHEALTHY"
    assert any("5xx-rate is ALARM" in reason for reason in notification["verdictReasons"])


def test_data_capture_from_the_group_config_is_on_every_config_the_endpoint_uses(tmp_path: Path) -> None:
    capture = {"samplingPercentage": 20, "destination": "s3://smdeploy-data-capture/churn"}
    result = canary(
        tmp_path,
        groups={
            "churn": {
                "endpoint": "churn-prod",
                "dataCapture": capture,
                "strategy": {"type": "canary", "steps": [50], "bakeMinutes": 4},
            }
        },
    )
    assert execution(result, 2)["outcome"] == "PROMOTED"
    configs = result.report["endpointConfigDetails"]
    assert configs, "the report lists the remaining endpoint configs"
    for config in configs.values():
        assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 20
        assert config["DataCaptureConfig"]["DestinationS3Uri"] == "s3://smdeploy-data-capture/churn"


def test_a_serverless_group_deploys_and_rolls_out_serverless_variants(tmp_path: Path) -> None:
    serverless = {"memorySizeMB": 2048, "maxConcurrency": 10}
    result = canary(
        tmp_path,
        groups={
            "churn": {
                "endpoint": "churn-prod",
                "serverless": serverless,
                "strategy": {"type": "canary", "steps": [50], "bakeMinutes": 4},
            }
        },
    )
    assert [execution(result, n)["outcome"] for n in (1, 2)] == ["DEPLOYED", "PROMOTED"]
    assert variants(result.report) == [(PACKAGE.format(2), 1.0)]
    # one variant only on serverless: a replacement, said in the record, with no weight shift
    calls = result.report["controlPlaneApiCalls"]
    assert calls["sagemaker:UpdateEndpoint"] == 1
    assert "sagemaker:UpdateEndpointWeightsAndCapacities" not in calls
    assert "a serverless endpoint hosts a single production variant" in execution(result, 2)["notes"][0]
