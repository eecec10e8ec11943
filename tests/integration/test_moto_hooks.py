"""The moto internals the local cloud patches must still exist (moto is pinned exactly)."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from localcloud.engine import moto_hooks


@pytest.mark.parametrize(("module", "attribute"), moto_hooks.HOOKS, ids=lambda v: str(v))
def test_moto_internal_still_exists(module: str, attribute: str) -> None:
    moto_hooks.resolve(module, attribute)  # raises AttributeError / ImportError when gone


def test_resolve_reports_a_missing_attribute() -> None:
    with pytest.raises(AttributeError):
        moto_hooks.resolve("moto.core.responses", "BaseResponse.no_such_method")


def test_moto_is_the_pinned_version() -> None:
    lines = Path("requirements/dev.txt").read_text().splitlines()
    pinned = next(line.split("==", 1)[1].strip() for line in lines if line.lower().startswith("moto=="))
    assert importlib.metadata.version("moto") == pinned
