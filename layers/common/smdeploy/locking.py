"""One deployment per endpoint, and each approval deployed once.

- A **claim** per (endpoint, model package) for approval events: the first execution claims it;
  duplicates delivered while it runs, or within ``DUPLICATE_WINDOW_SECONDS`` after it ended, end
  ``SKIPPED_DUPLICATE``. Manual starts are an operator's explicit intent and are not deduplicated.
- A **lock** per endpoint with a lease: a deployment waits for it (bounded) rather than failing;
  a crashed or aborted execution cannot block an endpoint beyond the lease. Both are released when
  the execution records its outcome, on every path.
"""

from __future__ import annotations

from typing import Any

from smdeploy import clock
from smdeploy.adapters.locks import LockTable
from smdeploy.errors import LockWaitTimeout
from smdeploy.models import DeploymentPlan

DUPLICATE_WINDOW_SECONDS = 24 * 3600


def lock_key(endpoint: str) -> str:
    return f"LOCK#{endpoint}"


def claim_key(endpoint: str, package_arn: str) -> str:
    return f"CLAIM#{endpoint}#{package_arn}"


def _now() -> int:
    return int(clock.utcnow().timestamp())


def claim_request(plan: DeploymentPlan, execution_arn: str, *, table: LockTable) -> dict[str, Any]:
    """Claim the request; ``duplicate`` when another execution has (or recently had) it."""
    if plan.source == "manual":
        return {"duplicate": False, "claimed": False}
    now = _now()
    holder = table.take(
        claim_key(plan.endpointName, plan.modelPackageArn),
        execution_arn,
        now + plan.lockLeaseSeconds + DUPLICATE_WINDOW_SECONDS,
        now,
        {"state": "IN_PROGRESS", "modelPackageArn": plan.modelPackageArn},
    )
    if holder is None:
        return {"duplicate": False, "claimed": True}
    return {"duplicate": True, "claimed": False, "heldBy": holder.get("owner"), "state": holder.get("state")}


def take_lock(
    plan: DeploymentPlan, execution_arn: str, previous: dict[str, Any] | None, *, table: LockTable
) -> dict[str, Any]:
    """Try to take the endpoint's lock; after ``lockWaitSeconds`` of trying, :class:`LockWaitTimeout`."""
    attempts = int((previous or {}).get("attempts", 0)) + 1
    now = _now()
    holder = table.take(
        lock_key(plan.endpointName),
        execution_arn,
        now + plan.lockLeaseSeconds,
        now,
        {"modelPackageArn": plan.modelPackageArn, "takenAt": clock.utcnow().isoformat()},
    )
    if holder is None:
        return {"acquired": True, "attempts": attempts}
    waited = (attempts - 1) * plan.lockPollSeconds
    if waited >= plan.lockWaitSeconds:
        raise LockWaitTimeout(
            f"endpoint {plan.endpointName!r} stayed locked by {holder.get('owner')} for {waited} s "
            f"(deploying {holder.get('modelPackageArn')})"
        )
    return {"acquired": False, "attempts": attempts, "heldBy": holder.get("owner")}


def release(plan: dict[str, Any], execution_arn: str, outcome: str, *, table: LockTable) -> dict[str, Any]:
    """Release the endpoint lock if this execution holds it, and close its claim."""
    endpoint, package = plan.get("endpointName"), plan.get("modelPackageArn")
    if not endpoint:
        return {"lockReleased": False, "claimClosed": False}
    released = table.release(lock_key(str(endpoint)), execution_arn)
    closed = False
    if package:
        closed = table.hold_until(
            claim_key(str(endpoint), str(package)),
            execution_arn,
            _now() + DUPLICATE_WINDOW_SECONDS,
            {"state": "DONE", "outcome": outcome},
        )
    return {"lockReleased": released, "claimClosed": closed}
