"""A waiting state of the deploy state machine: keep its task token where endpoint events find it."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import clock, wakeup
from smdeploy.adapters.wakeups import Wakeups
from smdeploy.settings import WakeupSettings

SETTINGS = WakeupSettings.from_env()
logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="executionArn")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = wakeup.ParkRequest.model_validate(event)
    result = wakeup.park(request, wakeups=Wakeups(SETTINGS.deployments_table), now=clock.utcnow())
    logger.info("waiting", extra={"endpoint": request.endpointName, "for": request.waitingFor, **result})
    return result
