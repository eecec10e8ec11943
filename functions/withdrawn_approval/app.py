"""On a rejection of a version that may serve its endpoint, start a withdrawal (a deploy execution)."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import withdrawal
from smdeploy.adapters.config_store import GroupConfigStore
from smdeploy.adapters.executions import ExecutionStarter
from smdeploy.adapters.s3 import S3Gateway
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.settings import WithdrawalSettings

SETTINGS = WithdrawalSettings.from_env()
logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.set_correlation_id(str(event.get("id", "")))
    result = withdrawal.handle_rejection(
        event,
        sagemaker=SageMakerGateway(),
        configs=GroupConfigStore(SETTINGS.group_config_prefix),
        starter=ExecutionStarter(SETTINGS.deploy_state_machine_arn),
        s3=S3Gateway(),
    )
    metrics.add_metric(name="Withdrawals", unit=MetricUnit.Count, value=int(result["action"] == "withdraw"))
    logger.info("withdrawn approval handled", extra={"result": result})
    return result
