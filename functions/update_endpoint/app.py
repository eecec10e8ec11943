"""Point the endpoint at another endpoint config (canary, candidate-only or baseline)."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import canary
from smdeploy.adapters.autoscaling import ScalingGateway
from smdeploy.adapters.aws import in_stage_account
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.errors import InvalidRequest
from smdeploy.models import StepTaskInput

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="executionArn")
@tracer.capture_lambda_handler
@metrics.log_metrics
@in_stage_account
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = StepTaskInput.model_validate(event)
    if not task.configName:
        raise InvalidRequest("configName", "the state machine must name the endpoint config to deploy")
    result = canary.start_update(
        task.plan,
        task.configName,
        sagemaker=SageMakerGateway(),
        autoscaling=ScalingGateway(),
        guardrails=task.guardrails,
    )
    metrics.add_metric(name="EndpointUpdates", unit=MetricUnit.Count, value=1 if result["started"] else 0)
    logger.info("updating endpoint", extra={"endpoint": task.plan.endpointName, "config": task.configName})
    return result
