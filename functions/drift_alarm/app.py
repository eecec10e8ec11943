"""A drift or model-quality alarm went to ALARM: notify, or roll back to the last good version."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import monitoring
from smdeploy.adapters.executions import ExecutionStarter
from smdeploy.adapters.notifier import Notifier
from smdeploy.adapters.records import DeploymentRecords
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.adapters.scheduler import SchedulerGateway
from smdeploy.settings import MonitoringSettings

SETTINGS = MonitoringSettings.from_env()
logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.set_correlation_id(str(event.get("id", "")))
    result = monitoring.on_alarm(
        event,
        scheduler=SchedulerGateway(),
        sagemaker=SageMakerGateway(),
        records=DeploymentRecords(SETTINGS.deployments_table),
        notifier=Notifier(SETTINGS.notify_topic_arn),
        starter=ExecutionStarter(SETTINGS.deploy_state_machine_arn),
    )
    metrics.add_metric(
        name="DriftRollbacks", unit=MetricUnit.Count, value=int(result["action"] == "rollback")
    )
    logger.info("drift alarm handled", extra={"result": result})
    return result
