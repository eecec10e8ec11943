"""Rollout strategies, their validation, and the canary verdict (pure domain, no AWS)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from smdeploy.errors import InvalidRequest
from smdeploy.plan import resolve_strategy
from smdeploy.strategy import (
    MAX_PENDING_CHECKS,
    Judgement,
    Observation,
    StrategyConfig,
    judge,
    merge_strategy,
    resolve_rollout,
)


def rollout(**keys: Any):  # type: ignore[no-untyped-def]
    return resolve_rollout(StrategyConfig.model_validate(keys))


@pytest.mark.parametrize(
    ("keys", "steps"),
    [
        ({"type": "all-at-once"}, [100.0]),
        ({"type": "canary"}, [10.0]),
        ({"type": "canary", "canaryPercent": 25}, [25.0]),
        ({"type": "linear", "linearSteps": 4}, [25.0, 50.0, 75.0, 100.0]),
        ({"type": "linear", "linearSteps": 3}, [33.33, 66.67, 100.0]),
        ({"type": "canary", "steps": [10, 50]}, [10.0, 50.0]),
        ({"type": "linear", "steps": [5, 20, 100]}, [5.0, 20.0, 100.0]),
    ],
)
def test_each_strategy_turns_into_its_traffic_steps(keys: dict[str, Any], steps: list[float]) -> None:
    assert rollout(**keys).steps == steps


@pytest.mark.parametrize(
    ("keys", "field", "words"),
    [
        ({"steps": [50, 10]}, "strategy.steps", "must increase"),
        ({"steps": [10, 10]}, "strategy.steps", "must increase"),
        ({"steps": [10, 150]}, "strategy.steps", "at most 100"),
        ({"steps": [0, 10]}, "strategy.steps", "above 0"),
        ({"bakeMinutes": 1, "checkIntervalSeconds": 120}, "strategy", "shorter than checkIntervalSeconds"),
        ({"type": "all-at-once", "steps": [10]}, "strategy", "all-at-once takes no steps"),
        ({"type": "blue-green"}, "strategy.type", "'linear', 'guardrails-all-at-once'"),
        ({"bakeMinuts": 10}, "strategy.bakeMinuts", "Extra inputs"),
        ({"checkIntervalSeconds": 10}, "strategy.checkIntervalSeconds", "greater than or equal to 60"),
    ],
)
def test_impossible_strategy_is_invalid_naming_the_field(
    keys: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        resolve_strategy([keys])
    assert caught.value.field == field
    assert words in caught.value.problem


def test_strategy_layers_merge_key_by_key_later_winning() -> None:
    merged = merge_strategy(
        {"type": "canary", "steps": [10, 50], "bakeMinutes": 10, "monitor": {"failOnViolations": True}},
        None,
        {"bakeMinutes": 30, "monitor": {"failOnFailure": True}},
    )
    assert merged == {
        "type": "canary",
        "steps": [10, 50],
        "bakeMinutes": 30,
        "monitor": {"failOnViolations": True, "failOnFailure": True},
    }


def test_a_later_type_without_steps_drops_earlier_steps() -> None:
    merged = merge_strategy({"type": "canary", "steps": [10, 50]}, {"type": "all-at-once"})
    assert merged == {"type": "all-at-once"}
    assert resolve_strategy([{"type": "canary", "steps": [10]}, {"type": "all-at-once"}]).steps == [100.0]


def test_checks_per_step_cover_the_bake() -> None:
    plan = rollout(bakeMinutes=10, checkIntervalSeconds=120)
    assert (plan.bakeSeconds, plan.checksPerStep) == (600, 5)
    assert rollout(bakeMinutes=5, checkIntervalSeconds=120).checksPerStep == 3


# --- the verdict ---------------------------------------------------------------------------------
ROLLOUT = rollout(type="canary", steps=[10, 50], bakeMinutes=4, checkIntervalSeconds=120, minInvocations=100)


def state(**changes: Any) -> Judgement:
    return Judgement(stepIndex=0, percent=10, shiftedAt="2026-01-01T00:00:00+00:00").with_(**changes)


def seen(**changes: Any) -> Observation:
    base: dict[str, Any] = {
        "endpointStatus": "InService",
        "weightsApplied": True,
        "alarms": [{"name": "a", "state": "OK", "reason": ""}],
        "candidateInvocations": 500,
    }
    return Observation.model_validate({**base, **changes})


def test_healthy_check_before_the_bake_ends_waits() -> None:
    after = judge(state(), seen(), ROLLOUT)
    assert (after.verdict, after.decision, after.checks) == ("HEALTHY", "WAIT", 1)


def test_healthy_to_the_end_of_the_bake_moves_to_the_next_step_then_promotes() -> None:
    after = judge(state(checks=1), seen(), ROLLOUT)
    assert (after.decision, after.nextStepIndex) == ("NEXT_STEP", 1)
    last = judge(state(stepIndex=1, percent=50, checks=1), seen(), ROLLOUT)
    assert last.decision == "PROMOTE"
    assert last.history and "PROMOTE" in last.history[-1]


def test_an_alarm_in_alarm_rolls_back_at_once_with_its_reason() -> None:
    alarms = [
        {"name": "smdeploy-churn-prod-churn-v2-5xx-rate", "state": "ALARM", "reason": "Threshold Crossed"}
    ]
    after = judge(state(), seen(alarms=alarms), ROLLOUT)
    assert (after.verdict, after.decision) == ("UNHEALTHY", "ROLLBACK")
    assert after.reasons == ["alarm smdeploy-churn-prod-churn-v2-5xx-rate is ALARM: Threshold Crossed"]


def test_monitor_violations_roll_back_when_the_policy_says_so() -> None:
    monitor = {"MonitoringExecutionStatus": "CompletedWithViolations", "ScheduledTime": "01:00"}
    assert judge(state(), seen(monitor=monitor), ROLLOUT).decision == "ROLLBACK"
    lenient = rollout(steps=[10], bakeMinutes=4, monitor={"failOnViolations": False})
    assert judge(state(), seen(monitor=monitor), lenient).decision == "WAIT"


def test_monitor_failure_counts_only_when_asked() -> None:
    monitor = {"MonitoringExecutionStatus": "Failed", "FailureReason": "no data"}
    assert judge(state(), seen(monitor=monitor), ROLLOUT).decision == "WAIT"
    strict = rollout(steps=[10], bakeMinutes=4, monitor={"failOnFailure": True})
    assert judge(state(), seen(monitor=monitor), strict).decision == "ROLLBACK"


def test_too_few_invocations_is_inconclusive_not_healthy_and_extends_the_bake() -> None:
    after = judge(state(checks=1), seen(candidateInvocations=3), ROLLOUT)
    assert (after.verdict, after.decision, after.extensionsUsed) == ("INCONCLUSIVE", "WAIT", 1)
    assert "bake extended" in after.reasons[0]


def test_inconclusive_with_no_extension_left_rolls_back() -> None:
    after = judge(state(checks=3, extensionsUsed=2), seen(candidateInvocations=3), ROLLOUT)
    assert (after.verdict, after.decision) == ("INCONCLUSIVE", "ROLLBACK")
    assert "no extension left" in after.reasons[0]


def test_inconclusive_rolls_back_at_once_when_the_plan_says_so() -> None:
    strict = rollout(steps=[10], bakeMinutes=4, onInconclusive="rollback")
    after = judge(state(checks=1), seen(candidateInvocations=0), strict)
    assert after.decision == "ROLLBACK"


def test_weights_still_applying_is_pending_and_not_counted_as_bake() -> None:
    after = judge(state(checks=1), seen(endpointStatus="Updating", weightsApplied=False), ROLLOUT)
    assert (after.verdict, after.decision, after.checks, after.pendingChecks) == ("PENDING", "WAIT", 1, 1)


def test_weights_that_never_apply_roll_back() -> None:
    after = judge(state(pendingChecks=10), seen(endpointStatus="Updating", weightsApplied=False), ROLLOUT)
    assert after.decision == "ROLLBACK"


def test_strategy_config_rejects_unknown_monitor_keys() -> None:
    with pytest.raises(ValidationError):
        StrategyConfig.model_validate({"monitor": {"failOnViolation": True}})


# --- metrics that CloudWatch has not published yet -------------------------------------------------
# "with slightly delayed publishing, the most recent minute never has data"
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html, FILL): when
# a bake ends, its last minute is not in CloudWatch yet; neither the alarms nor the count saw it.
def test_the_verdict_waits_for_the_bakes_last_minute_to_be_published() -> None:
    late = seen(metricsThrough="2026-01-01T00:03:00+00:00", checkedAt="2026-01-01T00:04:10+00:00")
    after = judge(state(checks=1), late, ROLLOUT)
    assert (after.decision, after.checks, after.pendingChecks) == ("WAIT", 1, 1)
    assert after.awaitingMetricsThrough == "2026-01-01T00:04:00+00:00"
    assert "waiting for them through 2026-01-01T00:04:00+00:00" in after.reasons[0]
    # a check later the minute is published: the step is judged (the wait did not count as bake)
    published = seen(metricsThrough="2026-01-01T00:05:00+00:00", checkedAt="2026-01-01T00:06:10+00:00")
    judged = judge(after, published, ROLLOUT)
    assert (judged.decision, judged.nextStepIndex) == ("NEXT_STEP", 1)


def test_an_alarm_rolls_back_while_the_verdict_waits_for_metrics() -> None:
    waiting = state(checks=1, pendingChecks=1, awaitingMetricsThrough="2026-01-01T00:04:00+00:00")
    alarms = [{"name": "a", "state": "ALARM", "reason": "Threshold Crossed"}]
    assert judge(waiting, seen(alarms=alarms), ROLLOUT).decision == "ROLLBACK"


def test_metrics_already_published_or_absent_need_no_wait() -> None:
    current = seen(metricsThrough="2026-01-01T00:04:00+00:00", checkedAt="2026-01-01T00:04:10+00:00")
    assert judge(state(checks=1), current, ROLLOUT).decision == "NEXT_STEP"
    no_traffic = seen(candidateInvocations=0, metricsThrough=None, checkedAt="2026-01-01T00:04:10+00:00")
    assert judge(state(checks=3, extensionsUsed=2), no_traffic, ROLLOUT).decision == "ROLLBACK"


def test_the_wait_for_metrics_is_bounded_by_the_pending_checks() -> None:
    late = seen(metricsThrough="2026-01-01T00:03:00+00:00", checkedAt="2026-01-01T00:04:10+00:00")
    exhausted = state(checks=1, pendingChecks=MAX_PENDING_CHECKS)
    assert judge(exhausted, late, ROLLOUT).decision == "NEXT_STEP"  # judged on what is published


# --- withdrawn and preempted candidates ------------------------------------------------------------
def test_a_withdrawn_candidate_rolls_back_at_its_next_check_whatever_the_endpoint_does() -> None:
    applying = seen(candidateApproval="Rejected", weightsApplied=False)
    for observed in (seen(candidateApproval="Rejected"), applying):
        after = judge(state(), observed, ROLLOUT)
        assert (after.verdict, after.decision) == ("WITHDRAWN", "ROLLBACK")
        assert after.reasons[0].startswith("WITHDRAWN: ")
        assert after.history and "WITHDRAWN" in after.history[-1]
    assert judge(state(), seen(candidateApproval="Approved"), ROLLOUT).decision == "WAIT"


def test_a_newer_approval_preempts_the_rollout() -> None:
    newer = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/7"
    after = judge(state(checks=1), seen(candidateApproval="Approved", preemptedBy=newer), ROLLOUT)
    assert (after.verdict, after.decision) == ("PREEMPTED", "ROLLBACK")
    assert after.reasons == ["PREEMPTED by v7: churn/7 is approved and deploys next"]


def test_an_operators_abort_rolls_back_at_the_next_check_naming_it() -> None:
    command = {"command": "abort", "at": "2026-01-01T00:05:00+00:00", "reason": "drill"}
    after = judge(state(), seen(operator=command), ROLLOUT)
    assert (after.verdict, after.decision) == ("OPERATOR", "ROLLBACK")
    assert after.reasons == ["ABORTED by operator, sent 2026-01-01T00:05:00+00:00 (drill)"]


def test_an_operators_promote_ends_the_bake_and_promote_full_promotes_at_once() -> None:
    after = judge(state(), seen(operator={"command": "promote"}), ROLLOUT)
    assert (after.decision, after.nextStepIndex) == ("NEXT_STEP", 1)
    last = judge(state(stepIndex=1, percent=50), seen(operator={"command": "promote"}), ROLLOUT)
    assert last.decision == "PROMOTE"
    full = judge(state(), seen(operator={"command": "promote-full"}), ROLLOUT)
    assert (full.verdict, full.decision) == ("OPERATOR", "PROMOTE")
    assert full.reasons[0].startswith("PROMOTED by operator")


def test_an_operators_full_promotion_overrides_the_judge_as_argo_rollouts_promote_full_does() -> None:
    alarms = [{"name": "a", "state": "ALARM", "reason": "x"}]
    after = judge(state(), seen(alarms=alarms, operator={"command": "promote-full"}), ROLLOUT)
    assert after.decision == "PROMOTE"
