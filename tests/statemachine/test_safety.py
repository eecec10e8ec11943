"""Duplicates, races and the endpoint lock, with the real ASL in the local cloud."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import load_event
from tests.statemachine.helpers import PACKAGE, execution, rehearse

CANARY = {"type": "canary", "steps": [50], "bakeMinutes": 4, "checkIntervalSeconds": 120}


def outcomes(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["outcome"] for e in result.report["executions"]]


def test_the_same_approval_delivered_five_times_deploys_once(tmp_path: Path) -> None:
    event = load_event("model_package_approved.json")
    (tmp_path / "approved.json").write_text(json.dumps(event))
    result = rehearse(
        tmp_path,
        {
            "name": "dup",
            "groups": {"churn": {"endpoint": "churn-prod"}},
            "simulation": {"registryEvents": False},
            "timeline": [{"at": 0, "approve": {"group": "churn", "version": 1}}]
            + [{"at": 10 + i, "event": "approved.json"} for i in range(5)],
        },
    )
    assert sorted(outcomes(result)) == ["DEPLOYED"] + ["SKIPPED_DUPLICATE"] * 4
    calls = result.report["apiCalls"]
    assert (calls["sagemaker:CreateModel"], calls["sagemaker:CreateEndpoint"]) == (1, 1)


def test_duplicates_touch_nothing_and_end_green(tmp_path: Path) -> None:
    event = load_event("model_package_approved.json")
    (tmp_path / "approved.json").write_text(json.dumps(event))
    result = rehearse(
        tmp_path,
        {
            "name": "dup",
            "groups": {"churn": {"endpoint": "churn-prod"}},
            "simulation": {"registryEvents": False},
            "timeline": [
                {"at": 0, "approve": {"group": "churn", "version": 1}},
                {"at": 10, "event": "approved.json"},
                {"at": 11, "event": "approved.json"},
            ],
        },
    )
    duplicate = execution(result, 2)
    assert (duplicate["status"], duplicate["outcome"]) == ("SUCCEEDED", "SKIPPED_DUPLICATE")
    assert duplicate["stoppedAt"] == 11  # did not wait for the lock or the endpoint


def test_a_second_deployment_waits_for_the_endpoint_lock_instead_of_failing(tmp_path: Path) -> None:
    result = rehearse(
        tmp_path,
        {
            "name": "race",
            "groups": {"churn": {"endpoint": "churn-prod", "strategy": CANARY}},
            "simulation": {"registryEvents": False},
            "timeline": [
                {"at": 0, "approve": {"group": "churn", "version": 1}},
                {"at": 0, "approve": {"group": "churn", "version": 2}},
                {"at": 0, "start": {"input": {"modelPackageArn": PACKAGE.format(1)}}},
                {"at": 1, "start": {"input": {"modelPackageArn": PACKAGE.format(2)}}},
            ],
        },
    )
    first, second = execution(result, 1), execution(result, 2)
    assert (first["outcome"], second["outcome"]) == ("DEPLOYED", "PROMOTED")
    assert second["stoppedAt"] > first["stoppedAt"]
    assert "ValidationException" not in json.dumps(result.report["executions"])
    assert [v["modelPackageArn"] for v in result.report["endpoints"]["churn-prod"]["variants"]] == [
        PACKAGE.format(2)
    ]


def test_approvals_racing_for_one_endpoint_end_on_the_latest_version(tmp_path: Path) -> None:
    result = rehearse(
        tmp_path,
        {
            "name": "race",
            "groups": {"churn": {"endpoint": "churn-prod", "strategy": CANARY}},
            "timeline": [{"at": 0, "approve": {"group": "churn", "version": 1}}]
            + [
                {"at": 3600 + i, "approve": {"group": "churn", "version": v}} for i, v in enumerate([2, 3, 4])
            ],
        },
    )
    # v2 took the lock at once and rolls out; v3 and v4 wait. When the lock frees, v3 finds v4
    # approved and ends SUPERSEDED without touching the endpoint; v4 rolls out. The latest wins.
    assert outcomes(result) == ["DEPLOYED", "PROMOTED", "SUPERSEDED", "PROMOTED"]
    superseded = execution(result, 3)
    assert superseded["output"]["supersededBy"] == PACKAGE.format(4)
    assert [v["modelPackageArn"] for v in result.report["endpoints"]["churn-prod"]["variants"]] == [
        PACKAGE.format(4)
    ]


def test_a_manual_start_of_what_already_serves_is_skipped(tmp_path: Path) -> None:
    result = rehearse(
        tmp_path,
        {
            "name": "again",
            "groups": {"churn": {"endpoint": "churn-prod"}},
            "timeline": [
                {"at": 0, "approve": {"group": "churn", "version": 1}},
                {"at": 3600, "start": {"input": {"modelPackageArn": PACKAGE.format(1)}}},
            ],
        },
    )
    assert outcomes(result) == ["DEPLOYED", "SKIPPED_DUPLICATE"]
