"""The convergence matrix: every way a rollout can be interrupted, and every one must converge.

For each rollout path (a first deployment, a canary promotion, a canary rollback, a guardrails
rollout and a withdrawal) and each update speed (2 minutes, and 15 minutes as SageMaker often
takes), a reference rehearsal lists what the control plane does: the AWS calls it makes, the
Lambda functions its Tasks invoke, and the moments its execution enters a state. Then one run per
cell, each with exactly one thing going wrong:

- ``before``: the call fails without effect (InternalFailure, then ValidationException);
- ``lost-response``: the call takes effect and its answer is lost (the caller sees an error);
- ``timeout``: a Task's function runs to completion and then times out (``Sandbox.Timedout``),
  so the state machine sees a failure after the side effect;
- ``stop``: an operator stops the execution at the moment it enters each of its states.

Every run must end converged (:mod:`localcloud.scenario.consistency`): all executions ended and
recorded, one version serving from one config, the lock free, nothing orphaned; and the version
that serves is the one the rollout's recorded outcome names. The matrix size and the number of
runs that held are printed; all must hold. The worst time from a stop to a converged endpoint is
printed too (virtual seconds).

The full matrix takes minutes: it is marked ``matrix`` and runs with ``make matrix`` (CI runs it
after ``make test``); ``make test`` runs one slice of it (stops during a canary rollback).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from localcloud.scenario import consistency
from tests.statemachine.helpers import rehearse
from tests.statemachine.test_fault_matrix import SCENARIO_CALLS as REGISTRY_CALLS

PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/{}"
ENDPOINT = "churn-prod"
ASL = Path(__file__).resolve().parents[2] / "statemachines" / "deploy_model.asl.json"
# The registry and console calls the scenario makes itself: faults there test the scenario.
SCENARIO_CALLS = REGISTRY_CALLS | {"states:StopExecution"}
CANARY = {"type": "canary", "steps": [50], "bakeMinutes": 3, "checkIntervalSeconds": 60, "minInvocations": 10}
GUARDRAILS = {
    "type": "guardrails-canary",
    "canaryPercent": 20,
    "bakeMinutes": 3,
    "terminationWaitMinutes": 1,
}


@dataclass(frozen=True)
class Path_:
    """One rollout path: the scenario around it and which execution is the rollout under test."""

    name: str
    strategy: dict[str, Any]
    candidate_error_rate: float
    starts_at: float  # when the rollout under test begins (faults are armed from then)
    timeline: tuple[dict[str, Any], ...]
    rollout: int  # the execution number of the rollout under test
    candidate: int  # the version it deploys
    baseline: int | None  # the version serving before it (None: first deployment)
    extra: dict[str, Any] = field(default_factory=dict)


TWO_APPROVALS = (
    {"at": 0, "approve": {"group": "churn", "version": 1}},
    {"at": 300, "approve": {"group": "churn", "version": 2}},
)
PATHS = {
    "first-deploy": Path_(
        "first-deploy",
        CANARY,
        0.001,
        0.0,
        ({"at": 0, "approve": {"group": "churn", "version": 1}},),
        1,
        1,
        None,
    ),
    "canary-promote": Path_(
        "canary-promote",
        CANARY,
        0.001,
        300.0,
        TWO_APPROVALS,
        2,
        2,
        1,
    ),
    "canary-rollback": Path_(
        "canary-rollback",
        CANARY,
        0.3,
        300.0,
        TWO_APPROVALS,
        2,
        2,
        1,
    ),
    "guardrails": Path_(
        "guardrails",
        GUARDRAILS,
        0.001,
        300.0,
        TWO_APPROVALS,
        2,
        2,
        1,
    ),
    # churn/2 promoted, then withdrawn: the withdrawal execution restores churn/1.
    "withdrawal": Path_(
        "withdrawal",
        CANARY,
        0.001,
        3000.0,
        (*TWO_APPROVALS, {"at": 3000, "reject": {"group": "churn", "version": 2}}),
        3,
        1,
        2,
    ),
}
SPEEDS = {"fast": 120, "slow": 900}
GOOD = {"DEPLOYED", "PROMOTED"}


def scenario(
    path: Path_, update_seconds: int, faults: list[dict[str, Any]], stop_at: float | None
) -> dict[str, Any]:
    timeline = list(path.timeline)
    if stop_at is not None:
        timeline.append({"at": stop_at, "stop": {"execution": path.rollout}})
    return {
        "name": f"convergence matrix: {path.name}",
        "groups": {"churn": {"endpoint": ENDPOINT, "strategy": path.strategy}},
        "models": {
            "churn/1": {"errorRate": 0.001},
            "churn/2": {"errorRate": path.candidate_error_rate if path.candidate == 2 else 0.001},
        },
        "simulation": {
            "endpointCreateSeconds": update_seconds,
            "endpointUpdateSeconds": update_seconds,
            "requestsPerMinute": 600,
        },
        "faults": faults,
        "timeline": sorted(timeline, key=lambda step: step["at"]),
    }


def problems(report: dict[str, Any], path: Path_) -> list[str]:
    """Convergence, and the version serving is the one the rollout's recorded outcome names."""
    found = consistency.problems(report, ENDPOINT)
    executions = report["executions"]
    if len(executions) < path.rollout:
        return [*found, f"the rollout (execution {path.rollout}) never started"]
    outcome = executions[path.rollout - 1]["outcome"]
    endpoint = report["endpoints"].get(ENDPOINT)
    serving = {v["modelPackageArn"] for v in endpoint["variants"] if v["weight"] > 0} if endpoint else set()
    expected = path.candidate if outcome in GOOD else path.baseline
    wanted = {PACKAGE.format(expected)} if expected is not None else set()
    if serving != wanted:
        found.append(f"outcome {outcome} but serving {sorted(serving) or 'nothing'}")
    return found


