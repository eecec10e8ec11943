"""Point the endpoint's drift and quality monitors at the version that serves it now."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import clock, monitoring
from smdeploy.adapters.aws import in_stage_account
from smdeploy.adapters.cloudwatch import CloudWatchGateway
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.adapters.scheduler import SchedulerGateway
from smdeploy.models import PlanTaskInput
from smdeploy.settings import MonitoringSettings

SETTINGS = MonitoringSettings.from_env()
logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="executionArn")
@tracer.capture_lambda_handler
@in_stage_account
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = PlanTaskInput.model_validate(event)
    result = monitoring.follow(
        task.plan.model_dump(mode="json"),
        sagemaker=SageMakerGateway(),
        scheduler=SchedulerGateway(),
        cloudwatch=CloudWatchGateway(),
        check_function_arn=SETTINGS.check_function_arn,
        scheduler_role_arn=SETTINGS.scheduler_role_arn,
        monitor_role_arn=SETTINGS.model_execution_role_arn,
        monitor_image_uri=SETTINGS.monitor_image_uri,
        execution_arn=task.executionArn,
        now=clock.utcnow(),
    )
    logger.info("monitors follow the serving version", extra={"monitoring": result})
    return result
