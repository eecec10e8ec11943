"""One ``InvokeEndpoint`` request, timed and classified: the load generator's invoker for SageMaker.

What comes back is sorted the way a load test needs it:

- ``ok``: an answer, its body read to the end;
- ``throttled``: SageMaker shed the request (HTTP 429, ``ThrottlingException``,
  ``ModelNotReadyException``);
- ``timeout``: no answer in time: the client gave up (``--timeout-seconds``), or SageMaker did
  (``ModelError`` with ``OriginalStatusCode`` 0: "Received server error (0) ... Your invocation timed
  out while waiting for a response from container", after its 60 s limit);
- ``error``: the model or the service failed it (``ModelError``, 5XX), or the connection broke.

Any other refusal (``ValidationError`` for an endpoint that does not exist or is not in service,
``AccessDeniedException``, missing credentials) says that the requests themselves are wrong: the
invoker raises :class:`~smdeploy_cli.loadtest.LoadTestAborted` at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
    ReadTimeoutError,
)

from smdeploy_cli.loadtest import THROTTLE_CODES, Answer, LoadTestAborted, Outcome

SageMakerRuntimeClient = Any  # a boto3 "sagemaker-runtime" client (the project ships no boto3 stubs)


def classify(error: ClientError) -> tuple[Outcome, str]:
    """The outcome of a refused request and its error code; :class:`LoadTestAborted` when the
    refusal is about the request itself, not the load."""
    response: Mapping[str, Any] = error.response
    details = response.get("Error") or {}
    code = str(details.get("Code") or "Unknown")
    status = int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
    if code in THROTTLE_CODES or status == 429:
        return "throttled", code
    if code == "ModelError":
        # The container never answered: SageMaker reports the status it got from it as 0.
        if response.get("OriginalStatusCode") == 0:
            return "timeout", code
        return "error", code
    if status >= 500:
        return "error", code
    raise LoadTestAborted(f"{code}: {details.get('Message') or 'no message'}") from error


class SageMakerInvoker:
    """Sends the same payload to an endpoint on every call of :meth:`invoke` and times the answer
    (wall time around the call and the reading of the body)."""

    def __init__(
        self,
        client: SageMakerRuntimeClient,
        endpoint: str,
        payload: bytes,
        *,
        content_type: str = "text/csv",
        accept: str | None = None,
        target_variant: str | None = None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._client = client
        self._timer = timer
        self._params: dict[str, Any] = {
            "EndpointName": endpoint,
            "Body": payload,
            "ContentType": content_type,
        }
        if accept:
            self._params["Accept"] = accept
        if target_variant:
            self._params["TargetVariant"] = target_variant

    def latency_ms(self, headers: Mapping[str, str], wall_ms: float) -> float:
        """The latency to record for an answer: the wall time measured around the call."""
        return wall_ms

    def invoke(self) -> Answer:
        started = self._timer()
        try:
            response = self._client.invoke_endpoint(**self._params)
            response["Body"].read()
        except ClientError as exc:
            outcome, code = classify(exc)
            headers = (exc.response.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
            return Answer(self.latency_ms(headers, self._elapsed_ms(started)), outcome, code)
        except (ReadTimeoutError, ConnectTimeoutError) as exc:
            return Answer(self._elapsed_ms(started), "timeout", type(exc).__name__)
        except (EndpointConnectionError, ConnectionClosedError) as exc:
            return Answer(self._elapsed_ms(started), "error", type(exc).__name__)
        except NoCredentialsError as exc:
            raise LoadTestAborted(f"{exc} (see --profile, or the AWS_* environment variables)") from exc
        except BotoCoreError as exc:
            raise LoadTestAborted(f"{type(exc).__name__}: {exc}") from exc
        headers = (response.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
        return Answer(self.latency_ms(headers, self._elapsed_ms(started)), "ok")

    def _elapsed_ms(self, started: float) -> float:
        return (self._timer() - started) * 1000.0


def runtime_client(
    *, region: str | None, profile: str | None, timeout_seconds: float, workers: int
) -> SageMakerRuntimeClient:
    """A SageMaker Runtime client as the AWS CLI would make it (profile, region, environment), with
    one attempt per request (a load test counts throttles, it does not retry them), the answer timeout
    asked for and a connection per worker thread. ValueError naming what is missing."""
    import boto3

    config = Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        read_timeout=timeout_seconds,
        connect_timeout=min(10.0, timeout_seconds),
        max_pool_connections=workers,
    )
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
        return session.client("sagemaker-runtime", config=config)
    except ProfileNotFound as exc:
        raise ValueError(f"{exc} (--profile)") from None
    except NoRegionError:
        raise ValueError("no AWS region: pass --region, or set AWS_REGION or a profile's region") from None
