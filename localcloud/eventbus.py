"""The local default event bus: routes events with the rule patterns written in template.yaml.

Rules target state machines (an execution starts at once) or functions (an asynchronous
invocation, queued at the current virtual time); a rule whose ``State`` is ``DISABLED`` matches
nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.events.models import EventPattern

from localcloud.template import RuleSpec


@dataclass
class Delivery:
    at: float
    event: dict[str, Any]
    matched_rules: list[str] = field(default_factory=list)


class LocalEventBus:
    def __init__(
        self,
        rules: list[RuleSpec],
        deliver: Callable[[RuleSpec, dict[str, Any]], None],
        now: Callable[[], float],
        now_iso: Callable[[], str],
        account: str,
        region: str,
    ) -> None:
        self._rules = [(rule, EventPattern.load(json.dumps(rule.pattern))) for rule in rules if rule.enabled]
        self._deliver = deliver
        self._now = now
        self._now_iso = now_iso
        self._account = account
        self._region = region
        self.deliveries: list[Delivery] = []

    def envelope(
        self, source: str, detail_type: str, detail: dict[str, Any], resources: list[str]
    ) -> dict[str, Any]:
        """An event as EventBridge delivers it to a target."""
        return {
            "version": "0",
            "id": str(uuid.UUID(int=len(self.deliveries) + 1)),
            "detail-type": detail_type,
            "source": source,
            "account": self._account,
            "time": self._now_iso(),
            "region": self._region,
            "resources": resources,
            "detail": detail,
        }

    def put(self, event: dict[str, Any]) -> Delivery:
        """Match ``event`` against every rule and deliver it to each matching rule's target."""
        delivery = Delivery(at=self._now(), event=event)
        for rule, pattern in self._rules:
            if pattern.matches_event(event):  # type: ignore[arg-type]
                delivery.matched_rules.append(rule.name)
                self._deliver(rule, event)
        self.deliveries.append(delivery)
        return delivery
