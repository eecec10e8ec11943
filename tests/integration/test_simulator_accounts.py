"""Other accounts in the local cloud: a stage account's roles (stage-account.yaml), AssumeRole checked
on both sides, sessions that serve in the role's account and expire in virtual time.

AWS: a cross-account AssumeRole needs the caller's identity policy to allow ``sts:AssumeRole`` on
the role and the role's trust policy to name the caller or its account ("How IAM roles differ from
resource-based policies", IAM User Guide); credentials last ``DurationSeconds`` (default 3600,
AssumeRole, STS API Reference) and then calls fail with an expired-token error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

from localcloud.engine.cloud import LocalCloud
from localcloud.scenario.contract import ScenarioError, load_scenario

REGION = "us-east-1"
PROD = "210987654321"
STAGE_ROLE = f"arn:aws:iam::{PROD}:role/smdeploy-stage"
ARTIFACTS = {"ModelArtifactBuckets": "sagemaker-us-east-1-123456789012"}
ALARM = {
    "AlarmName": "smdeploy-churn-prod-test",
    "MetricName": "Invocation5XXErrors",
    "Namespace": "AWS/SageMaker",
    "Statistic": "Sum",
    "Period": 60,
    "EvaluationPeriods": 1,
    "Threshold": 1.0,
    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
}


@contextmanager
def two_accounts(**stage_parameters: str) -> Iterator[LocalCloud]:
    with LocalCloud(accounts={PROD: {**ARTIFACTS, **stage_parameters}}) as cloud:
        yield cloud


def session(cloud: LocalCloud, service: str, role: str = STAGE_ROLE, **params: Any) -> Any:
    """What a handler does: AssumeRole with its own role, then a client with the session."""
    credentials = cloud.client("sts").assume_role(RoleArn=role, RoleSessionName="smdeploy-test", **params)[
        "Credentials"
    ]
    return boto3.client(
        service,
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def code(caught: pytest.ExceptionInfo[ClientError]) -> str:
    return str(caught.value.response["Error"]["Code"])


def test_a_functions_session_of_the_stage_role_acts_in_the_stage_account() -> None:
    with two_accounts() as cloud, cloud.iam.acting_as("function", "ShiftTrafficFunction"):
        cloudwatch = session(cloud, "cloudwatch")
        cloudwatch.put_metric_alarm(**ALARM)
        with cloud.iam.as_nobody():
            here = cloud.client("cloudwatch").describe_alarms()["MetricAlarms"]
            there = cloud.client("cloudwatch", PROD).describe_alarms()["MetricAlarms"]
        assert [a["AlarmArn"] for a in there] == [
            f"arn:aws:cloudwatch:{REGION}:{PROD}:alarm:{ALARM['AlarmName']}"
        ]
        assert here == []
        # the stage role's own policy decides: its alarms are named smdeploy-*
        with pytest.raises(ClientError) as caught:
            cloudwatch.put_metric_alarm(**{**ALARM, "AlarmName": "other-alarm"})
        assert code(caught) == "AccessDeniedException"
        assert f"arn:aws:sts::{PROD}:assumed-role/smdeploy-stage/" in str(caught.value)


def refused_assume(cloud: LocalCloud, function: str, role: str = STAGE_ROLE) -> str:
    """AssumeRole by ``function`` fails with AWS's code; why the local cloud refused it."""
    with cloud.iam.acting_as("function", function), pytest.raises(ClientError) as caught:
        session(cloud, "sagemaker", role=role)
    assert code(caught) == "AccessDenied"
    return cloud.iam.denials[-1].why


def test_a_stage_role_that_trusts_another_account_cannot_be_assumed() -> None:
    with two_accounts(HubAccountId="111111111111") as cloud:
        assert "trust policy" in refused_assume(cloud, "ShiftTrafficFunction")


def test_a_role_of_no_rehearsed_account_cannot_be_assumed() -> None:
    with two_accounts() as cloud:
        why = refused_assume(cloud, "ShiftTrafficFunction", "arn:aws:iam::333333333333:role/smdeploy-stage")
        assert "no rehearsed account has that role" in why


def test_a_function_without_the_grant_cannot_assume_the_stage_role() -> None:
    with two_accounts() as cloud:
        assert "no identity-based policy allows" in refused_assume(cloud, "RecordOutcomeFunction")


def test_a_session_expires_after_its_duration_in_virtual_time() -> None:
    with two_accounts() as cloud, cloud.iam.acting_as("function", "ShiftTrafficFunction"):
        cloudwatch = session(cloud, "cloudwatch", DurationSeconds=900)
        cloudwatch.describe_alarms(AlarmNames=[ALARM["AlarmName"]])
        cloud.advance(900)
        with pytest.raises(ClientError) as caught:
            cloudwatch.describe_alarms(AlarmNames=[ALARM["AlarmName"]])
        assert code(caught) == "ExpiredTokenException"
        assert "expired" in str(caught.value)


def refused_scenario(tmp_path: Any, **keys: Any) -> str:
    """The error a scenario with ``keys`` is refused with."""
    path = tmp_path / "s.yaml"
    timeline = [{"at": 0, "approve": {"group": "g", "version": 1}}]
    path.write_text(yaml.safe_dump({"name": "x", **keys, "timeline": timeline}))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return str(caught.value)


def test_a_scenarios_accounts_are_checked_against_stage_account_yaml(tmp_path: Any) -> None:
    assert "ModelArtifactBuckets" in refused_scenario(tmp_path, accounts={PROD: {}})
    assert f"accounts.{PROD}.RoleName" in refused_scenario(
        tmp_path, accounts={PROD: {**ARTIFACTS, "RoleName": "x"}}
    )
    assert "scenario's own account" in refused_scenario(tmp_path, accounts={"123456789012": ARTIFACTS})


def test_a_scenarios_bucket_policies_are_policy_documents(tmp_path: Any) -> None:
    no_statement = refused_scenario(tmp_path, bucketPolicies={"artifacts": {"Version": "2012-10-17"}})
    assert "bucketPolicies.artifacts.Statement" in no_statement
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::artifacts/*"}
    assert "Statement[0].Principal" in refused_scenario(
        tmp_path, bucketPolicies={"artifacts": {"Statement": [statement]}}
    )
