"""What the CLI says: scenario errors are exit 2 naming the key, never a traceback, and a scenario
without ``expect`` says that nothing was checked (issue 11, item 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.statemachine.helpers import CliRun, run_cli

REPO = Path(__file__).resolve().parents[2]


def simulate(scenario: Path, *args: str) -> CliRun:
    return run_cli("simulate", str(scenario), *args)


@pytest.mark.parametrize(
    ("step", "key"),
    [
        ("{at: 0, event: broken.json}", "timeline[0].event"),
        ("{at: 0, start: {stateMachine: deplyo}}", "timeline[0].start.stateMachine"),
        ("{at: 0, stop: {execution: 1}}", "timeline[0].stop.execution"),  # found while rehearsing
    ],
)
def test_scenario_errors_are_exit_2_naming_the_key_without_a_traceback(
    tmp_path: Path, step: str, key: str
) -> None:
    (tmp_path / "broken.json").write_text('{"source": "aws.sagemaker", "detail-type": ')
    scenario = tmp_path / "x.yaml"
    scenario.write_text(f"name: x\ntimeline: [{step}]\n")
    done = simulate(scenario)
    assert done.returncode == 2, done.stderr
    assert f"{scenario}: {key}: " in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_scenario_without_expect_says_in_json_that_nothing_was_checked(tmp_path: Path) -> None:
    scenario = tmp_path / "x.yaml"
    scenario.write_text("name: x\ntimeline: [{at: 0, register: {group: churn, version: 1}}]\n")
    done = simulate(scenario, "--json")
    report = json.loads(done.stdout)
    assert (done.returncode, report["checked"], report["checks"]) == (0, 0, [])
    assert report["warning"] == "the scenario has no expect: nothing was checked"
