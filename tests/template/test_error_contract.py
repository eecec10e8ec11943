"""Errors are the contract with ASL: every ErrorEquals name is an exception class, and the reverse."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localcloud.template_checks import check_error_contract, load_asl_files, run_checks
from smdeploy import errors
from tests.template.helpers import REPO

SOURCE = "statemachines/deploy_model.asl.json"
# The other state machines, unchanged: the contract spans every ASL file.
OTHERS = {
    f"statemachines/{path.name}": json.loads(path.read_text())
    for path in sorted((REPO / "statemachines").glob("*.asl.json"))
    if path.name != "deploy_model.asl.json"
}


def real_definitions() -> dict[str, Any]:
    definitions, unreadable = load_asl_files({}, REPO)
    assert unreadable == []
    return definitions


def test_every_error_equals_name_is_a_class_and_every_class_is_named() -> None:
    assert check_error_contract(real_definitions(), errors.all_error_names()) == []


def test_every_named_error_is_a_smdeploy_error() -> None:
    for name in errors.all_error_names():
        assert issubclass(getattr(errors, name), errors.SmdeployError)


def test_error_equals_name_without_exception_class_is_reported(deploy_asl: dict[str, Any]) -> None:
    deploy_asl["States"]["Check endpoint status"]["Catch"][0]["ErrorEquals"] = ["EndpointFailed"]
    problems = check_error_contract({SOURCE: deploy_asl, **OTHERS}, errors.all_error_names())
    assert f"{SOURCE}: ErrorEquals names 'EndpointFailed', which is no class in smdeploy.errors" in problems
    # ... and the class it should have named is now named nowhere.
    assert (
        "smdeploy.errors.EndpointDeploymentFailed is named in no ASL file (no ErrorEquals and no Error)"
        in (problems)
    )


def test_misspelt_retry_name_is_reported(deploy_asl: dict[str, Any]) -> None:
    for state in deploy_asl["States"].values():
        for retrier in state.get("Retry", []):
            retrier["ErrorEquals"] = [
                "AWSThrottled" if name == "AwsThrottled" else name for name in retrier["ErrorEquals"]
            ]
    problems = check_error_contract({SOURCE: deploy_asl}, errors.all_error_names())
    assert f"{SOURCE}: ErrorEquals names 'AWSThrottled', which is no class in smdeploy.errors" in problems
    # checked alone, the deploy machine now names AwsThrottled nowhere
    assert "smdeploy.errors.AwsThrottled is named in no ASL file (no ErrorEquals and no Error)" in problems


def test_exception_class_never_named_in_asl_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    class EndpointQuotaExceeded(errors.TerminalError):
        """A new terminal error that no state machine handles yet."""

    monkeypatch.setattr(errors, "TERMINAL_ERRORS", (*errors.TERMINAL_ERRORS, EndpointQuotaExceeded))
    assert run_checks()["error contract"] == [
        "smdeploy.errors.EndpointQuotaExceeded is named in no ASL file (no ErrorEquals and no Error)"
    ]


def test_error_set_by_a_pass_state_counts_as_named(
    deploy_asl: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    class CanaryAbandoned(errors.TerminalError):
        """Only ever set by a Pass state."""

    monkeypatch.setattr(errors, "TERMINAL_ERRORS", (*errors.TERMINAL_ERRORS, CanaryAbandoned))
    names = errors.all_error_names()
    assert check_error_contract({SOURCE: deploy_asl, **OTHERS}, names) == [
        "smdeploy.errors.CanaryAbandoned is named in no ASL file (no ErrorEquals and no Error)"
    ]
    deploy_asl["States"]["Abandon canary"] = {
        "Type": "Pass",
        "Parameters": {"Error": "CanaryAbandoned", "Cause": "operator"},
        "ResultPath": "$.error",
        "End": True,
    }
    assert check_error_contract({SOURCE: deploy_asl, **OTHERS}, names) == []


def test_error_set_by_a_fail_state_counts_as_named(deploy_asl: dict[str, Any]) -> None:
    assert deploy_asl["States"]["Rolled back"]["Error"] == "DeploymentRolledBack"
    assert check_error_contract({SOURCE: deploy_asl, **OTHERS}, errors.all_error_names()) == []
    del deploy_asl["States"]["Rolled back"]["Error"]
    assert check_error_contract({SOURCE: deploy_asl, **OTHERS}, errors.all_error_names()) == [
        "smdeploy.errors.DeploymentRolledBack is named in no ASL file (no ErrorEquals and no Error)"
    ]


def test_names_inside_nested_branches_are_checked(deploy_asl: dict[str, Any]) -> None:
    branch_task = {
        "Type": "Task",
        "Resource": "${CheckEndpointFunctionArn}",
        "Retry": [{"ErrorEquals": ["EndpointIsBusy"]}],
        "End": True,
    }
    deploy_asl["States"]["Start polling"] = {
        "Type": "Parallel",
        "Branches": [{"StartAt": "T", "States": {"T": branch_task}}],
        "Next": "Wait for endpoint InService",
    }
    problems = check_error_contract({SOURCE: deploy_asl, **OTHERS}, errors.all_error_names())
    assert f"{SOURCE}: ErrorEquals names 'EndpointIsBusy', which is no class in smdeploy.errors" in problems


@pytest.mark.parametrize(
    "name",
    ["States.Timeout", "States.ALL", "Lambda.Unknown", "Lambda.ServiceException", "Sandbox.Timedout"],
)
def test_states_and_lambda_error_names_are_outside_the_contract(
    deploy_asl: dict[str, Any], name: str
) -> None:
    deploy_asl["States"]["Create endpoint"]["Retry"][1]["ErrorEquals"].append(name)
    assert check_error_contract({SOURCE: deploy_asl, **OTHERS}, errors.all_error_names()) == []
