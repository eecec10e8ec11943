"""Convergence from observed state: one look at the endpoint, at most one change, safe to re-run.

Whatever went wrong in a rollout (a failed or timed-out step, a lost Lambda response, a stopped
execution), what to do next is decided from what the endpoint IS, not from which step failed: a
step may have taken effect although its response was lost. The state machine calls
:func:`converge_step` in a loop. Each call describes the endpoint, makes at most one corrective
change and answers ``WAIT`` (look again after ``nextWaitSeconds``) or a final state: ``CONVERGED``
(one configuration serves), ``ABSENT`` (no endpoint) or ``STUCK`` (the loop ran past its deadline).

The rollout marks the configs that only exist while it runs (the two-variant canary configs) with
the tags below; a live config carrying them is never a place to stop: traffic goes back to the
baseline variant first (weights, no new fleet), then the endpoint goes back to the baseline config.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from smdeploy import clock, scaling
from smdeploy.adapters.autoscaling import ScalingGateway
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.errors import AwsRequestRejected, EndpointBusy
from smdeploy.models import DeploymentPlan
from smdeploy.plan import resource_name

# Tags of a transitional config (set by ``canary.prepare_canary``): what to go back to without the plan.
ROLLOUT_TAG = "smdeploy:rollout"
TRANSITIONAL = "transitional"
BASELINE_CONFIG_TAG = "smdeploy:baseline-config"
BASELINE_VARIANT_TAG = "smdeploy:baseline-variant"
SHADOW_VARIANT_TAG = "smdeploy:shadow-variant"  # a shadow test's config: the candidate's shadow variant
ROLLOUT_TAGS = frozenset({ROLLOUT_TAG, BASELINE_CONFIG_TAG, BASELINE_VARIANT_TAG, SHADOW_VARIANT_TAG})

# A loop that has not converged after this long (virtual time in the local cloud) needs a person.
DEFAULT_DEADLINE_SECONDS = 6 * 3600
# A weight change applies in seconds; a new fleet (update) or a deletion takes minutes.
WEIGHTS_SETTLE_SECONDS = 10
MIN_FLEET_WAIT_SECONDS = 30

# Endpoint-config keys copied from the live config into every config a rollout builds (``canary``)
# and into a rebuilt baseline config (here).
KEPT_CONFIG_KEYS = (
    "DataCaptureConfig",
    "AsyncInferenceConfig",
    "KmsKeyId",
    "ExplainerConfig",
    "ShadowProductionVariants",
    "ExecutionRoleArn",
    "VpcConfig",
    "EnableNetworkIsolation",
)

Intent = Literal["rollback", "recover", "prepare"]
State = Literal["WAIT", "CONVERGED", "ABSENT", "STUCK"]
Action = Literal["none", "wait", "weights", "update", "delete", "create-config"]
Serves = Literal["candidate", "baseline", "other", "none"]
Log = Callable[[str, str], None]


def is_transitional(tags: dict[str, str] | Iterable[dict[str, str]]) -> bool:
    """Whether a config's tags (a map, or ListTags' ``[{Key, Value}]``) mark it transitional."""
    return _tag_map(tags).get(ROLLOUT_TAG) == TRANSITIONAL


def restore_config_name(endpoint: str, transitional_config: str) -> str:
    """The baseline-only config rebuilt from ``transitional_config`` (the same name on every retry)."""
    return resource_name(endpoint, "restore", salt=transitional_config)


def baseline_only_config(
    config: dict[str, Any],
    baseline_variant: str,
    endpoint: dict[str, Any] | None = None,
    *,
    rollout_shadow: str | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(variants, kept settings) of a config serving ``baseline_variant`` of ``config`` alone.

    The variant keeps every setting it has in ``config`` at weight 1.0, and the instance count it
    runs at now on ``endpoint`` (autoscaling may have changed it since the config was written).
    ``rollout_shadow``: the shadow variant a shadow test added (tag ``smdeploy:shadow-variant``),
    which goes with the rollout; any other shadow variant stays.
    """
    by_name = {v["VariantName"]: v for v in config.get("ProductionVariants", [])}
    variant = copy.deepcopy(by_name[baseline_variant])
    variant["InitialVariantWeight"] = 1.0
    running = next(
        (
            v.get("CurrentInstanceCount")
            for v in (endpoint or {}).get("ProductionVariants", [])
            if v.get("VariantName") == baseline_variant
        ),
        None,
    )
    if running and variant.get("InitialInstanceCount") is not None:
        variant["InitialInstanceCount"] = int(running)
    # DescribeEndpointConfig may answer an unset structure as {}: keep only settings with content.
    kept = {
        key: copy.deepcopy(config[key]) for key in KEPT_CONFIG_KEYS if config.get(key) not in (None, {}, [])
    }
    shadows = [v for v in kept.pop("ShadowProductionVariants", []) if v.get("VariantName") != rollout_shadow]
    if shadows:
        kept["ShadowProductionVariants"] = shadows
    return [variant], kept


