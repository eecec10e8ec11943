"""Fresh, mutable copies of the real template and ASL for the template checks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localcloud.engine.template import TEMPLATE_PATH, load_yaml
from tests.template.helpers import DEPLOY_ASL


@pytest.fixture
def template() -> dict[str, Any]:
    """template.yaml as parsed by the checks; each test gets its own copy to break."""
    return load_yaml(TEMPLATE_PATH)


@pytest.fixture
def deploy_asl() -> dict[str, Any]:
    """statemachines/deploy_model.asl.json; each test gets its own copy to break."""
    definition: dict[str, Any] = json.loads(DEPLOY_ASL.read_text())
    return definition
