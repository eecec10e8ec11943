"""The plan refuses strategies whose worst case would pass Step Functions' 25,000 history events."""

from __future__ import annotations

import pytest

from smdeploy.errors import InvalidRequest
from smdeploy.plan import resolve_strategy
from smdeploy.strategy import (
    EVENTS_PER_CHECK,
    EVENTS_PER_STEP,
    HISTORY_EVENT_LIMIT,
    MAX_PENDING_CHECKS,
    StrategyConfig,
    resolve_rollout,
    worst_case_history_events,
)


def test_the_worst_case_counts_every_check_extension_and_pending_check_of_each_step() -> None:
    rollout = resolve_rollout(
        StrategyConfig(
            type="canary", steps=[10, 50], bakeMinutes=10, checkIntervalSeconds=120, maxExtensions=2
        )
    )
    one_more_step = resolve_rollout(
        StrategyConfig(
            type="canary", steps=[10, 50, 90], bakeMinutes=10, checkIntervalSeconds=120, maxExtensions=2
        )
    )
    checks = 5 + 2 + MAX_PENDING_CHECKS  # 10 min / 120 s, two extensions, checks while weights apply
    added = worst_case_history_events(one_more_step) - worst_case_history_events(rollout)
    assert added == EVENTS_PER_STEP + checks * EVENTS_PER_CHECK


def test_a_default_canary_is_far_below_the_limit() -> None:
    assert worst_case_history_events(resolve_rollout(StrategyConfig())) < HISTORY_EVENT_LIMIT // 10


def test_a_long_linear_rollout_checked_every_minute_is_refused_naming_the_strategy() -> None:
    with pytest.raises(InvalidRequest) as refused:
        resolve_strategy(
            [{"type": "linear", "linearSteps": 10, "bakeMinutes": 1440, "checkIntervalSeconds": 60}]
        )
    assert refused.value.field == "strategy"
    assert "25,000 per execution" in refused.value.problem


def test_the_same_rollout_checked_hourly_is_accepted() -> None:
    rollout = resolve_strategy(
        [{"type": "linear", "linearSteps": 10, "bakeMinutes": 1440, "checkIntervalSeconds": 3600}]
    )
    assert worst_case_history_events(rollout) <= HISTORY_EVENT_LIMIT


def test_guardrails_rollouts_are_not_bounded_by_the_bake_loop() -> None:
    """SageMaker shifts the traffic itself: the state machine only polls the endpoint."""
    rollout = resolve_strategy([{"type": "guardrails-linear", "linearSteps": 10, "bakeMinutes": 60}])
    assert rollout.guardrails is not None
