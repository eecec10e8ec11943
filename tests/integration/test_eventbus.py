"""The local bus delivers to functions too: rules and schedules on AWS::Serverless::Function.

A tiny template holds one state machine and one function whose handler starts that state machine
with boto3, as the withdrawn-approval handler does; executions started by a handler are numbered
and timed like any other.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud.engine.apicalls import Fault
from localcloud.engine.cloud import LocalCloud
from localcloud.engine.template import Template
from localcloud.services.events import EventDelivery, LocalEventBus
from localcloud.services.sagemaker.endpoints import SimulationSettings

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  TargetStateMachine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: !Sub ${AWS::StackName}-target
      DefinitionUri: target.asl.json
  StarterFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: starter/
      Handler: app.handler
      Runtime: python3.13
      Environment:
        Variables:
          TARGET_ARN: !Ref TargetStateMachine
      EventInvokeConfig:
        MaximumRetryAttempts: 1
      Policies:
        - Statement:
            - Effect: Allow
              Action: states:StartExecution
              Resource: !Ref TargetStateMachine
      Events:
        Go:
          Type: EventBridgeRule
          Properties:
            Pattern: {source: [test.source], detail-type: [Go]}
        DetailOnly:
          Type: EventBridgeRule
          Properties:
            Pattern: {source: [test.source], detail-type: [Detail]}
            InputPath: $.detail
        Paused:
          Type: EventBridgeRule
          Properties:
            State: DISABLED
            Pattern: {source: [test.source]}
        Hourly:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(1 hour)
            Input: '{"tick": "<aws.scheduler.scheduled-time>"}'
"""

HANDLER = """\
import json
import os

import boto3


def handler(event, context):
    if event.get("fail"):
        raise RuntimeError("asked to fail")
    name = event.get("id") or "tick-" + event["tick"].replace(":", "")
    answer = boto3.client("stepfunctions").start_execution(
        stateMachineArn=os.environ["TARGET_ARN"], name=name, input=json.dumps({"event": event})
    )
    return {"execution": answer["executionArn"]}
"""

DEFINITION = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


@pytest.fixture
def tiny_template(tmp_path: Path) -> Path:
    (tmp_path / "starter").mkdir()
    (tmp_path / "starter" / "app.py").write_text(HANDLER)
    (tmp_path / "target.asl.json").write_text(json.dumps(DEFINITION))
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    return path


@pytest.fixture
def cloud(tiny_template: Path) -> Iterator[LocalCloud]:
    with LocalCloud(tiny_template) as local:
        yield local


def event(detail_type: str, detail: dict[str, Any], event_id: str = "evt-1") -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": "test.source",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def test_function_rules_are_read_from_the_template_with_input_path_and_state(tiny_template: Path) -> None:
    rules = {rule.name: rule for rule in Template(tiny_template).rules()}
    assert set(rules) == {"StarterFunctionGo", "StarterFunctionDetailOnly", "StarterFunctionPaused"}
    assert {rule.target_kind for rule in rules.values()} == {"function"}
    assert rules["StarterFunctionDetailOnly"].input_path == "$.detail"
    assert not rules["StarterFunctionPaused"].enabled
    (function,) = Template(tiny_template).functions().values()
    assert function.async_retries == 1


def test_the_real_templates_withdrawn_approval_rule_targets_its_function() -> None:
    rules = {rule.name: rule for rule in Template().rules()}
    rejected = rules["WithdrawnApprovalFunctionModelPackageRejected"]
    assert (rejected.target_kind, rejected.target_logical_id) == ("function", "WithdrawnApprovalFunction")
    assert rejected.pattern["detail"] == {"ModelApprovalStatus": ["Rejected"]}


