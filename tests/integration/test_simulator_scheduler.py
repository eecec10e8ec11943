"""EventBridge Scheduler in the local cloud: schedules created through the API fire by themselves.

A tiny template holds the function a schedule targets, a function that manages schedules (its
policies: the schedule actions on ``smdeploy-drift-*`` and ``iam:PassRole`` of one role to
Scheduler), and roles for Scheduler to assume: one that may invoke the target, one that may not,
and one whose trust policy names another service.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError

from localcloud.engine.cloud import LocalCloud
from localcloud.scenario.contract import load_scenario
from localcloud.scenario.report import render
from localcloud.scenario.runner import Runner
from localcloud.services.scheduler import Cron, InvalidExpression, check_expression, rate_seconds

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  GroupConfigPrefix:  # what a scenario's rehearsal reads (its groups' configurations in SSM)
    Type: String
    Default: /smdeploy/groups/
Resources:
  DeploymentsTable:  # what a scenario's report reads (deployment records)
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}, {AttributeName: sk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: sk, KeyType: RANGE}]
  DriftCheckFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: echo/
      Handler: app.handler
      Runtime: python3.13
  ManagerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: echo/
      Handler: app.handler
      Runtime: python3.13
      Policies:
        - Statement:
            - Sid: ManageDriftSchedules
              Effect: Allow
              Action: [scheduler:CreateSchedule, scheduler:UpdateSchedule, scheduler:DeleteSchedule]
              Resource: !Sub arn:aws:scheduler:*:${AWS::AccountId}:schedule/default/smdeploy-drift-*
            - Sid: PassSchedulerRole
              Effect: Allow
              Action: [iam:PassRole]
              Resource: !GetAtt InvokeDriftCheckRole.Arn
              Condition:
                StringEquals:
                  "iam:PassedToService": scheduler.amazonaws.com
  InvokeDriftCheckRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: scheduler.amazonaws.com}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: invoke
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: lambda:InvokeFunction
                Resource: !GetAtt DriftCheckFunction.Arn
  InvokeManagerOnlyRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: scheduler.amazonaws.com}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: invoke
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: lambda:InvokeFunction
                Resource: !GetAtt ManagerFunction.Arn
  StatesTrustRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: states.amazonaws.com}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: invoke
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: lambda:InvokeFunction
                Resource: !GetAtt DriftCheckFunction.Arn
"""

HANDLER = """\
def handler(event, context):
    return {"got": event}
"""

ACCOUNT, REGION = "123456789012", "us-east-1"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:smdeploy-DriftCheckFunction"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/smdeploy-InvokeDriftCheckRole"
MANAGER_ONLY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/smdeploy-InvokeManagerOnlyRole"
STATES_ROLE = f"arn:aws:iam::{ACCOUNT}:role/smdeploy-StatesTrustRole"
NAME = "smdeploy-drift-churn-prod"
INPUT = {
    "endpoint": "churn-prod",
    "scheduledTime": "<aws.scheduler.scheduled-time>",
    "schedule": "<aws.scheduler.schedule-arn>",
    "executionId": "<aws.scheduler.execution-id>",
    "attempt": "<aws.scheduler.attempt-number>",
}


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[LocalCloud]:
    (tmp_path / "echo").mkdir()
    (tmp_path / "echo" / "app.py").write_text(HANDLER)
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    with LocalCloud(path) as local:
        yield local


def schedule_request(
    expression: str = "rate(60 minutes)", *, role: str = ROLE, name: str = NAME, **extra: Any
) -> dict[str, Any]:
    """The request the product makes (EventBridge Scheduler adapter), with ``extra`` merged over it."""
    request: dict[str, Any] = {
        "Name": name,
        "GroupName": "default",
        "ScheduleExpression": expression,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED",
        "Target": {
            "Arn": FUNCTION_ARN,
            "RoleArn": role,
            "Input": json.dumps(INPUT),
            "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
        },
    }
    return request | extra


def handled(cloud: LocalCloud) -> list[dict[str, Any]]:
    """The events the target function's handler received, in order."""
    return [i.result["got"] for i in cloud.lambdas.invocations if i.function == "DriftCheckFunction" and i.ok]


def fired_at(cloud: LocalCloud, label: str = f"default/{NAME}") -> list[float]:
    return [f.at for f in cloud.eventbridge_scheduler.firings if f.schedule == label]


