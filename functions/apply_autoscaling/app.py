"""Register autoscaling on the variant that serves at the end of a deployment, whichever way it ended."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import scaling
from smdeploy.adapters.autoscaling import ScalingGateway
from smdeploy.adapters.aws import in_stage_account
from smdeploy.adapters.cloudwatch import CloudWatchGateway
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
    result = scaling.apply(
        task.plan, sagemaker=SageMakerGateway(), scaling=ScalingGateway(), cloudwatch=CloudWatchGateway()
    )
    metrics.add_metric(name="VariantsScaled", unit=MetricUnit.Count, value=len(result["registered"]))
    logger.info("autoscaling applied", extra={"endpoint": task.plan.endpointName, "result": result})
    return result
