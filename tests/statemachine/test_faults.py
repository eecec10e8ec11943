"""Faults real systems have, from a scenario: lost responses, failing functions, an operator's
StopExecution and changes made by hand (issue 11, item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from localcloud.engine.apicalls import Fault, FaultMode
from localcloud.engine.cloud import LocalCloud, service_client
from localcloud.scenario.contract import ScenarioError
from tests.statemachine.helpers import execution, rehearse, repository_rehearsal, same_scenario

REPO = Path(__file__).resolve().parents[2]
GROUP = {"churn": {"endpoint": "churn-prod"}}
CANARY = {
    "churn": {
        "endpoint": "churn-prod",
        "strategy": {"type": "canary", "steps": [50], "bakeMinutes": 4, "checkIntervalSeconds": 120},
    }
}
TWO_APPROVALS = [
    {"at": 0, "approve": {"group": "churn", "version": 1}},
    {"at": 3600, "approve": {"group": "churn", "version": 2}},
]
SHIFT_AT = 3900.0  # exec-0002 shifts traffic once the canary config is InService (5 minutes)


# --- lost responses -------------------------------------------------------------------------------
@pytest.mark.parametrize(("mode", "created"), [("before", False), ("lost-response", True)])
def test_a_lost_response_takes_effect_while_the_caller_gets_the_error(mode: FaultMode, created: bool) -> None:
    fault = Fault(call="sagemaker:CreateModelPackageGroup", error="InternalFailure", mode=mode)
    with LocalCloud(faults=[fault]) as cloud:
        sm = service_client("sagemaker", cloud.region)  # one attempt per call, as the handlers' clients
        with pytest.raises(ClientError) as failed:
            sm.create_model_package_group(ModelPackageGroupName="churn")
        groups = sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
        assert failed.value.response["Error"]["Code"] == "InternalFailure"
        assert [g["ModelPackageGroupName"] for g in groups] == (["churn"] if created else [])
        assert cloud.api.counts["sagemaker:CreateModelPackageGroup"] == 1
        assert [(i.call, i.mode) for i in cloud.api.injected] == [("sagemaker:CreateModelPackageGroup", mode)]


@same_scenario("fault-lost-response")
def test_a_lost_response_on_create_model_is_retried_against_the_model_it_created() -> None:
    rehearsal = repository_rehearsal("fault-lost-response")
    report = rehearsal.report
    assert rehearsal.ok, report["checks"]
    assert report["controlPlaneApiCalls"]["sagemaker:CreateModel"] == 2  # the lost one, then the retry
    assert len(report["models"]) == 1
    assert report["faultsInjected"] == [
        {"at": 0.0, "call": "sagemaker:CreateModel", "error": "InternalFailure", "mode": "lost-response"}
    ]


# --- functions failing --------------------------------------------------------------------------
@same_scenario("fault-lambda-service-exception")
def test_lambda_service_exceptions_reach_the_asl_by_name_and_are_retried() -> None:
    rehearsal = repository_rehearsal("fault-lambda-service-exception")
    assert rehearsal.ok, rehearsal.report["checks"]
    failures = [(f["state"], f["error"]) for f in execution(rehearsal, 2)["failures"]]
    assert failures == [
        ("Shift traffic to candidate", "Lambda.ServiceException"),
        ("Shift traffic to candidate", "Lambda.ServiceException"),
        ("Judge candidate", "Lambda.TooManyRequestsException"),
    ]


@pytest.mark.parametrize(("mode", "handler_ran"), [("before", False), ("lost-response", True)])
def test_a_function_timing_out_fails_its_task_with_sandbox_timedout(
    tmp_path: Path, mode: str, handler_ran: bool
) -> None:
    rehearsal = rehearse(
        tmp_path,
        {
            "name": "CreateModelFunction times out",
            "groups": GROUP,
            "faults": [{"call": "lambda:CreateModelFunction", "error": "Sandbox.Timedout", "mode": mode}],
            "timeline": [{"at": 0, "approve": {"group": "churn", "version": 1}}],
        },
    )
    ex = execution(rehearsal)
    assert ex["failures"] == [{"at": 0.0, "state": "Create model from package", "error": "Sandbox.Timedout"}]
    # Creating the model is safe to re-run (a model already there counts as created): the Task
    # retries the timeout and the deployment goes on.
    assert (ex["status"], ex["outcome"]) == ("SUCCEEDED", "DEPLOYED")
    made = rehearsal.report["controlPlaneApiCalls"].get("sagemaker:CreateModel", 0)
    assert made == (2 if handler_ran else 1)  # after its handler ran, the retry meets its own model


def test_an_asynchronous_invocation_failed_by_a_fault_is_retried_by_lambda(tmp_path: Path) -> None:
    rehearsal = rehearse(
        tmp_path,
        {
            "name": "the withdrawn-approval function times out once",
            "groups": GROUP,
            "faults": [{"call": "lambda:WithdrawnApprovalFunction", "error": "Sandbox.Timedout"}],
            "timeline": [
                {"at": 0, "approve": {"group": "churn", "version": 1}},
                {"at": 1000, "reject": {"group": "churn", "version": 1}},
            ],
        },
    )
    attempts = [
        (a["at"], a["attempt"], a["ok"], a["errorType"])
        for a in rehearsal.report["asyncInvocations"]
        if a["function"] == "WithdrawnApprovalFunction"
    ]
    assert attempts == [(1000.0, 1, False, "Sandbox.Timedout"), (1060.0, 2, True, None)]


# --- an operator stops an execution ------------------------------------------------------------
@same_scenario("operator-stop")
def test_a_stopped_execution_ends_aborted_at_once_and_never_wakes_from_its_wait() -> None:
    rehearsal = repository_rehearsal("operator-stop")
    report = rehearsal.report
    assert rehearsal.ok, report["checks"]
    ex = execution(rehearsal, 2)
    assert (ex["status"], ex["stoppedAt"]) == ("ABORTED", 4470.0)
    assert max(state["at"] for state in ex["states"]) < 4470.0
    # The bake's wait would have ended at 4500: nothing of the stopped execution runs after the stop;
    # the recovery its status-change event started converges the endpoint and ends the rehearsal.
    recovery = execution(rehearsal, 3)
    assert recovery["startedAt"] == 4470.0
    assert report["virtualSeconds"] == recovery["stoppedAt"]
    assert report["stops"] == [{"at": 4470.0, "execution": "exec-0002", "status": "ABORTED"}]
    assert report["apiCalls"]["states:StopExecution"] == 1
    assert "states:StopExecution" not in report["controlPlaneApiCalls"]


def test_a_stop_during_a_retry_back_off_runs_no_further_attempt(tmp_path: Path) -> None:
    # AwsRequestRejected is retried after exactly 5 s (no jitter): the stop lands in the back-off.
    rehearsal = rehearse(
        tmp_path,
        {
            "name": "stopped while backing off",
            "groups": CANARY,
            "faults": [{"call": "lambda:ShiftTrafficFunction", "error": "AwsRequestRejected"}],
            "timeline": [*TWO_APPROVALS, {"at": SHIFT_AT + 2, "stop": {"execution": 2}}],
        },
    )
    ex = execution(rehearsal, 2)
    assert (ex["status"], ex["stoppedAt"]) == ("ABORTED", SHIFT_AT + 2)
    assert [f["error"] for f in ex["failures"]] == ["AwsRequestRejected"]
    shares = [c["weights"].get("churn-v2-f23af7a5") for c in rehearsal.report["weightChanges"]]
    assert 0.5 not in shares  # the second attempt of the shift never ran


def test_stopping_an_execution_that_never_started_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as invalid:
        rehearse(
            tmp_path,
            {
                "name": "stop of a missing execution",
                "timeline": [
                    {"at": 0, "register": {"group": "churn", "version": 1}},
                    {"at": 10, "stop": {"execution": 3}},
                ],
            },
        )
    assert invalid.value.key == "timeline[1].stop.execution"
    assert "0 started" in invalid.value.problem


# --- changes made by hand ---------------------------------------------------------------------
@same_scenario("hand-made-change")
def test_a_call_made_by_hand_changes_the_resource_and_is_reported_with_its_result() -> None:
    rehearsal = repository_rehearsal("hand-made-change")
    report = rehearsal.report
    assert rehearsal.ok, report["checks"]
    scaled, missing = report["awsCalls"]
    assert (scaled["call"], scaled["ok"]) == ("sagemaker:UpdateEndpointWeightsAndCapacities", True)
    assert (missing["ok"], missing["error"]) == (False, "ValidationException")
    (variant,) = report["endpoints"]["churn-prod"]["variants"]
    assert variant["instanceCount"] == 2
    assert "sagemaker:UpdateEndpointWeightsAndCapacities" not in report["controlPlaneApiCalls"]
    assert any(
        "by hand    sagemaker:DescribeEndpoint -> ValidationException" in t for _, t in rehearsal.timeline
    )


# --- what the report says ------------------------------------------------------------------------
def test_a_scenario_without_expect_says_that_nothing_was_checked(tmp_path: Path) -> None:
    from localcloud.scenario.report import render

    rehearsal = rehearse(
        tmp_path,
        {"name": "nothing expected", "timeline": [{"at": 0, "register": {"group": "churn", "version": 1}}]},
    )
    assert (rehearsal.report["checked"], rehearsal.report["warning"]) == (
        0,
        "the scenario has no expect: nothing was checked",
    )
    assert "NOTHING CHECKED" in render(rehearsal)


@same_scenario("fault-lost-response")
def test_the_report_counts_history_events_per_execution() -> None:
    rehearsal = repository_rehearsal("fault-lost-response")
    ex = execution(rehearsal)
    # every state is entered and exited, every task scheduled, started and finished, plus the
    # execution's own start and end events
    assert ex["historyEvents"] > 2 * ex["transitions"] + 2
    assert "checked" in rehearsal.report and "warning" not in rehearsal.report
