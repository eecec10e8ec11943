"""Guards: a manual start to an unknown endpoint, a bake shorter than its alarms' window, SNS subjects."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from smdeploy.adapters.config_store import GroupConfigStore
from smdeploy.adapters.notifier import SUBJECT_MAX_CHARS, Notifier, sns_subject
from smdeploy.deploy import record_outcome, resolve_plan
from smdeploy.errors import InvalidRequest
from smdeploy.models import GroupConfig
from smdeploy.strategy import (
    METRIC_PUBLISH_DELAY_SECONDS,
    alarm_window_seconds,
    candidate_alarm_window_seconds,
)
from tests.unit.test_plan import ARN, BASELINE, DEFAULTS, LIVE, manual, package, plan_for

PREFIX = "/smdeploy/groups/"


class FakeSsm:
    def __init__(self, values: dict[str, dict[str, Any]]) -> None:
        self.values = {f"{PREFIX}{group}": json.dumps(config) for group, config in values.items()}

    def get_parameter(self, *, Name: str) -> dict[str, Any]:
        if Name not in self.values:
            error = {"Error": {"Code": "ParameterNotFound", "Message": f"Parameter {Name} not found."}}
            raise ClientError(error, "GetParameter")  # type: ignore[arg-type]
        return {"Parameter": {"Name": Name, "Value": self.values[Name]}}


class FakeSageMaker:
    """The registry holds ARN; ``endpoints`` are what DescribeEndpoint finds. Reads only."""

    def __init__(self, endpoints: dict[str, dict[str, Any]] | None = None) -> None:
        self.endpoints = endpoints or {}
        self.described: list[str] = []

    def find_model_package(self, arn: str) -> dict[str, Any] | None:
        return package(arn) if arn == ARN else None

    def find_endpoint(self, name: str) -> dict[str, Any] | None:
        self.described.append(name)
        return self.endpoints.get(name)

    def variants_serving(self, endpoint: dict[str, Any]) -> list[dict[str, Any]]:
        return list(BASELINE)

    def latest_approved_package(self, group: str) -> dict[str, Any] | None:
        return {"ModelPackageArn": ARN}


class FakeCloudWatch:
    def __init__(self, alarms: list[dict[str, Any]]) -> None:
        self.alarms = alarms

    def find_alarms(self, names: list[str]) -> list[dict[str, Any]]:
        return [alarm for alarm in self.alarms if alarm["AlarmName"] in names]


def resolve(
    raw: dict[str, Any],
    *,
    group: dict[str, Any] | None = None,
    endpoints: dict[str, dict[str, Any]] | None = None,
    alarms: list[dict[str, Any]] | None = None,
    under_lock: bool = False,
) -> Any:
    sagemaker = FakeSageMaker(endpoints)
    plan = resolve_plan(
        {"modelPackageArn": ARN, **raw},
        sagemaker=sagemaker,  # type: ignore[arg-type]
        configs=GroupConfigStore(PREFIX, ssm=FakeSsm({"churn": group} if group is not None else {})),
        defaults=DEFAULTS,
        cloudwatch=FakeCloudWatch(alarms or []),  # type: ignore[arg-type]
        under_lock=under_lock,
    )
    return plan, sagemaker


# --- 1. a manual start names an endpoint nobody configured and that does not exist ---------------------
@pytest.mark.parametrize("under_lock", [False, True])
def test_manual_start_to_an_unknown_unconfigured_endpoint_is_invalid_request(under_lock: bool) -> None:
    with pytest.raises(InvalidRequest) as caught:
        resolve({"endpointName": "churn-prdo"}, group={"endpoint": "churn-prod"}, under_lock=under_lock)

    assert caught.value.field == "endpointName"
    assert "'churn-prdo'" in caught.value.problem and "'churn-prod'" in caught.value.problem
    assert '"createEndpoint": true' in caught.value.problem


def test_manual_start_without_group_config_to_an_unknown_endpoint_is_invalid_request() -> None:
    with pytest.raises(InvalidRequest) as caught:
        resolve({"endpointName": "churn-staging"})

    assert caught.value.field == "endpointName"
    assert "names no endpoint" in caught.value.problem


@pytest.mark.parametrize("under_lock", [False, True])
def test_create_endpoint_true_allows_a_new_endpoint(under_lock: bool) -> None:
    plan, _ = resolve(
        {"endpointName": "churn-staging", "createEndpoint": True},
        group={"endpoint": "churn-prod"},
        under_lock=under_lock,
    )

    assert plan.endpointName == "churn-staging"
    assert plan.action == ("CREATE" if under_lock else "PENDING")


def test_manual_start_to_an_existing_endpoint_needs_no_create_endpoint() -> None:
    other = {**LIVE, "EndpointName": "churn-canary"}
    plan, sagemaker = resolve(
        {"endpointName": "churn-canary"}, group={"endpoint": "churn-prod"}, endpoints={"churn-canary": other}
    )

    assert plan.endpointName == "churn-canary" and sagemaker.described == ["churn-canary"]


def test_the_configured_endpoint_may_be_created_without_create_endpoint() -> None:
    plan, sagemaker = resolve(
        {"endpointName": "churn-prod"}, group={"endpoint": "churn-prod"}, under_lock=True
    )

    assert plan.action == "CREATE"
    plan, sagemaker = resolve({}, group={"endpoint": "churn-prod"})
    assert plan.endpointName == "churn-prod" and sagemaker.described == []  # not read before the lock


def test_create_endpoint_is_not_a_plan_setting() -> None:
    plan = plan_for(manual(endpointName="churn-new", createEndpoint=True))

    assert plan.endpointName == "churn-new"
    assert "createEndpoint" not in plan.model_dump()


# --- 2. a bake shorter than the alarms' evaluation window -------------------------------------------------
def test_candidate_alarm_window_is_datapoints_times_period_plus_the_publishing_delay() -> None:
    assert candidate_alarm_window_seconds() == 2 * 60 + METRIC_PUBLISH_DELAY_SECONDS == 180


@pytest.mark.parametrize(
    ("alarm", "window"),
    [
        ({"Period": 60, "EvaluationPeriods": 3, "DatapointsToAlarm": 2}, 180),
        ({"Period": 300, "EvaluationPeriods": 3}, 960),  # DatapointsToAlarm defaults to EvaluationPeriods
        ({"Period": 10, "EvaluationPeriods": 1}, 70),  # high resolution
        (
            {
                "EvaluationPeriods": 2,
                "Metrics": [
                    {"Id": "e", "Expression": "m1/m2"},
                    {"Id": "m1", "MetricStat": {"Period": 120}},
                    {"Id": "m2", "MetricStat": {"Period": 60}},
                ],
            },
            300,
        ),
        ({"AlarmRule": "ALARM(a) OR ALARM(b)"}, None),  # composite: no period of its own
    ],
)
def test_alarm_window_seconds(alarm: dict[str, Any], window: int | None) -> None:
    assert alarm_window_seconds(alarm) == window


def test_bake_shorter_than_the_candidate_alarms_window_is_invalid_request() -> None:
    with pytest.raises(InvalidRequest) as caught:
        plan_for(manual(strategy={"bakeMinutes": 2, "checkIntervalSeconds": 60}))

    assert caught.value.field == "strategy.bakeMinutes"
    assert "at least 3" in caught.value.problem and "180 s" in caught.value.problem


def test_bake_as_long_as_the_candidate_alarms_window_is_accepted() -> None:
    plan = plan_for(manual(strategy={"bakeMinutes": 3, "checkIntervalSeconds": 60}))

    assert plan.rollout is not None and plan.rollout.bakeSeconds == 180


def test_guardrails_bake_is_checked_too() -> None:
    strategy = {"type": "guardrails-canary", "bakeMinutes": 2, "checkIntervalSeconds": 60}
    with pytest.raises(InvalidRequest) as caught:
        plan_for(manual(strategy=strategy), live=LIVE)

    assert caught.value.field == "strategy.bakeMinutes"


def test_a_replacement_without_a_bake_to_judge_is_not_checked() -> None:
    # serverless: one variant, replaced in one update, no candidate alarms
    group = GroupConfig(endpoint="churn-prod", serverless={"memorySizeMB": 2048})  # type: ignore[arg-type]
    plan = plan_for(manual(strategy={"bakeMinutes": 1, "checkIntervalSeconds": 60}), group=group)

    assert plan.rollout is not None and plan.rollout.bakeSeconds == 60


def test_bake_shorter_than_a_group_alarms_window_is_invalid_request_under_the_lock() -> None:
    slow = {"AlarmName": "churn-latency", "Period": 300, "EvaluationPeriods": 3, "DatapointsToAlarm": 2}
    group = {"endpoint": "churn-prod", "strategy": {"bakeMinutes": 10, "alarms": ["churn-latency"]}}

    with pytest.raises(InvalidRequest) as caught:
        resolve({}, group=group, endpoints={"churn-prod": LIVE}, alarms=[slow], under_lock=True)

    assert caught.value.field == "strategy.bakeMinutes"
    assert "'churn-latency'" in caught.value.problem and "at least 11" in caught.value.problem
    group["strategy"]["bakeMinutes"] = 11  # type: ignore[index]
    plan, _ = resolve({}, group=group, endpoints={"churn-prod": LIVE}, alarms=[slow], under_lock=True)
    assert plan.action == "UPDATE"


def test_composite_group_alarm_does_not_set_a_minimum() -> None:
    composite = {"AlarmName": "churn-health", "AlarmRule": "ALARM(x)"}
    group = {"endpoint": "churn-prod", "strategy": {"bakeMinutes": 3, "alarms": ["churn-health"]}}

    plan, _ = resolve({}, group=group, endpoints={"churn-prod": LIVE}, alarms=[composite], under_lock=True)

    assert plan.action == "UPDATE"


# --- 3. SNS subjects -----------------------------------------------------------------------------------
def assert_valid_subject(subject: str) -> None:
    """SNS Publish: ASCII, starts with a letter, number or punctuation, no line breaks or control
    characters, less than 100 characters."""
    assert subject.isascii() and subject.isprintable()
    assert subject[0].isalnum() or (not subject[0].isspace() and subject[0].isprintable())
    assert 0 < len(subject) < 100


@pytest.mark.parametrize(
    "text",
    [
        "smdeploy DEPLOYED: churn-prod <- churn/1",
        "smdeploy FAILED: - <- churn\nprod/1\r\nSubject: injected",
        "smdeploy FAILED: - <- caf\u00e9\u2603/\u0000\u0007\x1b[31m\t9",
        "  \n leading whitespace and a line break",
        "\u2603\u2603 starts with a snowman",
        "x" * 500,
        "",
        "\n\t\r",
    ],
)
def test_sns_subject_is_always_publishable(text: str) -> None:
    assert_valid_subject(sns_subject(text))


def test_sns_subject_keeps_ordinary_text_and_cuts_long_text() -> None:
    assert (
        sns_subject("smdeploy PROMOTED: churn-prod <- churn/2") == "smdeploy PROMOTED: churn-prod <- churn/2"
    )
    assert sns_subject("a\nb\r\n\tc") == "a b c"
    assert sns_subject("caf\u00e9 \u2603") == "cafe ?"
    long = sns_subject("smdeploy FAILED: " + "y" * 300)
    assert len(long) == SUBJECT_MAX_CHARS and long.endswith("...")


class FakeSns:
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, **kwargs: Any) -> dict[str, str]:
        self.published.append(kwargs)
        return {"MessageId": f"m-{len(self.published)}"}


class FakeRecords:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def put(self, record: dict[str, Any]) -> None:
        self.items.append(record)


@pytest.mark.parametrize(
    "package_arn",
    [
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn\n/3\r\n\u0000\u00e9\u2603",
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/" + "g" * 400 + "/" + "9" * 300,
    ],
)
def test_record_outcome_publishes_a_sanitised_subject_and_the_full_text_in_the_message(
    package_arn: str,
) -> None:
    sns = FakeSns()
    event = {
        "executionArn": "arn:aws:states:us-east-1:123456789012:execution:smdeploy-deploy-model:x",
        "outcome": "INVALID_REQUEST",
        "raw": {"modelPackageArn": package_arn},
        "error": {"Error": "InvalidRequest", "Cause": "modelPackageArn: not a versioned package"},
    }

    record = record_outcome(
        event,
        records=FakeRecords(),  # type: ignore[arg-type]
        notifier=Notifier("arn:aws:sns:us-east-1:123456789012:smdeploy", sns=sns),
    )

    (published,) = sns.published
    assert_valid_subject(published["Subject"])
    assert published["Subject"].startswith("smdeploy INVALID_REQUEST: - <- ")
    message = json.loads(published["Message"])
    assert message["modelPackageArn"] == package_arn  # the full text, untouched
    assert message["subject"].endswith(package_arn.rsplit("/", 2)[-2] + "/" + package_arn.rsplit("/", 1)[-1])
    assert record["notificationId"] == "m-1"
