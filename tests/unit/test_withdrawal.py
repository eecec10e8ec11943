"""Withdrawals are never dropped: a rejection of a version that may serve starts a withdrawal, and
under the endpoint's lock the newest version that will deploy replaces it."""

from __future__ import annotations

from typing import Any

import pytest

from smdeploy.deploy import resolve_plan
from smdeploy.errors import AwsRequestRejected, NoRestoreTarget
from smdeploy.events import normalize
from smdeploy.models import GroupConfig
from smdeploy.settings import PlanSettings
from smdeploy.withdrawal import (
    RESTORE_STRATEGY,
    disqualifying_record,
    execution_name,
    handle_rejection,
    newest_deployable,
)

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/{}"
DAY1, DAY2, DAY3 = "2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00", "2026-01-03T00:00:00+00:00"


def package(status: str, modified: str = DAY1) -> dict[str, Any]:
    return {
        "ModelApprovalStatus": status,
        "ModelPackageStatus": "Completed",
        "LastModifiedTime": modified,
        "InferenceSpecification": {"Containers": [{"Image": "img", "ModelDataUrl": "s3://models/m.tar.gz"}]},
    }


class FakeSageMaker:
    """The registry (version -> package) and churn-prod serving ``serving`` [(version, weight)]."""

    def __init__(
        self,
        serving: list[tuple[int, float]],
        packages: dict[int, dict[str, Any]],
        status: str | None = "InService",
        models: set[str] | None = None,
    ) -> None:
        self.serving, self.packages, self.status = serving, packages, status
        self.models = models  # the models that exist (None: every model asked for)

    def find_model(self, name: str) -> dict[str, Any] | None:
        return {"ModelName": name} if self.models is None or name in self.models else None

    def find_endpoint(self, name: str) -> dict[str, Any] | None:
        if name != "churn-prod" or self.status is None:
            return None
        return {"EndpointName": name, "EndpointStatus": self.status, "EndpointConfigName": "churn-prod-cfg"}

    def variants_serving(self, live: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "VariantName": f"churn-v{v}",
                "ModelName": f"churn-v{v}",
                "ModelPackageArn": ARN.format(v),
                "CurrentWeight": w,
                "DesiredWeight": w,
            }
            for v, w in self.serving
        ]

    def find_model_package(self, arn: str) -> dict[str, Any] | None:
        found = self.packages.get(int(arn.rsplit("/", 1)[-1]))
        return dict(found) if found else None

    def latest_approved_package(self, group: str) -> dict[str, Any] | None:
        approved = [v for v, p in self.packages.items() if p["ModelApprovalStatus"] == "Approved"]
        return {"ModelPackageArn": ARN.format(max(approved))} if approved else None


class FakeConfigs:
    def __init__(self, config: GroupConfig | None = None) -> None:
        self.config = config or GroupConfig(endpoint="churn-prod")

    def load(self, group: str) -> GroupConfig | None:
        return self.config if group == "churn" else None

    def parameter_name(self, group: str) -> str:
        return f"/smdeploy/groups/{group}"


class FakeRecords:
    def __init__(self, history: list[tuple[int, str, str]]) -> None:
        self.history = history  # (version, outcome, recordedAt), newest first

    def deployments_of(self, endpoint: str, limit: int = 50) -> list[dict[str, Any]]:
        return [{"modelPackageArn": ARN.format(v), "outcome": o, "recordedAt": t} for v, o, t in self.history]


class FakeStarter:
    def __init__(self, exists: bool = False) -> None:
        self.started: list[tuple[str, dict[str, Any]]] = []
        self.exists = exists

    def start(self, name: str, execution_input: dict[str, Any]) -> str:
        if self.exists:
            raise AwsRequestRejected("StartExecution: ExecutionAlreadyExists: Execution Already Exists")
        self.started.append((name, execution_input))
        return f"arn:aws:states:us-east-1:123456789012:execution:smdeploy-deploy-model:{name}"


