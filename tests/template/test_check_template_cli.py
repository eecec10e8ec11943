"""tools/check_template.py, as `make validate` runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.template.helpers import REPO

CLI = REPO / "tools" / "check_template.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CLI), *args], capture_output=True, text=True, cwd=REPO, check=False, timeout=60
    )


def test_real_template_passes_with_a_one_line_summary() -> None:
    result = run()
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("\n") == 1
    assert "pass 6 checks" in result.stdout


def test_broken_copy_prints_each_problem_and_exits_1(tmp_path: Path) -> None:
    for folder in ("functions", "layers", "statemachines"):
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "template.yaml", tmp_path / "template.yaml")
    asl_path = tmp_path / "statemachines" / "deploy_model.asl.json"
    asl = json.loads(asl_path.read_text())
    asl["States"]["Capture request"]["Next"] = "Nowhere"
    asl["States"]["Create endpoint"]["Catch"][0]["ErrorEquals"] = ["NoSuchError"]
    asl_path.write_text(json.dumps(asl))

    result = run("--template", str(tmp_path / "template.yaml"))

    assert result.returncode == 1
    assert "[ASL structure] statemachines/deploy_model.asl.json: state 'Capture request': Next 'Nowhere'" in (
        result.stdout
    )
    assert (
        "[error contract] statemachines/deploy_model.asl.json: ErrorEquals names 'NoSuchError'"
        in result.stdout
    )
    assert "problem(s)" in result.stderr


def test_missing_template_exits_2(tmp_path: Path) -> None:
    result = run("--template", str(tmp_path / "template.yaml"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr
