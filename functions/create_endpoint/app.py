"""Create the endpoint (first deployment)."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import deploy
from smdeploy.adapters.aws import in_stage_account
from smdeploy.adapters.sagemaker import SageMakerGateway
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
    result = deploy.create_endpoint(task.plan, sagemaker=SageMakerGateway())
    metrics.add_metric(name="CreateEndpointCalls", unit=MetricUnit.Count, value=1)
    logger.info("create_endpoint", extra={"endpoint": task.plan.endpointName, "result": result})
    return result
