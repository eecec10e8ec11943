"""Delete what a finished rollout no longer needs, keeping the last configs for rollback."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import canary
from smdeploy.adapters.aws import in_stage_account
from smdeploy.adapters.cloudwatch import CloudWatchGateway
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
    outcome = task.outcome.value if task.outcome else "PROMOTED"
    result = canary.cleanup(
        task.plan, task.canary or {}, outcome, sagemaker=SageMakerGateway(), cloudwatch=CloudWatchGateway()
    )
    metrics.add_metric(name="ConfigsDeleted", unit=MetricUnit.Count, value=len(result["deletedConfigs"]))
    logger.info("cleaned up", extra={"endpoint": task.plan.endpointName, "result": result})
    return result
