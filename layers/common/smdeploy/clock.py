"""The one place deployed code reads the time (a seam the local cloud sets to its virtual clock)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


def _system_now() -> datetime:
    return datetime.now(UTC)


_now: Callable[[], datetime] = _system_now


def utcnow() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return _now()


def set_source(source: Callable[[], datetime] | None) -> None:
    """Read the time from ``source`` from now on; ``None`` goes back to the system clock."""
    global _now
    _now = source or _system_now