def iso(seconds: float) -> str:
    return (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_rate_schedule_fires_every_period_after_its_creation_with_its_input_substituted(
    cloud: LocalCloud,
) -> None:
    cloud.run(until=600)
    arn = cloud.client("scheduler").create_schedule(**schedule_request())["ScheduleArn"]
    assert arn == f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{NAME}"
    cloud.run(until=600 + 3 * 3600)
    assert fired_at(cloud) == [4200.0, 7800.0, 11400.0]
    events = handled(cloud)
    assert [e["scheduledTime"] for e in events] == [iso(4200), iso(7800), iso(11400)]
    first = events[0]
    assert (first["endpoint"], first["schedule"], first["attempt"]) == ("churn-prod", arn, "1")
    assert len({e["executionId"] for e in events}) == 3  # one execution id per invocation
    # asynchronous invocations, as Scheduler makes them; the Invoke counted as external
    assert [(i.at, i.function, i.trigger, i.ok) for i in cloud.async_invocations] == [
        (t, "DriftCheckFunction", f"default/{NAME}", True) for t in (4200.0, 7800.0, 11400.0)
    ]
    assert cloud.api.counts["lambda:Invoke"] == 3
    assert cloud.api.control_plane()["lambda:Invoke"] == 0
    described = cloud.client("scheduler").get_schedule(Name=NAME)
    assert described["CreationDate"] == datetime(2026, 1, 1, 0, 10, tzinfo=UTC)  # virtual time
    summary = cloud.eventbridge_scheduler.summary()[f"default/{NAME}"]
    assert summary == {
        "expression": "rate(60 minutes)",
        "target": "DriftCheckFunction",
        "role": "smdeploy-InvokeDriftCheckRole",
        "fired": 3,
        "invoked": 3,
        "denied": 0,
        "undeliverable": 0,
        "firstAt": 4200.0,
        "lastAt": 11400.0,
        "deleted": False,
    }


def test_an_update_re_times_the_schedule_from_the_update(cloud: LocalCloud) -> None:
    scheduler = cloud.client("scheduler")
    scheduler.create_schedule(**schedule_request("rate(1 hour)"))
    cloud.run(until=1800)
    scheduler.update_schedule(**schedule_request("rate(7 minutes)"))
    cloud.run(until=3700)
    # every 7 minutes from 00:30; the hourly occurrence the create had queued (01:00) is gone
    assert fired_at(cloud) == [2220.0, 2640.0, 3060.0, 3480.0]
    assert cloud.eventbridge_scheduler.summary()[f"default/{NAME}"]["expression"] == "rate(7 minutes)"


def test_a_deleted_schedule_stops_and_a_disabled_one_never_fires_until_enabled(cloud: LocalCloud) -> None:
    scheduler = cloud.client("scheduler")
    scheduler.create_schedule(**schedule_request("rate(5 minutes)"))
    scheduler.create_schedule(
        **schedule_request("rate(5 minutes)", name="smdeploy-drift-paused", State="DISABLED")
    )
    cloud.run(until=700)
    scheduler.delete_schedule(Name=NAME)
    cloud.run(until=3600)
    assert fired_at(cloud) == [300.0, 600.0]
    assert fired_at(cloud, "default/smdeploy-drift-paused") == []
    assert cloud.eventbridge_scheduler.summary()[f"default/{NAME}"]["deleted"] is True
    scheduler.update_schedule(**schedule_request("rate(5 minutes)", name="smdeploy-drift-paused"))
    cloud.run(until=4300)
    assert fired_at(cloud, "default/smdeploy-drift-paused") == [3900.0, 4200.0]


def test_an_update_without_state_enables_the_schedule_as_aws_does(cloud: LocalCloud) -> None:
    scheduler = cloud.client("scheduler")
    scheduler.create_schedule(**schedule_request("rate(5 minutes)", State="DISABLED"))
    request = schedule_request("rate(5 minutes)")
    del request["State"]  # UpdateSchedule replaces every field: State is ENABLED again
    scheduler.update_schedule(**request)
    assert scheduler.get_schedule(Name=NAME)["State"] == "ENABLED"
    cloud.run(until=300)
    assert fired_at(cloud) == [300.0]


def test_a_role_that_may_not_invoke_the_target_gets_no_invocation_and_a_recorded_denial(
    cloud: LocalCloud,
) -> None:
    scheduler = cloud.client("scheduler")
    scheduler.create_schedule(**schedule_request("rate(5 minutes)", role=MANAGER_ONLY_ROLE))
    scheduler.create_schedule(
        **schedule_request("rate(5 minutes)", role=STATES_ROLE, name="smdeploy-drift-b")
    )
    cloud.run(until=300)
    assert handled(cloud) == []  # no handler ran
    failed = {(i.trigger, i.ok, i.error_type) for i in cloud.async_invocations}
    assert failed == {
        (f"default/{NAME}", False, "AccessDeniedException"),
        ("default/smdeploy-drift-b", False, "AccessDenied"),
    }
    denials = {(d.principal, d.kind, d.action, d.resource) for d in cloud.iam.denials}
    assert denials == {
        ("InvokeManagerOnlyRole", "role", "lambda:InvokeFunction", FUNCTION_ARN),
        ("StatesTrustRole", "role", "sts:AssumeRole", STATES_ROLE),
    }
    message = next(i.error_message for i in cloud.async_invocations if i.trigger == f"default/{NAME}")
    assert "is not authorized to perform: lambda:InvokeFunction" in (message or "")
    summary = cloud.eventbridge_scheduler.summary()
    assert (summary[f"default/{NAME}"]["fired"], summary[f"default/{NAME}"]["denied"]) == (1, 1)
    assert cloud.api.counts["lambda:Invoke"] == 0


def test_creating_a_schedule_needs_pass_role_on_its_target_role(cloud: LocalCloud) -> None:
    scheduler = cloud.client("scheduler")
    with cloud.iam.acting_as("function", "ManagerFunction"):
        scheduler.create_schedule(**schedule_request())
        with pytest.raises(ClientError) as no_pass:
            scheduler.create_schedule(**schedule_request(role=MANAGER_ONLY_ROLE, name="smdeploy-drift-other"))
        with pytest.raises(ClientError) as not_its_schedule:
            scheduler.create_schedule(**schedule_request(name="someone-elses"))
        scheduler.update_schedule(**schedule_request("rate(2 hours)"))
        scheduler.delete_schedule(Name=NAME, GroupName="default")
    error = no_pass.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert f"iam:PassRole on resource: {MANAGER_ONLY_ROLE}" in error["Message"]
    assert not_its_schedule.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "scheduler:CreateSchedule" in not_its_schedule.value.response["Error"]["Message"]
    assert [(d.principal, d.action) for d in cloud.iam.denials] == [
        ("ManagerFunction", "iam:PassRole"),
        ("ManagerFunction", "scheduler:CreateSchedule"),
    ]
    assert [s["Name"] for s in scheduler.list_schedules()["Schedules"]] == []  # nothing was created


@pytest.mark.parametrize(
    "expression",
    [
        "rate(0 minutes)",
        "rate(1 hours)",
        "rate(5 minute)",
        "rate(30 seconds)",
        "rate(5minutes)",
        "cron(0 * * * * *)",  # day-of-month and day-of-week both given
        "cron(0 * ? * ? *)",  # neither
        "cron(60 * * * ? *)",
        "cron(0 * * * ?)",
        "at(2026-13-01T00:00:00)",
        "at(2026-02-30T00:00:00)",
        "at(2026-01-01 00:00:00)",
        "every hour",
    ],
)
def test_an_expression_scheduler_does_not_accept_is_a_validation_exception(
    cloud: LocalCloud, expression: str
) -> None:
    with pytest.raises(ClientError) as refused:
        cloud.client("scheduler").create_schedule(**schedule_request(expression))
    error = refused.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "ValidationException",
        f"Invalid Schedule Expression {expression}.",
    )
    with pytest.raises(ClientError):
        cloud.client("scheduler").get_schedule(Name=NAME)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"ScheduleExpressionTimezone": "Mars/Olympus"}, "ValidationException"),
        ({"FlexibleTimeWindow": {"Mode": "FLEXIBLE"}}, "ValidationException"),
        ({"Target": {"Arn": FUNCTION_ARN, "RoleArn": "not-a-role"}}, "ValidationException"),
        ({"Target": {"Arn": FUNCTION_ARN, "RoleArn": ROLE, "Input": "not json"}}, "ValidationException"),
        ({"Name": "x" * 65}, "ValidationException"),
        ({"GroupName": "no-such-group"}, "ResourceNotFoundException"),
    ],
)
def test_other_requests_scheduler_refuses(cloud: LocalCloud, change: dict[str, Any], code: str) -> None:
    with pytest.raises(ClientError) as refused:
        cloud.client("scheduler").create_schedule(**schedule_request() | change)
    assert refused.value.response["Error"]["Code"] == code


