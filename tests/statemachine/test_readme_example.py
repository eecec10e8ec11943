"""The scenario example in README.md runs as written and every expectation in it holds."""

from __future__ import annotations

import re
from pathlib import Path

from localcloud.scenario.contract import load_scenario
from localcloud.scenario.runner import Runner

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_scenario() -> str:
    """The YAML block of the section "Rehearse locally" that defines a scenario."""
    section = README.read_text().split("## Rehearse locally", 1)[1]
    blocks = re.findall(r"```yaml\n(.*?)```", section, flags=re.DOTALL)
    (scenario,) = [block for block in blocks if block.startswith("name:")]
    return scenario


def test_the_readme_scenario_example_runs_as_written(tmp_path: Path) -> None:
    path = tmp_path / "readme-example.yaml"
    path.write_text(readme_scenario())
    rehearsal = Runner(load_scenario(path), path).run()
    failed = [c for c in rehearsal.report["checks"] if not c["ok"]]
    assert rehearsal.ok, failed
    assert rehearsal.report["checked"] >= 10
