"""Scheduled batch transforms in the local cloud: the real ASL, handlers, schedule and simulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from localcloud.engine.template import Template
from localcloud.scenario.contract import ScenarioError, load_scenario
from localcloud.scenario.report import render
from localcloud.scenario.runner import Rehearsal
from tests.statemachine.helpers import PACKAGE, execution, rehearse, repository_rehearsal, same_scenario

REPO = Path(__file__).resolve().parents[2]
DAY1 = "s3://smdeploy-batch-data/input/2026-01-01/"
TICK = 7200  # 2026-01-01T02:00:00Z, when the template's cron(0 2 * * ? *) fires


def batch_scenario(**extra: Any) -> dict[str, Any]:
    return {
        "name": "batch",
        "simulation": {"registryEvents": False, "transformSeconds": 300},
        "data": {f"{DAY1}part-1.csv": "1,2\n3,4\n"},
        "timeline": [
            {"at": 0, "approve": {"group": "churn", "version": 1}},
            {"at": TICK, "schedule": "NightlyScoring"},
        ],
        **extra,
    }


def lock_items(rehearsal: Rehearsal) -> list[str]:
    return [lock["pk"] for lock in rehearsal.report["locks"] if lock["pk"].startswith("LOCK#")]


@pytest.fixture
def nightly() -> Rehearsal:
    return repository_rehearsal("batch-nightly")


@same_scenario("batch-nightly")
def test_each_night_scores_its_own_date_with_the_version_latest_at_its_time(nightly: Rehearsal) -> None:
    report = nightly.report
    assert nightly.ok, [c for c in report["checks"] if not c["ok"]]
    first, second = report["transformJobs"]
    assert (first["modelPackageArn"], second["modelPackageArn"]) == (PACKAGE.format(1), PACKAGE.format(2))
    assert (first["createdAt"], first["endedAt"], second["createdAt"], second["endedAt"]) == (
        7200.0,
        8100.0,
        93600.0,
        94500.0,
    )
    assert first["name"].startswith("churn-20260101-0200-") and len(first["name"]) <= 63
    assert first["outputObjects"] == [
        "s3://smdeploy-batch-data/output/2026-01-01/part-1.csv.out",
        "s3://smdeploy-batch-data/output/2026-01-01/part-2.csv.out",
    ]
    assert second["outputObjects"] == ["s3://smdeploy-batch-data/output/2026-01-02/part-1.csv.out"]
    assert [e["outcome"] for e in report["executions"]] == ["COMPLETED", "COMPLETED"]
    assert [n["message"]["transformJobName"] for n in report["notifications"]] == [
        first["name"],
        second["name"],
    ]
    assert lock_items(nightly) == [] and report["locks"] == []  # a batch run takes no lock or claim
    changes = [(c["at"], c["status"]) for c in report["transformJobStatusChanges"]]
    assert changes == [
        (7200.0, "InProgress"),
        (8100.0, "Completed"),
        (93600.0, "InProgress"),
        (94500.0, "Completed"),
    ]
    events = [e for e in report["events"] if e["detailType"] == "SageMaker Transform Job State Change"]
    assert len(events) == 4


@same_scenario("batch-nightly")
def test_the_schedule_delivers_its_input_with_the_scheduled_time_filled_in(nightly: Rehearsal) -> None:
    first, second = nightly.report["scheduleFirings"]
    sample = json.loads((REPO / "events" / "scheduled_batch_input.json").read_text())
    assert first["input"] == sample  # the sample in events/ is exactly what the 02:00 tick delivers
    assert second["input"] == {**sample, "scheduledTime": "2026-01-02T02:00:00Z"}
    assert (first["schedule"], first["target"], first["execution"]) == (
        "NightlyScoring",
        "BatchTransformStateMachine",
        "exec-0001",
    )
    (template_schedule,) = Template().state_machines()["BatchTransformStateMachine"].schedules
    assert template_schedule.input["scheduledTime"] == "<aws.scheduler.scheduled-time>"
    assert {k: v for k, v in template_schedule.input.items() if k != "scheduledTime"} == {
        k: v for k, v in sample.items() if k != "scheduledTime"
    }


@same_scenario("batch-nightly")
def test_the_timeline_shows_the_schedule_and_the_transform_jobs(nightly: Rehearsal) -> None:
    text = render(nightly)
    name = nightly.report["transformJobs"][0]["name"]
    assert "schedule   NightlyScoring fired for 2026-01-01T02:00:00Z -> exec-0001" in text
    assert f"sagemaker  transform job {name} InProgress (churn/1; {DAY1}" in text
    assert f"sagemaker  transform job {name} Completed (2 output objects)" in text
    assert "Transform jobs" in text


def test_a_failed_job_records_its_reason_notifies_and_ends_red(tmp_path: Path) -> None:
    reason = "ClientError: Bad input row 2: expected 3 columns"
    result = rehearse(
        tmp_path,
        batch_scenario(models={"churn/1": {"transformFails": True, "transformFailureReason": reason}}),
    )
    ex = execution(result)
    assert (ex["status"], ex["outcome"], ex["error"]) == ("FAILED", "FAILED", "TransformJobFailed")
    assert reason in ex["cause"]
    (job,) = result.report["transformJobs"]
    assert (job["status"], job["failureReason"], job["outputObjects"]) == ("Failed", reason, [])
    (note,) = result.report["notifications"]
    assert note["message"]["outcome"] == "FAILED" and reason in note["message"]["cause"]
    assert lock_items(result) == []


def test_no_approved_model_starts_no_job(tmp_path: Path) -> None:
    scenario = batch_scenario()
    scenario["timeline"][0] = {"at": 0, "register": {"group": "churn", "version": 1}}
    result = rehearse(tmp_path, scenario)
    ex = execution(result)
    assert (ex["status"], ex["outcome"], ex["error"]) == ("FAILED", "NO_APPROVED_MODEL", "NoApprovedModel")
    calls = result.report["apiCalls"]
    assert "sagemaker:CreateTransformJob" not in calls and "sagemaker:CreateModel" not in calls
    assert result.report["transformJobs"] == [] and lock_items(result) == []


def test_an_input_prefix_without_objects_is_invalid_naming_it_before_any_job(tmp_path: Path) -> None:
    result = rehearse(tmp_path, batch_scenario(data={}))
    ex = execution(result)
    assert (ex["status"], ex["outcome"], ex["error"]) == ("FAILED", "INVALID_REQUEST", "InvalidRequest")
    assert ex["cause"].startswith("inputPrefix: ") and DAY1 in ex["cause"]
    assert "sagemaker:CreateTransformJob" not in result.report["apiCalls"]
    assert lock_items(result) == []


def test_a_tick_delivered_twice_and_the_same_input_typed_by_hand_start_one_job(tmp_path: Path) -> None:
    typed = json.loads((REPO / "events" / "scheduled_batch_input.json").read_text())
    scenario = batch_scenario()
    scenario["timeline"] += [
        {"at": TICK, "schedule": "NightlyScoring"},  # the same tick, delivered again
        {"at": TICK + 60, "start": {"stateMachine": "batchtransform", "input": typed}},  # from the console
    ]
    result = rehearse(tmp_path, scenario)
    outcomes = [(e["status"], e["outcome"]) for e in result.report["executions"]]
    assert outcomes == [
        ("SUCCEEDED", "COMPLETED"),
        ("SUCCEEDED", "SKIPPED_DUPLICATE"),
        ("SUCCEEDED", "SKIPPED_DUPLICATE"),
    ]
    assert result.report["apiCalls"]["sagemaker:CreateTransformJob"] == 1
    assert len(result.report["transformJobs"]) == 1 and lock_items(result) == []


def test_template_parameters_can_be_overridden_by_the_scenario(tmp_path: Path) -> None:
    scenario = batch_scenario(
        parameters={"BatchDataBucket": "scoring-bucket", "BatchInputPrefix": "in/{yyyy}/{mm}/{dd}/"},
        data={"s3://scoring-bucket/in/2026/01/01/rows.csv": "1\n"},
        expect=[
            {"transformJob": 1, "status": "Completed", "modelPackage": "churn/1"},
            {"outputs": {"prefix": "s3://scoring-bucket/output/2026-01-01/", "count": 1}},
            {"transformJobs": 1},
        ],
    )
    result = rehearse(tmp_path, scenario)
    assert result.ok, result.report["checks"]
    (job,) = result.report["transformJobs"]
    assert job["inputPrefix"] == "s3://scoring-bucket/in/2026/01/01/"


def test_an_injected_fault_carries_the_scenarios_message(tmp_path: Path) -> None:
    # ValidationException is terminal, except SageMaker's "in-progress" one: the deploy retries it.
    busy = (
        'Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-prod".'
    )
    result = rehearse(
        tmp_path,
        {
            "name": "busy",
            "groups": {"churn": {"endpoint": "churn-prod"}},
            "faults": [{"call": "sagemaker:CreateEndpoint", "error": "ValidationException", "message": busy}],
            "timeline": [{"at": 0, "approve": {"group": "churn", "version": 1}}],
        },
    )
    assert execution(result)["outcome"] == "DEPLOYED"
    assert [f["call"] for f in result.report["faultsInjected"]] == ["sagemaker:CreateEndpoint"]
    assert result.report["apiCalls"]["sagemaker:CreateEndpoint"] == 2
    # the claim stays (DONE) to drop duplicates of the approval; the endpoint lock is released
    assert lock_items(result) == []
    (claim,) = result.report["locks"]
    assert claim["pk"].startswith("CLAIM#churn-prod#") and claim["state"] == "DONE"


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        ({"parameters": {"NoSuchParameter": "x"}}, "parameters.NoSuchParameter", "no such parameter"),
        ({"parameters": {"BatchDataBucket": "Bad_Bucket"}}, "parameters.BatchDataBucket", "AllowedPattern"),
        ({"parameters": {"BatchScheduleState": "ON"}}, "parameters.BatchScheduleState", "ENABLED, DISABLED"),
        ({"data": {"s3://bucket-name/": "x"}}, "data", "not an object URI"),
        ({"simulation": {"transformSeconds": -1}}, "simulation.transformSeconds", "greater than or equal"),
        ({"models": {"churn/1": {"transformFails": "maybe"}}}, "models.churn/1.transformFails", "boolean"),
        ({"expect": [{"transformJob": 1}]}, "expect[0]", "needs status, modelPackage or failureReason"),
        (
            {"expect": [{"transformJobs": 1, "modelPackage": "churn/1"}]},
            "expect[0]",
            "belong to a transformJob",
        ),
        ({"expect": [{"outputs": {"prefix": "bucket/x", "count": 1}}]}, "expect[0].outputs.prefix", "s3://"),
        ({"timeline": [{"at": 0, "schedule": "Hourly"}]}, "timeline[0].schedule", "NightlyScoring"),
    ],
)
def test_bad_batch_keys_are_invalid_scenarios_naming_the_key(
    tmp_path: Path, change: dict[str, Any], key: str, problem: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**batch_scenario(), **change}))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.key == key
    assert problem in caught.value.problem
