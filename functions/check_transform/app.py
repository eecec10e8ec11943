"""Read a transform job's status; raise TransformJobFailed with SageMaker's reason when it failed."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import batch
from smdeploy.adapters.sagemaker import SageMakerGateway

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="executionArn")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan = batch.BatchPlan.model_validate(event["plan"])
    result = batch.check_transform(plan, sagemaker=SageMakerGateway())
    metrics.add_metric(name="TransformChecks", unit=MetricUnit.Count, value=1)
    logger.info("checked transform job", extra={"job": plan.transformJobName, "status": result["status"]})
    return result
