"""Application Auto Scaling of endpoint variants in the local cloud: target tracking that acts.

moto stores scalable targets and policies and does nothing with them. Here, once a minute, every
variant registered with a target-tracking policy on ``SageMakerVariantInvocationsPerInstance``
is compared with its target, the way the alarms Application Auto Scaling creates for it behave:

- scale out when the last ``SCALE_OUT_MINUTES`` one-minute datapoints are all above the target,
  to ``ceil(instances x average / target)``, no sooner than ``ScaleOutCooldown`` after the last
  scale-out;
- scale in when the last ``SCALE_IN_MINUTES`` datapoints are all below 90 % of the target (a
  minute without data stops it, as the scale-in alarm would), no sooner than ``ScaleInCooldown``
  after the last change;
- always within ``[MinCapacity, MaxCapacity]``, which also applies at once after a registration.

A change goes through ``UpdateEndpointWeightsAndCapacities`` of the simulator (the endpoint is
``Updating`` for ``weightUpdateSeconds``) and only while the endpoint is ``InService``; a change
SageMaker refuses (the endpoint's config was deleted) is a failed activity. Policies
on other metrics (custom ones such as the asynchronous backlog) are kept but not simulated.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.applicationautoscaling import models as aas_models
from moto.sagemaker.exceptions import ValidationError

from localcloud.engine.scheduler import Scheduler
from localcloud.services.cloudwatch.metrics import MetricSeries
from localcloud.services.sagemaker.endpoints import VARIANT_SCALING_DIMENSION, SageMakerSimulator

PREDEFINED_METRIC = "SageMakerVariantInvocationsPerInstance"
SCALE_OUT_MINUTES = 3
SCALE_IN_MINUTES = 15
SCALE_IN_RATIO = 0.9
DEFAULT_COOLDOWN = 300.0


@dataclass(frozen=True)
class ScalingActivity:
    at: float
    endpoint: str
    variant: str
    before: int
    after: int
    cause: str


class AutoscalingSimulator:
    def __init__(
        self,
        scheduler: Scheduler,
        sagemaker: SageMakerSimulator,
        series: MetricSeries,
        sagemaker_backend: Callable[[], Any],
        account: str,
        region: str,
    ) -> None:
        self.scheduler = scheduler
        self.sagemaker = sagemaker
        self.series = series
        self._backend = sagemaker_backend
        self.account, self.region = account, region
        self.activities: list[ScalingActivity] = []
        self._last_out: dict[str, float] = {}
        self._last_change: dict[str, float] = {}

    def minute(self, closed: int) -> None:
        """Decide for every registered variant after minute ``closed`` has been published."""
        aas = aas_models.applicationautoscaling_backends[self.account][self.region]
        targets = dict(aas.targets.get(VARIANT_SCALING_DIMENSION, {}))
        for rid, target in sorted(targets.items()):
            parts = rid.split("/")
            if len(parts) != 4 or parts[0] != "endpoint" or parts[2] != "variant":
                continue
            tracking = self._tracking(aas, rid)
            if tracking is not None:
                self._decide(parts[1], parts[3], target, tracking, closed)

    @staticmethod
    def _tracking(aas: Any, rid: str) -> dict[str, Any] | None:
        for policy in aas.policies.values():
            config = policy.target_tracking_scaling_policy_configuration or {}
            metric = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
            if (
                policy.resource_id == rid
                and policy.policy_type == "TargetTrackingScaling"
                and metric == PREDEFINED_METRIC
            ):
                return dict(config)
        return None

    def _decide(
        self, endpoint_name: str, variant_name: str, target: Any, tracking: dict[str, Any], closed: int
    ) -> None:
        backend = self._backend()
        endpoint = backend.endpoints.get(endpoint_name)
        if endpoint is None or endpoint.endpoint_status != "InService":
            return
        live = next((v for v in endpoint.production_variants if v["VariantName"] == variant_name), None)
        if live is None or live.get("CurrentInstanceCount") is None:
            return
        current = int(live["CurrentInstanceCount"])
        low, high = int(target.min_capacity), int(target.max_capacity)
        goal = float(tracking.get("TargetValue") or 0)
        now, rid = self.scheduler.now, f"{endpoint_name}/{variant_name}"
        if not low <= current <= high:
            wanted = min(high, max(low, current))
            self._apply(backend, endpoint_name, variant_name, current, wanted, f"outside [{low}, {high}]")
            return
        if goal <= 0:
            return
        minutes = self.series.get(("InvocationsPerInstance", endpoint_name, variant_name)) or {}
        recent = [minutes.get(m) for m in range(closed - SCALE_OUT_MINUTES + 1, closed + 1)]
        out_cooldown = float(tracking.get("ScaleOutCooldown", DEFAULT_COOLDOWN))
        if (
            all(s is not None and s.total > goal for s in recent)
            and now - self._last_out.get(rid, -1e18) >= out_cooldown
        ):
            average = sum(s.total for s in recent if s is not None) / len(recent)
            wanted = min(high, math.ceil(current * average / goal))
            if wanted > current:
                self._last_out[rid] = now
                cause = f"InvocationsPerInstance {average:.0f} > target {goal:g} for {SCALE_OUT_MINUTES} min"
                self._apply(backend, endpoint_name, variant_name, current, wanted, cause)
            return
        window = [minutes.get(m) for m in range(closed - SCALE_IN_MINUTES + 1, closed + 1)]
        in_cooldown = float(tracking.get("ScaleInCooldown", DEFAULT_COOLDOWN))
        if tracking.get("DisableScaleIn") or now - self._last_change.get(rid, -1e18) < in_cooldown:
            return
        if all(s is not None and s.total < goal * SCALE_IN_RATIO for s in window):
            average = sum(s.total for s in window if s is not None) / len(window)
            wanted = max(low, math.ceil(current * average / goal))
            if wanted < current:
                below = f"< 90% of target {goal:g} for {SCALE_IN_MINUTES} min"
                cause = f"InvocationsPerInstance {average:.0f} {below}"
                self._apply(backend, endpoint_name, variant_name, current, wanted, cause)

    def _apply(self, backend: Any, endpoint: str, variant: str, before: int, after: int, cause: str) -> None:
        if after == before:
            return
        self._last_change[f"{endpoint}/{variant}"] = self.scheduler.now
        try:
            self.sagemaker.update_weights(
                backend, endpoint, [{"VariantName": variant, "DesiredInstanceCount": after}]
            )
        except ValidationError as refused:
            # e.g. the endpoint's config was deleted: SageMaker refuses the change, the activity fails
            cause = f"{cause}; failed: {refused.message}"
            after = before
        self.activities.append(ScalingActivity(self.scheduler.now, endpoint, variant, before, after, cause))