def test_firings_are_background_work_that_never_keeps_a_run_alive(cloud: LocalCloud) -> None:
    cloud.client("scheduler").create_schedule(**schedule_request("rate(5 minutes)"))
    cloud.run()
    assert (cloud.scheduler.now, fired_at(cloud)) == (0.0, [])
    cloud.scheduler.at(1000, lambda: None)  # something else keeps the run going until 1000
    cloud.run()
    assert cloud.scheduler.now == 1000.0
    assert fired_at(cloud) == [300.0, 600.0, 900.0]


def test_a_one_time_schedule_fires_once_and_deletes_itself_when_asked(cloud: LocalCloud) -> None:
    scheduler = cloud.client("scheduler")
    scheduler.create_schedule(**schedule_request("at(2026-01-01T02:00:00)", ActionAfterCompletion="DELETE"))
    scheduler.create_schedule(
        **schedule_request(
            "at(2026-01-01T09:30:00)", name="smdeploy-drift-ny", ScheduleExpressionTimezone="America/New_York"
        )
    )
    cloud.run(until=86400)
    assert fired_at(cloud) == [7200.0]
    assert fired_at(cloud, "default/smdeploy-drift-ny") == [14.5 * 3600]  # 09:30 EST is 14:30 UTC
    with pytest.raises(ClientError) as gone:
        scheduler.get_schedule(Name=NAME)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert (
        scheduler.get_schedule(Name="smdeploy-drift-ny")["State"] == "ENABLED"
    )  # ActionAfterCompletion NONE


