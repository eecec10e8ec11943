"""Normalize the execution input (approval event or manual input) into a deployment plan."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import deploy, recovery
from smdeploy.adapters.autoscaling import ScalingGateway
from smdeploy.adapters.cloudwatch import CloudWatchGateway
from smdeploy.adapters.config_store import GroupConfigStore
from smdeploy.adapters.records import DeploymentRecords
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.models import DeploymentPlan
from smdeploy.settings import PlanSettings

SETTINGS = PlanSettings.from_env()
logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="executionArn")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    raw = event.get("raw")
    sagemaker, configs = SageMakerGateway(), GroupConfigStore(SETTINGS.group_config_prefix)
    records = DeploymentRecords(SETTINGS.deployments_table) if SETTINGS.deployments_table else None
    cloudwatch, autoscaling = CloudWatchGateway(), ScalingGateway()  # one client each per invocation

    def resolve(request: Any, under_lock: bool = False) -> DeploymentPlan:
        return deploy.resolve_plan(
            request,
            sagemaker=sagemaker,
            configs=configs,
            defaults=SETTINGS.defaults(),
            cloudwatch=cloudwatch,
            autoscaling=autoscaling,
            under_lock=under_lock,
            role_buckets=SETTINGS.role_buckets(),
            records=records,
        )

    if recovery.is_status_change(raw):
        plan = recovery.recovery_plan(raw, resolve=resolve)
    else:
        plan = resolve(raw, under_lock=bool(event.get("underLock")))
    metrics.add_metric(name="PlansResolved", unit=MetricUnit.Count, value=1)
    logger.info("resolved deployment plan", extra={"plan": plan.model_dump(mode="json")})
    return plan.model_dump(mode="json")
