"""Event-driven waits (group config ``waits: events``) against polling, on the same rollout.

``scenarios/canary-rollback.yaml`` rehearsed both ways: with events, the candidate's alarm going to
ALARM wakes the bake at once, so the baseline is back at 100 % within the weight update plus 15 s
(the issue's bar) instead of up to a check interval later, and the endpoint waits end on the
endpoint's state changes instead of polls, in fewer state transitions.
"""

from __future__ import annotations

import contextlib
import io
from functools import cache
from pathlib import Path
from typing import Any

from localcloud.scenario.contract import load_scenario
from localcloud.scenario.runner import Runner

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "canary-rollback.yaml"
WEIGHT_UPDATE_SECONDS = 30  # the simulator applies UpdateEndpointWeightsAndCapacities after 30 s


@cache
def rehearsed_file(name: str, waits: str, delivery_delay: float = 0.0) -> dict[str, Any]:
    """``scenarios/<name>.yaml`` rehearsed with every group's ``waits`` set, every event reaching
    EventBridge ``delivery_delay`` seconds after the change."""
    path = SCENARIO.parent / f"{name}.yaml"
    scenario = load_scenario(path)
    for config in scenario.groups.values():
        config["waits"] = waits
    scenario.simulation.events.delaySeconds = delivery_delay
    with contextlib.redirect_stdout(io.StringIO()):
        rehearsal = Runner(scenario, path).run()
    assert rehearsal.ok, [c for c in rehearsal.report["checks"] if not c["ok"]]
    return rehearsal.report


def rehearsed(waits: str) -> dict[str, Any]:
    return rehearsed_file(SCENARIO.stem, waits)


def reaction(report: dict[str, Any]) -> float:
    """Seconds from the candidate alarm going to ALARM until the baseline alone takes traffic."""
    alarmed = min(c["at"] for c in report["alarmStateChanges"] if c["to"] == "ALARM")
    restored = min(
        change["at"]
        for change in report["weightChanges"]
        if change["at"] >= alarmed and sorted(change["weights"].values()) in ([0.0, 1.0], [1.0])
    )
    return float(restored - alarmed)


def test_with_events_the_alarm_ends_the_bake_and_the_rollback_follows_within_the_weight_update() -> None:
    events, polling = rehearsed("events"), rehearsed("polling")

    assert reaction(events) <= WEIGHT_UPDATE_SECONDS + 15
    assert reaction(events) < reaction(polling)
    woken = [a for a in events["asyncInvocations"] if a["function"] == "WakeOnEventFunction" and a["ok"]]
    assert any((a["result"] or {}).get("by", "").startswith("alarm ") for a in woken)


def test_with_events_delivered_ten_seconds_late_the_rollback_still_meets_the_bar() -> None:
    # EventBridge delivers "typically within seconds": the alarm's event, ten seconds late, still
    # wakes the bake in time for the baseline to be back within the weight update plus 15 s.
    late = rehearsed_file(SCENARIO.stem, "events", delivery_delay=10.0)

    assert reaction(late) <= WEIGHT_UPDATE_SECONDS + 15
    assert reaction(late) >= reaction(rehearsed("events"))


def test_with_events_a_rollout_takes_fewer_state_transitions_than_with_polling() -> None:
    events, polling = rehearsed("events"), rehearsed("polling")

    assert events["executions"][-1]["transitions"] < polling["executions"][-1]["transitions"]


def test_with_polling_no_token_is_kept_and_nothing_is_woken() -> None:
    polling = rehearsed("polling")

    woken = [a for a in polling["asyncInvocations"] if a["function"] == "WakeOnEventFunction" and a["ok"]]
    assert woken and not any((a["result"] or {}).get("woke") for a in woken)


def test_with_events_an_operator_abort_is_obeyed_at_once() -> None:
    report = rehearsed_file("operator-abort", "events")

    command_at = report["cliRuns"][0]["at"]
    verdict = report["executions"][1]["verdicts"][-1]
    assert verdict["at"] == command_at  # polling obeys at the next check (up to 120 s later)


def test_with_events_a_bake_waits_out_its_time_in_fewer_looks_and_promotes_when_polling_would() -> None:
    events, polling = rehearsed_file("canary-promote", "events"), rehearsed_file("canary-promote", "polling")
    rollout_events, rollout_polling = events["executions"][1], polling["executions"][1]

    # alarms, operator commands and approval changes all wake the bake: no look is needed between
    assert rollout_events["transitions"] < 69  # the bar: today's canary took 69
    assert rollout_events["transitions"] < rollout_polling["transitions"]
    assert rollout_events["stoppedAt"] == rollout_polling["stoppedAt"]  # each step baked as long
    steps = [v for v in rollout_events["verdicts"] if v["decision"] in ("NEXT_STEP", "PROMOTE")]
    assert [v["decision"] for v in steps] == ["NEXT_STEP", "PROMOTE"]


def test_with_events_a_withdrawal_during_the_bake_rolls_back_at_once() -> None:
    report = rehearsed_file("withdrawal-during-own-canary", "events")

    rejected_at = 4300  # the scenario's timeline
    rollback = next(v for v in report["executions"][1]["verdicts"] if v["decision"] == "ROLLBACK")
    assert rollback["at"] == rejected_at  # polling sees it at the next check, up to 120 s later
    assert "WITHDRAWN" in " ".join(rollback["reasons"])
