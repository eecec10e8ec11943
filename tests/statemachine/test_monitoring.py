"""Monitors follow the serving version: rehearsed with the real ASL, handlers, schedules and alarms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from smdeploy_cli.drift import text as drift_text
from tests.statemachine.helpers import execution, rehearse, repository_rehearsal, run_cli, same_scenario

REPO = Path(__file__).resolve().parents[2]
DRIFT_AT = 20000  # when the drift scenarios' inputs change


def _scenario(name: str) -> dict[str, Any]:
    scenario = yaml.safe_load((REPO / "scenarios" / f"{name}.yaml").read_text())
    scenario.pop("expect", None)
    return scenario


def _output(ex: dict[str, Any]) -> dict[str, Any]:
    output = ex["output"]
    return dict(json.loads(output) if isinstance(output, str) else output or {})


def _monitors(rehearsal: Any) -> dict[str, Any]:
    return dict(rehearsal.report["endpoints"]["churn-prod"].get("monitors") or {})


@same_scenario("monitoring-follows-promotion")
def test_after_a_promotion_the_monitors_use_the_new_versions_baselines_and_no_old_monitor_is_left() -> None:
    rehearsal = repository_rehearsal("monitoring-follows-promotion")
    assert execution(rehearsal, 2)["outcome"] == "PROMOTED"
    monitors = _monitors(rehearsal)
    assert monitors["schedule"]["version"] == "churn/2"
    assert monitors["schedule"]["baselines"]["dataQuality"].endswith(
        "/baselines/churn/2/data-quality/statistics.json"
    )
    assert [a["name"] for a in monitors["alarms"]] == ["smdeploy-drift-churn-prod"]
    assert "churn/2" in monitors["alarms"][0]["watches"]
    assert "churn/1" not in json.dumps(monitors)
    # the record says which monitors watch what, and that they moved from churn/1
    recorded = _output(execution(rehearsal, 2))["monitoring"]
    assert recorded["version"] == "churn/2" and recorded["previousVersion"] == "churn/1"
    assert recorded["retargeted"] is True
    assert {m["name"] for m in recorded["monitors"]} == {"smdeploy-drift-churn-prod"}
    assert not rehearsal.report["accessDenied"]  # every call allowed by template.yaml's policies


def test_with_model_monitor_the_schedule_of_the_old_version_is_replaced(tmp_path: Path) -> None:
    scenario = _scenario("monitoring-follows-promotion")
    scenario["groups"]["churn"]["monitoring"]["engine"] = "model-monitor"
    rehearsal = rehearse(tmp_path, scenario)
    assert execution(rehearsal, 2)["outcome"] == "PROMOTED"
    monitors = _monitors(rehearsal)
    assert monitors["modelMonitorSchedules"] == ["smdeploy-churn-prod-dq-v2"]
    assert monitors["schedule"]["engine"] == "model-monitor"
    assert not rehearsal.report["accessDenied"]


@same_scenario("drift-notifies")
def test_drift_and_a_quality_drop_notify_after_the_drift_and_not_before() -> None:
    rehearsal = repository_rehearsal("drift-notifies")
    to_alarm = {
        change["alarm"]: change["at"]
        for change in rehearsal.report["alarmStateChanges"]
        if change["to"] == "ALARM"
    }
    assert set(to_alarm) == {"smdeploy-drift-churn-prod", "smdeploy-quality-churn-prod"}
    assert all(at > DRIFT_AT for at in to_alarm.values())  # no false alarm in the 5.5 h before
    assert to_alarm["smdeploy-drift-churn-prod"] - DRIFT_AT <= 2 * 3600  # the next hourly checks
    subjects = [n["subject"] for n in rehearsal.report["notifications"]]
    assert "smdeploy DRIFT: churn-prod <- churn/1 (data drift)" in subjects
    assert "smdeploy DRIFT: churn-prod <- churn/1 (model quality)" in subjects
    drift_note = next(n for n in rehearsal.report["notifications"] if "data drift" in n["subject"])
    message = drift_note["message"]
    message = json.loads(message) if isinstance(message, str) else message
    assert "age (PSI" in message["summary"]
    assert "tenure" not in message["summary"]  # only the drifted feature is named
    assert len(rehearsal.report["executions"]) == 1  # notify: nothing redeployed


@same_scenario("drift-rolls-back")
def test_a_drift_rolls_back_to_the_last_good_version_through_the_locked_path() -> None:
    rehearsal = repository_rehearsal("drift-rolls-back")
    executions = rehearsal.report["executions"]
    assert len(executions) == 3
    rollback = executions[2]
    assert rollback["name"].startswith("drift-")
    assert (rollback["status"], rollback["outcome"]) == ("SUCCEEDED", "PROMOTED")
    record = _output(rollback)
    assert record["reason"].startswith("DRIFT: churn/2 drifted on churn-prod")
    assert "restoring churn/1" in record["reason"]
    assert record["withdrawalCause"] == "drift"
    assert rollback["startedAt"] - DRIFT_AT <= 2 * 3600
    monitors = _monitors(rehearsal)
    assert monitors["schedule"]["version"] == "churn/1"
    assert rehearsal.report["endpoints"]["churn-prod"]["variants"][0]["modelPackageArn"].endswith("/churn/1")


@same_scenario("canary-prediction-divergence")
def test_a_canary_whose_predictions_diverge_rolls_back_naming_the_divergence() -> None:
    ex = execution(repository_rehearsal("canary-prediction-divergence"), 2)
    assert (ex["status"], ex["outcome"]) == ("FAILED", "ROLLED_BACK")
    assert "PREDICTION_DIVERGENCE: candidate predictions against the baseline's" in ex["cause"]


def test_a_canary_with_the_same_predictions_and_inputs_is_promoted(tmp_path: Path) -> None:
    scenario = _scenario("canary-prediction-divergence")
    scenario["models"]["churn/2"]["positiveRate"] = 0.2
    ex = execution(rehearse(tmp_path, scenario), 2)
    assert (ex["status"], ex["outcome"]) == ("SUCCEEDED", "PROMOTED")


def test_a_candidate_whose_inputs_drift_from_its_own_baseline_rolls_back(tmp_path: Path) -> None:
    scenario = _scenario("canary-prediction-divergence")
    scenario["models"]["churn/2"]["positiveRate"] = 0.2
    scenario["timeline"].append(
        {"at": 3601, "drift": {"group": "churn", "version": 2, "features": {"age": {"mean": 60}}}}
    )
    ex = execution(rehearse(tmp_path, scenario), 2)
    assert (ex["status"], ex["outcome"]) == ("FAILED", "ROLLED_BACK")
    assert "INPUT_DRIFT: candidate inputs against its baseline" in ex["cause"]
    assert "age PSI" in ex["cause"]


def test_monitoring_a_package_without_baselines_is_refused_before_anything_changes(tmp_path: Path) -> None:
    scenario = _scenario("monitoring-follows-promotion")
    del scenario["models"]["churn/2"]["baseline"]
    rehearsal = rehearse(tmp_path, scenario)
    ex = execution(rehearsal, 2)
    assert ex["outcome"] == "INVALID_REQUEST"
    assert "monitoring.dataQuality" in ex["cause"] and "DriftCheckBaselines.ModelDataQuality" in ex["cause"]
    assert not any("-v2-" in name or "churn-v2" in name for name in rehearsal.report["models"])
    assert _monitors(rehearsal)["schedule"]["version"] == "churn/1"


def test_the_drift_report_shows_each_feature_against_its_baseline_and_the_alarms(tmp_path: Path) -> None:
    plot = tmp_path / "drift.png"
    scenario = str(REPO / "scenarios" / "drift-notifies.yaml")
    # 24,000 s: an hour after the drift alarm (the inputs changed at 20,000 s)
    done = run_cli(
        "drift", "churn-prod", "--scenario", scenario, "--at", "24000", "--json", "--plot", str(plot)
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    features = {f["name"]: f for f in report["dataQuality"]["features"]}
    assert features["age"]["drifted"] and not features["tenure"]["drifted"]
    assert features["age"]["psi"] > 0.2
    assert (
        len(features["age"]["baseline_hist"])
        == len(features["age"]["current_hist"])
        == len(features["age"]["bins"])
    )
    assert {"name": "smdeploy-drift-churn-prod", "state": "ALARM"}.items() <= report["alarmStates"][0].items()
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = drift_text(report)  # what the command prints without --json, from the same report
    assert "age" in text and "DRIFTED" in text and "alarm smdeploy-drift-churn-prod: ALARM" in text


def test_the_drift_report_of_an_unmonitored_endpoint_says_why() -> None:
    done = run_cli("drift", "churn-prod", "--scenario", str(REPO / "scenarios" / "canary-promote.yaml"))
    assert done.returncode == 2
    assert "no drift monitor on endpoint 'churn-prod'" in done.stderr
