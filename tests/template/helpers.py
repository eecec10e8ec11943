"""Paths and small helpers shared by the template-check tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from localcloud.engine.template import TEMPLATE_PATH

REPO = TEMPLATE_PATH.parent
DEPLOY_ASL = REPO / "statemachines" / "deploy_model.asl.json"


def write_json(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2))
    return path
