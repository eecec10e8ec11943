"""Record the execution's outcome in the deployment history and publish a notification."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import deploy
from smdeploy.adapters.locks import LockTable
from smdeploy.adapters.notifier import Notifier
from smdeploy.adapters.records import DeploymentRecords
from smdeploy.models import RecordTaskInput
from smdeploy.settings import RecordSettings

SETTINGS = RecordSettings.from_env()
logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="executionArn")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = RecordTaskInput.model_validate(event)
    record = deploy.record_outcome(
        task.fields(),
        records=DeploymentRecords(SETTINGS.deployments_table),
        notifier=Notifier(SETTINGS.notify_topic_arn),
        locks=LockTable(SETTINGS.deployments_table),
    )
    metrics.add_metric(
        name=f"Outcome{task.outcome.value.title().replace('_', '')}", unit=MetricUnit.Count, value=1
    )
    logger.info("recorded outcome", extra={"record": record})
    return record
