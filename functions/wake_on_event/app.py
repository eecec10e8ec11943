"""An endpoint changed state or one of its alarms went to ALARM: wake the execution waiting on it."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import clock, wakeup
from smdeploy.adapters.wakeups import Wakeups
from smdeploy.settings import WakeupSettings

SETTINGS = WakeupSettings.from_env()
logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.set_correlation_id(str(event.get("id", "")))
    result = wakeup.on_event(event, wakeups=Wakeups(SETTINGS.deployments_table), now=clock.utcnow())
    metrics.add_metric(name="WaitsWoken", unit=MetricUnit.Count, value=int(result["woke"]))
    logger.info("endpoint event", extra=result)
    return result
