"""Lambda failing under a Task: service errors are retried everywhere, timeouts and crashes only
where a re-run is safe after the side effect happened; whatever is not retried is caught.

Step Functions reports an error of the Invoke API as ``Lambda.<Code>`` and recommends retrying
``Lambda.ServiceException``, ``Lambda.AWSLambdaException``, ``Lambda.SdkClientException`` and
``Lambda.TooManyRequestsException`` ("Handle transient Lambda service exceptions",
https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html). A function
that times out (``Sandbox.Timedout``, or ``States.Timeout`` past a Task's ``TimeoutSeconds``) or
crashes (``Lambda.Unknown``) may have done its work already.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from localcloud.engine.template import TEMPLATE_PATH, load_yaml
from tests.statemachine.helpers import execution, rehearse

REPO = TEMPLATE_PATH.parent
SERVICE_ERRORS = frozenset(
    {
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    }
)
TIMEOUT_ERRORS = frozenset({"Sandbox.Timedout", "States.Timeout", "Lambda.Unknown"})
# A re-run of these cannot tell its own earlier effect from the world's, so they are not retried
# on a timeout or a crash: the Catch takes them to the failure or rollback path.
NOT_RETRIED_ON_TIMEOUT = {
    "DeployStateMachine": {"Update endpoint with guardrails"},
    "BatchTransformStateMachine": {"Register model and start transform job"},
}

# The Task states a canary promotion runs through (execution 2 of scenarios/canary-promote.yaml).
CANARY_PROMOTION_TASKS = (
    "Resolve deployment plan",
    "Claim request",
    "Take endpoint lock",
    "Settle endpoint before deploying",
    "Re-read endpoint under lock",
    "Create candidate model",
    "Prepare canary config and alarms",
    "Update endpoint to canary config",
    "Check canary config",
    "Shift traffic to candidate",
    "Judge candidate",
    "Promote: candidate-only config",
    "Check promoted config",
    "Register autoscaling after promotion",
    "Clean up after promotion",
    "Monitors follow: promotion",
    "Record promotion",
)
SECOND_APPROVAL_AT = 3600


def _state_machines() -> dict[str, tuple[dict[str, Any], dict[str, str]]]:
    """Logical id -> (ASL definition, substitution name -> function logical id)."""
    template = load_yaml(TEMPLATE_PATH)
    machines = {}
    for lid, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::StateMachine":
            continue
        props = resource["Properties"]
        definition = json.loads((REPO / props["DefinitionUri"]).read_text())
        functions = {
            name: value["Fn::GetAtt"][0]
            for name, value in (props.get("DefinitionSubstitutions") or {}).items()
            if isinstance(value, dict) and "Fn::GetAtt" in value
        }
        machines[lid] = (definition, functions)
    return machines


MACHINES = _state_machines()


def lambda_tasks(machine: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """State name -> (function logical id, state) for every Task that invokes a function."""
    definition, functions = MACHINES[machine]
    tasks = {}
    for name, state in definition["States"].items():
        if state["Type"] != "Task":
            continue
        placeholder = str(state["Resource"]).removeprefix("${").removesuffix("}")
        if placeholder in functions:
            tasks[name] = (functions[placeholder], state)
    return tasks


def retried(state: dict[str, Any]) -> set[str]:
    return {name for retrier in state.get("Retry", []) for name in retrier["ErrorEquals"]}


def caught(state: dict[str, Any]) -> set[str]:
    return {name for catcher in state.get("Catch", []) for name in catcher["ErrorEquals"]}


DEPLOY_TASKS = lambda_tasks("DeployStateMachine")
CANARY_FUNCTIONS = list(dict.fromkeys(DEPLOY_TASKS[name][0] for name in CANARY_PROMOTION_TASKS))
# A function is re-run after a timeout only if every Task of the promotion that calls it retries it.
IDEMPOTENT_FUNCTIONS = [
    function
    for function in CANARY_FUNCTIONS
    if all(
        retried(DEPLOY_TASKS[name][1]) >= TIMEOUT_ERRORS
        for name in CANARY_PROMOTION_TASKS
        if DEPLOY_TASKS[name][0] == function
    )
]


# --- the ASL, statically ------------------------------------------------------------------------
@pytest.mark.parametrize("machine", sorted(MACHINES))
def test_every_lambda_task_retries_the_service_errors_and_catches_the_rest(machine: str) -> None:
    tasks = lambda_tasks(machine)
    assert tasks
    for name, (_function, state) in tasks.items():
        assert retried(state) >= SERVICE_ERRORS, name
        handled = caught(state)
        assert "States.ALL" in handled or handled >= TIMEOUT_ERRORS | SERVICE_ERRORS, name


@pytest.mark.parametrize("machine", sorted(MACHINES))
def test_timeouts_and_crashes_are_retried_only_where_a_re_run_is_safe(machine: str) -> None:
    not_retried = {
        name for name, (_f, state) in lambda_tasks(machine).items() if not retried(state) >= TIMEOUT_ERRORS
    }
    assert not_retried == NOT_RETRIED_ON_TIMEOUT[machine]
    # ... and no Task retries only part of them.
    for name, (_f, state) in lambda_tasks(machine).items():
        assert not (TIMEOUT_ERRORS & retried(state)) or retried(state) >= TIMEOUT_ERRORS, name


# --- a canary promotion, rehearsed --------------------------------------------------------------
def canary_promotion(faults: list[dict[str, Any]]) -> dict[str, Any]:
    scenario = yaml.safe_load((REPO / "scenarios" / "canary-promote.yaml").read_text())
    scenario.pop("expect", None)
    return {**scenario, "faults": faults}


def assert_promoted(tmp_path: Path, faults: list[dict[str, Any]]) -> dict[str, Any]:
    rehearsal = rehearse(tmp_path, canary_promotion(faults))
    report = rehearsal.report
    assert rehearsal.ok, report["checks"]
    ex = execution(rehearsal, 2)
    assert (ex["status"], ex["outcome"]) == ("SUCCEEDED", "PROMOTED"), ex["failures"]
    endpoint = report["endpoints"]["churn-prod"]
    assert endpoint["status"] == "InService"
    assert [(v["modelPackageArn"].rsplit("/", 2)[-2:], v["weight"]) for v in endpoint["variants"]] == [
        (["churn", "2"], 1.0)
    ]
    # Claims stay (they deduplicate approvals for a day); no endpoint lock is left held.
    assert [lock for lock in report["locks"] if not str(lock["pk"]).startswith("CLAIM#")] == []
    return ex


def assert_failed_once(ex: dict[str, Any], function: str, error: str) -> None:
    """The fault failed one Task of ``function`` once; anything else was waiting for its own update."""
    failures = [(f["state"], f["error"]) for f in ex["failures"]]
    assert failures[0][1] == error and DEPLOY_TASKS[failures[0][0]][0] == function, failures
    assert {e for _state, e in failures[1:]} <= {"EndpointBusy"}, failures


def test_the_promotion_runs_through_exactly_these_tasks(tmp_path: Path) -> None:
    ex = assert_promoted(tmp_path, [])
    visited = {state["name"] for state in ex["states"]}
    assert visited & set(DEPLOY_TASKS) == set(CANARY_PROMOTION_TASKS)
    assert ex["failures"] == []


@pytest.mark.parametrize("function", CANARY_FUNCTIONS)
def test_a_lambda_service_exception_is_retried(tmp_path: Path, function: str) -> None:
    fault = {
        "call": f"lambda:{function}",
        "error": "Lambda.ServiceException",
        "mode": "before",
        "after": SECOND_APPROVAL_AT,
    }
    ex = assert_promoted(tmp_path, [fault])
    assert_failed_once(ex, function, "Lambda.ServiceException")


@pytest.mark.parametrize("function", IDEMPOTENT_FUNCTIONS)
def test_a_timeout_after_the_side_effect_is_retried_where_safe(tmp_path: Path, function: str) -> None:
    fault = {
        "call": f"lambda:{function}",
        "error": "Sandbox.Timedout",
        "mode": "lost-response",
        "after": SECOND_APPROVAL_AT,
    }
    ex = assert_promoted(tmp_path, [fault])
    assert_failed_once(ex, function, "Sandbox.Timedout")


def test_every_function_of_the_promotion_is_retried_after_a_timeout() -> None:
    # The guardrails update is the only deploy Task not retried, and a canary does not use it.
    assert IDEMPOTENT_FUNCTIONS == CANARY_FUNCTIONS
