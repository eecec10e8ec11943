"""Scenario keys for the simulator (alarms, monitors, traffic) and what the report shows of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from localcloud.scenario.contract import ScenarioError, load_scenario
from localcloud.scenario.report import render
from tests.statemachine.helpers import execution, rehearse

CHURN = {"churn": {"endpoint": "churn-prod"}}
# Model Monitor analyses captured data only ("Job inputs had no data" otherwise,
# aws/sagemaker-python-sdk#2634): the monitored endpoint captures its traffic.
CAPTURED = {
    "churn": {
        "endpoint": "churn-prod",
        "dataCapture": {"samplingPercentage": 100, "destination": "s3://smdeploy-data-capture/churn"},
    }
}


def _scenario(**extra: Any) -> dict[str, Any]:
    return {
        "name": "simulator",
        "groups": CAPTURED,
        "models": {"churn/1": {"errorRate": 0.001, "latencyMs": 40, "monitor": "violations"}},
        "simulation": {"weightUpdateSeconds": 20, "requestsPerMinute": 300, "noTrafficMetrics": True},
        "alarms": [
            {
                "name": "all-traffic-5xx",
                "metric": "Invocation5XXErrors",
                "endpoint": "churn-prod",
                "variant": "AllTraffic",  # no such variant: no data, which is not breaching
                "threshold": 0.05,
                "evaluationPeriods": 3,
                "datapointsToAlarm": 2,
                "treatMissingData": "notBreaching",
            },
            {
                "name": "queue-depth",
                "namespace": "AWS/SQS",
                "metric": "ApproximateNumberOfMessagesVisible",
                "dimensions": {"QueueName": "work"},
                "statistic": "Maximum",
                "threshold": 100,
                "state": "OK",
            },
        ],
        "monitors": {"churn-prod": {"everyMinutes": 10, "startDelayMinutes": 1, "runMinutes": 2}},
        "timeline": [
            {"at": 0, "approve": {"group": "churn", "version": 1}},
            {"at": 1200, "setAlarm": {"name": "queue-depth", "state": "ALARM", "reason": "drill"}},
        ],
        **extra,
    }


def test_alarms_monitors_and_traffic_appear_in_the_report(tmp_path: Path) -> None:
    result = rehearse(tmp_path, _scenario(until=1800))
    report = result.report
    assert execution(result)["outcome"] == "DEPLOYED"
    assert report["virtualSeconds"] == 1800
    changes = [(c["at"], c["alarm"], c["from"], c["to"]) for c in report["alarmStateChanges"]]
    assert changes == [
        (0.0, "queue-depth", "INSUFFICIENT_DATA", "OK"),
        (60.0, "all-traffic-5xx", "INSUFFICIENT_DATA", "OK"),
        (1200.0, "queue-depth", "OK", "ALARM"),
    ]
    assert report["alarms"]["queue-depth"]["state"] == "ALARM"
    (deployed,) = report["weightChanges"]
    variant = report["endpoints"]["churn-prod"]["variants"][0]
    assert deployed == {
        "at": 480.0,
        "endpoint": "churn-prod",
        "weights": {variant["name"]: 1.0},
        "packages": {variant["name"]: "churn/1"},
    }
    assert variant["weight"] == 1.0
    monitored = [(m["scheduledAt"], m["status"]) for m in report["monitoringExecutions"]]
    # 00:10 covers 00:00-00:10 (traffic from 00:08), then every 10 minutes; 00:30 is still Pending
    assert monitored == [
        (600.0, "CompletedWithViolations"),
        (1200.0, "CompletedWithViolations"),
        (1800.0, "Pending"),
    ]
    assert report["monitoringExecutions"][0]["packages"] == {"churn/1": 600}
    assert report["invocations"]["churn-prod"][variant["name"]]["requests"] == 300 * 22
    text = render(result)
    assert f"traffic    churn-prod weights: {variant['name']} (churn/1) 1" in text
    assert "alarm      queue-depth OK -> ALARM" in text
    assert "monitor    churn-prod-monitor 00:00:00-00:10:00: CompletedWithViolations" in text
    assert "Alarms\n  all-traffic-5xx: OK" in text


def test_without_until_the_rehearsal_ends_when_only_background_work_is_left(tmp_path: Path) -> None:
    result = rehearse(tmp_path, _scenario())
    # the setAlarm step at 1200 is the last foreground happening; monitors and metrics do not count
    assert result.report["virtualSeconds"] == 1200
    assert [m["scheduledAt"] for m in result.report["monitoringExecutions"]] == [600.0, 1200.0]


def test_two_rehearsals_of_a_scenario_give_the_same_report(tmp_path: Path) -> None:
    scenario = _scenario(until=1500)
    first = rehearse(tmp_path, scenario).report
    second = rehearse(tmp_path, scenario).report
    for report in (first, second):
        report.pop("wallSeconds")
        report["scenario"].pop("file")
    assert first == second


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        (
            {"simulation": {"weightUpdateSeconds": -1}},
            "simulation.weightUpdateSeconds",
            "greater than or equal",
        ),
        ({"simulation": {"noTrafficMetrics": "sometimes"}}, "simulation.noTrafficMetrics", "boolean"),
        (
            {"models": {"churn/1": {"monitor": "maybe"}}},
            "models.churn/1.monitor",
            "'ok', 'violations' or 'failed'",
        ),
        (
            {"monitors": {"churn-prod": {"everyMinutes": 7}}},
            "monitors.churn-prod.everyMinutes",
            "divisor of 60",
        ),
        ({"monitors": {"churn-prod": {"every": 60}}}, "monitors.churn-prod.every", "unknown key"),
        ({"monitors": {"bad_name": {}}}, "monitors", "not an endpoint name"),
        ({"alarms": [{"name": "a", "metric": "Invocations"}]}, "alarms[0].threshold", "required"),
        (
            {"alarms": [{"name": "a", "metric": "M", "threshold": 1, "statistic": "Median"}]},
            "alarms[0].statistic",
            "p99",
        ),
        (
            {"alarms": [{"name": "a", "metric": "M", "threshold": 1, "period": 90}]},
            "alarms[0]",
            "multiple of 60",
        ),
        (
            {
                "alarms": [
                    {"name": "a", "metric": "M", "threshold": 1},
                    {"name": "a", "metric": "M", "threshold": 2},
                ]
            },
            "alarms",
            "unique",
        ),
        (
            {"timeline": [{"at": 0, "setAlarm": {"name": "a", "state": "RED"}}]},
            "timeline[0].setAlarm.state",
            "'OK', 'ALARM' or 'INSUFFICIENT_DATA'",
        ),
    ],
)
def test_bad_simulator_keys_name_the_key(
    tmp_path: Path, change: dict[str, Any], key: str, problem: str
) -> None:
    scenario = {"name": "bad", "timeline": [{"at": 0, "approve": {"group": "churn", "version": 1}}], **change}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(scenario))
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    assert error.value.key == key
    assert problem in error.value.problem


def test_set_alarm_on_an_alarm_that_does_not_exist_is_noted_not_fatal(tmp_path: Path) -> None:
    scenario = {
        "name": "missing alarm",
        "timeline": [{"at": 60, "setAlarm": {"name": "nope", "state": "ALARM"}}],
    }
    result = rehearse(tmp_path, scenario)
    assert (60.0, "alarm      SetAlarmState nope failed: ResourceNotFound") in result.timeline
    assert result.report["alarmStateChanges"] == []
