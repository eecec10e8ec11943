"""Normalize the execution input (approval event or manual input) into a deployment plan."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import deploy
from smdeploy.adapters.autoscaling import ScalingGateway
from smdeploy.adapters.cloudwatch import CloudWatchGateway
from smdeploy.adapters.config_store import GroupConfigStore
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.settings import PlanSettings

SETTINGS = PlanSettings.from_env()
logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="executionArn")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan = deploy.resolve_plan(
        event.get("raw"),
        sagemaker=SageMakerGateway(),
        configs=GroupConfigStore(SETTINGS.group_config_prefix),
        defaults=SETTINGS.defaults(),
        cloudwatch=CloudWatchGateway(),
        autoscaling=ScalingGateway(),
        under_lock=bool(event.get("underLock")),
        role_buckets=SETTINGS.role_buckets(),
    )
    metrics.add_metric(name="PlansResolved", unit=MetricUnit.Count, value=1)
    logger.info("resolved deployment plan", extra={"plan": plan.model_dump(mode="json")})
    return plan.model_dump(mode="json")