def test_a_cron_schedule_fires_at_its_minutes_within_its_start_and_end_dates(cloud: LocalCloud) -> None:
    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    cloud.client("scheduler").create_schedule(
        **schedule_request(
            "cron(15 * * * ? *)",
            StartDate=epoch + timedelta(hours=2),
            EndDate=epoch + timedelta(hours=5),
        )
    )
    cloud.run(until=86400)
    assert fired_at(cloud) == [h * 3600 + 900.0 for h in (2, 3, 4)]
    assert [e["scheduledTime"] for e in handled(cloud)] == [iso(h * 3600 + 900) for h in (2, 3, 4)]


def test_a_rate_schedule_with_a_start_date_fires_first_at_it(cloud: LocalCloud) -> None:
    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    cloud.client("scheduler").create_schedule(
        **schedule_request("rate(1 day)", StartDate=epoch + timedelta(minutes=90))
    )
    cloud.run(until=2 * 86400)
    assert fired_at(cloud) == [5400.0, 5400.0 + 86400]


def test_a_schedule_without_input_delivers_the_scheduled_event_envelope(cloud: LocalCloud) -> None:
    request = schedule_request("rate(5 minutes)")
    del request["Target"]["Input"]
    arn = cloud.client("scheduler").create_schedule(**request)["ScheduleArn"]
    cloud.run(until=300)
    (event,) = handled(cloud)
    assert (event["detail-type"], event["source"], event["resources"], event["detail"]) == (
        "Scheduled Event",
        "aws.scheduler",
        [arn],
        "{}",
    )
    assert event["time"] == iso(300)