def rejected(version: int, event_id: str = "event-1") -> dict[str, Any]:
    return {
        "id": event_id,
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "detail": {
            "ModelPackageArn": ARN.format(version),
            "ModelPackageGroupName": "churn",
            "ModelPackageVersion": version,
            "ModelApprovalStatus": "Rejected",
            "LastModifiedTime": DAY2,
        },
    }


REGISTRY = {1: package("Approved"), 2: package("Rejected"), 3: package("Rejected")}


def handle(
    event: dict[str, Any],
    serving: list[tuple[int, float]],
    status: str | None = "InService",
    starter: FakeStarter | None = None,
) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    starter = starter or FakeStarter()
    result = handle_rejection(
        event,
        sagemaker=FakeSageMaker(serving, REGISTRY, status),  # type: ignore[arg-type]
        configs=FakeConfigs(),  # type: ignore[arg-type]
        starter=starter,  # type: ignore[arg-type]
    )
    return result, starter.started


# --- the rejection event ------------------------------------------------------------------------
def test_rejecting_the_live_version_starts_a_withdrawal_that_normalizes_to_a_manual_request() -> None:
    result, started = handle(rejected(2), [(2, 1.0)])
    assert result["action"] == "withdraw"
    ((name, execution_input),) = started
    assert execution_input["withdrawn"] == execution_input["modelPackageArn"] == ARN.format(2)
    assert execution_input["endpointName"] == "churn-prod"
    assert "churn/2 withdrawn" in execution_input["reason"]
    assert name == execution_name("churn-prod", ARN.format(2), "event-1")
    request = normalize(execution_input)
    assert (request.source, request.withdrawn, request.overrides) == (
        "manual",
        ARN.format(2),
        {"endpointName": "churn-prod"},
    )


def test_a_redelivered_event_reuses_its_name_and_a_second_rejection_gets_a_new_one() -> None:
    _, first = handle(rejected(2), [(2, 1.0)])
    _, again = handle(rejected(2), [(2, 1.0)])
    _, later = handle(rejected(2, event_id="event-2"), [(2, 1.0)])
    assert first[0][0] == again[0][0] != later[0][0]


def test_an_execution_that_already_exists_is_the_same_withdrawal() -> None:
    result, started = handle(rejected(2), [(2, 1.0)], starter=FakeStarter(exists=True))
    assert (result["action"], result["alreadyStarted"], started) == ("withdraw", True, [])


def test_a_candidate_at_a_small_weight_serves_too() -> None:
    result, started = handle(rejected(2), [(1, 0.9), (2, 0.1)])
    assert result["action"] == "withdraw" and len(started) == 1


def test_a_rejection_while_the_endpoint_changes_is_never_dropped() -> None:
    for status in ("Updating", "Creating", "SystemUpdating", "RollingBack"):
        result, started = handle(rejected(2), [(1, 1.0)], status=status)  # the candidate not visible yet
        assert result["action"] == "withdraw", status
        assert status in started[0][1]["reason"]


def test_a_rejection_while_the_endpoint_changes_of_a_version_never_deployed_there_is_ignored() -> None:
    sagemaker = FakeSageMaker([(1, 1.0)], {}, status="Updating", models=set())
    result = handle_rejection(
        rejected(3),
        sagemaker=sagemaker,  # type: ignore[arg-type]
        configs=FakeConfigs(),  # type: ignore[arg-type]
        starter=(starter := FakeStarter()),  # type: ignore[arg-type]
    )
    assert result == {"action": "ignored", "why": "churn/3 was never deployed to churn-prod"}
    assert starter.started == []


def test_rejecting_a_version_that_does_not_serve_an_in_service_endpoint_changes_nothing() -> None:
    result, started = handle(rejected(3), [(2, 1.0)])
    assert (result["action"], started) == ("ignored", [])


def test_no_endpoint_or_a_failed_one_serves_nothing() -> None:
    assert handle(rejected(2), [], status=None)[0]["action"] == "ignored"
    assert handle(rejected(2), [(2, 1.0)], status="Failed")[0]["action"] == "ignored"


