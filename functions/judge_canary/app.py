"""Judge the candidate once (approval, alarms, Monitor, traffic, an A/B test's metric, or a shadow
test's comparison): wait, next step, promote or roll back."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import canary
from smdeploy.adapters.aws import in_stage_account
from smdeploy.adapters.cloudwatch import CloudWatchGateway
from smdeploy.adapters.records import DeploymentRecords
from smdeploy.adapters.s3 import S3Gateway
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.models import StepTaskInput
from smdeploy.settings import RecordSettings

SETTINGS = RecordSettings.from_env()  # the deployment history: which versions rolled back (preempt)
logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="executionArn")
@tracer.capture_lambda_handler
@metrics.log_metrics
@in_stage_account
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = StepTaskInput.model_validate(event)
    result = canary.judge_candidate(
        task.plan,
        task.canary or {},
        task.judgement or {},
        sagemaker=SageMakerGateway(),
        cloudwatch=CloudWatchGateway(),
        records=DeploymentRecords(SETTINGS.deployments_table),
        phase=task.phase,
        # captured data: a shadow's agreement, and drift as evidence when the group is monitored
        s3=S3Gateway() if task.phase == "shadow" or task.plan.monitoring else None,
        execution_arn=task.executionArn,
    )
    metrics.add_metric(name=f"Verdict{str(result['verdict']).title()}", unit=MetricUnit.Count, value=1)
    logger.info("judged candidate", extra={"endpoint": task.plan.endpointName, "judgement": result})
    return result