def outcome_of(intent: Intent, state: State, serves: Serves) -> str | None:
    """What a finished loop means for the deployment (``None`` while waiting, and for ``prepare``)."""
    if state == "WAIT" or intent == "prepare":
        return None
    if state == "STUCK":
        return "FAILED"
    if intent == "recover":
        return "PROMOTED" if serves == "candidate" else "ABORTED"
    return {"candidate": "PROMOTED", "baseline": "ROLLED_BACK"}.get(serves, "FAILED")


def converge_step(
    plan: DeploymentPlan,
    previous: dict[str, Any] | None,
    *,
    intent: Intent,
    avoid: Iterable[str] | None = None,
    sagemaker: SageMakerGateway,
    autoscaling: ScalingGateway | None = None,
    deadline_seconds: int = DEFAULT_DEADLINE_SECONDS,
) -> dict[str, Any]:
    """One check of the convergence loop (see the module docstring); returns the next ``converge``.

    ``previous`` is what the last call returned (``None`` or ``{}`` starts a loop); ``avoid`` lists
    model packages that must not keep serving. With ``autoscaling``, a stable endpoint that goes back
    to its baseline config first deregisters the variants the update removes (SageMaker refuses the
    update otherwise).
    """
    now = clock.utcnow()
    started, checks, actions = _resume(previous, intent, now)
    seen = _observe(plan, sagemaker)
    move = _decide(plan, seen, set(avoid or ()), sagemaker=sagemaker, autoscaling=autoscaling)
    if move.state == "WAIT" and now - started > timedelta(seconds=deadline_seconds):
        move = _stuck(plan, seen, move, now - started)
    elif move.run is not None:
        move = _carry_out(plan, move, actions)
    serves = _serves(plan, intent, seen)
    return {
        "state": move.state,
        "action": move.action,
        "detail": move.detail,
        "endpointStatus": seen.status,
        "configName": seen.config_name,
        "servingPackages": seen.packages,
        "serves": serves,
        "outcome": outcome_of(intent, move.state, serves),
        "actions": actions,
        "checks": checks + 1,
        "startedAt": started.isoformat(),
        "nextWaitSeconds": _next_wait(plan, move),
        "intent": intent,
    }


# --- observing --------------------------------------------------------------------------------
@dataclass
class _Observation:
    """What one check saw: the endpoint, its live config and tags, the packages taking traffic."""

    endpoint: dict[str, Any] | None
    config: dict[str, Any] | None
    tags: dict[str, str]
    packages: list[str]

    @property
    def status(self) -> str | None:
        return None if self.endpoint is None else str(self.endpoint.get("EndpointStatus"))

    @property
    def config_name(self) -> str | None:
        name = (self.endpoint or {}).get("EndpointConfigName")
        return str(name) if name else None

    @property
    def transitional(self) -> bool:
        return is_transitional(self.tags)


def _observe(plan: DeploymentPlan, sagemaker: SageMakerGateway) -> _Observation:
    endpoint = sagemaker.find_endpoint(plan.endpointName)
    name = (endpoint or {}).get("EndpointConfigName")
    if endpoint is None or not name:
        return _Observation(endpoint, None, {}, [])
    # A config deleted while in use (SageMaker only warns against it) leaves nothing to read.
    config = sagemaker.find_endpoint_config(str(name))
    if config is None:
        return _Observation(endpoint, None, {}, [])
    tags = _tag_map(sagemaker.tags_of(str(config["EndpointConfigArn"])))
    packages: list[str] = []
    # A Creating or Failed endpoint has never served: its variants take no traffic.
    if endpoint.get("EndpointStatus") not in {"Creating", "Failed"} and endpoint.get("ProductionVariants"):
        for variant in sagemaker.variants_serving(endpoint):
            arn = variant.get("ModelPackageArn")
            if arn and _weight(variant) > 0 and arn not in packages:
                packages.append(str(arn))
    return _Observation(endpoint, config, tags, packages)


def _serves(plan: DeploymentPlan, intent: Intent, seen: _Observation) -> Serves:
    if seen.endpoint is None:
        return "none"
    candidate = plan.modelPackageArn in seen.packages
    if candidate and seen.config is not None and not seen.transitional:
        return "candidate"
    if seen.config_name is not None and seen.config_name == plan.currentEndpointConfigName:
        return "baseline"
    # A baseline config rebuilt from a transitional one serves the baseline's package alone.
    rebuilt = plan.baselineModelPackageArn is not None and seen.packages == [plan.baselineModelPackageArn]
    if (rebuilt and not seen.transitional) or (intent == "recover" and not candidate):
        return "baseline"
    return "other"


# --- deciding ---------------------------------------------------------------------------------
@dataclass
class _Move:
    """What a check decided: the state to report and, for a corrective action, the call making it."""

    state: State
    action: Action
    detail: str
    run: Callable[[Log], None] | None = None


def _decide(
    plan: DeploymentPlan,
    seen: _Observation,
    avoid: set[str],
    *,
    sagemaker: SageMakerGateway,
    autoscaling: ScalingGateway | None,
) -> _Move:
    name, status = plan.endpointName, seen.status
    if seen.endpoint is None:
        return _Move("ABSENT", "none", f"endpoint {name} does not exist")
    if status == "Failed":
        # Only a first deployment ends Failed (a failed update returns InService on the old config);
        # DeleteEndpoint is the one call SageMaker takes on it.
        def delete(log: Log) -> None:
            sagemaker.delete_endpoint(name)
            log("delete", f"deleted endpoint {name}, which was Failed")

        return _Move("WAIT", "delete", f"endpoint {name} is Failed: deleting it", delete)
    if status != "InService":
        # An update in flight ends on its own; a failed one ends InService on the previous config.
        return _Move("WAIT", "wait", f"endpoint {name} is {status}: waiting for it to settle")
    if seen.config is None:
        return _Move(
            "CONVERGED",
            "none",
            f"endpoint {name} is InService on {seen.config_name}, a config that no longer exists: "
            "what it serves cannot be read",
        )
    if seen.transitional:
        # No autoscaling to release: it is registered on a variant only once it serves alone (after
        # a promotion), and the way back keeps the baseline variant on its instance type.
        return _leave_transitional(plan, seen, sagemaker=sagemaker)
    return _settle_stable(plan, seen, avoid, sagemaker=sagemaker, autoscaling=autoscaling)


