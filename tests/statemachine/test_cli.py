"""The smdeploy CLI contract: exit codes, --json purity, scenario errors naming file and key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.statemachine.helpers import repository_rehearsal, run_cli, same_scenario

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((REPO / "scenarios").glob("*.yaml"))


def smdeploy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localcloud.cli", *args], capture_output=True, text=True, cwd=REPO, check=False
    )


@pytest.mark.parametrize(
    "scenario", [pytest.param(p.stem, id=p.stem, marks=same_scenario(p.stem)) for p in SCENARIOS]
)
def test_every_scenario_in_the_repository_passes(scenario: str) -> None:
    rehearsal = repository_rehearsal(scenario)
    failed = [c for c in rehearsal.report["checks"] if not c["ok"]]
    assert rehearsal.ok, failed
    assert rehearsal.report["checks"], "a scenario in the repository must state expectations"
    # IAM is enforced from template.yaml: the deployed stack would be allowed every call it made.
    assert rehearsal.report["iamChecks"] > 0
    assert rehearsal.report["accessDenied"] == []


def test_json_output_is_one_document_with_the_documented_keys() -> None:
    done = run_cli("simulate", "scenarios/first-deploy.yaml", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # fails if anything else was printed on stdout
    for key in (
        "ok",
        "scenario",
        "virtualSeconds",
        "wallSeconds",
        "executions",
        "endpoints",
        "transformJobs",
        "apiCalls",
        "checks",
    ):
        assert key in report
    (ex,) = report["executions"]
    for key in (
        "name",
        "stateMachine",
        "status",
        "outcome",
        "error",
        "cause",
        "transitions",
        "startedAt",
        "stoppedAt",
    ):
        assert key in ex
    assert report["endpoints"]["churn-prod"]["variants"][0]["weight"] == 1.0


def test_failed_expectation_exits_1_and_says_which(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "name: wrong\ngroups: {churn: {endpoint: churn-prod}}\n"
        "timeline: [{at: 0, approve: {group: churn, version: 1}}]\n"
        "expect: [{endpoint: churn-prod, serving: churn/2}]\n"
    )
    done = run_cli("simulate", str(scenario))
    assert done.returncode == 1
    assert "FAIL" in done.stdout and "serving" in done.stdout


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        (
            "name: x\ntimeline: [{at: 0, aprove: {group: churn, version: 1}}]\n",
            "timeline[0].aprove",
            "unknown key",
        ),
        (
            "name: x\ntimeline: [{at: -1, approve: {group: churn, version: 1}}]\n",
            "timeline[0].at",
            "greater than",
        ),
        (
            "name: x\ntimeline: [{at: 0, approve: {group: churn, version: one}}]\n",
            "timeline[0].approve.version",
            "integer",
        ),
        ("name: x\ntimeline: [{at: 0}]\n", "timeline[0]", "exactly one of"),
        ("name: x\ntimeline: [{at: 0, event: no/such/file.json}]\n", "timeline[0].event", "no such file"),
        (
            "name: x\nmodels: {churn: {}}\ntimeline: [{at: 0, register: {group: c, version: 1}}]\n",
            "models",
            "GROUP/VERSION",
        ),
        (
            "name: x\ntimeline: [{at: 0, register: {group: c, version: 1}}]\nexpect: [{endpoint: e}]\n",
            "expect[0]",
            "serving",
        ),
        ("name: [unclosed\n", "line 2", "YAML"),
        ("- just a list\n", "(top level)", "mapping"),
    ],
)
def test_bad_scenario_exits_2_naming_file_key_and_problem(
    tmp_path: Path, text: str, key: str, problem: str
) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(text)
    done = smdeploy("simulate", str(scenario), "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert f"{scenario}: {key}: " in done.stderr
    assert problem in done.stderr
