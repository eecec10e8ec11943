"""Adapters against moto: what they return and which named errors they raise."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from smdeploy.adapters.aws import translate
from smdeploy.adapters.config_store import GroupConfigStore
from smdeploy.adapters.notifier import Notifier
from smdeploy.adapters.records import DeploymentRecords
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.errors import (
    AwsRequestRejected,
    AwsServiceUnavailable,
    AwsThrottled,
    EndpointBusy,
    InvalidRequest,
)

REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield


def _client_error(code: str, message: str = "m", status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
    )


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_client_error("ThrottlingException"), AwsThrottled),
        (_client_error("ProvisionedThroughputExceededException"), AwsThrottled),
        (_client_error("InternalFailure", status=500), AwsServiceUnavailable),
        (_client_error("ServiceUnavailable", status=503), AwsServiceUnavailable),
        (_client_error("ValidationException", 'Cannot update in-progress endpoint "x".'), EndpointBusy),
        (_client_error("ValidationException", "Could not find model"), AwsRequestRejected),
        (_client_error("AccessDeniedException"), AwsRequestRejected),
    ],
)
def test_client_errors_become_named_errors_with_the_action_in_the_message(
    error: ClientError, expected: type[Exception]
) -> None:
    translated = translate(error, "CreateModel")
    assert type(translated) is expected
    assert str(translated).startswith("CreateModel: ")


def test_unknown_model_package_is_none(aws: None) -> None:
    gateway = SageMakerGateway(boto3.client("sagemaker"))
    assert gateway.find_model_package("arn:aws:sagemaker:us-east-1:123456789012:model-package/x/1") is None
    assert gateway.find_endpoint("nope") is None


def test_create_model_twice_reports_the_second_as_existing(aws: None) -> None:
    from localcloud.engine.cloud import LocalCloud  # the simulator rejects duplicate names as SageMaker does

    with LocalCloud() as cloud:
        gateway = SageMakerGateway(cloud.client("sagemaker"))
        kwargs: dict[str, Any] = {
            "name": "m-1",
            "package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/1",
            "role_arn": "arn:aws:iam::123456789012:role/r",
            "tags": [],
        }
        assert gateway.create_model(**kwargs) is True
        assert gateway.create_model(**kwargs) is False


def test_group_config_missing_is_none_and_bad_json_names_the_parameter(aws: None) -> None:
    ssm = boto3.client("ssm")
    store = GroupConfigStore("/smdeploy/groups/", ssm)
    assert store.load("churn") is None
    ssm.put_parameter(Name="/smdeploy/groups/churn", Value="{not json", Type="String")
    with pytest.raises(InvalidRequest) as caught:
        store.load("churn")
    assert caught.value.field == "ssm:/smdeploy/groups/churn"


def test_group_config_unknown_key_names_the_key(aws: None) -> None:
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/smdeploy/groups/churn", Value=json.dumps({"endpont": "x"}), Type="String")
    with pytest.raises(InvalidRequest) as caught:
        GroupConfigStore("/smdeploy/groups/", ssm).load("churn")
    assert caught.value.field == "ssm:/smdeploy/groups/churn.endpont"


def test_record_is_written_and_notification_published(aws: None) -> None:
    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName="t",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    record = {
        "executionArn": "arn:x",
        "outcome": "DEPLOYED",
        "recordedAt": "2026-01-01T00:00:00+00:00",
        "n": 3,
    }
    DeploymentRecords("t", ddb).put(record)
    item = ddb.get_item(TableName="t", Key={"pk": {"S": "DEPLOYMENT#arn:x"}, "sk": {"S": "RECORD"}})["Item"]
    assert item["outcome"] == {"S": "DEPLOYED"}
    assert item["n"] == {"N": "3"}
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="n")["TopicArn"]
    assert Notifier(topic, sns).publish("subject", record)


def test_record_write_to_missing_table_is_a_named_error(aws: None) -> None:
    with pytest.raises(AwsRequestRejected):
        DeploymentRecords("missing", boto3.client("dynamodb")).put(
            {"executionArn": "a", "outcome": "FAILED", "recordedAt": "t"}
        )