def test_a_matching_event_invokes_the_handler_asynchronously_and_its_execution_is_numbered(
    cloud: LocalCloud,
) -> None:
    cloud.scheduler.at(10, lambda: cloud.put_event(event("Go", {})))
    cloud.scheduler.at(20, lambda: cloud.start_execution("TargetStateMachine", {"from": "console"}))
    cloud.run()
    (delivery,) = [d for d in cloud.bus.deliveries if d.event["detail-type"] == "Go"]
    assert delivery.matched_rules == ["StarterFunctionGo"]  # the DISABLED rule matches nothing
    # Step Functions announces each execution's end on the bus, as on AWS.
    ended = [d.event for d in cloud.bus.deliveries if d.event["source"] == "aws.states"]
    assert [(e["detail"]["name"], e["detail"]["status"]) for e in ended] == [
        ("evt-1", "SUCCEEDED"),
        ("exec-0002", "SUCCEEDED"),
    ]
    (invocation,) = cloud.async_invocations
    assert (invocation.at, invocation.function, invocation.trigger, invocation.ok) == (
        10.0,
        "StarterFunction",
        "StarterFunctionGo",
        True,
    )
    names = [arn.rsplit(":", 1)[-1] for arn in cloud.executions]
    assert names == ["evt-1", "exec-0002"]  # numbered in start order, however started
    assert invocation.result == {"execution": cloud.executions[0]}
    assert set(cloud.execution_machine.values()) == {"TargetStateMachine"}
    assert [(cloud.times[arn].started, cloud.times[arn].stopped) for arn in cloud.executions] == [
        (10.0, 10.0),
        (20.0, 20.0),
    ]
    sfn = cloud.client("stepfunctions")
    assert {sfn.describe_execution(executionArn=arn)["status"] for arn in cloud.executions} == {"SUCCEEDED"}
    assert cloud.api.counts["lambda:Invoke"] == 1
    assert cloud.api.counts["states:StartExecution"] == 2


def test_a_failing_handler_is_logged_and_retried_as_lambda_does_never_raised(cloud: LocalCloud) -> None:
    cloud.put_event(event("Detail", {"fail": True}))  # InputPath: the handler gets the detail only
    cloud.run()
    attempts = [(i.at, i.attempt, i.ok, i.error_type, i.error_message) for i in cloud.async_invocations]
    # MaximumRetryAttempts: 1 in the template -> one retry, a minute later
    assert attempts == [
        (0.0, 1, False, "RuntimeError", "asked to fail"),
        (60.0, 2, False, "RuntimeError", "asked to fail"),
    ]
    assert cloud.executions == []


def test_a_schedule_on_a_function_replaces_the_scheduler_time_attribute(cloud: LocalCloud) -> None:
    fired: list[dict[str, Any]] = []
    cloud.scheduler.at(3600, lambda: fired.append(cloud.fire_schedule("Hourly")))
    cloud.run()
    (firing,) = fired
    assert firing["input"] == {"tick": "2026-01-01T01:00:00Z"}
    assert "execution" not in firing  # a function target: invoked, not an execution
    (arn,) = cloud.executions
    assert arn.endswith(":tick-2026-01-01T010000Z")
    assert json.loads(cloud.client("stepfunctions").describe_execution(executionArn=arn)["input"]) == {
        "event": {"tick": "2026-01-01T01:00:00Z"}
    }


def test_faults_hit_the_handlers_calls_not_the_deliveries_and_lambda_retries_them(
    tiny_template: Path,
) -> None:
    # (a throttling error would be retried by the handler's SDK: this one is not)
    faults = [Fault(call="states:StartExecution", error="ExecutionLimitExceeded", times=1)]
    with LocalCloud(tiny_template, faults=faults) as cloud:
        cloud.put_event(event("Go", {}))
        cloud.run()
        attempts = [(i.at, i.ok, i.error_type) for i in cloud.async_invocations]
        assert attempts == [(0.0, False, "ExecutionLimitExceeded"), (60.0, True, None)]
        (arn,) = cloud.executions
        assert cloud.times[arn].started == 60.0
        # the deliveries are EventBridge's calls; the handler's StartExecution calls are the control plane's
        assert cloud.api.counts["lambda:Invoke"] == 2
        assert cloud.api.control_plane() == {"states:StartExecution": 2}


