"""Validate a batch-transform input and find the model package and the data to score."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import batch
from smdeploy.adapters.s3 import S3Gateway
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.settings import BatchSettings

SETTINGS = BatchSettings.from_env()

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="executionArn")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan = batch.resolve_batch(
        event.get("raw"), sagemaker=SageMakerGateway(), s3=S3Gateway(), role_buckets=SETTINGS.role_buckets()
    )
    metrics.add_metric(name="BatchPlansResolved", unit=MetricUnit.Count, value=1)
    logger.info("resolved batch plan", extra={"plan": plan.model_dump(mode="json")})
    return plan.model_dump(mode="json")
