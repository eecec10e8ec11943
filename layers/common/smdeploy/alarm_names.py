"""The alarms smdeploy creates, by name, and the endpoint an alarm is about.

Small on purpose: the event-driven waits (``smdeploy.wakeup``, one Lambda invocation per wait) read
alarm events without loading the monitoring module.
"""

from __future__ import annotations

from typing import Any

DRIFT_ALARM_PREFIX = "smdeploy-drift-"
QUALITY_ALARM_PREFIX = "smdeploy-quality-"


def alarm_endpoint(detail: dict[str, Any]) -> str | None:
    """The EndpointName dimension of the alarm in a "CloudWatch Alarm State Change" detail (else the
    endpoint a drift or quality alarm is named after)."""
    for metric in (detail.get("configuration") or {}).get("metrics") or []:
        dimensions = ((metric.get("metricStat") or {}).get("metric") or {}).get("dimensions") or {}
        if dimensions.get("EndpointName"):
            return str(dimensions["EndpointName"])
    name = str(detail.get("alarmName") or "")
    for prefix in (DRIFT_ALARM_PREFIX, QUALITY_ALARM_PREFIX):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return None
