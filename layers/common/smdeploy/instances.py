"""SageMaker real-time inference instance types and their on-demand prices, shipped with the project.

The data lives next to this module in ``data/instance_prices.json`` (the layer directory is shipped
as it is, so the file travels with the code to Lambda). It holds:

- ``realtimeInstanceTypes``: every instance type SageMaker offers for real-time inference, i.e. the
  values of the ``ProductionVariantInstanceType`` enum of the SageMaker service model (botocore),
  copied with the botocore version it came from. ``ml.t3.*`` is not among them: those serve
  notebooks and processing jobs, never an endpoint.
- ``prices``: the on-demand price per instance-hour of real-time inference in us-east-1, from the
  SageMaker pricing page (``PRICES_SOURCE``, read ``PRICES_DATE``), each with where its figure was
  found. A type with no sourced figure has no price here (``price_per_hour`` gives ``None``): no
  price is ever guessed.

Pure: no AWS call, no environment; the file is read once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).with_name("data") / "instance_prices.json"


def _load() -> dict[str, Any]:
    with DATA_FILE.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


_DATA = _load()

PRICES_SOURCE: str = str(_DATA["source"])
PRICES_DATE: str = str(_DATA["read"])  # ISO date the figures were read
PRICES_REGION: str = str(_DATA["region"])
REALTIME_PRICES: dict[str, float] = {
    instance_type: float(entry["usd"]) for instance_type, entry in _DATA["prices"].items()
}
REALTIME_INSTANCE_TYPES: frozenset[str] = frozenset(_DATA["realtimeInstanceTypes"]["types"])


def is_realtime_instance(instance_type: str) -> bool:
    """Whether SageMaker offers ``instance_type`` for real-time inference (a production variant)."""
    return instance_type in REALTIME_INSTANCE_TYPES


def price_per_hour(instance_type: str) -> float | None:
    """The on-demand USD price of one ``instance_type`` instance-hour of real-time inference in
    ``PRICES_REGION``, or ``None`` when the project ships no sourced price for it."""
    return REALTIME_PRICES.get(instance_type)
