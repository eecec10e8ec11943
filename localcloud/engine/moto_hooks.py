"""Every moto internal the local cloud relies on, in one place.

moto is pinned exactly (requirements/dev.txt); ``tests/integration/test_moto_hooks.py`` asserts
that each attribute below still exists, so that an upgrade that moves one fails loudly.
"""

from __future__ import annotations

import importlib
from typing import Any

# (module, attribute) pairs patched or read by the local cloud.
HOOKS: list[tuple[str, str]] = [
    ("moto.stepfunctions.parser.backend.execution_worker", "ExecutionWorker.start"),
    ("moto.stepfunctions.parser.backend.execution_worker", "ExecutionWorker._execution_logic"),
    ("moto.stepfunctions.parser.models", "stepfunctions_parser_backends"),
    ("moto.stepfunctions.parser.asl.parse.asl_parser", "AmazonStateLanguageParser.parse"),
    ("moto.stepfunctions.parser.asl.utils.json_path", "parse"),
    ("moto.stepfunctions.parser.asl.component.common.path.result_path", "parse"),
    (
        "moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function",
        "WaitFunction._wait_interval",
    ),
    ("moto.stepfunctions.parser.asl.component.common.retry.retrier_decl", "time"),
    ("moto.stepfunctions.parser.asl.component.common.retry.jitter_strategy_decl", "random"),
    # the interpreter modules whose state-data copies json_copy replaces
    ("moto.stepfunctions.parser.asl.eval.states", "copy"),
    ("moto.stepfunctions.parser.asl.component.common.path.result_path", "copy"),
    ("moto.stepfunctions.parser.asl.component.common.string.string_expression", "copy"),
    ("moto.stepfunctions.parser.asl.component.state.exec.execute_state", "copy"),
    ("moto.stepfunctions.parser.asl.component.state.exec.execute_state", "Thread"),
    ("moto.s3.responses", "S3Response._authenticate_and_authorize_s3_action"),
    ("moto.stepfunctions.parser.asl.eval.event.event_manager", "EventManager._get_current_timestamp"),
    ("moto.stepfunctions.parser.asl.utils.boto_client", "boto_client_for"),
    ("moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils", "boto_client_for"),
    ("moto.awslambda_simple.models", "LambdaSimpleBackend.invoke"),
    # errors of the Invoke API reach the ASL as Lambda.<Code> (engine/cloud.py, lambda_service_error_names)
    (
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda",
        "StateTaskLambda._from_error",
    ),
    ("moto.stepfunctions.parser.asl.component.common.error_name.failure_event", "FailureEvent"),
    ("moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name", "CustomErrorName"),
    ("moto.stepfunctions.parser.asl.eval.event.event_detail", "EventDetails"),
    ("moto.stepfunctions.parser.api", "HistoryEventType.LambdaFunctionFailed"),
    ("moto.stepfunctions.parser.api", "LambdaFunctionFailedEventDetails"),
    ("moto.core.responses", "BaseResponse.call_action"),
    ("moto.core.responses", "BaseResponse._get_action"),
    # other accounts: a session's calls serve in its role's account, expiring in virtual time
    ("moto.core.responses", "BaseResponse.get_current_account"),
    ("moto.core.responses", "BaseResponse.get_access_key"),
    ("moto.sts.models", "STSBackend.assume_role"),
    ("moto.core.exceptions", "ServiceException"),
    ("moto.events.models", "EventPattern.load"),
    ("moto.sagemaker.models", "SageMakerModelBackend.create_endpoint"),
    ("moto.sagemaker.models", "SageMakerModelBackend.delete_endpoint"),
    ("moto.sagemaker.models", "SageMakerModelBackend.describe_endpoint"),
    ("moto.sagemaker.models", "SageMakerModelBackend.update_model_package"),
    ("moto.sagemaker.models", "SageMakerModelBackend.create_model_package"),
    ("moto.sagemaker.models", "SageMakerModelBackend.create_model"),
    ("moto.sagemaker.models", "FakeEndpoint.endpoint_status"),
    ("moto.sagemaker.exceptions", "ValidationError"),
    # the SageMaker simulator: endpoint updates, weights, configs, deletes (services/sagemaker/endpoints.py)
    ("moto.sagemaker.models", "sagemaker_backends"),
    ("moto.sagemaker.models", "arn_formatter"),
    ("moto.sagemaker.models", "SageMakerModelBackend.delete_model"),
    ("moto.sagemaker.models", "SageMakerModelBackend.create_endpoint_config"),
    ("moto.sagemaker.models", "SageMakerModelBackend.describe_endpoint_config"),
    ("moto.sagemaker.models", "SageMakerModelBackend.delete_endpoint_config"),
    ("moto.sagemaker.models", "SageMakerModelBackend.update_endpoint_weights_and_capacities"),
    ("moto.sagemaker.models", "SageMakerModelBackend.endpoints"),
    ("moto.sagemaker.models", "SageMakerModelBackend.endpoint_configs"),
    ("moto.sagemaker.models", "SageMakerModelBackend._models"),
    ("moto.sagemaker.models", "SageMakerModelBackend.data_quality_job_definitions"),
    ("moto.sagemaker.models", "SageMakerModelBackend.model_quality_job_definitions"),
    ("moto.sagemaker.models", "FakeEndpoint.arn_formatter"),
    ("moto.sagemaker.models", "FakeEndpoint.response_object"),
    ("moto.sagemaker.models", "FakeEndpoint.production_variants"),
    ("moto.sagemaker.models", "FakeEndpoint.endpoint_config_name"),
    ("moto.sagemaker.models", "FakeEndpoint.failure_reason"),
    ("moto.sagemaker.models", "FakeEndpoint.data_capture_config"),
    ("moto.sagemaker.models", "FakeEndpoint.creation_time"),
    ("moto.sagemaker.models", "FakeEndpoint.last_modified_time"),
    ("moto.sagemaker.models", "FakeEndpointConfig.arn_formatter"),
    ("moto.sagemaker.models", "FakeEndpointConfig.production_variants"),
    ("moto.sagemaker.models", "FakeEndpointConfig.data_capture_config"),
    ("moto.sagemaker.models", "FakeEndpointConfig.creation_time"),
    ("moto.sagemaker.models", "Model.creation_time"),
    # SageMaker's refusals of configs and the fields moto drops (services/sagemaker/endpoints.py)
    ("moto.sagemaker.models", "FakeEndpointConfig.endpoint_config_arn"),
    ("moto.sagemaker.models", "Model.model_name"),
    ("moto.sagemaker.models", "Model.containers"),
    ("moto.sagemaker.models", "Model.primary_container"),
    ("moto.sagemaker.models", "Model.vpc_config"),
    ("moto.sagemaker.models", "Model.enable_network_isolation"),
    ("moto.sagemaker.responses", "SageMakerResponse.create_endpoint_config"),
    ("moto.applicationautoscaling.models", "FakeApplicationAutoscalingPolicy.delete_alarms"),
    # actions moto lacks, served as methods of its response class
    # (services/sagemaker/endpoints.py, services/sagemaker/monitor.py)
    ("moto.sagemaker.responses", "SageMakerResponse.sagemaker_backend"),
    ("moto.core.responses", "BaseResponse._get_param"),
    ("moto.core.responses", "ActionResult"),
    ("moto.core.responses", "EmptyResult"),
    ("moto.core.utils", "method_names_from_class"),
    ("moto.sagemaker.exceptions", "ResourceNotFound"),
    ("moto.sagemaker.exceptions", "ResourceInUseException"),
    # batch transform jobs in virtual time, their input and output objects (services/sagemaker/transforms.py)
    ("moto.sagemaker.models", "SageMakerModelBackend.create_transform_job"),
    ("moto.sagemaker.models", "SageMakerModelBackend.transform_jobs"),
    ("moto.sagemaker.models", "FakeTransformJob.arn"),
    ("moto.sagemaker.models", "FakeTransformJob.transform_job_status"),
    ("moto.sagemaker.models", "FakeTransformJob.failure_reason"),
    ("moto.sagemaker.models", "FakeTransformJob.creation_time"),
    ("moto.sagemaker.models", "FakeTransformJob.transform_start_time"),
    ("moto.sagemaker.models", "FakeTransformJob.transform_end_time"),
    ("moto.sagemaker.models", "FakeTransformJob.last_modified_time"),
    ("moto.sagemaker.models", "FakeTransformJob.labeling_job_arn"),
    ("moto.sagemaker.models", "FakeTransformJob.auto_ml_job_arn"),
    ("moto.sagemaker.models", "FakeTransformJob.transform_input"),
    ("moto.sagemaker.models", "FakeTransformJob.transform_output"),
    ("moto.sagemaker.models", "FakeTransformJob.tags"),
    ("moto.sagemaker.models", "FakeTransformJob.gen_response_object"),
    ("moto.s3.models", "s3_backends"),
    ("moto.s3.models", "S3Backend.buckets"),
    ("moto.s3.models", "S3Backend.list_objects"),
    ("moto.s3.models", "S3Backend.put_object"),
    ("moto.s3.models", "FakeKey.name"),
    ("moto.s3.models", "FakeKey.value"),
    ("moto.utilities.utils", "get_partition"),
    # executions started by handlers through boto3 are numbered when the worker starts (engine/cloud.py)
    ("moto.stepfunctions.parser.backend.execution_worker", "ExecutionWorker._evaluation_details"),
    # asynchronous invocations (InvocationType=Event) of functions targeted by rules (engine/cloud.py)
    ("moto.awslambda.responses", "LambdaResponse.invoke"),
    # metrics and alarm evaluation (services/cloudwatch/metrics.py, services/cloudwatch/alarms.py)
    ("moto.cloudwatch.models", "cloudwatch_backends"),
    ("moto.cloudwatch.models", "CloudWatchBackend.put_metric_alarm"),
    ("moto.cloudwatch.models", "CloudWatchBackend.set_alarm_state"),
    ("moto.cloudwatch.models", "CloudWatchBackend.alarms"),
    ("moto.cloudwatch.models", "CloudWatchBackend.metric_data"),
    ("moto.cloudwatch.models", "MetricDatum"),
    ("moto.cloudwatch.models", "MetricAggregatedDatum"),
    ("moto.cloudwatch.models", "Alarm.update_state"),
    ("moto.cloudwatch.models", "Alarm.state_value"),
    ("moto.cloudwatch.models", "Alarm.state_reason_data"),
    ("moto.cloudwatch.models", "Alarm.state_updated_timestamp"),
    ("moto.cloudwatch.models", "Alarm.configuration_updated_timestamp"),
    ("moto.cloudwatch.models", "Alarm.metric_data_queries"),
    ("moto.cloudwatch.models", "Alarm.treat_missing_data"),
    ("moto.cloudwatch.models", "Alarm.datapoints_to_alarm"),
    ("moto.cloudwatch.models", "Alarm.extended_statistic"),
    ("moto.cloudwatch.models", "Alarm.evaluate_low_sample_count_percentile"),
    ("moto.cloudwatch.models", "Alarm.threshold_metric_id"),
    ("moto.cloudwatch.models", "Alarm.rule"),
    ("moto.cloudwatch.models", "MetricDataQuery.metric_stat"),
    ("moto.cloudwatch.models", "MetricStat.stat"),
    # Model Monitor: tags of schedules, job definitions' names (services/sagemaker/monitor.py)
    ("moto.sagemaker.models", "SageMakerModelBackend._get_resource_from_arn"),
    ("moto.sagemaker.models", "SageMakerModelBackend.create_data_quality_job_definition"),
    ("moto.sagemaker.models", "SageMakerModelBackend.create_model_quality_job_definition"),
    # EventBridge Scheduler: validation, firings and virtual dates of API-created schedules
    # (services/scheduler.py)
    ("moto.scheduler.models", "EventBridgeSchedulerBackend.create_schedule"),
    ("moto.scheduler.models", "EventBridgeSchedulerBackend.update_schedule"),
    ("moto.scheduler.models", "EventBridgeSchedulerBackend.delete_schedule"),
    ("moto.scheduler.models", "EventBridgeSchedulerBackend.delete_schedule_group"),
    ("moto.scheduler.models", "EventBridgeSchedulerBackend.get_schedule_group"),
    ("moto.scheduler.models", "EventBridgeSchedulerBackend.schedule_groups"),
    ("moto.scheduler.models", "Schedule.schedule_expression"),
    ("moto.scheduler.models", "Schedule.schedule_expression_timezone"),
    ("moto.scheduler.models", "Schedule.target"),
    ("moto.scheduler.models", "Schedule.state"),
    ("moto.scheduler.models", "Schedule.start_date"),
    ("moto.scheduler.models", "Schedule.end_date"),
    ("moto.scheduler.models", "Schedule.action_after_completion"),
    ("moto.scheduler.models", "Schedule.group_name"),
    ("moto.scheduler.models", "Schedule.arn"),
    ("moto.scheduler.models", "ScheduleGroup.schedules"),
    ("moto.scheduler.models", "scheduler_backends"),
    ("moto.scheduler.models", "unix_time"),
    ("moto.scheduler.models", "utcnow"),
    ("moto.scheduler.exceptions", "ValidationException"),
    # DescribeStacks of the rehearsed stack (services/cloudformation.py)
    ("moto.cloudformation.models", "CloudFormationBackend.describe_stacks"),
    ("moto.cloudformation.responses", "CloudFormationResponse.describe_stacks"),
    # nameless executions get a UUID; GetExecutionHistory in pages (services/stepfunctions.py)
    ("moto.stepfunctions.parser.models", "StepFunctionsParserBackend.start_execution"),
    ("moto.stepfunctions.responses", "StepFunctionResponse.get_execution_history"),
    ("moto.stepfunctions.responses", "StepFunctionResponse.stepfunction_backend"),
    ("moto.stepfunctions.exceptions", "ValidationException"),
    ("moto.stepfunctions.exceptions", "InvalidToken"),
    # .waitForTaskToken in virtual time (services/stepfunctions.py)
    (
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback",
        "StateTaskServiceCallback._wait_for_task_token_timeout",
    ),
    (
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback",
        "StateTaskServiceCallback._wait_for_task_token_heartbeat",
    ),
    ("moto.stepfunctions.parser.asl.eval.callback.callback", "CallbackEndpoint.notify"),
    ("moto.stepfunctions.parser.asl.eval.callback.callback", "CallbackEndpoint.report"),
    ("moto.stepfunctions.parser.asl.eval.callback.callback", "CallbackConsumerTimeout"),
    ("moto.stepfunctions.parser.asl.eval.callback.callback", "CallbackOutcomeSuccess"),
    ("moto.stepfunctions.parser.asl.component.state.exec.execute_state", "threading"),
    ("moto.stepfunctions.parser.api", "TaskTimedOut"),
    ("moto.stepfunctions.parser.models", "TaskTimedOut"),
    ("moto.stepfunctions.parser.models", "TaskDoesNotExist"),
    # deterministic identifiers
    ("moto.moto_api._internal", "mock_random"),
]


def resolve(module: str, attribute: str) -> Any:
    """The object at ``module`` + dotted ``attribute``; raises AttributeError when it is gone."""
    target: Any = importlib.import_module(module)
    for part in attribute.split("."):
        if isinstance(target, type) and part not in dir(target):
            # instance attributes set in __init__ are checked on a source level instead
            init_src = getattr(vars(target).get("__init__"), "__code__", None)
            if init_src is not None and part in init_src.co_names:
                return None
        target = getattr(target, part)
    return target
