"""LocalCloud: the SAM app running in-process on moto, in virtual time."""

from __future__ import annotations

import copy
import functools
import json
import logging
import os
import random
import re
import threading
import time as real_time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock
from urllib.parse import unquote

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.exceptions import ServiceException
from moto.s3.exceptions import S3AccessDeniedError as S3AccessDenied

from localcloud.engine import moto_hooks
from localcloud.engine.apicalls import BEFORE, ApiCalls, Fault
from localcloud.engine.lambdas import LambdaRuntime, invoke_api_error, is_invoke_api_error
from localcloud.engine.scheduler import STOPPED, Scheduler
from localcloud.engine.template import STAGE_TEMPLATE_PATH, TEMPLATE_PATH, RuleSpec, ScheduleSpec, Template
from localcloud.iam import IamEnforcer
from localcloud.iam.requests import params_of
from localcloud.services.autoscaling import AutoscalingSimulator
from localcloud.services.cloudformation import CloudFormationStacks
from localcloud.services.cloudwatch.alarms import AlarmEvaluator
from localcloud.services.cloudwatch.metrics import TrafficSimulator
from localcloud.services.cloudwatch.reads import MetricReads
from localcloud.services.events import LocalEventBus
from localcloud.services.sagemaker.baselines import DataDrift
from localcloud.services.sagemaker.endpoints import SageMakerSimulator, SimulationSettings
from localcloud.services.sagemaker.groundtruth import GroundTruthWriter
from localcloud.services.sagemaker.invocations import InvocationSimulator
from localcloud.services.sagemaker.monitor import ModelMonitorSimulator
from localcloud.services.sagemaker.recommender import InferenceRecommender
from localcloud.services.scheduler import (
    EventBridgeScheduler,
    context_attributes,
    scheduled_event,
    with_context,
)
from localcloud.services.stepfunctions import served_as_on_aws as stepfunctions_as_on_aws
from localcloud.services.stepfunctions import task_tokens_in_virtual_time
from smdeploy import clock as smdeploy_clock
from smdeploy.adapters import aws as smdeploy_aws

# Injected faults use error codes some service models do not list (ThrottlingException on SageMaker);
# moto serializes them all the same and warns. The warning says nothing about the rehearsal.
warnings.filterwarnings("ignore", message=r"Exception\(.*\) with code .* does not match an error shape")

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # moto's fake ones


@cache
def local_client(service: str, region: str) -> Any:
    """A boto3 client for the local cloud, built once per process.

    moto intercepts every botocore client created after it is imported while a mock is active, so
    clients outlive one LocalCloud; building them costs tens of milliseconds each.
    """
    return boto3.client(service, region_name=region, **_FAKE_CREDENTIALS)


# Step Functions and EventBridge call Lambda once per attempt: a failed Invoke reaches the ASL's
# Retry/Catch (or Lambda's asynchronous retries), never botocore's own retries.
_NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


@cache
def service_client(service: str, region: str) -> Any:
    """A boto3 client of the local cloud acting as an AWS service: one attempt per call."""
    return boto3.client(service, region_name=region, config=_NO_RETRY, **_FAKE_CREDENTIALS)


_handler_clients_region: str | None = None


_ASL_PARSER = moto_hooks.resolve(
    "moto.stepfunctions.parser.asl.parse.asl_parser", "AmazonStateLanguageParser"
)
# Parse each definition once per process: a parsed program holds no per-execution state.
_cached_asl_parse = cache(_ASL_PARSER.parse)


@cache
def _cached_jsonpath(parse: Any) -> Any:
    return cache(parse)


# What the local Lambda environment adds to each function's template environment.
LOCAL_LAMBDA_ENV = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
}


@dataclass
class ExecutionTimes:
    started: float | None = None
    stopped: float | None = None


# Lambda's waits before the 2nd and the 3rd attempt of a failed asynchronous invocation.
ASYNC_RETRY_DELAYS = (60.0, 120.0)


@dataclass
class AsyncInvocation:
    """One attempt of an asynchronous invocation (an EventBridge rule or schedule -> a function)."""

    at: float
    function: str  # logical id
    trigger: str  # the rule or schedule that delivered the event
    attempt: int
    ok: bool = False
    result: Any = None
    error_type: str | None = None
    error_message: str | None = None


