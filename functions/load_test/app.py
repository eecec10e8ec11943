"""Size the candidate with an Inference Recommender job: start it, or look at it (smdeploy.loadtest)."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import clock, loadtest
from smdeploy.adapters.aws import in_stage_account
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.models import LoadTestTaskInput
from smdeploy.settings import ModelSettings

SETTINGS = ModelSettings.from_env()  # the job runs the model with the model execution role
logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="executionArn")
@tracer.capture_lambda_handler
@metrics.log_metrics
@in_stage_account
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = LoadTestTaskInput.model_validate(event)
    sagemaker = SageMakerGateway()
    if task.action == "start":
        result = loadtest.start(
            task.plan, sagemaker=sagemaker, role_arn=SETTINGS.model_execution_role_arn, now=clock.utcnow()
        )
    else:
        result = loadtest.look(task.plan, task.loadTest or {}, sagemaker=sagemaker, now=clock.utcnow())
    metrics.add_metric(name=f"LoadTest{str(result['state']).title()}", unit=MetricUnit.Count, value=1)
    logger.info("load test", extra={"endpoint": task.plan.endpointName, "state": result["state"]})
    return result
