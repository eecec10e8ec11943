"""Application Auto Scaling adapter: the scalable targets and policies of endpoint variants."""

from __future__ import annotations

from typing import Any

from smdeploy.adapters.aws import AWS_ERRORS, client, error_code, translate

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def resource_id(endpoint: str, variant: str) -> str:
    """The scalable target of a variant (``endpoint/<endpoint>/variant/<variant>``)."""
    return f"endpoint/{endpoint}/variant/{variant}"


class ScalingGateway:
    """Register, describe and deregister variant scalable targets; speaks the project's errors."""

    def __init__(self, autoscaling: Any | None = None) -> None:
        self._given = autoscaling

    @property
    def _aas(self) -> Any:
        """Where the endpoint is: a stage's account inside ``aws.acting_as``, else the stack's."""
        return self._given if self._given is not None else client("application-autoscaling")

    def targets_of(self, endpoint: str, variants: list[str] | None = None) -> dict[str, dict[str, Any]]:
        """variant name -> its scalable target, for the registered variants of ``endpoint``.

        With ``variants``, only those are asked for (``ResourceIds``); else every target of the
        namespace is listed and filtered.
        """
        prefix = resource_id(endpoint, "")
        found: dict[str, dict[str, Any]] = {}
        kwargs: dict[str, Any] = {"ServiceNamespace": NAMESPACE, "ScalableDimension": DIMENSION}
        if variants is not None:
            if not variants:
                return found
            kwargs["ResourceIds"] = [resource_id(endpoint, v) for v in variants]
        try:
            while True:
                page = self._aas.describe_scalable_targets(**kwargs)
                for target in page.get("ScalableTargets", []):
                    rid = str(target.get("ResourceId", ""))
                    if rid.startswith(prefix) and target.get("ScalableDimension") == DIMENSION:
                        found[rid[len(prefix) :]] = dict(target)
                if not page.get("NextToken"):
                    return found
                kwargs["NextToken"] = page["NextToken"]
        except AWS_ERRORS as exc:
            raise translate(exc, "DescribeScalableTargets") from exc

    def policies_of(self, endpoint: str, variant: str) -> list[dict[str, Any]]:
        try:
            answer = self._aas.describe_scaling_policies(
                ServiceNamespace=NAMESPACE,
                ResourceId=resource_id(endpoint, variant),
                ScalableDimension=DIMENSION,
            )
        except AWS_ERRORS as exc:
            raise translate(exc, "DescribeScalingPolicies") from exc
        return [dict(p) for p in answer.get("ScalingPolicies", [])]

    def register(self, endpoint: str, variant: str, *, minimum: int, maximum: int) -> None:
        """Register (or update) the variant's scalable target; AWS uses its service-linked role."""
        try:
            self._aas.register_scalable_target(
                ServiceNamespace=NAMESPACE,
                ResourceId=resource_id(endpoint, variant),
                ScalableDimension=DIMENSION,
                MinCapacity=minimum,
                MaxCapacity=maximum,
            )
        except AWS_ERRORS as exc:
            raise translate(exc, "RegisterScalableTarget") from exc

    def put_policy(self, endpoint: str, variant: str, policy: dict[str, Any]) -> str:
        """Create or replace a scaling policy; returns its ARN."""
        try:
            answer = self._aas.put_scaling_policy(
                ServiceNamespace=NAMESPACE,
                ResourceId=resource_id(endpoint, variant),
                ScalableDimension=DIMENSION,
                **policy,
            )
        except AWS_ERRORS as exc:
            raise translate(exc, "PutScalingPolicy") from exc
        return str(answer.get("PolicyARN", ""))

    def deregister(self, endpoint: str, variant: str) -> bool:
        """Deregister the variant (AWS deletes its policies with it); ``False`` when not registered."""
        try:
            self._aas.deregister_scalable_target(
                ServiceNamespace=NAMESPACE,
                ResourceId=resource_id(endpoint, variant),
                ScalableDimension=DIMENSION,
            )
            return True
        except AWS_ERRORS as exc:
            if error_code(exc) in {
                "ObjectNotFoundException",
                "ValidationException",
            } and "No scalable target" in str(exc):
                return False
            raise translate(exc, "DeregisterScalableTarget") from exc
