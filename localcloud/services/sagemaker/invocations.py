"""InvokeEndpoint in the local cloud: what smoke tests and rehearsed load tests need from SageMaker Runtime.

moto answers every invocation with canned data. Here an invocation reaches a serving endpoint or
fails as SageMaker fails it; on a multi-model endpoint ``TargetModel`` names an object under the
container's ``ModelDataUrl`` prefix, which must exist (SageMaker downloads it on first use), and
the model package it was copied from (object metadata ``smdeploy-model-package``) decides the
answer: a ``failInvoke`` version answers a ``ModelError``.

Under load (a rehearsed ``smdeploy loadtest``): an invocation of a single-model endpoint goes to one
production variant, the one ``TargetVariant`` names (SageMaker's ``X-Amzn-SageMaker-Target-Variant``
header; an unknown name is refused) or one drawn by current weight, and its arrival is recorded in
virtual time. When the version that variant serves has a performance profile for its instance
type, the request is answered as that profile answers at the variant's current load per instance:
the arrivals at that variant in the last second (``RATE_WINDOW_SECONDS``) plus its share of the
scenario's background ``requestsPerMinute``, over its instances
(``localcloud/services/sagemaker/performance.py``). It then succeeds with a latency drawn at that
load, or fails: past capacity (or slower than 60 s) with SageMaker's timeout ``ModelError``
(``OriginalStatusCode`` 0), or at the version's ``errorRate`` with a 500 ``ModelError``;
``x-Amzn-Invoked-Production-Variant`` names the variant.

Every answer of a single-model endpoint, error or not, carries the simulated ModelLatency in the
response header ``x-localcloud-model-latency-ms`` (``LATENCY_HEADER``): a rehearsal instrument, not
an AWS header. In virtual time there is no wall time to measure; on AWS the client measures the
latency itself. Without a profile the header holds a draw from the version's own latency
(``latencyMs``/``latencyP99Ms``, whatever the load) and the answer is moto's, as before.

Load-test invocations are not added to the per-minute ``AWS/SageMaker`` metrics (the traffic
simulator writes the scenario's ``requestsPerMinute`` only).
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any
from unittest import mock

from moto.core.exceptions import ServiceException
from moto.s3.exceptions import MissingBucket
from moto.s3.models import s3_backends
from moto.sagemaker.models import sagemaker_backends
from moto.sagemakerruntime import responses as rt_responses
from moto.utilities.utils import get_partition

from localcloud.services.sagemaker.endpoints import (
    SERVING,
    ModelBehaviour,
    ServingVariant,
    SimulationSettings,
    Snapshot,
    package_key,
)
from localcloud.services.sagemaker.performance import (
    LATENCY_SIGMA,
    TIMEOUT_MS,
    Z_99,
    Outcome,
    PerformanceProfile,
    sample,
)

TARGET_MODEL_HEADER = "x-amzn-sagemaker-target-model"
TARGET_VARIANT_HEADER = "x-amzn-sagemaker-target-variant"
INVOKED_VARIANT_HEADER = "x-Amzn-Invoked-Production-Variant"
LATENCY_HEADER = "x-localcloud-model-latency-ms"  # a rehearsal instrument, not an AWS header
PACKAGE_METADATA = "smdeploy-model-package"
RATE_WINDOW_SECONDS = 1.0  # the current rate of a variant: its arrivals in the last second


class RuntimeValidationError(ServiceException):
    code = "ValidationError"


class ModelError(ServiceException):
    """SageMaker Runtime's ``ModelError`` (HTTP 424): the container answered an error, or none in
    time. Its members as the service model has them: ``OriginalStatusCode`` (0 when the container
    never answered), ``OriginalMessage``, ``LogStreamArn``."""

    code = "ModelError"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        original: str | None = None,
        log_stream_arn: str | None = None,
    ) -> None:
        super().__init__(message)
        if status is not None:
            self.OriginalStatusCode = status
        if original is not None:
            self.OriginalMessage = original
        if log_stream_arn is not None:
            self.LogStreamArn = log_stream_arn


def timeout_error(region: str, account: str, endpoint: str) -> ModelError:
    """What SageMaker answers when the container did not answer within 60 s (the wording reported in
    aws/sagemaker-python-sdk#1119, with the single container's name, ``primary``)."""
    logs = (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logEventViewer:group=/aws/sagemaker/Endpoints/{endpoint}"
    )
    inner = (
        "Your invocation timed out while waiting for a response from container primary. Review the "
        "latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again."
    )
    return ModelError(
        f'Received server error (0) from primary with message "{inner}". '
        f"See {logs} in account {account} for more information.",
        status=0,
        original=inner,
        log_stream_arn=f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/Endpoints/{endpoint}",
    )


def model_error(region: str, account: str, endpoint: str) -> ModelError:
    """What SageMaker answers when the container answered a 500."""
    logs = (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logEventViewer:group=/aws/sagemaker/Endpoints/{endpoint}"
    )
    return ModelError(
        'Received server error (500) from primary with message "Internal Server Error". '
        f"See {logs} in account {account} for more information.",
        status=500,
        original="Internal Server Error",
        log_stream_arn=f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/Endpoints/{endpoint}",
    )


class InvocationSimulator:
    def __init__(
        self,
        behaviour: Callable[[str], ModelBehaviour],
        *,
        serving: Callable[[str], Snapshot] | None = None,
        settings: SimulationSettings | None = None,
        now: Callable[[], float] | None = None,
        seed: int = 7,
    ) -> None:
        self._behaviour = behaviour
        self._serving = serving  # endpoint -> what serves it now (the SageMaker simulator's snapshot)
        self._settings = settings
        self._now = now or (lambda: 0.0)
        self._seed = seed
        self._stack = ExitStack()
        self._arrivals: dict[tuple[str, str], deque[float]] = {}  # (endpoint, variant) -> recent arrivals
        self._rngs: dict[str, random.Random] = {}
        self.invocations = 0  # single-model invocations answered or failed here

    def install(self) -> None:
        original = rt_responses.SageMakerRuntimeResponse.invoke_endpoint
        sim = self

        def invoke_endpoint(response: Any) -> Any:
            name = str(response._get_params().get("EndpointName") or response.path.split("/")[2])
            headers = {key.lower(): value for key, value in response.headers.items()}
            target = headers.get(TARGET_MODEL_HEADER)
            account, region = response.current_account, response.region
            sim.check(account, region, name, target)
            if target is not None or sim._serving is None:
                return original(response)
            chosen = sim.answer(name, headers.get(TARGET_VARIANT_HEADER))
            if chosen is None:
                return original(response)
            variant, outcome, loaded = chosen
            latency = f"{outcome.latency_ms:.3f}"
            # set before an error is raised: moto keeps these headers on the error response too
            response.response_headers[LATENCY_HEADER] = latency
            if outcome.error == "timeout":
                raise timeout_error(region, account, name)
            if outcome.error == "model":
                raise model_error(region, account, name)
            status, answer_headers, body = original(response)
            answer_headers[LATENCY_HEADER] = latency
            if loaded:
                answer_headers[INVOKED_VARIANT_HEADER] = variant.name
            return status, answer_headers, body

        self._stack.enter_context(
            mock.patch.object(rt_responses.SageMakerRuntimeResponse, "invoke_endpoint", invoke_endpoint)
        )

    def uninstall(self) -> None:
        self._stack.close()

    def check(self, account: str, region: str, name: str, target: str | None) -> None:
        """Raise what SageMaker answers when the invocation cannot be served."""
        backend = sagemaker_backends[account][region]
        endpoint = backend.endpoints.get(name)
        if endpoint is None or endpoint.endpoint_status not in SERVING:
            raise RuntimeValidationError(f"Endpoint {name} of account {account} not found.")
        if target is None:
            return
        config = backend.endpoint_configs.get(endpoint.endpoint_config_name)
        prefixes = []
        for variant in config.production_variants if config else []:
            model = backend._models.get(str(variant.get("ModelName")))
            containers = [*(model.containers or []), model.primary_container or {}] if model else []
            for container in containers:
                if container.get("Mode") == "MultiModel":
                    prefixes.append(str(container.get("ModelDataUrl")))
        if not prefixes:
            raise RuntimeValidationError(
                f"Endpoint {name} is not a multi-model endpoint: it takes no TargetModel header."
            )
        bucket, _, key_prefix = prefixes[0].removeprefix("s3://").partition("/")
        key = f"{key_prefix}{target}"
        s3 = s3_backends[account][get_partition(region)]
        try:
            stored = s3.get_object(bucket, key)  # None when the key is missing
        except MissingBucket:
            stored = None
        if stored is None:
            raise RuntimeValidationError(
                f"Failed to download model data(bucket: {bucket}, key: {key}). Please ensure that there "
                "is an object located at the URL and that the role passed to CreateModel has permissions "
                "to download the model."
            )
        metadata = {str(k).lower(): v for k, v in (stored.metadata or {}).items()}
        package = next((v for k, v in metadata.items() if k.endswith(PACKAGE_METADATA)), None)
        if package and self._behaviour(package_key(str(package))).fail_invoke:
            raise ModelError(
                f'Received server error (500) from model with message "{target} failed to load". '
                f"See CloudWatch logs for /aws/sagemaker/Endpoints/{name}."
            )

    # --- under load ---------------------------------------------------------------------------
    def answer(
        self, endpoint: str, target_variant: str | None
    ) -> tuple[ServingVariant, Outcome, bool] | None:
        """The variant that takes a single-model invocation now, its outcome, and whether a profile
        decided it (``False``: the version's plain latency, no load effect, no failure). ``None`` when
        the simulator knows nothing of what serves the endpoint."""
        snapshot = self._serving(endpoint) if self._serving is not None else ()
        if not snapshot:
            return None
        rng = self._rngs.get(endpoint)
        if rng is None:
            rng = self._rngs[endpoint] = random.Random(f"{self._seed}/invoke/{endpoint}")
        variant = self._choose(endpoint, snapshot, target_variant, rng)
        now = self._now()
        key = (endpoint, variant.label)
        arrivals = self._arrivals.get(key)
        if arrivals is None:
            arrivals = self._arrivals[key] = deque()
        arrivals.append(now)
        while arrivals and arrivals[0] <= now - RATE_WINDOW_SECONDS:
            arrivals.popleft()
        self.invocations += 1
        behaviour = self._behaviour(variant.package)
        profile = behaviour.profiles.get(variant.instance_type) if variant.instance_type else None
        if profile is None:
            return variant, Outcome(_plain_latency_ms(behaviour, rng)), False
        rps = self.rate_per_instance(endpoint, variant, snapshot)
        return variant, sample(profile, rps, rng, error_rate=behaviour.error_rate), True

    def rate_per_instance(self, endpoint: str, variant: ServingVariant, snapshot: Snapshot) -> float:
        """Requests per second per instance at ``variant`` now: its arrivals in the last
        ``RATE_WINDOW_SECONDS`` plus its share of the background ``requestsPerMinute``."""
        arrivals = self._arrivals.get((endpoint, variant.label))
        explicit = len(arrivals) / RATE_WINDOW_SECONDS if arrivals else 0.0
        background = 0.0
        total = sum(v.weight for v in snapshot)
        if self._settings is not None and total > 0:
            background = self._settings.requests_per_minute / 60.0 * variant.weight / total
        return (explicit + background) / (variant.instances or 1)

    def profile_of(self, endpoint: str, variant_name: str) -> PerformanceProfile | None:
        """The performance profile that answers ``variant_name`` of ``endpoint`` now, if any."""
        snapshot = self._serving(endpoint) if self._serving is not None else ()
        for variant in snapshot:
            if variant.name == variant_name and variant.instance_type:
                return self._behaviour(variant.package).profiles.get(variant.instance_type)
        return None

    @staticmethod
    def _choose(
        endpoint: str, snapshot: Snapshot, target_variant: str | None, rng: random.Random
    ) -> ServingVariant:
        if target_variant is not None:
            named = [v for v in snapshot if v.name == target_variant]
            if not named:
                # the simulator's wording: SageMaker refuses an unknown TargetVariant (ValidationError)
                raise RuntimeValidationError(
                    f'Variant "{target_variant}" does not exist on endpoint "{endpoint}".'
                )
            candidates = named
        else:
            candidates = [v for v in snapshot if v.weight > 0] or list(snapshot)
        total = sum(v.weight for v in candidates)
        if len(candidates) == 1 or total <= 0:
            return candidates[0]
        u = rng.random() * total
        for variant in candidates:
            if u < variant.weight:
                return variant
            u -= variant.weight
        return candidates[-1]


def _plain_latency_ms(behaviour: ModelBehaviour, rng: random.Random) -> float:
    """A latency from the version's own behaviour (no profile: no load effect)."""
    sigma = (
        LATENCY_SIGMA
        if behaviour.latency_p99_ms is None
        else math.log(behaviour.latency_p99_ms / behaviour.latency_ms) / Z_99
    )
    return min(TIMEOUT_MS, math.exp(rng.gauss(math.log(behaviour.latency_ms), sigma)))
