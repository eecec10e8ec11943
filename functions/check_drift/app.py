"""One scheduled drift check of an endpoint's monitor (the schedule's input is the monitor)."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import clock, monitoring
from smdeploy.adapters.cloudwatch import CloudWatchGateway
from smdeploy.adapters.records import DeploymentRecords
from smdeploy.adapters.s3 import S3Gateway
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.models import parse_timestamp
from smdeploy.settings import MonitoringSettings

SETTINGS = MonitoringSettings.from_env()
logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    spec = event.get("monitor") or {}
    scheduled = parse_timestamp(event.get("scheduledTime")) or clock.utcnow()
    report = monitoring.check(
        spec,
        scheduled,
        s3=S3Gateway(),
        cloudwatch=CloudWatchGateway(),
        sagemaker=SageMakerGateway(),
        records=DeploymentRecords(SETTINGS.deployments_table),
    )
    metrics.add_metric(name="DriftChecks", unit=MetricUnit.Count, value=1)
    logger.info(
        "drift check", extra={"drifted": report.get("drifted"), "endpoint": report.get("endpointName")}
    )
    return {k: report.get(k) for k in ("endpointName", "version", "window", "drifted")}
