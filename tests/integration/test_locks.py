"""Endpoint locks and claims under moto's DynamoDB: conditional writes, leases, release by owner."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from smdeploy.adapters.locks import LockTable

TABLE = "deployments"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[LockTable]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        ddb = boto3.client("dynamodb")
        ddb.create_table(
            TableName=TABLE,
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
        yield LockTable(TABLE, ddb)


def test_a_held_lock_is_refused_to_others_and_names_its_holder(table: LockTable) -> None:
    assert table.take("LOCK#e", "exec-1", expires_at=2000, now=1000, attributes={}) is None
    holder = table.take("LOCK#e", "exec-2", expires_at=2100, now=1100, attributes={})
    assert holder is not None and holder["owner"] == "exec-1"


def test_taking_a_lock_again_by_its_owner_succeeds(table: LockTable) -> None:
    assert table.take("LOCK#e", "exec-1", expires_at=2000, now=1000, attributes={}) is None
    assert table.take("LOCK#e", "exec-1", expires_at=2500, now=1500, attributes={}) is None


def test_an_expired_lease_frees_the_lock_of_a_crashed_execution(table: LockTable) -> None:
    assert table.take("LOCK#e", "crashed", expires_at=2000, now=1000, attributes={}) is None
    assert table.take("LOCK#e", "exec-2", expires_at=5000, now=2001, attributes={}) is None


def test_only_the_owner_releases(table: LockTable) -> None:
    table.take("LOCK#e", "exec-1", expires_at=2000, now=1000, attributes={})
    assert table.release("LOCK#e", "exec-2") is False
    assert table.release("LOCK#e", "exec-1") is True
    assert table.release("LOCK#e", "exec-1") is False  # already free
    assert table.take("LOCK#e", "exec-2", expires_at=2000, now=1000, attributes={}) is None


def test_a_closed_claim_keeps_refusing_duplicates_until_it_expires(table: LockTable) -> None:
    table.take("CLAIM#e#pkg", "exec-1", expires_at=9000, now=1000, attributes={"state": "IN_PROGRESS"})
    assert table.hold_until("CLAIM#e#pkg", "exec-1", 5000, {"state": "DONE", "outcome": "PROMOTED"})
    holder = table.take("CLAIM#e#pkg", "exec-2", expires_at=9000, now=4000, attributes={})
    assert holder is not None and holder["state"] == "DONE"
    assert table.take("CLAIM#e#pkg", "exec-3", expires_at=9000, now=5001, attributes={}) is None
