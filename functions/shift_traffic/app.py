"""Give the candidate variant the traffic share of one rollout step (UpdateEndpointWeightsAndCapacities)."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import canary
from smdeploy.adapters.aws import in_stage_account
from smdeploy.adapters.sagemaker import SageMakerGateway
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
    step = task.stepIndex or 0
    result = canary.shift_traffic(task.plan, step, task.judgement, sagemaker=SageMakerGateway())
    metrics.add_metric(name="TrafficShifts", unit=MetricUnit.Count, value=1)
    logger.info("shifted traffic", extra={"endpoint": task.plan.endpointName, "percent": result["percent"]})
    return result
