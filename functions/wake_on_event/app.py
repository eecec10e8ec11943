"""An endpoint changed state, one of its alarms went to ALARM or a version of its group was approved or
rejected: wake the execution waiting on it."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import clock, wakeup
from smdeploy.adapters.wakeups import Wakeups
from smdeploy.errors import InvalidRequest
from smdeploy.settings import WakeupSettings

SETTINGS = WakeupSettings.from_env()
logger = Logger()
tracer = Tracer()
metrics = Metrics()


def _endpoints_of(group: str) -> list[str]:
    # loaded here: only approval changes read a group config (endpoint and alarm events stay light)
    from smdeploy.adapters.config_store import GroupConfigStore

    try:
        config = GroupConfigStore(SETTINGS.group_config_prefix).load(group)
    except InvalidRequest as exc:  # a broken config: its deployments are refused anyway, nothing waits
        logger.warning("group config unreadable", extra={"group": group, "error": str(exc)})
        return []
    return config.configured_endpoints() if config is not None else []


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.set_correlation_id(str(event.get("id", "")))
    result = wakeup.on_event(
        event, wakeups=Wakeups(SETTINGS.deployments_table), now=clock.utcnow(), endpoints_of=_endpoints_of
    )
    metrics.add_metric(name="WaitsWoken", unit=MetricUnit.Count, value=int(result["woke"]))
    logger.info("event handled", extra=result)
    return result
