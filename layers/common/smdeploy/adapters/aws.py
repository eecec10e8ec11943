"""boto3 clients created once per container, and ``ClientError`` → named error translation."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from smdeploy import clock
from smdeploy.errors import (
    AwsRequestRejected,
    AwsServiceUnavailable,
    AwsThrottled,
    EndpointBusy,
    SmdeployError,
)

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "SlowDown",
    }
)
UNAVAILABLE_CODES = frozenset(
    {
        "InternalFailure",
        "InternalServerError",
        "InternalError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)

# Every call is bounded: connect and read timeouts are explicit (botocore's defaults are 60 s each,
# longer than a 60 s function). The state machine retries with back-off and jitter, visibly; the SDK
# makes one attempt. Each function's Timeout in template.yaml exceeds the longest call it can make
# (tests/template/test_function_timeouts.py).
CONNECT_TIMEOUT_SECONDS = 10
READ_TIMEOUT_SECONDS = 30  # control-plane calls answer in well under a second
MAX_ATTEMPTS = 1
READ_TIMEOUTS_SECONDS = {
    # "A customer's model containers must respond to requests within 60 seconds ... If your model is
    # going to take 50-60 seconds of processing time, the SDK socket timeout should be set to be 70
    # seconds" (InvokeEndpoint, SageMaker Runtime API Reference). A multi-model endpoint loads the
    # TargetModel from S3 on its first invocation, within that minute.
    "sagemaker-runtime": 70,
    # CopyObject copies up to 5 GB in one request (Amazon S3 API Reference, CopyObject): a large
    # model artifact takes longer than a control-plane answer.
    "s3": 60,
}
# Standard retry mode sleeps at most 20 s between attempts ("Retries", AWS SDKs and Tools
# Reference Guide); with one attempt it never sleeps.
MAX_BACKOFF_SECONDS = 20


def client_config(service: str) -> Config:
    """The botocore configuration of ``service``'s client: explicit timeouts, one attempt."""
    return Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUTS_SECONDS.get(service, READ_TIMEOUT_SECONDS),
        retries={"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"},
    )


def longest_call_seconds(service: str) -> float:
    """How long one call to ``service`` can take at worst: every attempt timing out, with back-off."""
    config = client_config(service)
    attempts = int(config.retries["total_max_attempts"])
    per_attempt = float(config.connect_timeout) + float(config.read_timeout)
    return attempts * per_attempt + (attempts - 1) * MAX_BACKOFF_SECONDS


# What an AWS call may raise: an error answer, or a client-side failure (bad parameters, network).
AWS_ERRORS = (ClientError, BotoCoreError)


@cache
def home_client(service: str) -> Any:
    """A boto3 client for ``service`` in the stack's own account (the function's role), built on
    first use and reused by later invocations."""
    return boto3.client(service, config=client_config(service))


# --- stages in another account -------------------------------------------------------------------
# A stage whose endpoint lives in another account names a role there (``stages[].roleArn``); its
# endpoint's calls go through that role, everything else (the registry, the lock, the records, the
# notifications, Step Functions) stays in the stack's account.
STAGE_SERVICES = frozenset({"sagemaker", "sagemaker-runtime", "cloudwatch", "application-autoscaling"})
ASSUMED_SECONDS = 3600  # AssumeRole's default DurationSeconds (IAM API Reference)
REFRESH_BEFORE = timedelta(minutes=5)  # a client is never handed out closer than this to expiry
_STAGE_ROLE: ContextVar[str | None] = ContextVar("smdeploy_stage_role", default=None)
# (role, function) -> (expiration, clients by service): a function's container keeps its own sessions
_ASSUMED: dict[tuple[str, str], tuple[datetime, dict[str, Any]]] = {}


def client(service: str) -> Any:
    """The client for ``service`` where the current work happens: the stage's account for the
    endpoint's services inside :func:`acting_as`, the stack's own otherwise."""
    role = _STAGE_ROLE.get()
    if role is None or service not in STAGE_SERVICES:
        return home_client(service)
    return _stage_client(role, service)


def _stage_client(role: str, service: str) -> Any:
    now = clock.utcnow()
    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "smdeploy")
    expires, clients = _ASSUMED.get((role, name), (None, {}))
    if expires is None or expires - now < REFRESH_BEFORE:
        try:
            answer = home_client("sts").assume_role(
                RoleArn=role, RoleSessionName=f"smdeploy-{name}"[:64], DurationSeconds=ASSUMED_SECONDS
            )
        except AWS_ERRORS as exc:
            raise translate(exc, f"AssumeRole {role}") from exc
        credentials = answer["Credentials"]
        # counted from before the call: never later than the expiration STS set
        expires, clients = now + timedelta(seconds=ASSUMED_SECONDS), {}
        clients["credentials"] = {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
        _ASSUMED[(role, name)] = (expires, clients)
    if service not in clients:
        # boto3's default session, which has the service models loaded already
        clients[service] = boto3.client(service, config=client_config(service), **clients["credentials"])
    return clients[service]


@contextmanager
def acting_as(role_arn: str | None) -> Iterator[None]:
    """The endpoint's calls in this block go through ``role_arn`` (None: the stack's own account)."""
    token = _STAGE_ROLE.set(role_arn)
    try:
        yield
    finally:
        _STAGE_ROLE.reset(token)


def stage_role_of(event: Any) -> str | None:
    """The stage role of the plan a state passes its function (``plan`` or ``state.plan``)."""
    if not isinstance(event, dict):
        return None
    plan = event.get("plan")
    if not isinstance(plan, dict) and isinstance(event.get("state"), dict):
        plan = event["state"].get("plan")
    role = plan.get("roleArn") if isinstance(plan, dict) else None
    return str(role) if role else None


def in_stage_account(handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """A handler whose plan names a stage in another account works on its endpoint there."""

    @functools.wraps(handler)
    def run(event: Any, context: Any) -> Any:
        with acting_as(stage_role_of(event)):
            return handler(event, context)

    return run


def forget_sessions() -> None:
    """Forget the stage roles' sessions (their credentials belong to another STS: a new rehearsal)."""
    _ASSUMED.clear()


def reset_clients() -> None:
    """Forget cached clients (tests switch mocks between cases)."""
    home_client.cache_clear()
    forget_sessions()


def error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def error_message(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Message", ""))


def translate(exc: Exception, action: str) -> SmdeployError:
    """The named error for a failed AWS call, with the action and AWS's message in it."""
    if isinstance(exc, SmdeployError):
        return exc
    if isinstance(exc, ParamValidationError):
        return AwsRequestRejected(f"{action}: {exc}")
    if isinstance(exc, BotoCoreError):
        return AwsServiceUnavailable(f"{action}: {exc}")
    if not isinstance(exc, ClientError):
        return AwsRequestRejected(f"{action}: {type(exc).__name__}: {exc}")
    code, message = error_code(exc), error_message(exc)
    text = f"{action}: {code}: {message}"
    if code in THROTTLING_CODES:
        return AwsThrottled(text)
    if code in UNAVAILABLE_CODES or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
        return AwsServiceUnavailable(text)
    if code == "ValidationException" and "in-progress" in message:
        return EndpointBusy(text)
    return AwsRequestRejected(text)


def if_condition_holds(call: Callable[..., Any], action: str, **params: Any) -> Any | None:
    """A conditional DynamoDB write: ``call(**params)``'s answer, or None when the condition did not
    hold (``ConditionalCheckFailedException``: nothing was written); other errors translated."""
    try:
        return call(**params)
    except AWS_ERRORS as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return None
        raise translate(exc, action) from exc
