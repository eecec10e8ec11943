"""An A/B test's looks in the rehearsal report: every look in the JSON, a readable few in the timeline."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from localcloud.engine.cloud import LocalCloud
from localcloud.scenario.report import LOOK_LINES, shown_looks, verdict_lines
from localcloud.scenario.runner import JUDGE_STATE, _verdicts

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def experiment(look: int, decision: str = "CONTINUE") -> dict[str, Any]:
    return {
        "looks": look,
        "pValue": 0.5 / look,
        "decision": decision,
        "baselineSamples": 1000.0 * look,
        "candidateSamples": 1000.0 * look,
        "baselineEstimate": 0.030,
        "candidateEstimate": 0.033,
        "relativeEffect": 0.1,
        "relCiLow": -0.2 / look,
        "relCiHigh": 0.4 / look,
        "summary": f"look {look}: Conversion 3.00% vs 3.30% (+10.0%), n={1000 * look}/{1000 * look}: "
        + decision,
    }


def look_verdict(look: int, *, decisive: bool = False) -> dict[str, Any]:
    state = experiment(look, "CANDIDATE_WINS" if decisive else "CONTINUE")
    return {
        "at": 3600.0 + 300 * look,
        "step": 1,
        "percent": 50.0,
        "verdict": "CANDIDATE_WINS" if decisive else "TESTING",
        "decision": "PROMOTE" if decisive else "WAIT",
        "reasons": [state["summary"]],
        "look": look,
        "experiment": state,
    }


def ab_execution(looks: int) -> dict[str, Any]:
    return {
        "name": "exec-0002",
        "verdicts": [look_verdict(n, decisive=n == looks) for n in range(1, looks + 1)],
    }


def test_every_look_is_shown_when_they_fit() -> None:
    assert shown_looks(0) == []
    assert shown_looks(LOOK_LINES) == list(range(LOOK_LINES))


def test_a_long_test_shows_the_first_looks_evenly_spaced_ones_and_the_last() -> None:
    shown = shown_looks(40)

    assert len(shown) == LOOK_LINES - 1  # one line is left for the note
    assert shown[:3] == [0, 1, 2]
    assert shown[-1] == 39
    assert shown == sorted(set(shown))
    gaps = [b - a for a, b in itertools.pairwise(shown[3:-1])]
    assert max(gaps) - min(gaps) <= 1  # evenly spaced


def test_the_timeline_collapses_a_long_test_to_twelve_lines_at_the_looks_times() -> None:
    ex = ab_execution(40)

    lines = verdict_lines(ex)

    assert len(lines) <= LOOK_LINES
    texts = [text for _, _, text in lines]
    assert any(text.startswith("test       exec-0002 look 1: Conversion") for text in texts)
    assert texts[-1].startswith("verdict    exec-0002 step 1 (50%): CANDIDATE_WINS -> PROMOTE: look 40:")
    (note,) = [text for text in texts if "looks in all" in text]
    assert "40 looks in all, 11 shown" in note and "--json" in note
    by_look = {v["look"]: v["at"] for v in ex["verdicts"]}
    for at, _, text in lines:
        if " look " in text and "looks in all" not in text:
            number = int(text.split(" look ", 1)[1].split(":", 1)[0])
            assert at == by_look[number]
    # the note sits where the first skipped look was, before the look shown there
    assert [t for t, _, text in lines if "looks in all" in text] == [by_look[4]]


def test_a_short_test_shows_every_look_without_a_note() -> None:
    lines = verdict_lines(ab_execution(5))

    texts = [text for _, _, text in lines]
    assert len(texts) == 5
    assert not any("looks in all" in text for text in texts)
    assert texts[0] == "test       exec-0002 " + experiment(1)["summary"]


def test_canary_verdicts_keep_their_line() -> None:
    ex = {
        "name": "exec-0002",
        "verdicts": [
            {
                "at": 4620.0,
                "step": 1,
                "percent": 10.0,
                "verdict": "HEALTHY",
                "decision": "NEXT_STEP",
                "reasons": ["570 candidate invocations at 10% (need 100)", "no alarm"],
            }
        ],
    }

    assert verdict_lines(ex) == [
        (
            4620.0,
            5.2,
            "verdict    exec-0002 step 1 (10%): HEALTHY -> NEXT_STEP: "
            "570 candidate invocations at 10% (need 100); no alarm",
        )
    ]


def judge_exit(at: float, judgement: dict[str, Any]) -> dict[str, Any]:
    return {
        "timestamp": EPOCH + timedelta(seconds=at),
        "stateExitedEventDetails": {"name": JUDGE_STATE, "output": json.dumps({"judgement": judgement})},
    }


def test_verdicts_carry_every_look_of_a_test_with_its_state() -> None:
    cloud = cast(LocalCloud, SimpleNamespace(scheduler=SimpleNamespace(epoch=EPOCH)))
    base = {"stepIndex": 0, "percent": 50.0, "shiftedAt": "2026-01-01T01:00:00+00:00"}
    history = [
        {"timestamp": EPOCH, "stateEnteredEventDetails": {"name": JUDGE_STATE}},
        judge_exit(3900, base | {"verdict": "TESTING", "decision": "WAIT", "experiment": experiment(1)}),
        judge_exit(4200, base | {"verdict": "TESTING", "decision": "WAIT", "experiment": experiment(2)}),
        # the deadline waits for CloudWatch: the same look, not a new one
        judge_exit(4260, base | {"verdict": "TESTING", "decision": "WAIT", "experiment": experiment(2)}),
        judge_exit(
            4500,
            base
            | {
                "verdict": "NO_DIFFERENCE",
                "decision": "ROLLBACK",
                "reasons": ["look 3: ..."],
                "experiment": experiment(3, "NO_DIFFERENCE"),
            },
        ),
    ]

    verdicts = _verdicts(cloud, history)

    assert [(v["at"], v["look"], v["decision"]) for v in verdicts] == [
        (3900.0, 1, "WAIT"),
        (4200.0, 2, "WAIT"),
        (4500.0, 3, "ROLLBACK"),
    ]
    assert verdicts[2]["experiment"]["decision"] == "NO_DIFFERENCE"
    assert verdicts[0]["experiment"] == experiment(1)


def test_verdicts_of_a_canary_skip_its_waiting_checks() -> None:
    cloud = cast(LocalCloud, SimpleNamespace(scheduler=SimpleNamespace(epoch=EPOCH)))
    base = {"stepIndex": 0, "percent": 10.0, "shiftedAt": "2026-01-01T01:00:00+00:00"}
    history = [
        judge_exit(3720, base | {"verdict": "INCONCLUSIVE", "decision": "WAIT", "reasons": ["few"]}),
        judge_exit(4200, base | {"verdict": "HEALTHY", "decision": "NEXT_STEP", "reasons": ["ok"]}),
    ]

    (verdict,) = _verdicts(cloud, history)

    assert verdict == {
        "at": 4200.0,
        "step": 1,
        "percent": 10.0,
        "verdict": "HEALTHY",
        "decision": "NEXT_STEP",
        "reasons": ["ok"],
    }
