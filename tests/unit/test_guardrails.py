"""guardrails-* strategies: SageMaker's blue/green traffic shifting, and what it cannot do."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from smdeploy.errors import InvalidRequest
from smdeploy.strategy import StrategyConfig, resolve_rollout
from tests.unit.test_plan import BASELINE, LIVE
from tests.unit.test_serverless import SERVERLESS, plan_for


def policy(**keys: Any) -> dict[str, Any]:
    guardrails = resolve_rollout(StrategyConfig.model_validate(keys)).guardrails
    assert guardrails is not None
    return guardrails


def test_each_guardrails_type_is_the_matching_traffic_routing() -> None:
    canary = policy(type="guardrails-canary", canaryPercent=20, bakeMinutes=15, terminationWaitMinutes=2)
    assert canary == {
        "TrafficRoutingConfiguration": {
            "Type": "CANARY",
            "WaitIntervalInSeconds": 900,
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 20},
        },
        "TerminationWaitInSeconds": 120,
    }
    linear = policy(type="guardrails-linear", linearSteps=4)["TrafficRoutingConfiguration"]
    assert linear["LinearStepSize"] == {"Type": "CAPACITY_PERCENT", "Value": 25}
    assert policy(type="guardrails-all-at-once")["TrafficRoutingConfiguration"]["Type"] == "ALL_AT_ONCE"
    assert resolve_rollout(StrategyConfig(type="canary")).guardrails is None


@pytest.mark.parametrize(
    ("keys", "words"),
    [
        ({"type": "guardrails-canary", "steps": [10, 50]}, "explicit steps"),
        ({"type": "guardrails-canary", "canaryPercent": 60}, "1-50%"),
        ({"type": "guardrails-linear", "bakeMinutes": 90}, "at most 60 minutes"),
        ({"type": "guardrails-linear", "terminationWaitMinutes": 61}, "terminationWaitMinutes"),
    ],
)
def test_guardrails_sagemaker_cannot_run_are_refused(keys: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        StrategyConfig.model_validate(keys)
    assert words in str(caught.value)


def test_the_plan_bounds_the_execution_and_waits_long_enough_for_it() -> None:
    plan = plan_for(
        {
            "endpoint": "churn-prod",
            "strategy": {"type": "guardrails-linear", "linearSteps": 4, "bakeMinutes": 10},
        },
        live=LIVE,
        variants=BASELINE,
    )
    assert plan.rollout is not None and plan.rollout.guardrails is not None
    # deploy timeout 1800 s + 4 shifts x 600 s + termination wait 300 s
    assert plan.rollout.guardrails["MaximumExecutionTimeoutInSeconds"] == 1800 + 4 * 600 + 300
    assert plan.maxPolls * plan.pollSeconds >= 1800 + 4 * 600 + 300
    plain = plan_for({"endpoint": "churn-prod"}, live=LIVE, variants=BASELINE)
    assert plain.maxPolls * plain.pollSeconds < plan.maxPolls * plan.pollSeconds
    # SageMaker rolls back by itself: the state machine checks every two minutes, not every 30 s
    assert (plain.pollSeconds, plan.pollSeconds) == (30, 120)
    first = plan_for({"endpoint": "churn-prod", "strategy": {"type": "guardrails-linear"}})
    assert (first.action, first.pollSeconds) == ("CREATE", 30)  # a first deployment has no guardrails


@pytest.mark.parametrize(
    ("group", "field", "words"),
    [
        ({"serverless": SERVERLESS}, "strategy.type", "not available for serverless"),
        ({"instanceType": "ml.inf1.xlarge"}, "strategy.type", "Inf1"),
        ({"strategy": {"alarms": [f"a{i}" for i in range(9)]}}, "strategy.alarms", "at most 10 alarms"),
    ],
)
def test_guardrails_are_refused_where_sagemaker_would_not_honour_them(
    group: dict[str, Any], field: str, words: str
) -> None:
    strategy = {"type": "guardrails-canary", **group.pop("strategy", {})}
    live = [{**BASELINE[0], "Serverless": "serverless" in group}]
    with pytest.raises(InvalidRequest) as caught:
        plan_for({"endpoint": "churn-prod", **group, "strategy": strategy}, live=LIVE, variants=live)
    assert caught.value.field == field
    assert words in str(caught.value)
