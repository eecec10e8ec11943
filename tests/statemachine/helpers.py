"""Build and run scenarios from Python for state machine tests."""

from __future__ import annotations

import contextlib
import functools
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from localcloud.scenario.contract import load_scenario
from localcloud.scenario.runner import Rehearsal, Runner


def rehearse(tmp_path: Path, scenario: dict[str, Any]) -> Rehearsal:
    """Write ``scenario`` to a file and rehearse it exactly as ``smdeploy simulate`` would."""
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    return Runner(load_scenario(path), path).run()


REPO = Path(__file__).resolve().parents[2]
REPOSITORY_SCENARIOS = REPO / "scenarios"


@dataclass(frozen=True)
class CliRun:
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> CliRun:
    """``smdeploy ARGS`` from the repository's root, in this process: the console script's own
    ``main``, its exit code and what it printed (a process per call would cost seconds of imports;
    ``test_cli.py`` keeps the real entry point under test)."""
    from localcloud.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(REPO), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse refusing the arguments
            code = exc.code if isinstance(exc.code, int) else 2
    return CliRun(code, out.getvalue(), err.getvalue())


@functools.cache
def repository_rehearsal(name: str) -> Rehearsal:
    """``scenarios/<name>.yaml`` rehearsed as ``smdeploy simulate`` runs it, once per test process.

    The tests that read the same scenario unchanged share one rehearsal (a rehearsal is only read);
    mark them :func:`same_scenario` so that pytest-xdist (``--dist loadgroup``) runs them in one
    process.
    """
    path = REPOSITORY_SCENARIOS / f"{name}.yaml"
    return Runner(load_scenario(path), path).run()


def same_scenario(name: str) -> pytest.MarkDecorator:
    """The mark of the tests that read :func:`repository_rehearsal` of ``name``."""
    return pytest.mark.xdist_group(f"scenario-{name}")


def execution(rehearsal: Rehearsal, number: int = 1) -> dict[str, Any]:
    return dict(rehearsal.report["executions"][number - 1])


PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/{}"
