"""Event-driven waits (smdeploy.wakeup, adapters.wakeups): a token parked for an endpoint is
answered by the next event about it, once; an event before the park is not lost."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from smdeploy import wakeup
from smdeploy.adapters.wakeups import Wakeups

SAMPLES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "aws-events"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
TABLE = "deployments"
PACKAGE_PREFIX = "arn:aws:sagemaker:us-east-1:123456789012:model-package/"


class Tokens:
    """Step Functions' side: which tokens are open, what each was answered with."""

    def __init__(self) -> None:
        self.open: set[str] = set()
        self.answers: dict[str, dict[str, Any]] = {}

    def send_task_success(self, taskToken: str, output: str) -> dict[str, Any]:
        if taskToken not in self.open:
            raise ClientError({"Error": {"Code": "TaskTimedOut", "Message": "closed"}}, "SendTaskSuccess")
        self.open.discard(taskToken)
        self.answers[taskToken] = json.loads(output)
        return {}


@pytest.fixture
def world() -> Any:
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
        )
        tokens = Tokens()
        yield Wakeups(TABLE, dynamodb=ddb, stepfunctions=tokens), tokens


def park(
    wakeups: Wakeups,
    tokens: Tokens,
    token: str,
    *,
    endpoint: str = "churn-prod",
    waits: str = "events",
    waiting_for: str = "endpoint",
) -> dict[str, Any]:
    tokens.open.add(token)
    request = wakeup.ParkRequest(
        token=token, executionArn="arn:exec", endpointName=endpoint, waits=waits, waitingFor=waiting_for
    )
    return wakeup.park(request, wakeups=wakeups, now=NOW)


def endpoint_event(name: str = "churn-prod", status: str = "IN_SERVICE") -> dict[str, Any]:
    event = json.loads((SAMPLES / "endpoint-state-change-01.json").read_text())
    event["detail"].update(EndpointName=name, EndpointStatus=status)
    return event


def test_the_next_event_about_the_endpoint_answers_the_parked_token_once(world: Any) -> None:
    wakeups, tokens = world
    assert park(wakeups, tokens, "t1") == {"parked": True}

    first = wakeup.on_event(endpoint_event(), wakeups=wakeups, now=NOW)
    second = wakeup.on_event(endpoint_event(), wakeups=wakeups, now=NOW)

    assert first == {"woke": True, "endpoint": "churn-prod", "by": "endpoint IN_SERVICE"}
    assert tokens.answers["t1"]["wokenBy"] == "endpoint IN_SERVICE"
    assert second["woke"] is False and second["why"] == "nothing waits on it"


def test_an_event_between_a_look_and_the_next_park_answers_that_park_at_once(world: Any) -> None:
    wakeups, tokens = world
    park(wakeups, tokens, "t1")
    wakeup.on_event(endpoint_event(status="UPDATING"), wakeups=wakeups, now=NOW)  # wakes t1, consumed
    wakeup.on_event(endpoint_event(), wakeups=wakeups, now=NOW)  # nobody waits: kept as a signal

    answered = park(wakeups, tokens, "t2")

    assert answered == {"parked": True, "wokenAtOnce": "endpoint IN_SERVICE"}
    assert tokens.answers["t2"]["wokenBy"] == "endpoint IN_SERVICE"
    assert park(wakeups, tokens, "t3") == {"parked": True}  # the signal was used up


def test_an_event_for_a_wait_that_already_timed_out_is_kept_for_the_next_park(world: Any) -> None:
    wakeups, tokens = world
    park(wakeups, tokens, "t1")
    tokens.open.discard("t1")  # the Task's timeout fired: the state machine looks by itself

    late = wakeup.on_event(endpoint_event(), wakeups=wakeups, now=NOW)

    assert late == {"woke": False, "endpoint": "churn-prod", "why": "the wait had ended"}
    assert park(wakeups, tokens, "t2")["wokenAtOnce"] == "endpoint IN_SERVICE"


def test_events_about_endpoints_nothing_ever_waited_on_write_nothing(world: Any) -> None:
    wakeups, _ = world
    result = wakeup.on_event(endpoint_event(name="someone-elses"), wakeups=wakeups, now=NOW)

    assert result == {"woke": False, "endpoint": "someone-elses", "why": "nothing waits on it"}
    assert wakeups._ddb.scan(TableName=TABLE)["Items"] == []


def test_polling_keeps_no_token(world: Any) -> None:
    wakeups, tokens = world
    assert park(wakeups, tokens, "t1", waits="polling") == {"parked": False, "waits": "polling"}
    assert wakeup.on_event(endpoint_event(), wakeups=wakeups, now=NOW)["woke"] is False


def _group_endpoints(group: str) -> list[str]:
    return {"churn": ["churn-staging", "churn-prod"]}.get(group, [])


