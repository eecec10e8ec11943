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
    ("moto.stepfunctions.parser.asl.eval.event.event_manager", "EventManager._get_current_timestamp"),
    ("moto.stepfunctions.parser.asl.utils.boto_client", "boto_client_for"),
    ("moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils", "boto_client_for"),
    ("moto.awslambda_simple.models", "LambdaSimpleBackend.invoke"),
    ("moto.core.responses", "BaseResponse.call_action"),
    ("moto.core.responses", "BaseResponse._get_action"),
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
