"""One check of the convergence loop: look at the endpoint, make at most one change, say what's next."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smdeploy import converge
from smdeploy.adapters.autoscaling import ScalingGateway
from smdeploy.adapters.aws import in_stage_account
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.models import ConvergeTaskInput

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="executionArn")
@tracer.capture_lambda_handler
@metrics.log_metrics
@in_stage_account
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = ConvergeTaskInput.model_validate(event)
    result = converge.converge_step(
        task.plan,
        task.converge,
        intent=task.intent,
        avoid=task.avoid,
        sagemaker=SageMakerGateway(),
        autoscaling=ScalingGateway(),
    )
    acted = result["action"] not in {"none", "wait"}
    metrics.add_metric(name="ConvergeActions", unit=MetricUnit.Count, value=1 if acted else 0)
    log = logger.warning if acted or result["state"] == "STUCK" else logger.info
    log(
        "converge",
        extra={
            "endpoint": task.plan.endpointName,
            "intent": task.intent,
            "state": result["state"],
            "action": result["action"],
            "detail": result["detail"],
        },
    )
    return result