def test_a_target_that_is_no_template_function_is_undeliverable(cloud: LocalCloud) -> None:
    request = schedule_request("rate(5 minutes)")
    request["Target"]["Arn"] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:elsewhere"
    cloud.client("scheduler").create_schedule(**request)
    cloud.run(until=300)
    (failed,) = cloud.async_invocations
    assert (failed.ok, failed.error_type) == (False, "ResourceNotFoundException")
    assert cloud.eventbridge_scheduler.summary()[f"default/{NAME}"]["undeliverable"] == 1


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(1 hour)", 3600),
        ("rate(60 minutes)", 3600),
        ("rate(1 day)", 86400),
        ("rate(2 days)", 172800),
    ],
)
def test_rate_periods(expression: str, seconds: float) -> None:
    assert rate_seconds(expression) == seconds


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 12 * * ? *)", datetime(2026, 1, 1, 12, 0), datetime(2026, 1, 2, 12, 0)),
        ("cron(0/15 * * * ? *)", datetime(2026, 1, 1, 0, 7), datetime(2026, 1, 1, 0, 15)),
        ("cron(0 18 ? * MON-FRI *)", datetime(2026, 1, 2, 19, 0), datetime(2026, 1, 5, 18, 0)),  # Fri -> Mon
        ("cron(0 8 1 * ? *)", datetime(2026, 1, 1, 9, 0), datetime(2026, 2, 1, 8, 0)),
        ("cron(0 0 L * ? *)", datetime(2026, 2, 1), datetime(2026, 2, 28, 0, 0)),
        ("cron(0 0 ? * 6L *)", datetime(2026, 1, 1), datetime(2026, 1, 30, 0, 0)),  # last Friday
        ("cron(0 0 ? * 2#1 *)", datetime(2026, 1, 1), datetime(2026, 1, 5, 0, 0)),  # first Monday
        ("cron(0 0 3W * ? *)", datetime(2026, 1, 1), datetime(2026, 1, 2, 0, 0)),  # Sat 3rd -> Fri 2nd
        ("cron(0 0 1 JAN ? 2026)", datetime(2026, 1, 1, 0, 0), None),  # no occurrence left
    ],
)
def test_cron_next_occurrence(expression: str, after: datetime, expected: datetime | None) -> None:
    found = Cron.parse(expression).next_after(after.replace(tzinfo=UTC), UTC)
    assert found == (expected.replace(tzinfo=UTC) if expected else None)


@pytest.mark.parametrize(
    "expression",
    [
        "rate(60 minutes)",
        "rate(1 hour)",
        "at(2026-03-01T10:00:00)",
        "cron(0 * ? * * *)",
        "cron(0 9 ? * MON *)",
    ],
)
def test_accepted_expressions(expression: str) -> None:
    check_expression(expression, UTC)


def test_an_unsupported_expression_raises() -> None:
    with pytest.raises(InvalidExpression):
        check_expression("rate(0 minutes)", UTC)


def test_the_report_counts_firings_per_schedule_and_the_timeline_says_one_line_each(tmp_path: Path) -> None:
    """A scenario creates two schedules by hand (``aws`` steps): the JSON report counts each one's
    firings by outcome; the text timeline has one line per schedule, not one per firing."""
    (tmp_path / "echo").mkdir()
    (tmp_path / "echo" / "app.py").write_text(HANDLER)
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    denied = schedule_request(role=MANAGER_ONLY_ROLE, name="smdeploy-drift-denied")
    scenario = {
        "name": "drift-check schedules",
        "timeline": [
            {"at": 0, "aws": {"call": "scheduler:CreateSchedule", "params": schedule_request()}},
            {"at": 0, "aws": {"call": "scheduler:CreateSchedule", "params": denied}},
        ],
        "until": 6 * 3600,
        "expect": [{"noCalls": ["sagemaker:CreateModel"]}],
    }
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario))
    rehearsal = Runner(load_scenario(path), path, template_path=tmp_path / "template.yaml").run()
    firings = rehearsal.report["schedulerFirings"]
    assert {label: (f["fired"], f["invoked"], f["denied"]) for label, f in firings.items()} == {
        f"default/{NAME}": (6, 6, 0),
        "default/smdeploy-drift-denied": (6, 0, 6),
    }
    assert (firings[f"default/{NAME}"]["firstAt"], firings[f"default/{NAME}"]["lastAt"]) == (3600.0, 21600.0)
    assert len(rehearsal.report["asyncInvocations"]) == 12  # every firing is in --json
    text = render(rehearsal)
    lines = [line for line in text.splitlines() if "scheduler  " in line]
    assert lines == [
        f"  01:00:00  scheduler  default/{NAME} rate(60 minutes) -> DriftCheckFunction: fired 6 times "
        "(01:00:00-06:00:00), 6 invoked",
        "  01:00:00  scheduler  default/smdeploy-drift-denied rate(60 minutes) -> DriftCheckFunction: "
        "fired 6 times (01:00:00-06:00:00), 0 invoked, 6 denied to role smdeploy-InvokeManagerOnlyRole",
    ]
    assert "lambda     DriftCheckFunction" not in text and "iam        " not in text
    assert f"InvokeManagerOnlyRole may not lambda:InvokeFunction on {FUNCTION_ARN}  (x6)" in text
