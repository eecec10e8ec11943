"""A stage of a staged promotion succeeded: open the next stage's gate, or close it and go on."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import clock, stages
from smdeploy.adapters.executions import ExecutionStarter
from smdeploy.adapters.gates import Gates
from smdeploy.adapters.notifier import Notifier
from smdeploy.adapters.records import DeploymentRecords
from smdeploy.settings import GateSettings

SETTINGS = GateSettings.from_env()
logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="executionArn")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = stages.GateRequest.model_validate(event)
    gates = Gates(SETTINGS.deployments_table)
    notifier = Notifier(SETTINGS.notify_topic_arn)
    if request.action == "open":
        result = stages.open_gate(request, gates=gates, notifier=notifier, now=clock.utcnow())
    else:
        result = stages.close_gate(
            request,
            gates=gates,
            records=DeploymentRecords(SETTINGS.deployments_table),
            notifier=notifier,
            starter=ExecutionStarter(SETTINGS.deploy_state_machine_arn),
            now=clock.utcnow(),
        )
    logger.info("stage gate", extra={"action": request.action, **result})
    return result