def test_approved_and_other_events_are_ignored() -> None:
    approved = rejected(2)
    approved["detail"]["ModelApprovalStatus"] = "Approved"
    assert handle(approved, [(2, 1.0)])[0]["action"] == "ignored"
    assert handle({"detail-type": "Scheduled Event", "detail": {}}, [(2, 1.0)])[0]["action"] == "ignored"
    assert handle({**rejected(2), "detail": {"junk": 1}}, [(2, 1.0)])[0]["action"] == "ignored"


class FakeS3:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    def delete(self, uri: str) -> None:
        self.deleted.append(uri)


def test_a_rejection_on_a_multi_model_endpoint_removes_that_versions_artifact() -> None:
    s3, starter = FakeS3(), FakeStarter()
    config = GroupConfig.model_validate(
        {"endpoint": "churn-prod", "multiModel": {"artifactPrefix": "s3://mme-models/churn/"}}
    )
    result = handle_rejection(
        rejected(2),
        sagemaker=FakeSageMaker([(1, 1.0)], REGISTRY),  # type: ignore[arg-type]
        configs=FakeConfigs(config),  # type: ignore[arg-type]
        starter=starter,  # type: ignore[arg-type]
        s3=s3,  # type: ignore[arg-type]
    )
    assert result["action"] == "removed"
    assert s3.deleted == ["s3://mme-models/churn/churn-v2.tar.gz"]
    assert starter.started == []  # the other models keep serving: nothing to restore


# --- which version will deploy --------------------------------------------------------------------
def test_a_rollback_after_the_last_approval_disqualifies_and_a_new_approval_clears_it() -> None:
    history = [{"modelPackageArn": ARN.format(3), "outcome": "ROLLED_BACK", "recordedAt": DAY2}]
    assert disqualifying_record(ARN.format(3), package("Approved", DAY1), history) == history[0]
    assert disqualifying_record(ARN.format(3), package("Approved", DAY3), history) is None
    for outcome in ("FAILED", "ABORTED"):
        bad = [{**history[0], "outcome": outcome}]
        assert disqualifying_record(ARN.format(3), package("Approved", DAY1), bad) is not None
    good = [{**history[0], "outcome": "PROMOTED"}]
    assert disqualifying_record(ARN.format(3), package("Approved", DAY1), good) is None


def test_newest_deployable_skips_withdrawn_rejected_and_rolled_back_versions() -> None:
    registry = {
        1: package("Approved"),
        2: package("Approved"),
        3: package("Rejected"),
        4: package("Approved"),
    }
    sagemaker = FakeSageMaker([], registry)
    history = FakeRecords([(4, "ROLLED_BACK", DAY2), (2, "PROMOTED", DAY1)]).deployments_of("churn-prod")
    found = newest_deployable("churn", sagemaker=sagemaker, history=history, exclude={ARN.format(2)})  # type: ignore[arg-type]
    assert found is not None and found[0] == ARN.format(1)
    assert newest_deployable("churn", sagemaker=sagemaker, history=history, above=2) is None  # type: ignore[arg-type]
    registry[4] = package("Approved", DAY3)  # approved again after its rollback
    found = newest_deployable("churn", sagemaker=sagemaker, history=history, above=2)  # type: ignore[arg-type]
    assert found is not None and found[0] == ARN.format(4)


# --- under the lock -----------------------------------------------------------------------------
DEFAULTS = PlanSettings.from_env(
    {
        "GROUP_CONFIG_PREFIX": "/smdeploy/groups/",
        "DEFAULT_INSTANCE_TYPE": "ml.m5.large",
        "DEFAULT_INSTANCE_COUNT": "1",
        "ENDPOINT_POLL_SECONDS": "30",
        "ENDPOINT_DEPLOY_TIMEOUT_SECONDS": "3600",
        "MODEL_ARTIFACT_BUCKETS": "sagemaker-us-east-1-123456789012",
        "MODEL_WRITE_BUCKETS": "sagemaker-us-east-1-123456789012",
    }
).defaults()
WITHDRAWAL = {
    "withdrawn": ARN.format(2),
    "modelPackageArn": ARN.format(2),
    "endpointName": "churn-prod",
    "reason": "approval of churn/2 withdrawn (Rejected) while it served churn-prod",
}


