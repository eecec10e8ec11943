"""Build and run scenarios from Python for state machine tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from localcloud.scenario.contract import load_scenario
from localcloud.scenario.runner import Rehearsal, Runner


def rehearse(tmp_path: Path, scenario: dict[str, Any]) -> Rehearsal:
    """Write ``scenario`` to a file and rehearse it exactly as ``smdeploy simulate`` would."""
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    return Runner(load_scenario(path), path).run()


def execution(rehearsal: Rehearsal, number: int = 1) -> dict[str, Any]:
    return dict(rehearsal.report["executions"][number - 1])


PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/{}"
