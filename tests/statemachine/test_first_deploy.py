"""The real deploy ASL and handlers in the local cloud: the first-deployment path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.statemachine.helpers import PACKAGE, execution, rehearse

CHURN = {"churn": {"endpoint": "churn-prod"}}


def test_approval_creates_endpoint_records_and_notifies(tmp_path: Path) -> None:
    # Given a configured group, When churn/1 is approved in the registry
    result = rehearse(
        tmp_path,
        {"name": "t", "groups": CHURN, "timeline": [{"at": 0, "approve": {"group": "churn", "version": 1}}]},
    )
    # Then the rule from template.yaml started one execution that deployed the package
    report = result.report
    ex = execution(result)
    assert (ex["status"], ex["outcome"]) == ("SUCCEEDED", "DEPLOYED")
    endpoint = report["endpoints"]["churn-prod"]
    assert endpoint["status"] == "InService"
    assert [(v["modelPackageArn"], v["weight"]) for v in endpoint["variants"]] == [(PACKAGE.format(1), 1.0)]
    # And it waited in virtual time for the simulated creation (480 s by default)
    assert ex["stoppedAt"] - ex["startedAt"] >= 480
    # And one notification says what happened
    assert [n["message"]["outcome"] for n in report["notifications"]] == ["DEPLOYED"]
    assert report["apiCalls"]["sagemaker:CreateEndpoint"] == 1


def test_deployment_record_is_written_per_execution(tmp_path: Path) -> None:
    result = rehearse(
        tmp_path,
        {"name": "t", "groups": CHURN, "timeline": [{"at": 0, "approve": {"group": "churn", "version": 1}}]},
    )
    output = execution(result)["output"]
    assert output["outcome"] == "DEPLOYED"
    assert output["modelPackageArn"] == PACKAGE.format(1)
    assert output["executionArn"].endswith(":exec-0001")
    # the claim, the lock and the record; the lock is released and the claim closed by the record step
    assert result.report["apiCalls"]["dynamodb:PutItem"] == 3
    assert output["released"] == {"lockReleased": True, "claimClosed": True}


def test_approvals_for_two_endpoints_interleave_in_virtual_time(tmp_path: Path) -> None:
    result = rehearse(
        tmp_path,
        {
            "name": "t",
            "groups": {"churn": {"endpoint": "churn-prod"}, "fraud": {"endpoint": "fraud-prod"}},
            "timeline": [
                {"at": 0, "approve": {"group": "churn", "version": 1}},
                {"at": 0, "approve": {"group": "fraud", "version": 1}},
            ],
        },
    )
    first, second = execution(result, 1), execution(result, 2)
    assert first["outcome"] == second["outcome"] == "DEPLOYED"
    assert first["startedAt"] == second["startedAt"] == 0
    assert first["stoppedAt"] == second["stoppedAt"]
    assert set(result.report["endpoints"]) == {"churn-prod", "fraud-prod"}


def test_throttled_create_model_is_retried_and_the_deployment_succeeds(tmp_path: Path) -> None:
    result = rehearse(
        tmp_path,
        {
            "name": "t",
            "groups": CHURN,
            "faults": [{"call": "sagemaker:CreateModel", "error": "ThrottlingException", "times": 2}],
            "timeline": [{"at": 0, "approve": {"group": "churn", "version": 1}}],
        },
    )
    assert execution(result)["outcome"] == "DEPLOYED"
    assert result.report["apiCalls"]["sagemaker:CreateModel"] == 3
    assert len(result.report["faultsInjected"]) == 2


def test_rejected_create_endpoint_is_recorded_as_failed_and_notified(tmp_path: Path) -> None:
    result = rehearse(
        tmp_path,
        {
            "name": "t",
            "groups": CHURN,
            "faults": [{"call": "sagemaker:CreateEndpoint", "error": "ResourceLimitExceeded", "times": 3}],
            "timeline": [{"at": 0, "approve": {"group": "churn", "version": 1}}],
        },
    )
    ex = execution(result)
    assert (ex["status"], ex["outcome"], ex["error"]) == ("FAILED", "FAILED", "AwsRequestRejected")
    assert "ResourceLimitExceeded" in ex["cause"]
    assert "churn-prod" not in result.report["endpoints"]
    assert [n["message"]["outcome"] for n in result.report["notifications"]] == ["FAILED"]


def test_endpoint_in_service_after_the_deadline_is_recorded_as_deployed(tmp_path: Path) -> None:
    result = rehearse(
        tmp_path,
        {
            "name": "t",
            "groups": CHURN,
            "simulation": {"endpointCreateSeconds": 20000},
            "timeline": [{"at": 0, "approve": {"group": "churn", "version": 1}}],
        },
    )
    ex = execution(result)
    # The template's default deadline is 3600 s. SageMaker refuses to delete an endpoint while it is
    # Creating (aws/amazon-sagemaker-examples#3432), so the deployment then watches it until it
    # settles rather than leave it without an owner. This one turns InService at 20000 s: it serves
    # the package, so the record says DEPLOYED (not FAILED while the endpoint serves).
    assert (ex["status"], ex["outcome"]) == ("SUCCEEDED", "DEPLOYED")
    assert any(f["error"] == "EndpointDeployTimeout" for f in ex["failures"])
    assert 20000 <= ex["stoppedAt"] - ex["startedAt"] < 20000 + 60
    endpoint = result.report["endpoints"]["churn-prod"]
    assert endpoint["status"] == "InService"
    assert [v["modelPackageArn"] for v in endpoint["variants"]] == [PACKAGE.format(1)]


def test_failed_endpoint_is_deleted_and_reason_recorded(tmp_path: Path) -> None:
    result = rehearse(
        tmp_path,
        {
            "name": "t",
            "groups": CHURN,
            "models": {"churn/1": {"failDeploy": True, "failureReason": "ping health check failed"}},
            "timeline": [{"at": 0, "approve": {"group": "churn", "version": 1}}],
        },
    )
    ex = execution(result)
    assert (ex["outcome"], ex["error"]) == ("FAILED", "EndpointDeploymentFailed")
    assert "ping health check failed" in ex["cause"]
    assert result.report["endpoints"] == {}
    assert result.report["apiCalls"]["sagemaker:DeleteEndpoint"] == 1


@pytest.mark.parametrize(
    ("manual_input", "field"),
    [
        ({"modelPackageArn": "not-an-arn"}, "modelPackageArn"),
        ({"modelPackageArn": PACKAGE.format(99)}, "modelPackageArn"),
        ({"modelPackageArn": PACKAGE.format(1), "endpointName": "bad_name"}, "endpointName"),
        ({"modelPackageArn": PACKAGE.format(1), "instanceCount": 2}, "instanceCount"),
        ({"modelPackageArn": PACKAGE.format(2)}, "modelPackageArn"),  # registered, not approved
    ],
)
def test_bad_manual_input_is_invalid_naming_the_field_and_creates_nothing(
    tmp_path: Path, manual_input: dict[str, object], field: str
) -> None:
    result = rehearse(
        tmp_path,
        {
            "name": "t",
            "groups": CHURN,
            "simulation": {"registryEvents": False},
            "timeline": [
                {"at": 0, "approve": {"group": "churn", "version": 1}},
                {"at": 0, "register": {"group": "churn", "version": 2}},
                {"at": 10, "start": {"stateMachine": "deploy", "input": manual_input}},
            ],
        },
    )
    ex = execution(result)
    assert (ex["status"], ex["outcome"], ex["error"]) == ("FAILED", "INVALID_REQUEST", "InvalidRequest")
    assert ex["cause"].startswith(f"{field}: ")
    created = [
        call
        for call in result.report["apiCalls"]
        if call.startswith("sagemaker:Create") and "Package" not in call
    ]
    assert created == []


def test_package_already_serving_is_skipped_without_touching_the_endpoint(tmp_path: Path) -> None:
    result = rehearse(
        tmp_path,
        {
            "name": "t",
            "groups": CHURN,
            "timeline": [
                {"at": 0, "approve": {"group": "churn", "version": 1}},
                {
                    "at": 3600,
                    "start": {"stateMachine": "deploy", "input": {"modelPackageArn": PACKAGE.format(1)}},
                },
            ],
        },
    )
    second = execution(result, 2)
    assert (second["status"], second["outcome"]) == ("SUCCEEDED", "SKIPPED_DUPLICATE")
    calls = result.report["apiCalls"]
    assert calls["sagemaker:CreateModel"] == 1
    assert "sagemaker:UpdateEndpoint" not in calls
