"""Claim an approval (duplicates are skipped) or take the endpoint's lock (one deployment at a time)."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import locking
from smdeploy.adapters.locks import LockTable
from smdeploy.errors import InvalidRequest
from smdeploy.models import PlanTaskInput
from smdeploy.settings import RecordSettings

SETTINGS = RecordSettings.from_env()
logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="executionArn")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = PlanTaskInput.model_validate(event)
    table = LockTable(SETTINGS.deployments_table)
    what = event.get("what")
    if what == "claim":
        result = locking.claim_request(task.plan, task.executionArn, table=table)
        metrics.add_metric(name="DuplicateRequests", unit=MetricUnit.Count, value=int(result["duplicate"]))
    elif what == "lock":
        result = locking.take_lock(task.plan, task.executionArn, event.get("previous"), table=table)
        metrics.add_metric(name="LockWaits", unit=MetricUnit.Count, value=int(not result["acquired"]))
    else:
        raise InvalidRequest("what", f"expected 'claim' or 'lock', got {what!r}")
    logger.info("lock step", extra={"what": what, "endpoint": task.plan.endpointName, "result": result})
    return result
