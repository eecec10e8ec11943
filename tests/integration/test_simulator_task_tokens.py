"""``.waitForTaskToken`` in the local cloud: a Task waits on the virtual clock for its token.

A tiny template: a state machine whose one Task invokes a function with its task token and waits
(``TimeoutSeconds`` 600), then waits 100 s more; the function keeps the token in a table. The test
answers the token at a virtual time of its choosing, late, twice, or never.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud.engine.cloud import LocalCloud

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  DeploymentsTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}, {AttributeName: sk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: sk, KeyType: RANGE}]
  ParkFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: park/
      Handler: app.handler
      Runtime: python3.13
      Environment:
        Variables:
          TABLE: !Ref DeploymentsTable
      Policies:
        - DynamoDBCrudPolicy: {TableName: !Ref DeploymentsTable}
  WaitStateMachine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: wait-for-token
      DefinitionUri: wait.asl.json
      DefinitionSubstitutions:
        ParkFunctionArn: !GetAtt ParkFunction.Arn
      Policies:
        - LambdaInvokePolicy: {FunctionName: !Ref ParkFunction}
"""

HANDLER = """\
import os
import boto3

def handler(event, context):
    boto3.client("dynamodb").put_item(
        TableName=os.environ["TABLE"],
        Item={"pk": {"S": "TOKEN"}, "sk": {"S": event["name"]}, "token": {"S": event["token"]}},
    )
    return {"parked": True}
"""

MACHINE = {
    "StartAt": "Wait for the answer",
    "States": {
        "Wait for the answer": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {
                "FunctionName": "${ParkFunctionArn}",
                "Payload": {"token.$": "$$.Task.Token", "name.$": "$$.Execution.Name"},
            },
            "TimeoutSeconds": 600,
            "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "Timed out"}],
            "Next": "Answered",
        },
        "Answered": {"Type": "Wait", "Seconds": 100, "Next": "Done"},
        "Done": {"Type": "Succeed"},
        "Timed out": {"Type": "Fail", "Error": "NoAnswer"},
    },
}


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[LocalCloud]:
    (tmp_path / "park").mkdir()
    (tmp_path / "park" / "app.py").write_text(HANDLER)
    (tmp_path / "wait.asl.json").write_text(json.dumps(MACHINE))
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    with LocalCloud(tmp_path / "template.yaml") as local:
        yield local


def start(cloud: LocalCloud, name: str) -> str:
    sfn = cloud.client("stepfunctions")
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    return str(sfn.start_execution(stateMachineArn=machine, name=name)["executionArn"])


def token(cloud: LocalCloud, name: str) -> str:
    item = cloud.client("dynamodb").get_item(
        TableName=next(iter(cloud.template.tables())), Key={"pk": {"S": "TOKEN"}, "sk": {"S": name}}
    )["Item"]
    return str(item["token"]["S"])


def ended(cloud: LocalCloud, arn: str) -> tuple[str, float | None]:
    described = cloud.client("stepfunctions").describe_execution(executionArn=arn)
    return str(described["status"]), cloud.times[arn].stopped


def answer_at(cloud: LocalCloud, when: float, name: str, **kwargs: Any) -> list[Any]:
    """SendTaskSuccess (or SendTaskFailure with ``error``) at virtual second ``when``; what it answered."""
    answers: list[Any] = []

    def send() -> None:
        sfn = cloud.client("stepfunctions")
        try:
            if "error" in kwargs:
                answers.append(sfn.send_task_failure(taskToken=token(cloud, name), error=kwargs["error"]))
            else:
                answers.append(sfn.send_task_success(taskToken=token(cloud, name), output='{"ok": true}'))
        except ClientError as exc:
            answers.append(exc.response["Error"]["Code"])

    cloud.scheduler.at(when, send)
    return answers


def test_a_task_resumes_at_the_virtual_second_its_token_is_answered(cloud: LocalCloud) -> None:
    arn = start(cloud, "answered")
    answers = answer_at(cloud, 100, "answered")
    cloud.scheduler.run()

    assert answers and answers[0]["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert ended(cloud, arn) == ("SUCCEEDED", 200)  # answered at 100, then a Wait of 100 s


def test_an_unanswered_task_times_out_at_its_timeout_seconds_and_a_late_answer_is_refused(
    cloud: LocalCloud,
) -> None:
    arn = start(cloud, "silent")
    late = answer_at(cloud, 700, "silent")
    cloud.scheduler.run()

    status, stopped = ended(cloud, arn)
    assert (status, stopped) == ("FAILED", 600)
    # the execution has ended too: moto answers InvalidToken there (AWS: TaskTimedOut); a caller
    # must treat both as "nobody waits for this any more"
    assert late in (["TaskTimedOut"], ["InvalidToken"])


def test_a_token_is_answered_once(cloud: LocalCloud) -> None:
    start(cloud, "twice")
    first = answer_at(cloud, 50, "twice")
    second = answer_at(cloud, 60, "twice")
    cloud.scheduler.run()

    assert first[0]["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert second == ["TaskTimedOut"]


def test_a_failure_sent_with_the_token_fails_the_task_with_its_error(cloud: LocalCloud) -> None:
    arn = start(cloud, "refused")
    answer_at(cloud, 30, "refused", error="Rejected")
    cloud.scheduler.run()

    history = cloud.client("stepfunctions").get_execution_history(executionArn=arn, reverseOrder=True)
    failed = [e for e in history["events"] if e["type"] == "ExecutionFailed"]
    assert failed and failed[0]["executionFailedEventDetails"]["error"] == "Rejected"
    assert ended(cloud, arn)[1] == 30