class LocalCloud:
    """Context manager: ``with LocalCloud() as cloud: cloud.put_event(...); cloud.run()``.

    Besides moto and the state machines it runs ``sagemaker_sim`` (endpoints in virtual time),
    ``traffic`` (per-minute requests and AWS/SageMaker metrics), ``alarms`` (CloudWatch alarm
    evaluation) and ``monitor`` (Model Monitor); the last three are background work, once a
    virtual minute, seeded by ``seed``.
    """

    def __init__(
        self,
        template_path: Path = TEMPLATE_PATH,
        *,
        region: str = "us-east-1",
        account: str = "123456789012",
        simulation: SimulationSettings | None = None,
        faults: list[Fault] | None = None,
        seed: int = 7,
        lambda_log_level: str = "ERROR",
        parameters: dict[str, str] | None = None,
        enforce_iam: bool = True,
        accounts: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.template = Template(
            template_path, region=region, account=account, parameter_overrides=parameters
        )
        self.region, self.account = region, account
        self.scheduler = Scheduler(EPOCH)
        self.simulation = simulation or SimulationSettings()
        self.api = ApiCalls(faults, now=lambda: self.scheduler.now)
        self.iam = IamEnforcer(
            self.template, now=lambda: self.scheduler.now, tags_of=self._tags_of, enabled=enforce_iam
        )
        self.api.authorize = self._authorize
        # other accounts (stages deployed through a role): stage-account.yaml deployed in each
        self.accounts = dict(accounts or {})
        self.events_elsewhere: list[dict[str, Any]] = []  # events of the other accounts' resources
        self._admin_credentials: dict[str, dict[str, str]] = {}
        for account_id, account_parameters in self.accounts.items():
            self.iam.add_account(
                Template(
                    STAGE_TEMPLATE_PATH,
                    region=region,
                    account=account_id,
                    parameter_overrides={"HubAccountId": account, **account_parameters},
                )
            )
        self.machines = self.template.state_machines()
        self.functions = self.template.functions()
        self._machine_by_arn = {spec.arn: lid for lid, spec in self.machines.items()}
        self.lambdas = LambdaRuntime(
            self.functions, {**LOCAL_LAMBDA_ENV, "POWERTOOLS_LOG_LEVEL": lambda_log_level}
        )
        self.sagemaker_sim = SageMakerSimulator(self.scheduler, self.simulation, self._emit)
        self.sagemaker_sim.role_check = self._model_role_allows
        # Inference Recommender jobs (the job's role is checked like a model's execution role)
        self.recommender = InferenceRecommender(self.scheduler, self.sagemaker_sim)
        self.seed = seed
        self.invocations = InvocationSimulator(
            self.simulation.behaviour,
            serving=self.sagemaker_sim.serving_now,
            settings=self.simulation,
            now=lambda: self.scheduler.now,
            seed=seed,
        )
        self.traffic = TrafficSimulator(
            self.simulation,
            self.sagemaker_sim,
            seed=seed,
            epoch=EPOCH,
            cloudwatch_backend=self._cloudwatch_backend,
            now=lambda: self.scheduler.now,
        )
        self.alarms = AlarmEvaluator(
            self.scheduler, self.traffic.series, self._emit, account=account, region=region
        )
        self.alarms.other_accounts = list(self.accounts)
        self.alarms.account_of = self.sagemaker_sim.account_of
        # GetMetricData and ListMetrics as CloudWatch answers them (moto's own answers differ)
        self.metric_reads = MetricReads(
            lambda: self.scheduler.datetime().replace(tzinfo=None),
            lambda: self.simulation.list_metrics_delay_seconds,
        )
        self.traffic.on_publish = self.metric_reads.note
        self.metric_reads.on_put = self._application_metrics
        # captured inputs follow each version's baseline and its drifts; labels follow its accuracy
        self.drift = DataDrift(lambda package: self.simulation.behaviour(package).baseline)
        self.traffic.capture.inputs = self.drift.features
        self.ground_truth: GroundTruthWriter | None = None
        if self.simulation.ground_truth is not None:
            self.ground_truth = GroundTruthWriter(
                self.simulation.ground_truth,
                self.scheduler,
                self.traffic.capture.s3_backend,
                self.drift.accuracy,
                seed,
            )
            self.traffic.capture.on_deliver = self.ground_truth.captured
        self.scaling = AutoscalingSimulator(
            self.scheduler, self.sagemaker_sim, self.traffic.series, self.sagemaker_backend, account, region
        )
        self.monitor = ModelMonitorSimulator(
            self.scheduler, self.simulation, self.traffic, account=account, region=region
        )
        rules = [rule for spec in self.machines.values() for rule in spec.rules] + [
            rule for spec in self.functions.values() for rule in spec.rules
        ]
        self.bus = LocalEventBus(
            rules,
            self._deliver,
            lambda: self.scheduler.now,
            self.now_iso,
            account,
            region,
            delivery=self.simulation.events,
            seed=seed,
        )
        self.executions: list[str] = []  # ARNs in start order, however started (rule, console, handler)
        self.execution_machine: dict[str, str] = {}
        self.times: dict[str, ExecutionTimes] = {}
        self.async_invocations: list[AsyncInvocation] = []
        self.schedule_firings: list[dict[str, Any]] = []
        # EventBridge Scheduler schedules created through the API fire by themselves (background work)
        self.eventbridge_scheduler = EventBridgeScheduler(
            self.scheduler,
            self.iam,
            function_of=self._function_of,
            invoke=lambda function, payload, trigger: self.invoke_async(function, payload, trigger=trigger),
            failed=self._failed_delivery,
            account=account,
            region=region,
        )
        # DescribeStacks of the rehearsed stack: its outputs name the local resources
        self.cloudformation = CloudFormationStacks(self.template, EPOCH)
        self._random = random.Random(seed)
        self._stack = ExitStack()
        self._sqs_queue_url: str | None = None
        self._scaled_through = -1  # the last published minute autoscaling decided on

    # --- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> LocalCloud:
        stack = self._stack
        stack.enter_context(
            mock.patch.dict(
                os.environ,
                {
                    "AWS_DEFAULT_REGION": self.region,
                    "AWS_REGION": self.region,
                    "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing",
                    "MOTO_ACCOUNT_ID": self.account,
                },
            )
        )
        stack.enter_context(
            mock_aws(
                config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
            )
        )
        self._install_patches()
        # moto draws every identifier (SNS message ids, receipt handles...) from one seedable
        # generator: seed it so that the same scenario gives the same report.
        moto_random = moto_hooks.resolve("moto.moto_api._internal", "mock_random")
        stack.callback(moto_random.setstate, moto_random.getstate())
        moto_random.seed(self.seed)
        global _handler_clients_region
        if _handler_clients_region != self.region:
            # Handler containers stay warm across rehearsals, as on Lambda, unless the region changes.
            smdeploy_aws.reset_clients()
            _handler_clients_region = self.region
        # ... but sessions of another rehearsal's STS mean nothing here
        smdeploy_aws.forget_sessions()
        smdeploy_clock.set_source(self.scheduler.datetime)
        stack.callback(smdeploy_clock.set_source, None)
        self._create_resources()
        self.scheduler.at(60.0, self._minute, background=True)
        self.api.counting = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.api.counting = False
        self._stack.close()

    def _install_patches(self) -> None:
        stack, scheduler, cloud = self._stack, self.scheduler, self

        worker_cls = moto_hooks.resolve(
            "moto.stepfunctions.parser.backend.execution_worker", "ExecutionWorker"
        )

        def start(worker: Any) -> None:
            arn = worker._evaluation_details.execution_details.arn
            # Every execution is numbered here, in start order, whoever called StartExecution
            # (a rule, a scenario step, a handler through boto3).
            machine_arn = worker._evaluation_details.state_machine_details.arn
            cloud._register_execution(arn, machine_arn)
            times = cloud.times.setdefault(arn, ExecutionTimes())

            def run() -> None:
                times.started = scheduler.now
                try:
                    with cloud.iam.acting_as("stateMachine", cloud._machine_by_arn.get(machine_arn, "")):
                        worker._execution_logic()
                finally:
                    times.stopped = scheduler.now
                    cloud._execution_ended(arn)

            scheduler.spawn(run, name=f"execution:{arn.rsplit(':', 1)[-1]}", key=arn)

        stack.enter_context(mock.patch.object(worker_cls, "start", start))
        stack.enter_context(mock.patch.object(_ASL_PARSER, "parse", staticmethod(_cached_asl_parse)))
        for module in ("asl.utils.json_path", "asl.component.common.path.result_path"):
            target = f"moto.stepfunctions.parser.{module}.parse"
            stack.enter_context(
                mock.patch(target, _cached_jsonpath(moto_hooks.resolve(target.rsplit(".", 1)[0], "parse")))
            )

        wait_cls = moto_hooks.resolve(
            "moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function", "WaitFunction"
        )

        def wait_interval(_self: Any, env: Any, wait_seconds: int) -> None:
            if wait_seconds > 0:
                scheduler.sleep(wait_seconds)

        stack.enter_context(mock.patch.object(wait_cls, "_wait_interval", wait_interval))

        time_shim = SimpleNamespace(
            **{k: getattr(real_time, k) for k in dir(real_time) if not k.startswith("_")}
        )
        time_shim.sleep = scheduler.sleep
        stack.enter_context(
            mock.patch("moto.stepfunctions.parser.asl.component.common.retry.retrier_decl.time", time_shim)
        )
        stack.enter_context(
            mock.patch(
                "moto.stepfunctions.parser.asl.component.common.retry.jitter_strategy_decl.random",
                self._random,
            )
        )
        # The interpreter copies the state's data at every state with copy.deepcopy; that data is
        # JSON, which json_copy clones several times faster (anything else still goes to deepcopy).
        for module in JSON_COPYING_MODULES:
            stack.enter_context(mock.patch(f"{module}.copy", _JSON_COPY))
        event_manager = moto_hooks.resolve(
            "moto.stepfunctions.parser.asl.eval.event.event_manager", "EventManager"
        )
        stack.enter_context(
            mock.patch.object(event_manager, "_get_current_timestamp", staticmethod(scheduler.datetime))
        )

        def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
            return service_client(service, region)

        stack.enter_context(
            mock.patch(
                "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils.boto_client_for",
                boto_client_for,
            )
        )

        lambda_cls = moto_hooks.resolve("moto.awslambda_simple.models", "LambdaSimpleBackend")

        def invoke(
            _backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
        ) -> bytes:
            payload = json.loads(body) if body else {}
            spec = cloud.lambdas.spec(function_name)
            fault = cloud.api.take_fault(f"lambda:{spec.logical_id}")
            asynchronous = headers.get("X-Amz-Invocation-Type") == "Event"
            if fault is None or fault.mode != BEFORE:
                # The handler is the control plane, whoever invoked it: its own calls may be faulted.
                saved, cloud.api.injecting = cloud.api.injecting, True
                try:
                    with cloud.iam.acting_as("function", spec.logical_id):
                        result, function_error = cloud.lambdas.invoke(function_name, payload)
                finally:
                    cloud.api.injecting = saved
            if fault is not None:
                after_run = fault.mode != BEFORE
                if is_invoke_api_error(fault.error) and not asynchronous:
                    cloud.lambdas.fail(function_name, fault.error, fault.text, after_run=after_run)
                    raise invoke_api_error(fault.error, fault.text)
                # An asynchronous invocation was accepted (202): the fault fails the attempt, which
                # Lambda retries as it retries a function error.
                result = cloud.lambdas.fail(function_name, fault.error, fault.text, after_run=after_run)
                function_error = "Unhandled"
            if function_error:
                response_headers["x-amz-function-error"] = function_error
            return json.dumps(result).encode()

        stack.enter_context(mock.patch.object(lambda_cls, "invoke", invoke))
        task_lambda_cls = moto_hooks.resolve(
            "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda",
            "StateTaskLambda",
        )
        stack.enter_context(
            mock.patch.object(
                task_lambda_cls, "_from_error", lambda_service_error_names(task_lambda_cls._from_error)
            )
        )

        response_cls = moto_hooks.resolve("moto.core.responses", "BaseResponse")
        stack.enter_context(
            mock.patch.object(response_cls, "call_action", self.api.wrap(response_cls.call_action))
        )

        self.sagemaker_sim.install()
        stack.callback(self.sagemaker_sim.uninstall)
        self.recommender.install()
        stack.callback(self.recommender.uninstall)
        self.invocations.install()
        iam = self.iam

        class TaskThread(threading.Thread):
            """The interpreter runs each Task on a thread of its own: it acts for the same principal."""

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self.principals = iam.snapshot()

            def run(self) -> None:
                iam.adopt(self.principals)
                super().run()

        stack.enter_context(
            mock.patch("moto.stepfunctions.parser.asl.component.state.exec.execute_state.Thread", TaskThread)
        )
        s3_response = moto_hooks.resolve("moto.s3.responses", "S3Response")
        stack.enter_context(
            mock.patch.object(s3_response, "_authenticate_and_authorize_s3_action", self._authorize_s3())
        )
        stack.callback(self.invocations.uninstall)
        self.alarms.install()
        stack.callback(self.alarms.uninstall)
        self.metric_reads.install()
        stack.callback(self.metric_reads.uninstall)
        self.monitor.install()
        stack.callback(self.monitor.uninstall)
        self.eventbridge_scheduler.install()
        stack.callback(self.eventbridge_scheduler.uninstall)
        self.cloudformation.install()
        stack.callback(self.cloudformation.uninstall)
        stack.enter_context(stepfunctions_as_on_aws())  # nameless executions, history pages
        stack.enter_context(task_tokens_in_virtual_time(scheduler))
        stack.enter_context(self._sessions_in_virtual_time())

        parser_logger = logging.getLogger("moto.stepfunctions.parser")
        previous_level = parser_logger.level
        parser_logger.setLevel(logging.CRITICAL)
        stack.callback(parser_logger.setLevel, previous_level)

    def _create_resources(self) -> None:
        """Create what template.yaml declares, as CloudFormation would (names resolved locally)."""
        ddb = self.client("dynamodb")
        for name, props in self.template.tables().items():
            kwargs: dict[str, Any] = {
                "TableName": name,
                "AttributeDefinitions": props["AttributeDefinitions"],
                "KeySchema": props["KeySchema"],
                "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            }
            if props.get("GlobalSecondaryIndexes"):
                kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            ddb.create_table(**kwargs)
        sns = self.client("sns")
        sqs = self.client("sqs")
        self._sqs_queue_url = sqs.create_queue(QueueName="localcloud-notifications")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self._sqs_queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        for topic in self.template.topics():
            topic_arn = sns.create_topic(Name=topic)["TopicArn"]
            sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        iam = self.client("iam")
        trust = json.dumps({"Version": "2012-10-17", "Statement": []})
        for role in self.template.roles():
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
        sfn = self.client("stepfunctions")
        for spec in self.machines.values():
            sfn.create_state_machine(
                name=spec.name,
                definition=spec.definition,
                roleArn=f"arn:aws:iam::{self.account}:role/{spec.name}-role",
            )

    # --- IAM ----------------------------------------------------------------------------------
    def _authorize(self, call: str, response: Any) -> Exception | None:
        """IAM for a served call: the error AWS answers a denied call with, or None. A call signed
        with a session of another account's role (AssumeRole) is that role's, in that account."""
        try:
            session = self.iam.session(response.get_access_key())
        except Exception:
            session = None
        caller = session[0] if session is not None else self.iam.current()
        if caller is None:
            return None
        if session is not None and self.iam.enabled and self.scheduler.now >= session[1]:
            # "The security token included in the request is expired" (the AWS SDKs' ExpiredToken)
            code = "ExpiredToken" if call.startswith("sts:") else "ExpiredTokenException"
            expired = type(code, (ServiceException,), {"code": code})
            return expired("The security token included in the request is expired")
        denial = self.iam.authorize(call, params_of(response), caller)
        if denial is None or self.iam.audit_only:
            return None
        error_cls = type(denial.code, (ServiceException,), {"code": denial.code})
        return error_cls(denial.message(caller.session_arn))

    @contextmanager
    def _sessions_in_virtual_time(self) -> Iterator[None]:
        """A session of another account's role (AssumeRole) lasts its DurationSeconds of virtual time
        (moto counts them in real time, so never expires one during a rehearsal)."""
        sts_cls = moto_hooks.resolve("moto.sts.models", "STSBackend")
        response_cls = moto_hooks.resolve("moto.core.responses", "BaseResponse")
        original = sts_cls.assume_role
        original_account = response_cls.get_current_account
        cloud = self
        session_accounts: dict[str, str] = {}  # access key id -> the account of the role assumed

        def assume_role(backend: Any, **kwargs: Any) -> Any:
            role = original(backend, **kwargs)
            role_arn = str(kwargs.get("role_arn", ""))
            session_accounts[role.access_key_id] = role_arn.split(":")[4]
            target = cloud.iam.role(role_arn)
            if target is not None and target.account in cloud.iam.accounts:
                duration = float(kwargs.get("duration") or 3600)
                cloud.iam.assumed(role.access_key_id, target, cloud.scheduler.now + duration)
            return role

        def get_current_account(response: Any) -> str:
            # A call signed with a session serves in the assumed role's account (moto would take
            # MOTO_ACCOUNT_ID, the cloud's own, for every call).
            try:
                key = response.get_access_key()
            except Exception:  # no key to read: the cloud's account
                key = None
            return session_accounts.get(key or "") or str(original_account(response))

        with (
            mock.patch.object(sts_cls, "assume_role", assume_role),
            mock.patch.object(response_cls, "get_current_account", get_current_account),
        ):
            yield

    def _authorize_s3(self) -> Any:
        """S3 (served outside ``call_action``): its own IAM hook, with the action moto resolved."""
        cloud = self

        def authorize(response: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
            if cloud.iam.current() is None or not cloud.api.counting:
                return
            action = str(response.data.get("Action", ""))
            resource = f"arn:aws:s3:::{bucket_name or '*'}" + (f"/{key_name}" if key_name else "")
            checks = [(f"s3:{action}", resource)]
            source = (response.headers or {}).get("x-amz-copy-source")
            if source and action == "PutObject":  # CopyObject reads the source as the caller
                checks.append(("s3:GetObject", "arn:aws:s3:::" + unquote(source).lstrip("/").split("?")[0]))
            for action_name, arn in checks:
                context = {"aws:resourceaccount": [cloud.account]}
                denial = cloud.iam.authorize_resource(f"s3:{action}", action_name, arn, context)
                if denial is not None:
                    raise S3AccessDenied()

        return authorize

    def _model_role_allows(self, role_arn: str, call: str, action: str, resource: str) -> bool:
        """SageMaker acting with a model's execution role (reading artifacts, writing captures)."""
        if not self.api.counting:
            return True
        owner = self._bucket_owner(resource)
        context = {"aws:resourceaccount": [owner or self.account]}
        if self.iam.authorize_role(role_arn, call, action, resource, context) is not None:
            return False
        if owner is None or owner == role_arn.split(":")[4]:
            return True
        # a bucket of another account: its policy must allow the role as well
        return self.iam.authorize_by_resource_policy(
            role_arn, call, action, resource, self._bucket_policy(resource), context
        )

    @staticmethod
    def _bucket_owner(resource: str) -> str | None:
        """The account that owns an S3 object's or bucket's bucket (None: no such bucket here)."""
        if not resource.startswith("arn:aws:s3:::"):
            return None
        s3_models = moto_hooks.resolve("moto.s3.models", "s3_backends")
        found = s3_models.bucket_accounts.get(resource[len("arn:aws:s3:::") :].split("/", 1)[0])
        return str(found[1]) if found else None

    def _bucket_policy(self, resource: str) -> dict[str, Any]:
        bucket = resource[len("arn:aws:s3:::") :].split("/", 1)[0]
        s3_models = moto_hooks.resolve("moto.s3.models", "s3_backends")
        partition, owner = s3_models.bucket_accounts[bucket]
        policy = s3_models[owner][partition].buckets[bucket].policy
        return dict(json.loads(policy)) if policy else {}

    def _tags_of(self, arn: str) -> dict[str, str]:
        """Tags of an existing SageMaker resource (for ``aws:ResourceTag``), read from moto (in the
        resource's account)."""
        if ":sagemaker:" not in arn:
            return {}
        backend = self.sagemaker_backend(arn.split(":")[4])
        kind, _, name = arn.split(":", 5)[5].partition("/")
        collections = {
            "endpoint": "endpoints",
            "endpoint-config": "endpoint_configs",
            "model": "_models",
            "model-package": "model_packages",
        }
        store = getattr(backend, collections.get(kind, ""), None) or {}
        for key, resource in store.items():
            if str(key).lower() == name.lower() or str(getattr(resource, "arn", "")).lower() == arn.lower():
                return {t["Key"]: t["Value"] for t in getattr(resource, "tags", None) or []}
        return {}

    def _application_metrics(self, namespace: str, data: list[Any]) -> None:
        """Datapoints a function sent with PutMetricData, by the minute of their timestamp (alarms
        on them evaluate what was sent, as CloudWatch does)."""
        series = self.traffic.series
        if series.simulates(namespace):
            return
        epoch = EPOCH.replace(tzinfo=None)
        for datum in data:
            stamp = datum.timestamp.replace(tzinfo=None) if datum.timestamp.tzinfo else datum.timestamp
            series.put_application(namespace, datum, int((stamp - epoch).total_seconds() // 60))

    # --- time -------------------------------------------------------------------------------
    def now_iso(self) -> str:
        return self.scheduler.datetime().strftime("%Y-%m-%dT%H:%M:%SZ")

    def run(self, until: float | None = None) -> None:
        """Run the clock: without ``until`` until only background work (metrics, alarms,
        monitoring) is left; with it, everything up to ``until``."""
        self.scheduler.run(until)

    def advance_to(self, when: float) -> None:
        """For a driver outside the simulation (a rehearsed load generator): run everything due up
        to virtual second ``when`` (executions, timeline steps, metric minutes, alarms: background
        work included), then the clock (``scheduler.now``) reads ``when``. Between two calls the driver may
        make API calls (``InvokeEndpoint``) that happen at that virtual time.

        Cheap when nothing is due (one look at the queue's head), so a load test may call it before
        every request. Never from a handler, a state machine or a scheduler callback (the clock is
        already running there); the clock never goes back (``when`` in the past is an error).
        """
        if self.scheduler.running:
            raise RuntimeError("advance_to is for drivers outside the simulation, not from inside it")
        if when < self.scheduler.now:
            raise ValueError(f"virtual time only moves forward: {when:g} < now {self.scheduler.now:g}")
        self.scheduler.run(when)

    def advance(self, seconds: float) -> None:
        """:meth:`advance_to` ``now + seconds``."""
        self.advance_to(self.scheduler.now + max(0.0, seconds))

    def _minute(self) -> None:
        """Background, every virtual minute: the minute's traffic and metrics, autoscaling, then alarms.

        Alarms, and the target-tracking alarms of autoscaling, see only what CloudWatch has published
        by now (``simulation.metricDelaySeconds``).
        """
        closed = round(self.scheduler.now / 60.0) - 1
        self.traffic.minute(closed)  # published at once when there is no delay
        delay = self.simulation.metric_delay_seconds
        if delay > 0:
            self.scheduler.after(delay, self.traffic.publish_due, background=True)
        published = min(closed, self.traffic.series.published_end - 1)  # the newest minute CloudWatch has
        if published > self._scaled_through:
            self._scaled_through = published
            self.scaling.minute(published)
        self.alarms.evaluate_all(closed + 1)
        self.scheduler.at(self.scheduler.now + 60.0, self._minute, background=True)

    def sagemaker_backend(self, account: str | None = None) -> Any:
        """moto's SageMaker backend of the cloud's account (or another) and region (no API round trip)."""
        backends = moto_hooks.resolve("moto.sagemaker.models", "sagemaker_backends")
        return backends[account or self.account][self.region]

    def _cloudwatch_backend(self, account: str | None = None) -> Any:
        backends = moto_hooks.resolve("moto.cloudwatch.models", "cloudwatch_backends")
        return backends[account or self.account][self.region]

    # --- entry points -----------------------------------------------------------------------
    def _execution_ended(self, arn: str) -> None:
        """Step Functions puts a "Step Functions Execution Status Change" event on the default bus
        when a standard execution ends (SUCCEEDED, FAILED, TIMED_OUT, ABORTED), whoever ended it
        (Step Functions user guide, "Automating Step Functions event delivery with EventBridge")."""
        with self.quietly(), self.unfaulted(), self.iam.as_nobody():
            described = self.client("stepfunctions").describe_execution(executionArn=arn)
        if described["status"] == "RUNNING":
            return

        def millis(key: str) -> int | None:
            value = described.get(key)
            return int(value.timestamp() * 1000) if value is not None else None

        detail = {
            "executionArn": arn,
            "stateMachineArn": described["stateMachineArn"],
            "name": described["name"],
            "status": described["status"],
            "startDate": millis("startDate"),
            "stopDate": millis("stopDate"),
            "input": described.get("input"),
            "output": described.get("output"),
            "error": described.get("error"),
            "cause": described.get("cause"),
        }
        self._emit("aws.states", "Step Functions Execution Status Change", detail, [arn])

    def _emit(self, source: str, detail_type: str, detail: dict[str, Any], resources: list[str]) -> None:
        """An AWS service emits an event: EventBridge delivers it, late or twice if the scenario says.
        An event of another account's resource goes to that account's default bus, which has no
        rule to this one: it is kept in ``events_elsewhere``, not delivered."""
        owners = {str(r).split(":")[4] for r in resources if str(r).count(":") >= 5}
        if owners and owners <= set(self.accounts):
            self.events_elsewhere.append(
                {
                    "at": self.scheduler.now,
                    "account": sorted(owners)[0],
                    "detail-type": detail_type,
                    "resources": list(resources),
                }
            )
            return
        event = self.bus.envelope(source, detail_type, detail, resources)
        for attempt, delay in enumerate(self.bus.delivery_delays(event), start=1):
            self.scheduler.after(delay, functools.partial(self.put_event, event, attempt=attempt))

    def put_event(self, event: dict[str, Any], *, attempt: int = 1) -> None:
        """Put an event on the local bus now (as ``PutEvents`` or an AWS service would)."""
        self.bus.put(event, attempt=attempt)

    def _deliver(self, rule: RuleSpec, event: dict[str, Any]) -> None:
        """A rule matched: hand its target the event (or the rule's ``Input``/``InputPath`` of it)."""
        payload = rule_input(rule, event)
        if rule.target_kind == "function":
            self.invoke_async(rule.target_logical_id, payload, trigger=rule.name)
        else:
            with self.iam.acting_as("rule", rule.name):  # the rule's role starts it
                self.start_execution(rule.target_logical_id, payload)

    def _register_execution(self, arn: str, machine_arn: str) -> None:
        if arn in self.execution_machine:
            return
        self.executions.append(arn)
        self.execution_machine[arn] = self._machine_by_arn.get(machine_arn, machine_arn)
        self.times.setdefault(arn, ExecutionTimes())

    def start_execution(self, machine: str, execution_input: Any) -> str:
        """Start a state machine (logical id or alias such as ``deploy``); returns the ARN."""
        spec = self.template.state_machine_by_alias(machine)
        number = len(self.executions) + 1
        sfn = self.client("stepfunctions")
        with self.unfaulted():  # the console, a rule or a schedule starts it, not the control plane
            arn = str(
                sfn.start_execution(
                    stateMachineArn=spec.arn, name=f"exec-{number:04d}", input=json.dumps(execution_input)
                )["executionArn"]
            )
        self._register_execution(arn, spec.arn)
        return arn

    def stop_execution(self, arn: str) -> str:
        """``StopExecution`` as an operator does from the console; returns the status afterwards.

        The execution ends ABORTED at once: no Catch and no clean-up run
        (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html).
        Its thread, asleep in a Wait or a Retry back-off, is woken now and unwinds without
        entering another state.
        """
        sfn = self.client("stepfunctions")
        with self.unfaulted():
            sfn.stop_execution(executionArn=arn)
        self.scheduler.wake(arn, reason=STOPPED)
        with self.quietly():
            return str(sfn.describe_execution(executionArn=arn)["status"])

    def invoke_async(self, function: str, payload: Any, *, trigger: str, attempt: int = 1) -> None:
        """Queue an asynchronous invocation (``InvocationType=Event``) at the current virtual time.

        As on Lambda, a handler error is retried after one, then two more minutes, up to the
        function's ``EventInvokeConfig.MaximumRetryAttempts`` (default 2); errors are recorded in
        ``async_invocations``, never raised.
        """
        spec = self.functions[function]

        def attempt_now() -> None:
            record = AsyncInvocation(self.scheduler.now, function, trigger, attempt)
            self.async_invocations.append(record)
            before = len(self.lambdas.invocations)
            try:
                with self.unfaulted():  # EventBridge (or Scheduler) invokes, not the control plane
                    service_client("lambda", self.region).invoke(
                        FunctionName=spec.arn, InvocationType="Event", Payload=json.dumps(payload).encode()
                    )
            except Exception as exc:  # the Invoke call itself failed
                record.error_type = type(exc).__name__
                record.error_message = str(exc)
                return
            done = self.lambdas.invocations[before:]
            outcome = done[-1] if done else None
            record.ok = bool(outcome and outcome.ok)
            if outcome is not None:
                record.result = outcome.result
                record.error_type, record.error_message = outcome.error_type, outcome.error_message
            if not record.ok and attempt <= min(spec.async_retries, len(ASYNC_RETRY_DELAYS)):
                self.scheduler.after(
                    ASYNC_RETRY_DELAYS[attempt - 1],
                    lambda: self.invoke_async(function, payload, trigger=trigger, attempt=attempt + 1),
                )

        self.scheduler.after(0, attempt_now)

    def _function_of(self, arn: str) -> str | None:
        """The logical id of the template function an ARN (or name) names, or None."""
        try:
            return self.lambdas.spec(arn).logical_id
        except KeyError:
            return None

    def _failed_delivery(self, function: str, trigger: str, error_type: str, message: str) -> None:
        """A delivery that never reached the function (its role was refused, no such function):
        recorded beside the asynchronous invocations, the handler not run."""
        record = AsyncInvocation(self.scheduler.now, function, trigger, 1)
        record.error_type, record.error_message = error_type, message
        self.async_invocations.append(record)

    @contextmanager
    def unfaulted(self) -> Iterator[None]:
        """Calls made in this block are counted but never fail by injection: the local cloud acting
        as a user (registering, approving, starting from the console) or as EventBridge."""
        saved = self.api.injecting
        self.api.injecting = False
        try:
            yield
        finally:
            self.api.injecting = saved

    # --- observation (not counted as API calls) ----------------------------------------------
    def quietly(self) -> Any:
        """A context in which calls made by the local cloud itself are not counted."""
        api = self.api

        class _Quiet:
            def __enter__(self) -> None:
                self.saved = api.counting
                api.counting = False

            def __exit__(self, *exc: object) -> None:
                api.counting = self.saved

        return _Quiet()

    def execution_history(self, arn: str) -> list[dict[str, Any]]:
        """History events of an execution, read from the interpreter (no API round trip)."""
        backends = moto_hooks.resolve("moto.stepfunctions.parser.models", "stepfunctions_parser_backends")
        return list(backends[self.account][self.region].get_execution_history(arn)["events"])

    def client(self, service: str, account: str | None = None) -> Any:
        """A client of the cloud's own account, or of another rehearsed account (as its
        administrator: calls made with it are not the template's, and are not checked)."""
        if account is None or account == self.account:
            return local_client(service, self.region)
        if account not in self._admin_credentials:
            with self.quietly():
                answer = self.client("sts").assume_role(
                    RoleArn=f"arn:aws:iam::{account}:role/localcloud-administrator",
                    RoleSessionName="localcloud",
                )
            credentials = answer["Credentials"]
            self._admin_credentials[account] = {
                "aws_access_key_id": credentials["AccessKeyId"],
                "aws_secret_access_key": credentials["SecretAccessKey"],
                "aws_session_token": credentials["SessionToken"],
            }
        return boto3.client(service, region_name=self.region, **self._admin_credentials[account])

    @property
    def all_accounts(self) -> list[str]:
        """The cloud's account first, then the other rehearsed accounts."""
        return [self.account, *self.accounts]

    def notifications(self) -> list[dict[str, Any]]:
        with self.quietly():
            sqs = self.client("sqs")
            messages: list[dict[str, Any]] = []
            while True:
                batch = sqs.receive_message(QueueUrl=self._sqs_queue_url, MaxNumberOfMessages=10).get(
                    "Messages", []
                )
                if not batch:
                    return messages
                for message in batch:
                    body = json.loads(message["Body"])
                    messages.append({"subject": body.get("Subject"), "message": json.loads(body["Message"])})
                    sqs.delete_message(QueueUrl=self._sqs_queue_url, ReceiptHandle=message["ReceiptHandle"])

    def find_schedule(self, name: str) -> ScheduleSpec:
        """A schedule of template.yaml by its event id (``NightlyScoring``), schedule name or the
        short alias of its state machine (``batchtransform``, or ``batch``)."""
        known = []
        for schedule in self.template.schedules():
            short = schedule.target_logical_id.removesuffix("StateMachine")
            names = {schedule.name, schedule.name.lower(), schedule.schedule_name}
            if schedule.target_kind == "stateMachine":
                # ``batchtransform`` and its first word, ``batch`` (as DESIGN.md's scenarios write it)
                names |= {short.lower(), re.split(r"(?<=[a-z])(?=[A-Z])", short)[0].lower()}
            if name in names:
                return schedule
            known.append(schedule.name)
        raise KeyError(f"no schedule {name!r} in template.yaml (known: {', '.join(known) or 'none'})")

    def fire_schedule(self, name: str) -> dict[str, Any]:
        """Fire a schedule written in template.yaml now, as EventBridge would at a tick.

        EventBridge Scheduler (``ScheduleV2``) delivers the ``Input`` with its context attributes
        (``<aws.scheduler.scheduled-time>`` ...) replaced, or a "Scheduled Event" envelope with
        ``detail`` the string ``"{}"`` when there is no ``Input``; a ``Schedule`` (an EventBridge rule)
        delivers its ``Input`` or the "Scheduled Event" envelope of ``aws.events``. A schedule whose
        State is ``DISABLED`` in the template fires all the same: the scenario says that it ticks.
        Returns what was fired: ``target``, ``input``, ``scheduledTime``, ``enabled`` and the
        execution ARN (``execution``) when the target is a state machine.
        """
        schedule = self.find_schedule(name)
        when = self.now_iso()
        number = len(self.schedule_firings) + 1
        attributes: dict[str, str] = {}
        detail: Any = {}
        if schedule.kind == "ScheduleV2":
            arn = (
                f"arn:aws:scheduler:{self.region}:{self.account}:schedule/"
                f"{schedule.group}/{schedule.schedule_name}"
            )
            attributes = context_attributes(arn, when, str(uuid.UUID(int=number)))
            source, detail = "aws.scheduler", "{}"
        else:
            arn = f"arn:aws:events:{self.region}:{self.account}:rule/{schedule.schedule_name}"
            source = "aws.events"
        if schedule.input is not None:
            payload = with_context(json.dumps(schedule.input), attributes)
        else:
            payload = scheduled_event(
                event_id=str(uuid.UUID(int=number)),
                source=source,
                account=self.account,
                region=self.region,
                when=when,
                resource=arn,
                detail=detail,
            )
        fired: dict[str, Any] = {
            "at": self.scheduler.now,
            "schedule": schedule.name,
            "target": schedule.target_logical_id,
            "scheduledTime": when,
            "enabled": schedule.enabled,
            "input": payload,
        }
        if schedule.target_kind == "function":
            self.invoke_async(schedule.target_logical_id, payload, trigger=schedule.name)
        else:
            with self.iam.acting_as("schedule", f"{schedule.target_logical_id}{schedule.name}"):
                fired["execution"] = self.start_execution(schedule.target_logical_id, payload)
        self.schedule_firings.append(fired)
        return fired

    def locks(self) -> list[dict[str, Any]]:
        """Lock and claim items (``pk`` ``LOCK#...`` / ``CLAIM#...``) left in the template's tables."""
        out = []
        with self.quietly():
            ddb = self.client("dynamodb")
            for table in self.template.tables():
                for page in ddb.get_paginator("scan").paginate(TableName=table):
                    for item in page.get("Items", []):
                        pk = item.get("pk", {}).get("S", "")
                        if not pk.startswith(("LOCK#", "CLAIM#")):
                            continue
                        flat = {key: next(iter(value.values())) for key, value in item.items()}
                        expires = flat.get("expiresAt")
                        out.append(
                            {
                                "pk": pk,
                                "owner": flat.get("owner"),
                                "state": flat.get("state"),
                                "expiresAt": int(expires) if expires is not None else None,
                            }
                        )
        return sorted(out, key=lambda lock: str(lock["pk"]))


def lambda_service_error_names(from_error: Any) -> Any:
    """Wrap ``StateTaskLambda._from_error`` so that an error of the Invoke API itself reaches the
    ASL as ``Lambda.<Code>`` (``Lambda.ServiceException``...), as on AWS
    (https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html);
    moto's interpreter names every such error ``Exception``."""
    failure_event = moto_hooks.resolve(
        "moto.stepfunctions.parser.asl.component.common.error_name.failure_event", "FailureEvent"
    )
    custom_name = moto_hooks.resolve(
        "moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name", "CustomErrorName"
    )
    failed_type = moto_hooks.resolve("moto.stepfunctions.parser.api", "HistoryEventType.LambdaFunctionFailed")
    failed_details = moto_hooks.resolve("moto.stepfunctions.parser.api", "LambdaFunctionFailedEventDetails")
    event_details = moto_hooks.resolve(
        "moto.stepfunctions.parser.asl.eval.event.event_detail", "EventDetails"
    )

    def named(task: Any, env: Any, ex: Exception) -> Any:
        if not isinstance(ex, ClientError):
            return from_error(task, env, ex)
        error = f"Lambda.{ex.response['Error']['Code']}"
        cause = str(ex.response["Error"].get("Message", ""))
        return failure_event(
            env=env,
            error_name=custom_name(error),
            event_type=failed_type,
            event_details=event_details(
                lambdaFunctionFailedEventDetails=failed_details(error=error, cause=cause)
            ),
        )

    return named


def json_copy(value: Any) -> Any:
    """A deep copy of JSON data (dicts, lists, strings, numbers, booleans, None); any other object
    inside is copied with ``copy.deepcopy``."""
    kind = type(value)
    if kind is dict:
        return {key: json_copy(item) for key, item in value.items()}
    if kind is list:
        return [json_copy(item) for item in value]
    if kind in _JSON_SCALARS:
        return value
    return copy.deepcopy(value)


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})
_JSON_COPY = SimpleNamespace(deepcopy=json_copy, copy=copy.copy)
# moto's interpreter modules whose deepcopy calls copy state data (inputs, outputs, results).
JSON_COPYING_MODULES = (
    "moto.stepfunctions.parser.asl.eval.states",
    "moto.stepfunctions.parser.asl.component.common.path.result_path",
    "moto.stepfunctions.parser.asl.component.common.string.string_expression",
    "moto.stepfunctions.parser.asl.component.state.exec.execute_state",
)


def rule_input(rule: RuleSpec, event: dict[str, Any]) -> Any:
    """What a rule's target receives: its constant ``Input``, the ``InputPath`` of the event, or the event."""
    if rule.input is not None:
        return rule.input
    if rule.input_path:
        value: Any = event
        for part in rule.input_path.removeprefix("$").strip(".").split("."):
            if not part:
                continue
            value = value.get(part) if isinstance(value, dict) else None
        return value
    return event
