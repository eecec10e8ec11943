"""EventBridge Scheduler adapter: the schedule that runs an endpoint's drift checks."""

from __future__ import annotations

import json
from typing import Any

from smdeploy.adapters.aws import AWS_ERRORS, client, error_code, translate

GROUP = "default"


class SchedulerGateway:
    def __init__(self, scheduler: Any | None = None) -> None:
        self._sch = scheduler or client("scheduler")

    def find(self, name: str) -> dict[str, Any] | None:
        """GetSchedule's answer with ``Target.Input`` parsed into ``input``, or ``None``."""
        try:
            answer = dict(self._sch.get_schedule(Name=name, GroupName=GROUP))
        except AWS_ERRORS as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise translate(exc, "GetSchedule") from exc
        try:
            answer["input"] = json.loads((answer.get("Target") or {}).get("Input") or "{}")
        except json.JSONDecodeError:
            answer["input"] = {}
        return answer

    def put(
        self,
        *,
        name: str,
        expression: str,
        target_arn: str,
        role_arn: str,
        payload: dict[str, Any],
        description: str,
        exists: bool,
    ) -> None:
        """Create the schedule, or replace it (UpdateSchedule replaces every field)."""
        request = {
            "Name": name,
            "GroupName": GROUP,
            "ScheduleExpression": expression,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED",
            "Description": description[:512],
            "Target": {
                "Arn": target_arn,
                "RoleArn": role_arn,
                "Input": json.dumps(payload, sort_keys=True),
                "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
            },
        }
        action = "UpdateSchedule" if exists else "CreateSchedule"
        try:
            if exists:
                self._sch.update_schedule(**request)
            else:
                self._sch.create_schedule(**request)
        except AWS_ERRORS as exc:
            if not exists and error_code(exc) == "ConflictException":
                # created by an earlier attempt whose answer was lost: replace it
                self.put(
                    name=name,
                    expression=expression,
                    target_arn=target_arn,
                    role_arn=role_arn,
                    payload=payload,
                    description=description,
                    exists=True,
                )
                return
            raise translate(exc, action) from exc

    def delete(self, name: str) -> bool:
        """Delete the schedule; ``False`` when there was none."""
        try:
            self._sch.delete_schedule(Name=name, GroupName=GROUP)
            return True
        except AWS_ERRORS as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return False
            raise translate(exc, "DeleteSchedule") from exc