# --- EventBridge delivery as AWS does it: several events per change, late, at least once -----------
def _registry_change(local: LocalCloud) -> None:
    """A model package registered pending approval, then approved: two registry changes."""
    sm = local.client("sagemaker")
    sm.create_model_package_group(ModelPackageGroupName="churn")
    arn = sm.create_model_package(
        ModelPackageGroupName="churn",
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelApprovalStatus="PendingManualApproval",
    )["ModelPackageArn"]
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")


def _package_deliveries(local: LocalCloud) -> list[tuple[float, str, str, int]]:
    return [
        (d.at, d.event["id"], d.event["detail"]["ModelApprovalStatus"], d.attempt)
        for d in local.bus.deliveries
        if d.event["detail-type"] == "SageMaker Model Package State Change"
    ]


def test_by_default_each_registry_change_is_one_event_delivered_once_at_once(tiny_template: Path) -> None:
    with LocalCloud(tiny_template) as local:
        _registry_change(local)
        local.run()
        deliveries = _package_deliveries(local)
        assert [(at, status, attempt) for at, _, status, attempt in deliveries] == [
            (0.0, "PendingManualApproval", 1),
            (0.0, "Approved", 1),
        ]
        assert len({event_id for _, event_id, _, _ in deliveries}) == 2


def test_sagemaker_may_send_several_events_per_change_each_with_its_own_id(tiny_template: Path) -> None:
    """SageMaker's EventBridge page: "SageMaker AI may send multiple events to EventBridge for each
    state change. This behavior is expected and does not necessarily indicate an error."
    (https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html)"""
    simulation = SimulationSettings(events=EventDelivery(registry_events_per_change=2))
    with LocalCloud(tiny_template, simulation=simulation) as local:
        _registry_change(local)
        local.run()
        deliveries = _package_deliveries(local)
        assert [status for _, _, status, _ in deliveries] == ["PendingManualApproval"] * 2 + ["Approved"] * 2
        assert len({event_id for _, event_id, _, _ in deliveries}) == 4  # separate events, not redeliveries


def test_eventbridge_delivers_late_and_twice_with_the_same_event_id(tiny_template: Path) -> None:
    """Durable delivery is "at least once" and undeliverable events are "retried again later ... for
    up to 24 hours" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-delivery-level.html):
    a repeated delivery is the same event (same ``id``), later."""
    delivery = EventDelivery(
        delay_seconds=20.0,
        duplicate_detail_types=("SageMaker Model Package State Change",),
        duplicate_after_seconds=90.0,
    )
    with LocalCloud(tiny_template, simulation=SimulationSettings(events=delivery)) as local:
        _registry_change(local)
        local.run()
        deliveries = _package_deliveries(local)
        assert [(at, status, attempt) for at, _, status, attempt in deliveries] == [
            (20.0, "PendingManualApproval", 1),
            (20.0, "Approved", 1),
            (110.0, "PendingManualApproval", 2),
            (110.0, "Approved", 2),
        ]
        assert deliveries[0][1] == deliveries[2][1] and deliveries[1][1] == deliveries[3][1]
        assert deliveries[0][1] != deliveries[1][1]


def test_which_events_are_delivered_twice_is_drawn_from_the_seed(tiny_template: Path) -> None:
    def repeated(seed: int) -> list[bool]:
        bus = LocalEventBus(
            [], lambda rule, event: None, lambda: 0.0, lambda: "", "1", "r", delivery=half, seed=seed
        )
        plain = {"detail-type": "SageMaker Endpoint State Change"}
        return [len(bus.delivery_delays(plain)) == 2 for _ in range(200)]

    half = EventDelivery(duplicate_probability=0.5, duplicate_after_seconds=5.0)
    first = repeated(7)
    assert first == repeated(7)  # the same scenario always gives the same deliveries
    assert first != repeated(8)
    assert 70 < sum(first) < 130
    never = LocalEventBus([], lambda rule, event: None, lambda: 0.0, lambda: "", "1", "r")
    assert never.delivery_delays({"detail-type": "x"}) == [0.0]
    with pytest.raises(ValueError):
        EventDelivery(duplicate_probability=1.5)
