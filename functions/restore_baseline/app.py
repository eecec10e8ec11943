"""Roll back, fastest first: all traffic to the baseline variant by weights (no new fleet)."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import canary
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.models import StepTaskInput

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="executionArn")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = StepTaskInput.model_validate(event)
    result = canary.restore_baseline_weights(task.plan, sagemaker=SageMakerGateway())
    metrics.add_metric(name="Rollbacks", unit=MetricUnit.Count, value=1)
    logger.warning("restored baseline weights", extra={"endpoint": task.plan.endpointName, "result": result})
    return result
