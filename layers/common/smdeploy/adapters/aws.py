"""boto3 clients created once per container, and ``ClientError`` → named error translation."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

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

# The state machine retries with back-off and jitter, visibly; the SDK does not retry on its own.
_CLIENT_CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"})


# What an AWS call may raise: an error answer, or a client-side failure (bad parameters, network).
AWS_ERRORS = (ClientError, BotoCoreError)


@cache
def client(service: str) -> Any:
    """A boto3 client for ``service``, built on first use and reused by later invocations."""
    return boto3.client(service, config=_CLIENT_CONFIG)


def reset_clients() -> None:
    """Forget cached clients (tests switch mocks between cases)."""
    client.cache_clear()


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
