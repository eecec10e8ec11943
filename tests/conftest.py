"""Shared fixtures: events loaded by name, caches cleared between tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smdeploy.adapters import aws

REPO = Path(__file__).resolve().parent.parent


def load_event(name: str) -> Any:
    """An event from ``events/`` (the same files ``sam local invoke -e`` would use)."""
    return json.loads((REPO / "events" / name).read_text())


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    aws.reset_clients()
    yield
    aws.reset_clients()
