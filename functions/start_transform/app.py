"""Register the model (once per package) and start the transform job (once per schedule tick)."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import batch
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.settings import ModelSettings

SETTINGS = ModelSettings.from_env()
logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="executionArn")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan = batch.BatchPlan.model_validate(event["plan"])
    tags = [
        {"Key": "smdeploy:managed", "Value": "true"},
        {"Key": "smdeploy:model-package-group", "Value": plan.modelPackageGroup},
        {"Key": "smdeploy:model-package-version", "Value": str(plan.modelPackageVersion)},
    ]
    result = batch.start_transform(
        plan, sagemaker=SageMakerGateway(), role_arn=SETTINGS.model_execution_role_arn, tags=tags
    )
    metrics.add_metric(
        name="TransformJobsStarted", unit=MetricUnit.Count, value=1 if result["started"] else 0
    )
    logger.info("transform job", extra={"job": plan.transformJobName, "result": result})
    return result