def resolve(
    raw: Any,
    serving: list[tuple[int, float]],
    registry: dict[int, dict[str, Any]],
    history: list[tuple[int, str, str]] = (),  # type: ignore[assignment]
    under_lock: bool = True,
    config: GroupConfig | None = None,
):
    return resolve_plan(
        raw,
        sagemaker=FakeSageMaker(serving, registry),  # type: ignore[arg-type]
        configs=FakeConfigs(config),  # type: ignore[arg-type]
        defaults=DEFAULTS,
        under_lock=under_lock,
        records=FakeRecords(list(history)),  # type: ignore[arg-type]
    )


def test_under_the_lock_the_withdrawal_deploys_the_newest_version_that_will_deploy() -> None:
    registry = {1: package("Approved"), 2: package("Rejected"), 3: package("Approved")}
    history = [(3, "ROLLED_BACK", DAY2), (2, "PROMOTED", DAY1), (1, "DEPLOYED", DAY1)]
    before = resolve(WITHDRAWAL, [(2, 1.0)], registry, history, under_lock=False)
    assert (before.action, before.modelPackageArn, before.withdrawn) == (
        "PENDING",
        ARN.format(1),
        ARN.format(2),
    )
    plan = resolve(WITHDRAWAL, [(2, 1.0)], registry, history)
    assert (plan.action, plan.modelPackageArn, plan.withdrawn) == ("UPDATE", ARN.format(1), ARN.format(2))
    assert plan.baselineModelPackageArn == ARN.format(2)
    assert plan.rollout is not None and (plan.rollout.type, plan.rollout.steps) == ("all-at-once", [100.0])
    assert plan.rollout.bakeSeconds == RESTORE_STRATEGY["bakeMinutes"] * 60
    assert plan.reason and "churn/2 withdrawn" in plan.reason and "restoring churn/1" in plan.reason


def test_a_withdrawn_version_that_no_longer_serves_is_skipped() -> None:
    registry = {1: package("Approved"), 2: package("Rejected")}
    plan = resolve(WITHDRAWAL, [(1, 1.0)], registry)  # its rollout rolled back while the withdrawal waited
    assert (plan.action, plan.withdrawn) == ("SKIP", ARN.format(2))
    assert plan.reason and plan.reason.startswith("nothing to withdraw: churn/2 no longer serves churn-prod")


def test_no_version_to_restore_is_no_restore_target_naming_both() -> None:
    registry = {1: package("Approved"), 2: package("Rejected")}
    before = resolve(WITHDRAWAL, [(2, 1.0)], registry, [(1, "ROLLED_BACK", DAY2)], under_lock=False)
    assert (before.action, before.endpointName) == ("PENDING", "churn-prod")  # waits for the lock
    with pytest.raises(NoRestoreTarget) as caught:
        resolve(WITHDRAWAL, [(2, 1.0)], registry, [(1, "ROLLED_BACK", DAY2)])
    assert "churn/2" in caught.value.message and "churn-prod" in caught.value.message


def approval(version: int) -> dict[str, Any]:
    event = rejected(version)
    event["detail"]["ModelApprovalStatus"] = "Approved"
    return event


def test_an_approval_is_superseded_only_by_a_newer_version_that_will_deploy() -> None:
    registry = {1: package("Approved"), 2: package("Approved"), 3: package("Approved")}
    plan = resolve(approval(2), [(1, 1.0)], registry)
    assert (plan.action, plan.supersededBy) == ("SUPERSEDED", ARN.format(3))
    rolled_back = resolve(approval(2), [(1, 1.0)], registry, [(3, "ROLLED_BACK", DAY2)])
    assert rolled_back.action == "UPDATE"  # churn/3 will never deploy: churn/2 is not lost
    registry[3] = package("Approved", DAY3)  # churn/3 approved again: it deploys next
    assert resolve(approval(2), [(1, 1.0)], registry, [(3, "ROLLED_BACK", DAY2)]).action == "SUPERSEDED"


