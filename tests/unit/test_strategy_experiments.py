"""A/B tests, shadow tests and the statistical judge in the pure domain: their keys, the plan they
resolve to and the verdicts they lead to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from smdeploy.canary import comparison_window_start
from smdeploy.errors import InvalidRequest
from smdeploy.models import GroupConfig
from smdeploy.plan import build_plan, resolve_strategy
from smdeploy.strategy import Judgement, Observation, judge, judge_shadow
from tests.unit.test_plan import BASELINE, DEFAULTS, LIVE, SSM, approval, package

AB = {
    "type": "ab-test",
    "primaryMetric": {"name": "Conversion", "namespace": "churn/business"},
    "checkIntervalSeconds": 300,
    "maxDurationMinutes": 60,
}
SHADOW = {"type": "shadow", "durationMinutes": 10, "checkIntervalSeconds": 120, "minInvocations": 100}


@pytest.mark.parametrize(
    ("keys", "field", "words"),
    [
        ({**AB, "split": 0}, "strategy.split", "greater than 0"),
        ({**AB, "split": 100}, "strategy.split", "less than 100"),
        (
            {**AB, "primaryMetric": {"name": "throughput"}},
            "strategy.primaryMetric",
            "unknown built-in metric",
        ),
        (
            {**AB, "primaryMetric": {"name": "errorRate", "goal": "maximize"}},
            "strategy.primaryMetric",
            "minimize",
        ),
        ({**AB, "confidence": 0.5}, "strategy.confidence", "greater than 0.5"),
        ({**AB, "confidence": 1}, "strategy.confidence", "less than 1"),
        ({"type": "ab-test"}, "strategy", "needs a primaryMetric"),
        ({**AB, "steps": [10, 50]}, "strategy", "no steps"),
        ({**SHADOW, "then": "ab-test"}, "strategy", "needs a primaryMetric"),
        ({**SHADOW, "then": "stop", "steps": [10]}, "strategy", "steps belong to a canary"),
        ({**SHADOW, "samplingPercent": 0}, "strategy.samplingPercent", "greater than 0"),
        ({**SHADOW, "minAgreement": 1.5}, "strategy.minAgreement", "less than or equal to 1"),
        (
            {"type": "guardrails-canary", "judge": {"type": "statistical"}},
            "strategy",
            "statistical judge needs a rollout that shifts weights",
        ),
        (
            {"judge": {"type": "statistical", "metrics": ["throughput"]}},
            "strategy.judge.metrics.0",
            "errorRate",
        ),
    ],
)
def test_a_bad_experiment_key_is_invalid_naming_it(keys: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        resolve_strategy([keys])
    assert caught.value.field == field
    assert words in caught.value.problem


def test_an_ab_test_is_one_step_at_the_split_that_lasts_the_whole_test_without_extensions() -> None:
    rollout = resolve_strategy([{**AB, "split": 30, "maxExtensions": 5}])
    assert (rollout.steps, rollout.bakeSeconds, rollout.checksPerStep, rollout.maxExtensions) == (
        [30.0],
        3600,
        12,
        0,
    )
    assert rollout.experiment is not None
    assert rollout.experiment["namespace"] == "churn/business" and rollout.experiment["goal"] == "maximize"


def test_a_built_in_primary_metric_reads_sagemakers_metric_and_is_better_lower() -> None:
    rollout = resolve_strategy([{**AB, "primaryMetric": {"name": "latencyP99"}}])
    assert rollout.experiment is not None
    assert {k: rollout.experiment[k] for k in ("namespace", "metricName", "statistic", "kind", "goal")} == {
        "namespace": "AWS/SageMaker",
        "metricName": "ModelLatency",
        "statistic": "p99",
        "kind": "mean",
        "goal": "minimize",
    }


def test_a_shadow_resolves_to_what_follows_it_with_the_shadow_first() -> None:
    rollout = resolve_strategy([{**SHADOW, "then": "canary", "steps": [10, 50]}])
    assert (rollout.type, rollout.steps) == ("canary", [10.0, 50.0])
    assert rollout.shadow == {
        "samplingPercent": 100,
        "durationSeconds": 600,
        "checks": 5,
        "then": "canary",
        "minAgreement": 0.9,
    }
    assert resolve_strategy([{**SHADOW, "then": "stop"}]).type == "shadow"


# --- verdicts ---------------------------------------------------------------------------------------
def seen(**changes: Any) -> Observation:
    base: dict[str, Any] = {
        "endpointStatus": "InService",
        "weightsApplied": True,
        "alarms": [{"name": "a", "state": "OK", "reason": ""}],
        "candidateInvocations": 5000,
    }
    return Observation.model_validate({**base, **changes})


WINNING = {"baseline": {"samples": 40000, "total": 1200}, "candidate": {"samples": 40000, "total": 1500}}


def test_a_winning_candidate_is_promoted_and_its_decision_kept() -> None:
    rollout = resolve_strategy([AB])
    start = Judgement(stepIndex=0, percent=50, shiftedAt="2026-01-01T00:00:00+00:00")
    judged = judge(start, seen(experimentArms=WINNING), rollout)
    assert (judged.verdict, judged.decision) == ("CANDIDATE_WINS", "PROMOTE")
    assert judged.experiment is not None and judged.experiment["decision"] == "CANDIDATE_WINS"


def test_a_winner_only_reported_rolls_back_to_the_baseline() -> None:
    rollout = resolve_strategy([{**AB, "onWinner": "report"}])
    start = Judgement(stepIndex=0, percent=50, shiftedAt="2026-01-01T00:00:00+00:00")
    judged = judge(start, seen(experimentArms=WINNING), rollout)
    assert (judged.verdict, judged.decision) == ("CANDIDATE_WINS", "ROLLBACK")
    assert any("onWinner is report" in reason for reason in judged.reasons)


def test_an_alarm_rolls_an_ab_test_back_whatever_the_test_says() -> None:
    rollout = resolve_strategy([AB])
    start = Judgement(stepIndex=0, percent=50, shiftedAt="2026-01-01T00:00:00+00:00")
    alarm = [{"name": "smdeploy-x-5xx-rate", "state": "ALARM", "reason": "Threshold Crossed"}]
    judged = judge(start, seen(experimentArms=WINNING, alarms=alarm), rollout)
    assert (judged.verdict, judged.decision) == ("UNHEALTHY", "ROLLBACK")


def test_a_test_without_a_decision_keeps_looking() -> None:
    rollout = resolve_strategy([AB])
    start = Judgement(stepIndex=0, percent=50, shiftedAt="2026-01-01T00:00:00+00:00")
    arms = {"baseline": {"samples": 500, "total": 15}, "candidate": {"samples": 500, "total": 16}}
    judged = judge(start, seen(experimentArms=arms), rollout)
    assert (judged.verdict, judged.decision, judged.checks) == ("TESTING", "WAIT", 1)
    assert judged.reasons[0].startswith("look 1:")


SHADOW_START = Judgement(stepIndex=-1, percent=0, shiftedAt="2026-01-01T00:00:00+00:00", checks=4)
EQUAL = {
    "errorRate": [{"samples": 3000, "total": 3}, {"samples": 3000, "total": 3}],
    "latencyP99": [{"samples": 10, "values": [72.0] * 10}, {"samples": 10, "values": [72.0] * 10}],
}


def test_a_passed_shadow_goes_on_to_the_first_step() -> None:
    judged = judge_shadow(SHADOW_START, seen(metricArms=EQUAL), resolve_strategy([SHADOW]))
    assert (judged.verdict, judged.decision, judged.nextStepIndex) == ("HEALTHY", "NEXT_STEP", 0)
    assert judged.history[-1].startswith("shadow: HEALTHY -> NEXT_STEP")


def test_a_passed_shadow_that_stops_keeps_the_baseline() -> None:
    judged = judge_shadow(
        SHADOW_START, seen(metricArms=EQUAL), resolve_strategy([{**SHADOW, "then": "stop"}])
    )
    assert (judged.verdict, judged.decision) == ("SHADOW_PASSED", "ROLLBACK")


def test_a_shadow_that_disagrees_with_production_fails_naming_the_agreement() -> None:
    disagreeing = seen(metricArms=EQUAL, agreement={"compared": 1000, "agreeing": 700})
    judged = judge_shadow(SHADOW_START.with_(checks=0), disagreeing, resolve_strategy([SHADOW]))
    assert (judged.verdict, judged.decision) == ("UNHEALTHY", "ROLLBACK")
    assert "agree with production on 70.0% of 1000" in judged.reasons[0]


def test_a_shadow_with_more_errors_than_production_fails_at_once() -> None:
    worse = {**EQUAL, "errorRate": [{"samples": 3000, "total": 3}, {"samples": 3000, "total": 300}]}
    judged = judge_shadow(SHADOW_START.with_(checks=0), seen(metricArms=worse), resolve_strategy([SHADOW]))
    assert (judged.verdict, judged.decision) == ("UNHEALTHY", "ROLLBACK")
    assert judged.reasons[0].startswith("errorRate:") and "WORSE" in judged.reasons[0]


@pytest.mark.parametrize(
    ("shifted", "now", "waited", "start"),
    [
        ("2026-01-01T01:05:00", "2026-01-01T01:10:00", False, "2026-01-01T01:06:00"),
        ("2026-01-01T01:05:20", "2026-01-01T01:10:00", False, "2026-01-01T01:07:00"),
        ("2026-01-01T01:05:20", "2026-01-01T01:12:30", True, "2026-01-01T01:13:00"),
    ],
)
def test_the_comparison_starts_at_a_whole_minute_once_the_weights_apply(
    shifted: str, now: str, waited: bool, start: str
) -> None:
    found = comparison_window_start(
        datetime.fromisoformat(shifted), datetime.fromisoformat(now), waited=waited
    )
    assert found == start


# --- where a test cannot run: refused by the plan, before anything is touched ----------------------
def _plan(group: dict[str, Any], live_variants: list[dict[str, Any]]) -> Any:
    request = approval()
    return build_plan(
        request,
        package=package(request.modelPackageArn),
        group_config=GroupConfig.model_validate({"endpoint": "churn-prod", **group}),
        group_config_source=SSM,
        defaults=DEFAULTS,
        live_endpoint=LIVE,
        live_variants=live_variants,
    )


SERVERLESS_GROUP = {"serverless": {"memorySizeMB": 4096, "maxConcurrency": 10}}
SEVERAL = {"variants": [{"instanceType": "ml.m5.large", "weight": 3}, {"instanceType": "ml.c5.xlarge"}]}


@pytest.mark.parametrize(
    ("strategy", "group", "field", "words"),
    [
        (SHADOW, SERVERLESS_GROUP, "strategy.type", "a serverless endpoint cannot host it"),
        (SHADOW, SEVERAL, "strategy.type", "several production variants cannot host it"),
        (AB, SERVERLESS_GROUP, "strategy.type", "a serverless endpoint cannot"),
        (AB, SEVERAL, "strategy.type", "several variants cannot"),
        ({"judge": {"type": "statistical"}}, SEVERAL, "strategy.judge", "several variants cannot"),
    ],
)
def test_a_test_where_traffic_cannot_be_compared_is_refused_naming_the_key(
    strategy: dict[str, Any], group: dict[str, Any], field: str, words: str
) -> None:
    serverless = "serverless" in group
    live = [{**BASELINE[0], "Serverless": True}] if serverless else BASELINE
    with pytest.raises(InvalidRequest) as caught:
        _plan({**group, "strategy": strategy}, live)
    assert caught.value.field == field
    assert words in caught.value.problem
