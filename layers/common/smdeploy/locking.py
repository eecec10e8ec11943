"""One deployment per endpoint, and each approval deployed once.

- A **claim** per (endpoint, model package, transition) for approval events. The transition is
  the change to ``Approved`` the event reports (``DeployRequest.transition``: the package's
  ``LastModifiedTime``, else the event id): every event SageMaker sends for one change, and every
  repeated delivery of one event, names the same transition; the first execution claims it and
  the others end ``SKIPPED_DUPLICATE`` (while it runs, or within ``DUPLICATE_WINDOW_SECONDS``
  after it ended). A re-approval of a version after a rejection or a rollback is a new transition
  and deploys. Manual starts are an operator's explicit intent and are not deduplicated; neither
  are recoveries.
- A **lock** per endpoint with a lease: a deployment waits for it rather than failing; a crashed
  or aborted execution cannot block an endpoint beyond the lease. The lease is the longest run the
  holder's strategy allows (``smdeploy.plan.lease_seconds``); a waiting deployment may wait
  ``lockWaitSeconds`` (at least its own lease) **for each holder**: the count starts again when
  the lock changes hands, so a queue of long rollouts never makes a waiter fail, and neither does
  one holder whose lease is longer than the wait (the waiter waits for that lease). A recovery
  (plan action ``RECOVER``) takes the lock over from the stopped execution it recovers. Both are
  released when the execution records its outcome, on every path.
"""

from __future__ import annotations

from typing import Any

from smdeploy import clock
from smdeploy.adapters.locks import LockTable
from smdeploy.errors import LockWaitTimeout
from smdeploy.models import DeploymentPlan

DUPLICATE_WINDOW_SECONDS = 24 * 3600
# A long wait is polled less often (Step Functions counts every poll in the execution's history).
MAX_LOCK_POLL_SECONDS = 900


def lock_key(endpoint: str) -> str:
    return f"LOCK#{endpoint}"


def claim_key(endpoint: str, package_arn: str, transition: str | None = None) -> str:
    return f"CLAIM#{endpoint}#{package_arn}#{transition or '-'}"


def _now() -> int:
    return int(clock.utcnow().timestamp())


def claim_request(plan: DeploymentPlan, execution_arn: str, *, table: LockTable) -> dict[str, Any]:
    """Claim the request; ``duplicate`` when another execution has (or recently had) its transition."""
    if plan.source != "approval":  # manual starts and recoveries: never a duplicate
        return {"duplicate": False, "claimed": False}
    now = _now()
    holder = table.take(
        claim_key(plan.endpointName, plan.modelPackageArn, plan.approvalTransition),
        execution_arn,
        now + plan.lockLeaseSeconds + DUPLICATE_WINDOW_SECONDS,
        now,
        {
            "state": "IN_PROGRESS",
            "modelPackageArn": plan.modelPackageArn,
            "transition": plan.approvalTransition or "-",
        },
    )
    if holder is None:
        return {"duplicate": False, "claimed": True}
    return {"duplicate": True, "claimed": False, "heldBy": holder.get("owner"), "state": holder.get("state")}


def take_lock(
    plan: DeploymentPlan, execution_arn: str, previous: dict[str, Any] | None, *, table: LockTable
) -> dict[str, Any]:
    """Try to take the endpoint's lock.

    :class:`LockWaitTimeout` only when one holder kept it longer than this plan may wait for it:
    ``lockWaitSeconds``, or the holder's lease as it stood when this execution began waiting for
    it, whichever is longer. ``nextWaitSeconds``: when to try again (longer as the wait grows).
    """
    previous = previous or {}
    attempts = int(previous.get("attempts", 0)) + 1
    now = _now()
    key = lock_key(plan.endpointName)
    expires = now + plan.lockLeaseSeconds
    attributes = {"modelPackageArn": plan.modelPackageArn, "takenAt": clock.utcnow().isoformat()}
    holder = table.take(key, execution_arn, expires, now, attributes)
    if holder is None:
        return {"acquired": True, "attempts": attempts}
    owner = str(holder.get("owner"))
    if plan.action == "RECOVER" and plan.recovers and owner == plan.recovers:
        # The stopped execution will never release it: take it over (only from that execution).
        if table.hold_until(key, plan.recovers, expires, {"owner": execution_arn, **attributes}):
            return {"acquired": True, "attempts": attempts, "tookOverFrom": owner}
        holder = table.take(key, execution_arn, expires, now, attributes)  # released meanwhile?
        if holder is None:
            return {"acquired": True, "attempts": attempts}
        owner = str(holder.get("owner"))
    if previous.get("heldBy") == owner and previous.get("waitingSince") is not None:
        since, budget = int(previous["waitingSince"]), int(previous.get("budget", plan.lockWaitSeconds))
    else:  # a new holder: the wait starts again, for at least its lease
        since = now
        lease_left = int(float(holder.get("expiresAt") or 0)) - now
        budget = max(plan.lockWaitSeconds, lease_left + plan.lockPollSeconds)
    waited = now - since
    if waited >= budget:
        raise LockWaitTimeout(
            f"endpoint {plan.endpointName!r} stayed locked by {owner} for {waited} s "
            f"(deploying {holder.get('modelPackageArn')}; this deployment waits {budget} s per holder)"
        )
    return {
        "acquired": False,
        "attempts": attempts,
        "heldBy": owner,
        "waitingSince": since,
        "budget": budget,
        "nextWaitSeconds": min(MAX_LOCK_POLL_SECONDS, max(plan.lockPollSeconds, waited // 20)),
    }


def release(plan: dict[str, Any], execution_arn: str, outcome: str, *, table: LockTable) -> dict[str, Any]:
    """Release the endpoint lock if this execution holds it, and close its claim."""
    endpoint, package = plan.get("endpointName"), plan.get("modelPackageArn")
    if not endpoint:
        return {"lockReleased": False, "claimClosed": False}
    released = table.release(lock_key(str(endpoint)), execution_arn)
    closed = False
    if package:
        closed = table.hold_until(
            claim_key(str(endpoint), str(package), plan.get("approvalTransition")),
            execution_arn,
            _now() + DUPLICATE_WINDOW_SECONDS,
            {"state": "DONE", "outcome": outcome},
        )
    return {"lockReleased": released, "claimClosed": closed}
