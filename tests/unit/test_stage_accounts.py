"""A stage in another account: the config's roleArn, the plan it makes, and the clients that go
through the stage role (``smdeploy.adapters.aws``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from smdeploy import clock
from smdeploy.adapters import aws
from smdeploy.errors import AwsRequestRejected, InvalidRequest
from smdeploy.models import GroupConfig
from tests.unit.test_plan import DEFAULTS, approval, plan_for

ROLE = "arn:aws:iam::210987654321:role/smdeploy-stage"
OWN = {**DEFAULTS, "accountId": "123456789012", "stageRoleName": "smdeploy-stage"}


def staged(prod: dict[str, Any] | None = None, **config: Any) -> GroupConfig:
    return GroupConfig.model_validate(
        {
            "stages": [
                {"endpoint": "churn-staging"},
                {"endpoint": "churn-prod", "roleArn": ROLE, **(prod or {})},
            ],
            **config,
        }
    )


def refusal(**kwargs: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        staged(**kwargs)
    return str(caught.value)


# --- the config ------------------------------------------------------------------------------------
def test_a_stage_role_must_be_an_iam_role_arn() -> None:
    assert "roleArn" in refusal(prod={"roleArn": "arn:aws:iam::21098765432:role/smdeploy-stage"})
    assert "roleArn" in refusal(prod={"roleArn": "arn:aws:iam::210987654321:user/deployer"})


def test_the_model_role_is_in_the_stage_account_and_defaults_to_the_stage_stacks() -> None:
    assert staged().stages[1].model_role() == f"{ROLE}-model"  # type: ignore[index]
    message = refusal(prod={"modelRoleArn": "arn:aws:iam::123456789012:role/models"})
    assert "modelRoleArn" in message and "210987654321" in message
    with pytest.raises(ValidationError, match="only a stage in another account"):
        GroupConfig.model_validate(
            {
                "stages": [
                    {"endpoint": "a", "modelRoleArn": "arn:aws:iam::123456789012:role/m"},
                    {"endpoint": "b"},
                ]
            }
        )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("dataCapture", {"samplingPercentage": 20, "destination": "s3://smdeploy-data-capture/churn"}),
        ("autoscaling", {"minCapacity": 1, "maxCapacity": 4}),
    ],
)
def test_a_group_with_a_stage_elsewhere_refuses_what_lives_in_this_account(key: str, value: Any) -> None:
    message = refusal(**{key: value})
    assert "stages[1].roleArn" in message and key in message


# --- the plan --------------------------------------------------------------------------------------
def test_the_stages_plan_carries_its_role_and_model_role() -> None:
    request = approval().model_copy(
        update={"overrides": {"endpointName": "churn-prod", "throughStages": True}}
    )
    plan = plan_for(request, group=staged(), defaults=OWN)
    assert (plan.endpointName, plan.roleArn, plan.modelRoleArn) == ("churn-prod", ROLE, f"{ROLE}-model")
    first = plan_for(approval(), group=staged(), defaults=OWN)
    assert (first.endpointName, first.roleArn, first.modelRoleArn) == ("churn-staging", None, None)


def test_a_stage_elsewhere_polls_and_says_why() -> None:
    request = approval().model_copy(update={"overrides": {"endpointName": "churn-prod"}})
    plan = plan_for(request, group=staged(waits="events"), defaults=OWN)
    assert plan.waits == "polling"
    assert any("210987654321's bus" in note for note in plan.notes)


def test_a_stage_role_the_stack_may_not_assume_is_refused_naming_the_stage() -> None:
    request = approval().model_copy(update={"overrides": {"endpointName": "churn-prod"}})
    other = staged(prod={"roleArn": "arn:aws:iam::210987654321:role/deployer"})
    with pytest.raises(InvalidRequest) as caught:
        plan_for(request, group=other, defaults=OWN)
    assert caught.value.field == "stages[1].roleArn"
    assert "'smdeploy-stage'" in caught.value.problem and "StageRoleName" in caught.value.problem
    own_account = staged(prod={"roleArn": "arn:aws:iam::123456789012:role/smdeploy-stage"})
    with pytest.raises(InvalidRequest, match="own account"):
        plan_for(request, group=own_account, defaults=OWN)


# --- the clients -----------------------------------------------------------------------------------
class FakeSts:
    def __init__(self, *, refuse: bool = False) -> None:
        self.assumed: list[dict[str, Any]] = []
        self.refuse = refuse

    def assume_role(self, **params: Any) -> dict[str, Any]:
        if self.refuse:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not trusted"}}, "AssumeRole")
        self.assumed.append(params)
        n = len(self.assumed)
        return {
            "Credentials": {
                "AccessKeyId": f"ASIA{n:016d}",
                "SecretAccessKey": "secret",
                "SessionToken": f"token-{n}",
            }
        }


@pytest.fixture
def sts(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSts]:
    fake = FakeSts()
    real = aws.home_client
    aws.reset_clients()
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFUNCTIONROLE0001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setattr(aws, "home_client", lambda service: fake if service == "sts" else real(service))
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    clock.set_source(lambda: now[0])
    fake.now = now  # type: ignore[attr-defined]
    yield fake
    clock.set_source(None)
    real.cache_clear()
    aws._ASSUMED.clear()


def key_of(client: Any) -> str:
    return str(client._request_signer._credentials.access_key)


def test_inside_a_stage_the_endpoints_services_go_through_its_role_and_the_rest_stays_here(
    sts: FakeSts,
) -> None:
    with aws.acting_as(ROLE):
        sagemaker, cloudwatch = aws.client("sagemaker"), aws.client("cloudwatch")
        dynamodb = aws.client("dynamodb")
    assert key_of(sagemaker) == key_of(cloudwatch) == "ASIA0000000000000001"
    assert key_of(dynamodb) != "ASIA0000000000000001"
    assert [(call["RoleArn"], call["DurationSeconds"]) for call in sts.assumed] == [(ROLE, 3600)]
    assert key_of(aws.client("sagemaker")) != "ASIA0000000000000001"  # outside: the function's own


def test_a_session_is_renewed_before_it_expires(sts: FakeSts) -> None:
    with aws.acting_as(ROLE):
        aws.client("sagemaker")
        sts.now[0] += timedelta(minutes=54)  # type: ignore[attr-defined]
        assert key_of(aws.client("sagemaker")) == "ASIA0000000000000001"
        sts.now[0] += timedelta(minutes=2)  # type: ignore[attr-defined]  # 4 minutes left: renewed
        assert key_of(aws.client("sagemaker")) == "ASIA0000000000000002"
    assert len(sts.assumed) == 2


def test_a_refused_assume_role_is_a_named_error(sts: FakeSts) -> None:
    sts.refuse = True
    with (
        aws.acting_as(ROLE),
        pytest.raises(AwsRequestRejected, match=r"AssumeRole .*smdeploy-stage.*not trusted"),
    ):
        aws.client("sagemaker")


def test_the_handler_decorator_reads_the_plans_role() -> None:
    seen: list[str | None] = []

    @aws.in_stage_account
    def handler(event: Any, context: Any) -> None:
        seen.append(aws._STAGE_ROLE.get())

    handler({"plan": {"roleArn": ROLE}}, None)
    handler({"state": {"plan": {"roleArn": ROLE}}}, None)
    handler({"plan": {"endpointName": "churn-staging"}}, None)
    handler({"raw": {}}, None)
    assert seen == [ROLE, ROLE, None, None]
    assert aws._STAGE_ROLE.get() is None


def test_the_default_model_role_drops_the_stage_roles_path() -> None:
    config = staged(prod={"roleArn": "arn:aws:iam::210987654321:role/team/smdeploy-stage"})
    assert config.stages[1].model_role() == "arn:aws:iam::210987654321:role/smdeploy-stage-model"  # type: ignore[index]
