"""No approval lost: claims per transition to Approved, a lock wait that outlasts long rollouts,
and a recovery that takes the lock over from the execution it recovers (DynamoDB on moto)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from smdeploy import clock, locking
from smdeploy.adapters.locks import LockTable
from smdeploy.errors import LockWaitTimeout
from smdeploy.models import DeploymentPlan

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/{}"
EXEC = "arn:aws:states:us-east-1:123456789012:execution:smdeploy-deploy-model:{}"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def virtual() -> Iterator[Clock]:
    source = Clock()
    clock.set_source(source)
    yield source
    clock.set_source(None)


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[LockTable]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        ddb = boto3.client("dynamodb")
        ddb.create_table(
            TableName="t",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield LockTable("t", ddb)


def plan(version: int = 2, **changes: Any) -> DeploymentPlan:
    fields: dict[str, Any] = {
        "source": "approval",
        "modelPackageArn": ARN.format(version),
        "modelPackageGroup": "churn",
        "modelPackageVersion": version,
        "endpointName": "churn-prod",
        "action": "PENDING",
        "modelName": "m",
        "endpointConfigName": "c",
        "variantName": "v",
        "instanceType": "ml.m5.large",
        "initialInstanceCount": 1,
        "pollSeconds": 30,
        "maxPolls": 10,
        "approvalTransition": "modified:2026-01-01T00:00:00.000000+00:00",
        **changes,
    }
    return DeploymentPlan(**fields)


def test_every_event_of_one_transition_is_a_duplicate(table: LockTable, virtual: Clock) -> None:
    assert locking.claim_request(plan(), EXEC.format(1), table=table) == {"duplicate": False, "claimed": True}
    second = locking.claim_request(plan(), EXEC.format(2), table=table)
    assert (second["duplicate"], second["heldBy"]) == (True, EXEC.format(1))
    locking.release(plan().model_dump(), EXEC.format(1), "PROMOTED", table=table)
    virtual.advance(3600)
    late = locking.claim_request(plan(), EXEC.format(3), table=table)  # a late delivery of that change
    assert (late["duplicate"], late["state"]) == (True, "DONE")


def test_a_re_approval_after_a_rollback_is_a_new_transition_and_deploys(
    table: LockTable, virtual: Clock
) -> None:
    locking.claim_request(plan(), EXEC.format(1), table=table)
    locking.release(plan().model_dump(), EXEC.format(1), "ROLLED_BACK", table=table)
    virtual.advance(600)  # well inside the old 24-hour window
    again = plan(approvalTransition="modified:2026-01-01T00:10:00.000000+00:00")
    assert locking.claim_request(again, EXEC.format(2), table=table)["duplicate"] is False


def test_manual_starts_and_recoveries_are_never_duplicates(table: LockTable, virtual: Clock) -> None:
    for source in ("manual", "recovery"):
        for n in (1, 2):
            assert (
                locking.claim_request(plan(source=source), EXEC.format(n), table=table)["duplicate"] is False
            )


def test_a_waiter_outlasts_a_rollout_longer_than_its_own_wait(table: LockTable, virtual: Clock) -> None:
    long = plan(3, lockLeaseSeconds=12 * 3600)
    short = plan(4, lockWaitSeconds=3600, lockLeaseSeconds=4 * 3600, lockPollSeconds=60)
    assert locking.take_lock(long, EXEC.format(1), None, table=table)["acquired"]
    state: dict[str, Any] | None = None
    for _ in range(11 * 60):  # 11 hours of polls, far beyond lockWaitSeconds
        state = locking.take_lock(short, EXEC.format(2), state, table=table)
        assert not state["acquired"] and state["heldBy"] == EXEC.format(1)
        virtual.advance(60)
    assert state is not None and state["budget"] >= 12 * 3600
    assert 60 <= state["nextWaitSeconds"] <= locking.MAX_LOCK_POLL_SECONDS
    locking.release(long.model_dump(), EXEC.format(1), "PROMOTED", table=table)
    assert locking.take_lock(short, EXEC.format(2), state, table=table)["acquired"]


def test_the_wait_starts_again_for_each_holder_of_a_queue(table: LockTable, virtual: Clock) -> None:
    waiter = plan(9, lockWaitSeconds=3600, lockLeaseSeconds=3600, lockPollSeconds=60)
    state: dict[str, Any] | None = None
    for n in (1, 2, 3):  # three rollouts of 50 minutes each, one after the other
        holder = plan(n, lockLeaseSeconds=3000)
        assert locking.take_lock(holder, EXEC.format(n), None, table=table)["acquired"]
        for _ in range(50):
            state = locking.take_lock(waiter, EXEC.format(9), state, table=table)
            assert not state["acquired"]
            virtual.advance(60)
        locking.release(holder.model_dump(), EXEC.format(n), "PROMOTED", table=table)
    assert locking.take_lock(waiter, EXEC.format(9), state, table=table)["acquired"]


def test_one_holder_beyond_the_wait_and_its_lease_is_a_timeout(table: LockTable, virtual: Clock) -> None:
    waiter = plan(9, lockWaitSeconds=3600, lockLeaseSeconds=3600, lockPollSeconds=60)
    assert locking.take_lock(plan(1, lockLeaseSeconds=1800), EXEC.format(1), None, table=table)["acquired"]
    state = locking.take_lock(waiter, EXEC.format(9), None, table=table)
    virtual.advance(1700)
    # the holder extends its hold (a retry of its own take) beyond the waiter's budget
    assert locking.take_lock(plan(1, lockLeaseSeconds=7200), EXEC.format(1), None, table=table)["acquired"]
    state = locking.take_lock(waiter, EXEC.format(9), state, table=table)
    virtual.advance(3600)
    with pytest.raises(LockWaitTimeout):
        locking.take_lock(waiter, EXEC.format(9), state, table=table)


def test_a_recovery_takes_the_lock_over_from_the_execution_it_recovers(
    table: LockTable, virtual: Clock
) -> None:
    assert locking.take_lock(plan(1), EXEC.format(1), None, table=table)["acquired"]
    other = plan(1, action="RECOVER", source="recovery", recovers=EXEC.format(7))
    assert not locking.take_lock(other, EXEC.format(8), None, table=table)["acquired"]  # not its holder
    recovery = plan(1, action="RECOVER", source="recovery", recovers=EXEC.format(1))
    taken = locking.take_lock(recovery, EXEC.format(2), None, table=table)
    assert (taken["acquired"], taken["tookOverFrom"]) == (True, EXEC.format(1))
    assert not locking.take_lock(plan(3), EXEC.format(3), None, table=table)["acquired"]
    assert locking.release(recovery.model_dump(), EXEC.format(2), "ABORTED", table=table)["lockReleased"]