@dataclass
class Cell:
    label: str
    faults: list[dict[str, Any]]
    stop_at: float | None = None


def cells(tmp_path: Path, path: Path_, update_seconds: int, kinds: tuple[str, ...]) -> list[Cell]:
    """The runs of one (path, speed): from a reference rehearsal without faults."""
    reference = rehearse(tmp_path, scenario(path, update_seconds, [], None)).report
    assert not problems(reference, path), problems(reference, path)
    calls = sorted(c for c in reference["controlPlaneApiCalls"] if c not in SCENARIO_CALLS)
    rollout = reference["executions"][path.rollout - 1]
    tasks = sorted({f"lambda:{name}" for name in _task_functions(reference, path)})
    out: list[Cell] = []
    after = path.starts_at
    if "before" in kinds:
        out += [
            Cell(f"{call} x {error}", [{"call": call, "error": error, "times": 1, "after": after}])
            for call in calls
            for error in ("InternalFailure", "ValidationException")
        ]
    if "lost-response" in kinds:
        out += [
            Cell(
                f"{call} x lost response",
                [
                    {
                        "call": call,
                        "error": "InternalFailure",
                        "times": 1,
                        "after": after,
                        "mode": "lost-response",
                    }
                ],
            )
            for call in calls
        ]
    if "timeout" in kinds:
        out += [
            Cell(
                f"{task} x timeout after effect",
                [
                    {
                        "call": task,
                        "error": "Sandbox.Timedout",
                        "times": 1,
                        "after": after,
                        "mode": "lost-response",
                    }
                ],
            )
            for task in tasks
        ]
    if "stop" in kinds:
        moments = sorted({round(s["at"], 3) for s in rollout["states"]})
        out += [Cell(f"stop at {t + 1:g} s", [], t + 1.0) for t in moments if t + 1.0 < rollout["stoppedAt"]]
    return out


def _task_functions(report: dict[str, Any], path: Path_) -> set[str]:
    """The functions the rollout's Task states invoked (``${XFunctionArn}`` -> ``XFunction``)."""
    states = json.loads(ASL.read_text())["States"]
    entered = {s["name"] for s in report["executions"][path.rollout - 1]["states"]}
    resources = {str(states[name].get("Resource", "")) for name in entered if name in states}
    return {r[2:-4] for r in resources if r.startswith("${") and r.endswith("Arn}")}


def run_matrix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], path: Path_, speed: str, kinds: tuple[str, ...]
) -> None:
    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    todo = cells(reference_dir, path, SPEEDS[speed], kinds)
    failures, worst_stop = [], 0.0
    for index, cell in enumerate(todo):
        run_dir = tmp_path / f"run-{index}"
        run_dir.mkdir()
        report = rehearse(run_dir, scenario(path, SPEEDS[speed], cell.faults, cell.stop_at)).report
        found = problems(report, path)
        if found:
            failures.append(f"{cell.label}: {'; '.join(found)}")
        if cell.stop_at is not None:
            ended = [e["stoppedAt"] for e in report["executions"] if e["stoppedAt"] is not None]
            worst_stop = max(worst_stop, max(ended) - cell.stop_at)
    held = len(todo) - len(failures)
    line = f"{path.name}/{speed} {'+'.join(kinds)}: {len(todo)} runs, {held} held"
    if "stop" in kinds:
        line += f"; worst stop -> converged {worst_stop:.0f} s"
    with capsys.disabled():
        print(f"\nconvergence matrix {line}")
    results = os.environ.get("MATRIX_RESULTS")
    if results:  # `make matrix` sums the cells up (pytest-xdist workers print nothing)
        record = {"cell": f"{path.name}/{speed}/{'+'.join(kinds)}", "runs": len(todo), "held": held}
        if "stop" in kinds:
            record["worstStopToConvergedSeconds"] = worst_stop
        with open(results, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
    assert not failures, "\n".join(failures)


ALL_KINDS = ("before", "lost-response", "timeout", "stop")


@pytest.mark.matrix
@pytest.mark.parametrize("speed", sorted(SPEEDS))
@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("name", sorted(PATHS))
def test_every_interruption_converges(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, kind: str, speed: str
) -> None:
    run_matrix(tmp_path, capsys, PATHS[name], speed, (kind,))


def test_a_canary_rollback_stopped_at_any_state_converges(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The slice of the matrix `make test` runs; `make matrix` runs all of it.
    run_matrix(tmp_path, capsys, PATHS["canary-rollback"], "fast", ("stop",))
