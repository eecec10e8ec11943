"""Copy a model artifact under a multi-model endpoint's prefix, or remove it after a failed smoke test."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import deploy
from smdeploy.adapters.aws import in_stage_account
from smdeploy.adapters.s3 import S3Gateway
from smdeploy.models import PlanTaskInput

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="executionArn")
@tracer.capture_lambda_handler
@metrics.log_metrics
@in_stage_account
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = PlanTaskInput.model_validate(event)
    remove = bool(event.get("remove"))
    result = deploy.add_model(task.plan, s3=S3Gateway(), remove=remove)
    metrics.add_metric(name="ModelsRemoved" if remove else "ModelsAdded", unit=MetricUnit.Count, value=1)
    logger.info("multi-model artifact", extra={"endpoint": task.plan.endpointName, "result": result})
    return result
