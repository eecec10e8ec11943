"""Per model-package-group deployment configs, kept as JSON in SSM parameters."""

from __future__ import annotations

import json
from typing import Any

from smdeploy.adapters.aws import AWS_ERRORS, client, error_code, translate
from smdeploy.errors import InvalidRequest
from smdeploy.models import GroupConfig
from smdeploy.plan import parse_group_config


class GroupConfigStore:
    def __init__(self, prefix: str, ssm: Any | None = None) -> None:
        self._prefix = prefix
        self._ssm = ssm or client("ssm")

    def parameter_name(self, group: str) -> str:
        return f"{self._prefix}{group}"

    def load(self, group: str) -> GroupConfig | None:
        name = self.parameter_name(group)
        try:
            value = self._ssm.get_parameter(Name=name)["Parameter"]["Value"]
        except AWS_ERRORS as exc:
            if error_code(exc) == "ParameterNotFound":
                return None
            raise translate(exc, "GetParameter") from exc
        try:
            raw = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InvalidRequest(f"ssm:{name}", f"not valid JSON ({exc.msg})") from exc
        return parse_group_config(raw, f"ssm:{name}")
