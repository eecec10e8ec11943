"""smdeploy.settings: each function's settings accept a good environment and name a bad variable."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from smdeploy.settings import ModelSettings, PlanSettings, RecordSettings

PLAN_ENV = {
    "GROUP_CONFIG_PREFIX": "/smdeploy/groups/",
    "DEFAULT_INSTANCE_TYPE": "ml.m5.large",
    "DEFAULT_INSTANCE_COUNT": "1",
    "ENDPOINT_POLL_SECONDS": "30",
    "ENDPOINT_DEPLOY_TIMEOUT_SECONDS": "1800",
    "MODEL_ARTIFACT_BUCKETS": "sagemaker-us-east-1-123456789012,ml-project-artifacts",
    "MODEL_WRITE_BUCKETS": "smdeploy-data-capture,smdeploy-async-results,smdeploy-batch-data",
}
MODEL_ENV = {"MODEL_EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/smdeploy-model-execution"}
RECORD_ENV = {
    "DEPLOYMENTS_TABLE": "smdeploy-deployments",
    "NOTIFY_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:smdeploy-notifications",
}
LAMBDA_NOISE = {"AWS_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": "smdeploy", "PATH": "/usr/bin"}


def rejected_variables(settings_cls: Any, env: dict[str, str]) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        settings_cls.from_env(env)
    return {str(error["loc"][0]) for error in caught.value.errors()}


# --- PlanSettings --------------------------------------------------------------------------------
def test_plan_settings_read_a_good_environment_and_ignore_other_variables() -> None:
    settings = PlanSettings.from_env({**PLAN_ENV, **LAMBDA_NOISE})

    assert settings.group_config_prefix == "/smdeploy/groups/"
    assert settings.defaults() == {
        "instanceType": "ml.m5.large",
        "initialInstanceCount": 1,
        "pollSeconds": 30,
        "firstCheckSeconds": 240,
        "lockWaitSeconds": 3600,
        "lockPollSeconds": 60,
        "accountId": None,
        "deployTimeoutSeconds": 1800,
        "stageRoleName": None,
    }
    buckets = settings.role_buckets()
    assert buckets.read == ("sagemaker-us-east-1-123456789012", "ml-project-artifacts")
    assert buckets.write == ("smdeploy-data-capture", "smdeploy-async-results", "smdeploy-batch-data")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GROUP_CONFIG_PREFIX", "/smdeploy/groups"),
        ("GROUP_CONFIG_PREFIX", "smdeploy/groups/"),
        ("DEFAULT_INSTANCE_COUNT", "0"),
        ("DEFAULT_INSTANCE_COUNT", "one"),
        ("ENDPOINT_POLL_SECONDS", "4"),
        ("ENDPOINT_POLL_SECONDS", "3601"),
        ("ENDPOINT_DEPLOY_TIMEOUT_SECONDS", "59"),
        ("ENDPOINT_DEPLOY_TIMEOUT_SECONDS", "86401"),
        ("MODEL_ARTIFACT_BUCKETS", ""),
        ("MODEL_ARTIFACT_BUCKETS", "s3://sagemaker-us-east-1-123456789012"),
        ("MODEL_WRITE_BUCKETS", " , "),
        ("MODEL_WRITE_BUCKETS", "Capture_Bucket"),
    ],
)
def test_plan_settings_reject_a_bad_value_naming_the_variable(variable: str, value: str) -> None:
    assert rejected_variables(PlanSettings, {**PLAN_ENV, variable: value}) == {variable}


@pytest.mark.parametrize("variable", sorted(PLAN_ENV))
def test_plan_settings_reject_a_missing_variable_naming_it(variable: str) -> None:
    env = {key: value for key, value in PLAN_ENV.items() if key != variable}

    assert rejected_variables(PlanSettings, env) == {variable}


# --- ModelSettings -------------------------------------------------------------------------------
def test_model_settings_read_a_good_environment() -> None:
    settings = ModelSettings.from_env({**MODEL_ENV, **LAMBDA_NOISE})

    assert settings.model_execution_role_arn == MODEL_ENV["MODEL_EXECUTION_ROLE_ARN"]


@pytest.mark.parametrize(
    "env",
    [
        {"MODEL_EXECUTION_ROLE_ARN": "smdeploy-model-execution"},
        {"MODEL_EXECUTION_ROLE_ARN": "arn:aws:sns:x"},
        {},
    ],
    ids=["role name only", "not an iam arn", "missing"],
)
def test_model_settings_reject_a_bad_role_naming_the_variable(env: dict[str, str]) -> None:
    assert rejected_variables(ModelSettings, env) == {"MODEL_EXECUTION_ROLE_ARN"}


# --- RecordSettings ------------------------------------------------------------------------------
def test_record_settings_read_a_good_environment() -> None:
    settings = RecordSettings.from_env({**RECORD_ENV, **LAMBDA_NOISE})

    assert settings.deployments_table == "smdeploy-deployments"
    assert settings.notify_topic_arn == RECORD_ENV["NOTIFY_TOPIC_ARN"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEPLOYMENTS_TABLE", "ab"),
        ("NOTIFY_TOPIC_ARN", "smdeploy-notifications"),
        ("NOTIFY_TOPIC_ARN", "arn:aws:sqs:q"),
    ],
)
def test_record_settings_reject_a_bad_value_naming_the_variable(variable: str, value: str) -> None:
    assert rejected_variables(RecordSettings, {**RECORD_ENV, variable: value}) == {variable}


# --- from_env ------------------------------------------------------------------------------------
def test_settings_read_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {**PLAN_ENV, **MODEL_ENV, **RECORD_ENV}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ENDPOINT_POLL_SECONDS", "45")

    assert PlanSettings.from_env().poll_seconds == 45
    assert ModelSettings.from_env().model_execution_role_arn == MODEL_ENV["MODEL_EXECUTION_ROLE_ARN"]
    assert RecordSettings.from_env().deployments_table == "smdeploy-deployments"


def test_settings_are_frozen() -> None:
    settings = RecordSettings.from_env(RECORD_ENV)

    with pytest.raises(ValidationError):
        settings.deployments_table = "other"  # type: ignore[misc]
