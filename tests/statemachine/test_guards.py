"""Guards in the real deploy ASL: an endpoint nobody named, a bake shorter than its alarms' window."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.statemachine.helpers import PACKAGE, execution, rehearse

CHURN = {"churn": {"endpoint": "churn-prod"}}


def manual_start(manual_input: dict[str, Any], at: int = 10) -> dict[str, Any]:
    return {"at": at, "start": {"stateMachine": "deploy", "input": manual_input}}


def created(report: dict[str, Any]) -> list[str]:
    return [
        call for call in report["apiCalls"] if call.startswith("sagemaker:Create") and "Package" not in call
    ]


def test_mistyped_endpoint_name_is_invalid_request_and_creates_nothing(tmp_path: Path) -> None:
    result = rehearse(
        tmp_path,
        {
            "name": "a mistyped endpointName",
            "groups": CHURN,
            "simulation": {"registryEvents": False},
            "timeline": [
                {"at": 0, "approve": {"group": "churn", "version": 1}},
                manual_start({"modelPackageArn": PACKAGE.format(1), "endpointName": "churn-prdo"}),
            ],
        },
    )

    ex = execution(result)
    assert (ex["status"], ex["outcome"], ex["error"]) == ("FAILED", "INVALID_REQUEST", "InvalidRequest")
    assert ex["cause"].startswith("endpointName: no endpoint 'churn-prdo'")
    assert "createEndpoint" in ex["cause"]
    assert result.report["endpoints"] == {}
    assert created(result.report) == []


def test_create_endpoint_true_creates_the_named_endpoint(tmp_path: Path) -> None:
    result = rehearse(
        tmp_path,
        {
            "name": "a new endpoint on purpose",
            "groups": CHURN,
            "simulation": {"registryEvents": False},
            "timeline": [
                {"at": 0, "approve": {"group": "churn", "version": 1}},
                manual_start(
                    {
                        "modelPackageArn": PACKAGE.format(1),
                        "endpointName": "churn-prdo",
                        "createEndpoint": True,
                    }
                ),
            ],
        },
    )

    ex = execution(result)
    assert (ex["status"], ex["outcome"]) == ("SUCCEEDED", "DEPLOYED")
    assert list(result.report["endpoints"]) == ["churn-prdo"]
    variants = result.report["endpoints"]["churn-prdo"]["variants"]
    assert [v["modelPackageArn"] for v in variants] == [PACKAGE.format(1)]


def test_bake_shorter_than_the_alarm_window_is_invalid_request_and_changes_nothing(tmp_path: Path) -> None:
    strategy = {"type": "canary", "steps": [50], "bakeMinutes": 2, "checkIntervalSeconds": 60}
    result = rehearse(
        tmp_path,
        {
            "name": "a two-minute bake",
            "groups": CHURN,
            "simulation": {"registryEvents": False},
            "timeline": [
                {"at": 0, "approve": {"group": "churn", "version": 1}},
                {"at": 0, "approve": {"group": "churn", "version": 2}},
                manual_start({"modelPackageArn": PACKAGE.format(1)}),
                manual_start({"modelPackageArn": PACKAGE.format(2), "strategy": strategy}, at=3600),
            ],
        },
    )

    first, second = execution(result, 1), execution(result, 2)
    assert first["outcome"] == "DEPLOYED"
    assert (second["outcome"], second["error"]) == ("INVALID_REQUEST", "InvalidRequest")
    assert second["cause"].startswith("strategy.bakeMinutes: ")
    assert "at least 3" in second["cause"]
    variants = result.report["endpoints"]["churn-prod"]["variants"]
    assert [v["modelPackageArn"] for v in variants] == [PACKAGE.format(1)]
    assert result.report["apiCalls"]["sagemaker:CreateEndpointConfig"] == 1  # the first deployment's