@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.glob("*.json")))
def test_every_sample_event_is_read_without_error(sample: str) -> None:
    event = json.loads((SAMPLES / sample).read_text())
    happened = wakeup.what_happened(event, _group_endpoints)
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    if sample.startswith("endpoint-state-change"):
        assert happened == [
            (detail["EndpointName"], f"endpoint {detail['EndpointStatus']}", ("endpoint", "converge"))
        ]
    elif sample.startswith("cloudwatch-alarm"):
        # none of the samples is an alarm on an endpoint's metrics or named after an endpoint
        assert happened == []
    elif detail.get("ModelApprovalStatus") in ("Approved", "Rejected"):
        group = detail["ModelPackageGroupName"]
        assert [endpoint for endpoint, _, _ in happened] == _group_endpoints(group)
        assert all(kinds == ("bake",) for _, _, kinds in happened)
    else:
        assert happened == []


def test_an_alarm_wakes_its_endpoint_only_when_it_goes_to_alarm() -> None:
    event = json.loads((SAMPLES / "cloudwatch-alarm-single-metric-01.json").read_text())
    event["detail"]["alarmName"] = "smdeploy-churn-prod-churn-v2-5xx-rate"
    event["detail"]["configuration"]["metrics"] = [
        {"metricStat": {"metric": {"dimensions": {"EndpointName": "churn-prod", "VariantName": "churn-v2"}}}}
    ]
    event["detail"]["state"]["value"] = "ALARM"
    assert wakeup.what_happened(event) == [
        ("churn-prod", "alarm smdeploy-churn-prod-churn-v2-5xx-rate ALARM", ("bake",))
    ]
    event["detail"]["state"]["value"] = "OK"
    assert wakeup.what_happened(event) == []


def approval_event(status: str, version: int = 3) -> dict[str, Any]:
    event = json.loads((SAMPLES / "model-package-approved-01.json").read_text())
    event["detail"]["ModelPackageGroupName"] = "churn"
    event["detail"]["ModelPackageArn"] = f"{PACKAGE_PREFIX}churn/{version}"
    event["detail"]["ModelApprovalStatus"] = status
    return event


def test_an_approval_change_wakes_the_bakes_of_every_endpoint_of_its_group() -> None:
    for status in ("Approved", "Rejected"):
        assert wakeup.what_happened(approval_event(status), _group_endpoints) == [
            ("churn-staging", f"churn/3 {status}", ("bake",)),
            ("churn-prod", f"churn/3 {status}", ("bake",)),
        ]
    assert wakeup.what_happened(approval_event("PendingManualApproval"), _group_endpoints) == []
    assert wakeup.what_happened(approval_event("Approved")) == []  # no group configs to read


def test_an_approval_change_wakes_a_waiting_bake(world: Any) -> None:
    wakeups, tokens = world
    assert park(wakeups, tokens, "t1", waiting_for="bake") == {"parked": True}
    rejected = approval_event("Rejected")
    result = wakeup.on_event(rejected, wakeups=wakeups, now=NOW, endpoints_of=_group_endpoints)
    assert result["woke"] is True
    woken = {r["endpoint"]: r["woke"] for r in result["endpoints"]}
    assert woken == {"churn-staging": False, "churn-prod": True}
    assert tokens.answers == {"t1": {"wokenBy": "churn/3 Rejected", "at": NOW.isoformat()}}


def alarm_event() -> dict[str, Any]:
    event = json.loads((SAMPLES / "cloudwatch-alarm-single-metric-01.json").read_text())
    event["detail"]["alarmName"] = "smdeploy-churn-prod-churn-v2-5xx-rate"
    event["detail"]["configuration"]["metrics"] = [
        {"metricStat": {"metric": {"dimensions": {"EndpointName": "churn-prod"}}}}
    ]
    event["detail"]["state"]["value"] = "ALARM"
    return event


def test_an_event_ends_only_the_kind_of_wait_it_is_about(world: Any) -> None:
    wakeups, tokens = world
    park(wakeups, tokens, "bake", waiting_for="bake")

    during_bake = wakeup.on_event(endpoint_event(), wakeups=wakeups, now=NOW)  # a weight change
    assert during_bake["woke"] is False and "bake" not in tokens.answers

    alarm = wakeup.on_event(alarm_event(), wakeups=wakeups, now=NOW)
    assert alarm["woke"] is True and tokens.answers["bake"]["wokenBy"].startswith("alarm ")
    # an alarm kept while nobody waited does not end the next endpoint wait
    wakeup.on_event(alarm_event(), wakeups=wakeups, now=NOW)
    assert park(wakeups, tokens, "update", waiting_for="endpoint") == {"parked": True}
