"""The local default event bus: routes events with the rule patterns written in template.yaml.

Rules target state machines (an execution starts at once) or functions (an asynchronous
invocation, queued at the current virtual time); a rule whose ``State`` is ``DISABLED`` matches
nothing.

Events that AWS services emit (SageMaker, CloudWatch, the simulator's own) reach the bus the way
EventBridge delivers them when a scenario asks (``simulation.events``, :class:`EventDelivery`):

- at least once: "Durable delivery means the service will successfully attempt to deliver events
  to EventBridge at least once" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-delivery-level.html),
  so an event may arrive twice; a repeated delivery carries the same event ``id`` (``duplicate``,
  ``duplicateAfterSeconds``);
- late: when events cannot be delivered "they will be retried again later by the AWS service for
  up to 24 hours" (same page), and EventBridge retries a failed delivery to a target "for 24 hours"
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html): an event
  may arrive long after the change it reports (``delaySeconds``);
- several events per change: "SageMaker may send multiple events to EventBridge for each state
  change" (https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html):
  each registry change emits ``registryEventsPerChange`` events, each with its own ``id``
  (see ``SageMakerSimulator._emit_package_event``).

Which deliveries are repeated is drawn from a generator seeded with the local cloud's seed, in
emission order: the same scenario always gives the same deliveries.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.events.models import EventPattern

from localcloud.engine.template import RuleSpec


@dataclass(frozen=True)
class EventDelivery:
    """How EventBridge delivers the events AWS services emit (``simulation.events``)."""

    delay_seconds: float = 0.0  # every event reaches the bus this long after the change
    duplicate_probability: float = 0.0  # chance that an event is delivered a second time
    duplicate_detail_types: tuple[str, ...] = ()  # events of these detail-types always arrive twice
    duplicate_after_seconds: float = 0.0  # the second delivery's lag behind the first
    registry_events_per_change: int = 1  # "SageMaker Model Package State Change" events per change

    def __post_init__(self) -> None:
        if self.delay_seconds < 0 or self.duplicate_after_seconds < 0:
            raise ValueError("event delivery delays cannot be negative")
        if not 0.0 <= self.duplicate_probability <= 1.0:
            raise ValueError("duplicate_probability is a probability (0 to 1)")
        if self.registry_events_per_change < 1:
            raise ValueError("registry_events_per_change is at least 1")


@dataclass
class Delivery:
    at: float
    event: dict[str, Any]
    matched_rules: list[str] = field(default_factory=list)
    attempt: int = 1  # 2 for EventBridge's repeated delivery of the same event


class LocalEventBus:
    def __init__(
        self,
        rules: list[RuleSpec],
        deliver: Callable[[RuleSpec, dict[str, Any]], None],
        now: Callable[[], float],
        now_iso: Callable[[], str],
        account: str,
        region: str,
        *,
        delivery: EventDelivery | None = None,
        seed: int = 7,
    ) -> None:
        self._rules = [(rule, EventPattern.load(json.dumps(rule.pattern))) for rule in rules if rule.enabled]
        self._deliver = deliver
        self._now = now
        self._now_iso = now_iso
        self._account = account
        self._region = region
        self.delivery = delivery or EventDelivery()
        self._random = random.Random(f"{seed}/eventbridge")
        self._envelopes = 0
        self.deliveries: list[Delivery] = []

    def envelope(
        self, source: str, detail_type: str, detail: dict[str, Any], resources: list[str]
    ) -> dict[str, Any]:
        """An event as EventBridge delivers it to a target (each with its own ``id``)."""
        self._envelopes += 1
        return {
            "version": "0",
            "id": str(uuid.UUID(int=self._envelopes)),
            "detail-type": detail_type,
            "source": source,
            "account": self._account,
            "time": self._now_iso(),
            "region": self._region,
            "resources": resources,
            "detail": detail,
        }

    def delivery_delays(self, event: dict[str, Any]) -> list[float]:
        """When (seconds from now) EventBridge hands ``event`` to the bus: once, or twice.

        One draw per event, in emission order, whatever the settings: deterministic per seed.
        """
        policy = self.delivery
        draw = self._random.random()
        first = policy.delay_seconds
        twice = (
            event.get("detail-type") in policy.duplicate_detail_types or draw < policy.duplicate_probability
        )
        return [first, first + policy.duplicate_after_seconds] if twice else [first]

    def put(self, event: dict[str, Any], *, attempt: int = 1) -> Delivery:
        """Match ``event`` against every rule and deliver it to each matching rule's target."""
        delivery = Delivery(at=self._now(), event=event, attempt=attempt)
        for rule, pattern in self._rules:
            if pattern.matches_event(event):  # type: ignore[arg-type]
                delivery.matched_rules.append(rule.name)
                self._deliver(rule, event)
        self.deliveries.append(delivery)
        return delivery