def _leave_transitional(plan: DeploymentPlan, seen: _Observation, *, sagemaker: SageMakerGateway) -> _Move:
    """Weights to the baseline variant first (fastest, no new fleet), then the baseline config."""
    assert seen.config is not None and seen.endpoint is not None
    configured = [str(v["VariantName"]) for v in seen.config.get("ProductionVariants", [])]
    baseline = _baseline_variant(plan, seen.tags, configured)
    live = {str(v["VariantName"]): v for v in seen.endpoint.get("ProductionVariants", [])}
    weighted = sorted(n for n, v in live.items() if n != baseline and _weight(v) > 0)
    if baseline in live and weighted:
        weights = {n: 1.0 if n == baseline else 0.0 for n in live}
        detail = (
            f"all traffic of {plan.endpointName} to baseline variant {baseline} (from {', '.join(weighted)})"
        )

        def shift(log: Log) -> None:
            sagemaker.update_weights(name=plan.endpointName, weights=weights)
            log("weights", detail)

        return _Move("WAIT", "weights", detail, shift)
    target = seen.tags.get(BASELINE_CONFIG_TAG) or plan.currentEndpointConfigName
    if target and target != seen.config_name and sagemaker.find_endpoint_config(target) is not None:
        why = f"transitional config {seen.config_name} is live"
        return _update(plan, seen, target, why, sagemaker=sagemaker, autoscaling=None)
    return _rebuild(plan, seen, baseline, target, sagemaker=sagemaker)


def _rebuild(
    plan: DeploymentPlan,
    seen: _Observation,
    baseline: str,
    missing: str | None,
    *,
    sagemaker: SageMakerGateway,
) -> _Move:
    """The baseline config is gone: serve the baseline variant alone from a config built from the live one."""
    assert seen.config is not None and seen.config_name is not None
    name = restore_config_name(plan.endpointName, seen.config_name)
    variants, kept = baseline_only_config(
        seen.config, baseline, seen.endpoint, rollout_shadow=seen.tags.get(SHADOW_VARIANT_TAG)
    )
    # The transitional config's package tags name the candidate; the rebuilt config serves the baseline.
    tags = [
        {"Key": k, "Value": v}
        for k, v in seen.tags.items()
        if k not in ROLLOUT_TAGS and not k.startswith("smdeploy:model-package")
    ]
    gone = f"baseline config {missing} no longer exists" if missing else "no baseline config is known"
    update = _update(
        plan,
        seen,
        name,
        f"{gone}; rebuilt from {seen.config_name}",
        sagemaker=sagemaker,
        autoscaling=None,
    )
    assert update.run is not None
    start_update = update.run

    def create_then_update(log: Log) -> None:
        # Idempotent: a retry after a lost response finds the config and goes on to the update.
        if sagemaker.create_endpoint_config(name=name, variants=variants, tags=tags, extra=kept):
            log("create-config", f"created {name}: variant {baseline} of {seen.config_name} alone ({gone})")
        start_update(log)

    return _Move("WAIT", "update", update.detail, create_then_update)


def _settle_stable(
    plan: DeploymentPlan,
    seen: _Observation,
    avoid: set[str],
    *,
    sagemaker: SageMakerGateway,
    autoscaling: ScalingGateway | None,
) -> _Move:
    """One config serves: done, unless it serves a package to avoid and the baseline config exists."""
    avoided = [arn for arn in seen.packages if arn in avoid]
    target = plan.currentEndpointConfigName
    if avoided and target and target != seen.config_name and sagemaker.find_endpoint_config(target):
        why = f"it serves {', '.join(avoided)}, which must not keep serving"
        return _update(plan, seen, target, why, sagemaker=sagemaker, autoscaling=autoscaling)
    serving = ", ".join(seen.packages) or "no package"
    detail = f"endpoint {plan.endpointName} is InService on {seen.config_name}, serving {serving}"
    if avoided:
        detail += f"; {', '.join(avoided)} still serves: there is no other config to go back to"
    return _Move("CONVERGED", "none", detail)