def test_the_plan_carries_preempt_the_transition_and_a_lock_wait_as_long_as_its_rollout() -> None:
    registry = {1: package("Approved"), 2: package("Approved")}
    config = GroupConfig.model_validate(
        {"endpoint": "churn-prod", "preempt": True, "strategy": {"type": "linear", "linearSteps": 10}}
    )
    plan = resolve(approval(2), [(1, 1.0)], registry, config=config, under_lock=False)
    assert plan.preempt is True
    assert plan.approvalTransition == "modified:2026-01-02T00:00:00.000000+00:00"
    assert plan.rollout is not None
    assert plan.lockLeaseSeconds >= 10 * plan.rollout.bakeSeconds + 3 * 3600
    assert plan.lockWaitSeconds >= plan.lockLeaseSeconds > 4 * 3600
    default = resolve(approval(2), [(1, 1.0)], registry, under_lock=False)
    assert (
        default.preempt is False and default.lockWaitSeconds >= 3600 and default.lockLeaseSeconds >= 4 * 3600
    )


def test_withdrawal_input_is_validated_naming_the_field() -> None:
    from smdeploy.errors import InvalidRequest

    with pytest.raises(InvalidRequest) as caught:
        normalize({**WITHDRAWAL, "modelPackageArn": ARN.format(1)})
    assert caught.value.field == "input"
    with pytest.raises(InvalidRequest) as caught:
        normalize({**WITHDRAWAL, "endpointName": "bad name"})
    assert caught.value.field == "endpointName"


class StagedSageMaker(FakeSageMaker):
    """churn-staging and churn-prod, each serving the versions ``serving`` names for it."""

    def __init__(self, serving: dict[str, list[tuple[int, float]]]) -> None:
        super().__init__([], REGISTRY)
        self.by_endpoint = serving

    def find_endpoint(self, name: str) -> dict[str, Any] | None:
        if name not in self.by_endpoint:
            return None
        return {"EndpointName": name, "EndpointStatus": "InService", "EndpointConfigName": f"{name}-cfg"}

    def variants_serving(self, live: dict[str, Any]) -> list[dict[str, Any]]:
        self.serving = self.by_endpoint[live["EndpointName"]]
        return super().variants_serving(live)


def test_a_rejected_version_is_withdrawn_from_every_stage_it_serves() -> None:
    staged = GroupConfig.model_validate(
        {"stages": [{"endpoint": "churn-staging"}, {"endpoint": "churn-prod", "gate": "manual"}]}
    )
    starter = FakeStarter()
    result = handle_rejection(
        rejected(2),
        sagemaker=StagedSageMaker({"churn-staging": [(2, 1.0)], "churn-prod": [(2, 1.0)]}),  # type: ignore[arg-type]
        configs=FakeConfigs(staged),  # type: ignore[arg-type]
        starter=starter,  # type: ignore[arg-type]
    )

    assert result["action"] == "withdraw"
    assert sorted(inputs["endpointName"] for _, inputs in starter.started) == ["churn-prod", "churn-staging"]
    # a version that reached staging only is withdrawn from staging only
    starter = FakeStarter()
    handle_rejection(
        rejected(2),
        sagemaker=StagedSageMaker({"churn-staging": [(2, 1.0)], "churn-prod": [(1, 1.0)]}),  # type: ignore[arg-type]
        configs=FakeConfigs(staged),  # type: ignore[arg-type]
        starter=starter,  # type: ignore[arg-type]
    )
    assert [inputs["endpointName"] for _, inputs in starter.started] == ["churn-staging"]
