"""The cases that used to leave an endpoint split, a record untrue or a resource orphaned.

Each is rehearsed as production would have it and must end converged
(:mod:`localcloud.scenario.consistency`) with the record naming what serves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from localcloud.scenario import consistency
from tests.statemachine.helpers import PACKAGE, execution, rehearse

ENDPOINT = "churn-prod"
CANARY = {"type": "canary", "steps": [50], "bakeMinutes": 3, "checkIntervalSeconds": 60, "minInvocations": 10}
SECOND_APPROVAL_AT = 300


def scenario(
    faults: list[dict[str, Any]],
    *,
    candidate_error_rate: float = 0.001,
    simulation: dict[str, Any] | None = None,
    parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "name": "convergence case",
        # polling: each case places its fault at a time its comment derives from the polls
        "groups": {"churn": {"endpoint": ENDPOINT, "strategy": CANARY, "waits": "polling"}},
        "models": {"churn/1": {"errorRate": 0.001}, "churn/2": {"errorRate": candidate_error_rate}},
        "simulation": {
            "endpointCreateSeconds": 120,
            "endpointUpdateSeconds": 120,
            "requestsPerMinute": 600,
            **(simulation or {}),
        },
        "parameters": parameters or {},
        "faults": faults,
        "timeline": [
            {"at": 0, "approve": {"group": "churn", "version": 1}},
            {"at": SECOND_APPROVAL_AT, "approve": {"group": "churn", "version": 2}},
        ],
    }


def serving(report: dict[str, Any]) -> list[str]:
    return [v["modelPackageArn"] for v in report["endpoints"][ENDPOINT]["variants"] if v["weight"] > 0]


def test_a_rollback_outlasts_half_a_minute_of_throttling_on_the_weight_restore(tmp_path: Path) -> None:
    # The candidate fails its bake; restoring the weights is throttled six times in a row (about
    # 30 s with the back-off): the rollback waits it out instead of giving up with 10 % on the candidate.
    throttled = {
        "call": "sagemaker:UpdateEndpointWeightsAndCapacities",
        "error": "ThrottlingException",
        "times": 6,
        "after": SECOND_APPROVAL_AT + 400,
    }
    result = rehearse(tmp_path, scenario([throttled], candidate_error_rate=0.3))
    report = result.report
    assert execution(result, 2)["outcome"] == "ROLLED_BACK"
    assert len(report["faultsInjected"]) == 6
    assert serving(report) == [PACKAGE.format(1)]
    assert consistency.problems(report, ENDPOINT) == []


def test_a_lost_answer_to_the_promotion_update_is_recorded_as_the_promotion_it_was(tmp_path: Path) -> None:
    # UpdateEndpoint to the candidate-only config takes effect; its answer is lost twice and then the
    # retry finds the update in flight. Whatever the step says, the endpoint ends on the candidate:
    # the record says PROMOTED and nothing of the canary is left behind.
    lost = {
        "call": "lambda:UpdateEndpointFunction",
        "error": "Sandbox.Timedout",
        "mode": "lost-response",
        "times": 3,
        "after": SECOND_APPROVAL_AT + 500,
    }
    result = rehearse(tmp_path, scenario([lost]))
    report = result.report
    ex = execution(result, 2)
    assert ex["outcome"] == "PROMOTED", ex
    assert serving(report) == [PACKAGE.format(2)]
    assert consistency.problems(report, ENDPOINT) == []


def test_a_promotion_slower_than_the_deploy_deadline_is_still_a_promotion(tmp_path: Path) -> None:
    # Updates take 400 s. The promotion starts at 960 s; its first check (1200 s) meets the deadline
    # (EndpointDeployTimeout, as a deadline shorter than the update would) while SageMaker is still
    # deploying the candidate-only config. Converging waits for the update and finds the candidate
    # serving alone: PROMOTED, not ROLLED_BACK with the candidate at 100 %.
    deadline = {
        "call": "lambda:CheckEndpointFunction",
        "error": "EndpointDeployTimeout",
        "message": "endpoint 'churn-prod' was still Updating after 120 checks",
        "after": 961,
    }
    result = rehearse(tmp_path, scenario([deadline], simulation={"endpointUpdateSeconds": 400}))
    report = result.report
    ex = execution(result, 2)
    assert ex["outcome"] == "PROMOTED", ex
    assert ex["failures"] == [
        {"at": 1200.0, "state": "Check promoted config", "error": "EndpointDeployTimeout"}
    ]
    assert "Roll back: converge endpoint" in {state["name"] for state in ex["states"]}
    assert serving(report) == [PACKAGE.format(2)]
    assert consistency.problems(report, ENDPOINT) == []


def test_a_recording_that_keeps_failing_is_recovered_with_the_truth(tmp_path: Path) -> None:
    # Every attempt of "Record promotion" times out after writing: the execution ends FAILED
    # (RecordingFailed); the recovery its status-change event starts records what serves.
    timeouts = {
        "call": "lambda:RecordOutcomeFunction",
        "error": "Sandbox.Timedout",
        "mode": "lost-response",
        "times": 3,
        "after": SECOND_APPROVAL_AT + 600,
    }
    result = rehearse(tmp_path, scenario([timeouts]))
    report = result.report
    stopped, recovery = execution(result, 2), execution(result, 3)
    assert (stopped["status"], stopped["error"]) == ("FAILED", "RecordingFailed")
    assert (stopped["outcome"], recovery["outcome"]) == ("PROMOTED", "PROMOTED")
    assert serving(report) == [PACKAGE.format(2)]
    assert consistency.problems(report, ENDPOINT) == []


def test_a_candidate_model_whose_creation_timed_out_is_not_orphaned(tmp_path: Path) -> None:
    # CreateModel's function times out after creating the model, every time: the deployment fails
    # before touching the endpoint and its clean-up removes the model it made.
    timeouts = {
        "call": "lambda:CreateModelFunction",
        "error": "Sandbox.Timedout",
        "mode": "lost-response",
        "times": 3,
        "after": SECOND_APPROVAL_AT,
    }
    result = rehearse(tmp_path, scenario([timeouts]))
    report = result.report
    assert execution(result, 2)["outcome"] == "FAILED"
    assert serving(report) == [PACKAGE.format(1)]
    assert len(report["models"]) == 1
    assert consistency.problems(report, ENDPOINT) == []
