"""Staged promotion with a manual gate (group config ``stages``), rehearsed end to end.

``scenarios/staged-promotion-gate.yaml`` (approve, reject, nothing to answer) runs with every
scenario; here: a gate nobody answers, a gate a newer version supersedes, a manual deployment that
stops at its own stage, and configs that are refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from localcloud.scenario.runner import Rehearsal
from smdeploy.models import GroupConfig
from tests.statemachine.helpers import execution, rehearse

STAGES = {
    "churn": {
        "stages": [
            {"endpoint": "churn-staging"},
            {"endpoint": "churn-prod", "gate": "manual", "timeoutHours": 1},
        ]
    }
}
MODELS = {"churn/1": {"errorRate": 0.001}, "churn/2": {"errorRate": 0.001}}
SIMULATION = {"endpointCreateSeconds": 480, "endpointUpdateSeconds": 300}


def staged(tmp_path: Path, timeline: list[dict[str, Any]], **extra: Any) -> Rehearsal:
    return rehearse(
        tmp_path,
        {
            "name": "stages",
            "groups": STAGES,
            "models": MODELS,
            "simulation": SIMULATION,
            "timeline": timeline,
            **extra,
        },
    )


def gate_of(rehearsal: Rehearsal, number: int) -> dict[str, Any]:
    record = execution(rehearsal, number).get("record") or {}
    gate = record.get("gate")
    return json.loads(gate) if isinstance(gate, str) else dict(gate or {})


def test_a_gate_nobody_answers_closes_after_its_timeout_and_the_version_goes_no_further(
    tmp_path: Path,
) -> None:
    rehearsal = staged(tmp_path, [{"at": 0, "approve": {"group": "churn", "version": 1}}])

    first = execution(rehearsal, 1)
    assert (first["status"], first["outcome"], first["error"]) == ("FAILED", "DEPLOYED", "GateTimedOut")
    assert first["stoppedAt"] == 480 + 3600  # deployed to staging at 480 s, then one hour at the gate
    assert len(rehearsal.report["executions"]) == 1
    assert "churn-prod" not in rehearsal.report["endpoints"]
    subjects = [str(n.get("subject")) for n in rehearsal.report["notifications"]]
    assert any("GATE TIMED_OUT: churn-prod <- churn/1" in subject for subject in subjects), subjects


def test_a_newer_version_at_the_same_gate_supersedes_the_waiting_one(tmp_path: Path) -> None:
    rehearsal = staged(
        tmp_path,
        [
            {"at": 0, "approve": {"group": "churn", "version": 1}},
            {"at": 600, "approve": {"group": "churn", "version": 2}},
            {"at": 2400, "cli": "approve churn-prod"},
        ],
    )

    first, second = execution(rehearsal, 1), execution(rehearsal, 2)
    assert (first["status"], first["error"]) == ("FAILED", "GateSuperseded")
    assert second["status"] == "SUCCEEDED"
    assert rehearsal.report["cliRuns"][0]["exitCode"] == 0
    assert "churn/2 approved for churn-prod" in rehearsal.report["cliRuns"][0]["stdout"]


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"endpoint": "churn-prod", "stages": [{"endpoint": "a"}, {"endpoint": "b"}]}, "drop 'endpoint'"),
        ({"stages": [{"endpoint": "a"}, {"endpoint": "a"}]}, "appears twice"),
        ({"stages": [{"endpoint": "a", "gate": "manual"}, {"endpoint": "b"}]}, "stages[0].gate"),
        ({"stages": [{"endpoint": "a"}]}, "at least 2"),
        ({"stages": [{"endpoint": "a"}, {"endpoint": "b", "timeoutHours": 0}]}, "timeoutHours"),
        ({"stages": [{"endpoint": "a"}, {"endpoint": "b", "roleArn": "arn:aws:iam::1:role/x"}]}, "roleArn"),
    ],
)
def test_a_stages_config_that_cannot_work_is_refused_naming_the_problem(
    config: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        GroupConfig.model_validate(config)
    assert problem in str(refused.value)
