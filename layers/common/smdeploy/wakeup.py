"""Event-driven waits: a waiting state ends when something happens to its endpoint.

The deploy state machine waits for an endpoint change, between a canary's checks and while a
rollback converges in ``.waitForTaskToken`` Tasks whose ``TimeoutSeconds`` is the poll (the
fallback: the state machine looks anyway when no event comes). The Task's function (:func:`park`)
keeps the token for the endpoint; an event about the endpoint that ends that kind of wait
(:func:`on_event`, ``WAKES``: a "SageMaker Endpoint State Change" for an endpoint change; for a
bake, a "CloudWatch Alarm State Change" to ``ALARM`` of an alarm on the endpoint, or a "SageMaker
Model Package State Change" to Approved or Rejected in the endpoint's group) answers it, and the
state machine looks at once. Stages of a guardrails deployment ("SageMaker Endpoint Deployment
State Change") end no wait: its end is an endpoint state change.

An event is only ever a reason to look: the check after it reads SageMaker and CloudWatch as
before, so an early, late, duplicated or unrelated event costs one look and decides nothing.

``waits: polling`` (group config) keeps the token nowhere: each wait lasts its whole timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from smdeploy.alarm_names import alarm_endpoint

ENDPOINT_CHANGE = "SageMaker Endpoint State Change"
ALARM_CHANGE = "CloudWatch Alarm State Change"
APPROVAL_CHANGE = "SageMaker Model Package State Change"
# Which waits each event ends: an endpoint's state change ends a wait for an endpoint change (a
# create, an update, a guardrails deployment, a rollback converging); an alarm going to ALARM ends a
# bake's wait for the next check, and so does a version of the group approved (a newer version may
# preempt the candidate) or rejected (the candidate may be withdrawn) on every endpoint of its group.
# Anything else is left to the wait's timeout, so that a bake is not judged again at every weight
# change and an update is not looked at on every alarm.
WAKES = {ENDPOINT_CHANGE: ("endpoint", "converge"), ALARM_CHANGE: ("bake",), APPROVAL_CHANGE: ("bake",)}


class ParkRequest(BaseModel):
    """What a waiting Task passes its function (``Payload`` of ``lambda:invoke.waitForTaskToken``)."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1)
    executionArn: str = Field(min_length=1)
    endpointName: str = Field(min_length=1)
    waits: Literal["events", "polling"] = "events"
    waitingFor: Literal["endpoint", "bake", "converge"]


def park(request: ParkRequest, *, wakeups: Any, now: datetime) -> dict[str, Any]:
    """Keep the token where events about the endpoint find it. A signal that came since the last
    look answers the token at once (the event landed between the check and this park)."""
    if request.waits == "polling":
        return {"parked": False, "waits": "polling"}
    signal = wakeups.park(
        request.endpointName, request.token, request.executionArn, request.waitingFor, now.isoformat()
    )
    if signal is None:
        return {"parked": True}
    wakeups.answer(request.token, {"wokenBy": signal, "at": now.isoformat()})
    return {"parked": True, "wokenAtOnce": signal}


def what_happened(
    event: dict[str, Any], endpoints_of: Callable[[str], list[str]] | None = None
) -> list[tuple[str, str, tuple[str, ...]]]:
    """The endpoints an event is about, each with a line saying what happened and the kinds of wait
    it ends; empty when it ends none. ``endpoints_of``: a model package group's endpoints (its group
    config's), for approval changes."""
    found = event.get("detail")
    detail: dict[str, Any] = found if isinstance(found, dict) else {}
    kind = str(event.get("detail-type") or "")
    if kind == ENDPOINT_CHANGE:
        name = detail.get("EndpointName")
        if not name:
            return []
        return [(str(name), f"endpoint {detail.get('EndpointStatus') or 'changed'}", WAKES[kind])]
    if kind == ALARM_CHANGE:
        if ((detail.get("state") or {}).get("value")) != "ALARM":
            return []
        endpoint = alarm_endpoint(detail)
        return [(endpoint, f"alarm {detail.get('alarmName')} ALARM", WAKES[kind])] if endpoint else []
    if kind == APPROVAL_CHANGE and endpoints_of is not None:
        status = detail.get("ModelApprovalStatus")
        group, arn = detail.get("ModelPackageGroupName"), str(detail.get("ModelPackageArn") or "")
        if status not in ("Approved", "Rejected") or not group:
            return []
        what = f"{group}/{arn.rsplit('/', 1)[-1]} {status}"
        return [(endpoint, what, WAKES[kind]) for endpoint in endpoints_of(str(group))]
    return []


def on_event(
    event: dict[str, Any],
    *,
    wakeups: Any,
    now: datetime,
    endpoints_of: Callable[[str], list[str]] | None = None,
) -> dict[str, Any]:
    """Wake the executions waiting on the event's endpoints, if any; note the event otherwise."""
    happened = what_happened(event, endpoints_of)
    if not happened:
        return {"woke": False, "why": "not about an endpoint"}
    results = [_wake(endpoint, what, wakes, wakeups=wakeups, now=now) for endpoint, what, wakes in happened]
    if len(results) == 1:
        return results[0]
    return {"woke": any(r["woke"] for r in results), "endpoints": results}


def _wake(endpoint: str, what: str, wakes: tuple[str, ...], *, wakeups: Any, now: datetime) -> dict[str, Any]:
    token = wakeups.signal(endpoint, what, wakes)
    if token is None:
        return {"woke": False, "endpoint": endpoint, "why": "nothing waits on it"}
    if not wakeups.answer(token, {"wokenBy": what, "at": now.isoformat()}):
        # The wait had already ended (its timeout fired): the signal stays for the next park.
        return {"woke": False, "endpoint": endpoint, "why": "the wait had ended"}
    wakeups.consumed(endpoint, what)
    return {"woke": True, "endpoint": endpoint, "by": what}
