"""Serverless groups: memory and concurrency instead of instances, and contradictions refused."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from smdeploy.errors import InvalidRequest
from smdeploy.models import GroupConfig, Serverless
from smdeploy.plan import build_plan, parse_group_config
from tests.unit.test_plan import BASELINE, DEFAULTS, LIVE, SSM, approval, manual, package

SERVERLESS = {"memorySizeMB": 4096, "maxConcurrency": 10, "provisionedConcurrency": 2}


def plan_for(group: dict[str, Any], request: Any = None, live: Any = None, variants: Any = None):  # type: ignore[no-untyped-def]
    request = request or approval()
    return build_plan(
        request,
        package=package(request.modelPackageArn),
        group_config=GroupConfig.model_validate(group),
        group_config_source=SSM,
        defaults=DEFAULTS,
        live_endpoint=live,
        live_variants=variants,
    )


def test_a_serverless_group_plans_a_serverless_config() -> None:
    plan = plan_for({"endpoint": "churn-prod", "serverless": SERVERLESS})
    assert plan.serverless == {"MemorySizeInMB": 4096, "MaxConcurrency": 10, "ProvisionedConcurrency": 2}


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"serverless": SERVERLESS, "instanceType": "ml.m5.large"}, "takes no instanceType"),
        ({"serverless": SERVERLESS, "initialInstanceCount": 2}, "takes no instanceType"),
        (
            {
                "serverless": SERVERLESS,
                "dataCapture": {"samplingPercentage": 5, "destination": "s3://capture-bucket/c"},
            },
            "data capture is not available on serverless",
        ),
        ({"serverless": {"memorySizeMB": 1000}}, "memorySizeMB"),
        ({"serverless": {"maxConcurrency": 5, "provisionedConcurrency": 6}}, "cannot exceed maxConcurrency"),
    ],
)
def test_contradictory_serverless_settings_are_invalid_naming_the_problem(
    config: dict[str, Any], words: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_group_config({"endpoint": "churn-prod", **config}, SSM)
    assert caught.value.field.startswith(SSM)
    assert words in str(caught.value)


def test_instance_settings_in_a_manual_start_contradict_a_serverless_group() -> None:
    with pytest.raises(InvalidRequest) as caught:
        plan_for(
            {"endpoint": "churn-prod", "serverless": SERVERLESS}, request=manual(instanceType="ml.m5.xlarge")
        )
    assert caught.value.field == "instanceType"


def test_a_rollout_may_not_switch_an_instance_endpoint_to_serverless() -> None:
    with pytest.raises(InvalidRequest) as caught:
        plan_for({"endpoint": "churn-prod", "serverless": SERVERLESS}, live=LIVE, variants=BASELINE)
    assert caught.value.field == "serverless"
    serverless_live = [{**BASELINE[0], "Serverless": True}]
    assert (
        plan_for(
            {"endpoint": "churn-prod", "serverless": SERVERLESS}, live=LIVE, variants=serverless_live
        ).action
        == "UPDATE"
    )


def test_serverless_defaults_are_valid() -> None:
    with pytest.raises(ValidationError):
        Serverless(maxConcurrency=0)
    assert Serverless().api() == {"MemorySizeInMB": 2048, "MaxConcurrency": 20}


def test_a_serverless_update_says_it_replaces_instead_of_splitting_traffic() -> None:
    serverless_live = [{**BASELINE[0], "Serverless": True}]
    plan = plan_for(
        {"endpoint": "churn-prod", "serverless": SERVERLESS, "strategy": {"type": "linear"}},
        live=LIVE,
        variants=serverless_live,
    )
    assert plan.rollout is not None and plan.rollout.replaceOnly and plan.rollout.steps == [100.0]
    assert "strategy linear -> one blue/green UpdateEndpoint" in plan.notes[0]
    first = plan_for({"endpoint": "churn-prod", "serverless": SERVERLESS})
    assert first.notes == [] and first.rollout is not None and not first.rollout.replaceOnly