def _update(
    plan: DeploymentPlan,
    seen: _Observation,
    target: str,
    why: str,
    *,
    sagemaker: SageMakerGateway,
    autoscaling: ScalingGateway | None,
) -> _Move:
    detail = f"updating {plan.endpointName} from {seen.config_name} to {target}: {why}"
    assert seen.endpoint is not None
    endpoint = seen.endpoint

    def start(log: Log) -> None:
        released: list[str] = []
        if autoscaling is not None:
            released = scaling.release_for_update(
                plan, endpoint, target, sagemaker=sagemaker, scaling=autoscaling
            )
        sagemaker.update_endpoint(name=plan.endpointName, config_name=target)
        log("update", detail + (f" (autoscaling released: {', '.join(released)})" if released else ""))

    return _Move("WAIT", "update", detail, start)


def _carry_out(plan: DeploymentPlan, move: _Move, actions: list[dict[str, Any]]) -> _Move:
    """Make the move's call; a refusal because the endpoint changed meanwhile is a wait, not a failure."""
    assert move.run is not None

    def log(action: str, detail: str) -> None:
        actions.append({"at": clock.utcnow().isoformat(), "action": action, "detail": detail})

    try:
        move.run(log)
    except EndpointBusy as exc:
        return _Move("WAIT", "wait", f"{move.action} refused, the endpoint is busy: {exc.message}")
    except AwsRequestRejected as exc:
        # Deleted between the look and the call (not a missing config: that is a real failure).
        if 'Could not find endpoint "' not in exc.message:
            raise
        return _Move(
            "WAIT", "wait", f"{move.action} of {plan.endpointName} refused, it is gone: {exc.message}"
        )
    return move


def _stuck(plan: DeploymentPlan, seen: _Observation, move: _Move, elapsed: timedelta) -> _Move:
    hours = elapsed.total_seconds() / 3600
    return _Move(
        "STUCK",
        "none",
        f"endpoint {plan.endpointName} is still {seen.status} after {hours:.1f} h of converging "
        f"(last decision: {move.detail}); it needs an operator",
    )


# --- helpers ----------------------------------------------------------------------------------
def _resume(
    previous: dict[str, Any] | None, intent: Intent, now: datetime
) -> tuple[datetime, int, list[dict[str, Any]]]:
    """(startedAt, checks so far, actions so far) of the loop this call belongs to.

    A previous result that is final, of another intent, or unreadable belongs to an earlier loop
    (the state machine keeps ``$.converge`` between loops): a new loop starts.
    """
    previous = previous or {}
    if previous.get("state") != "WAIT" or previous.get("intent", intent) != intent:
        return now, 0, []
    try:
        started = datetime.fromisoformat(str(previous["startedAt"]))
    except (KeyError, ValueError):
        return now, 0, []
    if started.tzinfo is None:
        started = started.replace(tzinfo=now.tzinfo)
    return started, int(previous.get("checks") or 0), list(previous.get("actions") or [])


def _next_wait(plan: DeploymentPlan, move: _Move) -> int:
    if move.state != "WAIT":
        return 0
    if plan.waits == "events":
        return max(1, plan.eventFallbackSeconds)  # the endpoint's state change ends the wait sooner
    poll = max(1, plan.pollSeconds)
    if move.action == "weights":
        return WEIGHTS_SETTLE_SECONDS
    if move.action in {"update", "delete", "create-config"}:
        return max(poll, MIN_FLEET_WAIT_SECONDS)
    return poll


def _baseline_variant(plan: DeploymentPlan, tags: dict[str, str], configured: list[str]) -> str:
    """The tag's variant, else the plan's baseline variant, else the variant that is not the candidate's."""
    for name in (tags.get(BASELINE_VARIANT_TAG), plan.baselineVariantName):
        if name and name in configured:
            return name
    others = [name for name in configured if name != plan.variantName]
    return (others or configured)[0]


def _weight(variant: dict[str, Any]) -> float:
    """A variant's weight: the desired one when a change is under way (SageMaker defaults to 1.0)."""
    value = variant.get("DesiredWeight", variant.get("CurrentWeight"))
    return 1.0 if value is None else float(value)


def _tag_map(tags: dict[str, str] | Iterable[dict[str, str]]) -> dict[str, str]:
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    return {str(t.get("Key")): str(t.get("Value", "")) for t in tags}
