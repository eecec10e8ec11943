"""Scenario keys for faults, stops and calls made by hand: what names no call, function, state
machine, execution or event is exit 2 naming the key (issue 11, items 4 and 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from localcloud.engine.apicalls import call_problem
from localcloud.engine.cloud import EPOCH
from localcloud.engine.scheduler import Scheduler
from localcloud.scenario.contract import ScenarioError, load_scenario

APPROVE = {"at": 0, "approve": {"group": "churn", "version": 1}}


def load(tmp_path: Path, **keys: object) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump({"name": "x", "timeline": [APPROVE], **keys}))
    load_scenario(path)


def refused(tmp_path: Path, **keys: object) -> ScenarioError:
    with pytest.raises(ScenarioError) as invalid:
        load(tmp_path, **keys)
    return invalid.value


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        ("sagemaker:CreateModle", "no action 'CreateModle'"),
        ("glue:StartJobRun", "serves no service 'glue'"),
        ("lambda:PromoteFunction", "no function 'PromoteFunction' in template.yaml"),
    ],
)
def test_a_fault_on_an_unknown_call_or_function_names_the_key(
    tmp_path: Path, call: str, problem: str
) -> None:
    invalid = refused(
        tmp_path,
        faults=[{"call": "sagemaker:CreateModel", "error": "Throttling"}, {"call": call, "error": "Boom"}],
    )
    assert invalid.key == "faults[1].call"
    assert problem in invalid.problem


@pytest.mark.parametrize(
    "fault",
    [
        {"call": "lambda:ShiftTrafficFunction", "error": "Lambda.ServiceException"},
        {"call": "lambda:CreateModelFunction", "error": "Sandbox.Timedout", "mode": "lost-response"},
        {"call": "lambda:Invoke", "error": "ServiceException"},  # the Lambda API's own action
        {"call": "sagemaker:CreateModel", "error": "InternalFailure", "mode": "lost-response"},
    ],
)
def test_faults_on_served_calls_and_template_functions_are_accepted(
    tmp_path: Path, fault: dict[str, str]
) -> None:
    load(tmp_path, faults=[fault])


def test_a_fault_mode_is_before_or_lost_response(tmp_path: Path) -> None:
    invalid = refused(tmp_path, faults=[{"call": "sagemaker:CreateModel", "error": "Boom", "mode": "later"}])
    assert invalid.key == "faults[0].mode"


def test_an_unknown_state_machine_names_the_key(tmp_path: Path) -> None:
    invalid = refused(tmp_path, timeline=[APPROVE, {"at": 5, "start": {"stateMachine": "deplyo"}}])
    assert (invalid.key, invalid.problem) == (
        "timeline[1].start.stateMachine",
        "no state machine 'deplyo' in template.yaml (known: batchtransform, deploy)",
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"source": "aws.sagemaker"', "not valid JSON"),
        ("[1, 2]", "got a JSON list"),
        (json.dumps({"detail-type": "x", "detail": {}}), "non-empty string 'source'"),
        (json.dumps({"source": "aws.sagemaker", "detail-type": "x", "detail": "{}"}), "'detail' object"),
    ],
)
def test_a_malformed_raw_event_file_names_the_key(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "event.json").write_text(text)
    invalid = refused(tmp_path, timeline=[{"at": 0, "event": "event.json"}])
    assert invalid.key == "timeline[0].event"
    assert problem in invalid.problem


def test_the_repository_events_are_accepted(tmp_path: Path) -> None:
    load(tmp_path, timeline=[{"at": 0, "event": "events/model_package_approved.json"}])


def test_a_call_by_hand_is_checked_like_boto3_checks_it(tmp_path: Path) -> None:
    unknown = refused(tmp_path, timeline=[{"at": 0, "aws": {"call": "sagemaker:ShiftWeights", "params": {}}}])
    assert unknown.key == "timeline[0].aws.call"
    incomplete = refused(
        tmp_path,
        timeline=[
            {
                "at": 0,
                "aws": {
                    "call": "sagemaker:UpdateEndpointWeightsAndCapacities",
                    "params": {"EndpointName": "e"},
                },
            }
        ],
    )
    assert incomplete.key == "timeline[0].aws.params"
    assert "DesiredWeightsAndCapacities" in incomplete.problem


def test_a_stop_names_an_execution_number_from_one(tmp_path: Path) -> None:
    assert (
        refused(tmp_path, timeline=[{"at": 0, "stop": {"execution": 0}}]).key == "timeline[0].stop.execution"
    )
    load(tmp_path, timeline=[APPROVE, {"at": 60, "stop": {"execution": 1}}])


def test_call_names_follow_the_report_s_service_prefixes() -> None:
    assert call_problem("states:StopExecution") is None
    assert call_problem("application-autoscaling:RegisterScalableTarget") is None
    assert call_problem("stepfunctions:StopExecution") is not None  # the report says states:


def test_a_woken_sleeper_runs_now_and_its_wake_up_neither_runs_nor_keeps_the_clock_going() -> None:
    scheduler = Scheduler(EPOCH)
    seen: list[tuple[str, float]] = []

    def participant() -> None:
        seen.append(("asleep", scheduler.now))
        scheduler.sleep(100)
        seen.append(("awake", scheduler.now))

    scheduler.spawn(participant, key="p")

    def stop() -> None:
        seen.append(("woken", scheduler.now))
        scheduler.wake("p")

    scheduler.at(30, stop)
    scheduler.run()
    assert seen == [("asleep", 0.0), ("woken", 30.0), ("awake", 30.0)]
    assert scheduler.now == 30.0
    assert not scheduler.wake("p")  # it ended: nothing to wake
