"""A withdrawn approval restores the last good version, and only when the withdrawn one is live."""

from __future__ import annotations

from typing import Any

from smdeploy.models import GroupConfig
from smdeploy.withdrawal import RESTORE_STRATEGY, handle_rejection

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/{}"


class FakeSageMaker:
    def __init__(self, serving: list[tuple[int, float]], statuses: dict[int, str]) -> None:
        self.serving, self.statuses = serving, statuses

    def find_endpoint(self, name: str) -> dict[str, Any] | None:
        return {"EndpointName": name, "EndpointStatus": "InService"} if name == "churn-prod" else None

    def variants_serving(self, live: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"ModelPackageArn": ARN.format(v), "CurrentWeight": w} for v, w in self.serving]

    def find_model_package(self, arn: str) -> dict[str, Any] | None:
        version = int(arn.rsplit("/", 1)[-1])
        return {"ModelApprovalStatus": self.statuses[version]} if version in self.statuses else None


class FakeConfigs:
    def load(self, group: str) -> GroupConfig | None:
        return GroupConfig(endpoint="churn-prod") if group == "churn" else None


class FakeRecords:
    def __init__(self, history: list[tuple[int, str]]) -> None:
        self.history = history  # newest first

    def deployments_of(self, endpoint: str, limit: int = 50) -> list[dict[str, Any]]:
        return [{"modelPackageArn": ARN.format(v), "outcome": o} for v, o in self.history]


class FakeStarter:
    def __init__(self) -> None:
        self.started: list[tuple[str, dict[str, Any]]] = []

    def start(self, name: str, execution_input: dict[str, Any]) -> str:
        self.started.append((name, execution_input))
        return f"arn:aws:states:us-east-1:123456789012:execution:smdeploy-deploy-model:{name}"


def rejected(version: int) -> dict[str, Any]:
    return {
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "detail": {
            "ModelPackageArn": ARN.format(version),
            "ModelPackageGroupName": "churn",
            "ModelPackageVersion": version,
            "ModelApprovalStatus": "Rejected",
        },
    }


def handle(event: dict[str, Any], serving: list[tuple[int, float]], history: list[tuple[int, str]]):  # type: ignore[no-untyped-def]
    starter = FakeStarter()
    sagemaker = FakeSageMaker(serving, {1: "Approved", 2: "Rejected", 3: "Rejected"})
    result = handle_rejection(
        event,
        sagemaker=sagemaker,
        configs=FakeConfigs(),
        records=FakeRecords(history),
        starter=starter,  # type: ignore[arg-type]
    )
    return result, starter.started


def test_rejecting_the_live_version_restores_the_last_promoted_one() -> None:
    result, started = handle(rejected(2), [(2, 1.0)], [(2, "PROMOTED"), (1, "DEPLOYED")])
    assert result["action"] == "restore"
    ((name, execution_input),) = started
    assert execution_input["modelPackageArn"] == ARN.format(1)
    assert execution_input["endpointName"] == "churn-prod"
    assert execution_input["strategy"] == RESTORE_STRATEGY
    assert (
        "churn/2 withdrawn" in execution_input["reason"] and "restoring churn/1" in execution_input["reason"]
    )
    assert name.startswith("restore-")


def test_the_same_rejection_twice_starts_the_same_execution_name() -> None:
    _, first = handle(rejected(2), [(2, 1.0)], [(2, "PROMOTED"), (1, "DEPLOYED")])
    _, second = handle(rejected(2), [(2, 1.0)], [(2, "PROMOTED"), (1, "DEPLOYED")])
    assert first[0][0] == second[0][0]


def test_rejecting_a_version_that_does_not_serve_changes_nothing() -> None:
    result, started = handle(rejected(3), [(2, 1.0)], [(2, "PROMOTED"), (1, "DEPLOYED")])
    assert (result["action"], started) == ("ignored", [])


def test_rolled_back_and_rejected_versions_are_not_restored() -> None:
    result, started = handle(rejected(2), [(2, 1.0)], [(2, "PROMOTED"), (3, "ROLLED_BACK"), (3, "PROMOTED")])
    assert (result["action"], started) == ("none", [])
    assert "keeps serving" in result["why"]


def test_approved_and_other_events_are_ignored() -> None:
    approved = rejected(2)
    approved["detail"]["ModelApprovalStatus"] = "Approved"
    assert handle(approved, [(2, 1.0)], [])[0]["action"] == "ignored"
    assert handle({"detail-type": "Scheduled Event", "detail": {}}, [(2, 1.0)], [])[0]["action"] == "ignored"
    assert handle({**rejected(2), "detail": {"junk": 1}}, [(2, 1.0)], [])[0]["action"] == "ignored"


class FakeS3:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    def delete(self, uri: str) -> None:
        self.deleted.append(uri)


class MultiModelConfigs:
    def load(self, group: str) -> GroupConfig | None:
        return GroupConfig.model_validate(
            {"endpoint": "churn-prod", "multiModel": {"artifactPrefix": "s3://mme-models/churn/"}}
        )


def test_a_rejection_on_a_multi_model_endpoint_removes_that_versions_artifact() -> None:
    s3, starter = FakeS3(), FakeStarter()
    result = handle_rejection(
        rejected(2),
        sagemaker=FakeSageMaker([(1, 1.0)], {1: "Approved"}),  # type: ignore[arg-type]
        configs=MultiModelConfigs(),  # type: ignore[arg-type]
        records=FakeRecords([(2, "DEPLOYED"), (1, "DEPLOYED")]),  # type: ignore[arg-type]
        starter=starter,  # type: ignore[arg-type]
        s3=s3,  # type: ignore[arg-type]
    )
    assert result["action"] == "removed"
    assert s3.deleted == ["s3://mme-models/churn/churn-v2.tar.gz"]
    assert starter.started == []  # the other models keep serving: nothing to restore
