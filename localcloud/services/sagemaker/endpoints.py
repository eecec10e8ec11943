"""A SageMaker simulator on top of moto: what moto lacks for a faithful rehearsal.

- Endpoints take virtual time: ``Creating`` → ``InService`` after ``endpointCreateSeconds``. An
  endpoint that will fail (a package whose behaviour has ``failDeploy``: its container never
  passes the health check) stays ``Creating`` (or ``Updating``) for ``endpointFailureSeconds``
  (30 min by default) before it fails, and cannot be deleted meanwhile.
- ``DeleteEndpoint`` goes through ``Deleting`` for ``endpointDeleteSeconds`` and then removes the
  endpoint's variants' Application Auto Scaling registrations (scalable targets and policies).
- ``DeleteEndpointConfig`` of a config in use is allowed (SageMaker only warns against it); what
  needs that config afterwards fails with ``Could not find endpoint configuration``: an update of
  the endpoint, a weight or capacity change, an in-flight create or update moving to it.
- Refusals of ``CreateEndpointConfig`` (see "refusals" below): 1 to 10 production variants with
  unique names; serverless variants take no data capture, no inference pipeline or multi-model
  container, no VPC or network isolation, and stand alone; with ``ShadowProductionVariants``,
  exactly one production and one shadow variant, neither serverless nor asynchronous.
  ``UpdateEndpoint`` refuses to turn an endpoint that ever ran on instances into a serverless one.
- Shadow variants: a config's ``ShadowProductionVariants`` go live with it (``DescribeEndpoint``
  lists them with their current weight and instance counts) and leave with it; their fleets are
  provisioned like the production ones (artifacts read with the model's role, capacity, health
  check). :attr:`SageMakerSimulator.shadow_serving` says which shadow variants receive copies of
  the production traffic, and when (``localcloud/services/cloudwatch/metrics.py``).
- Data capture: while the live config captures and the model's role may write the destination,
  :meth:`SageMakerSimulator.capture_config` gives the config; the objects are written by
  ``localcloud/services/sagemaker/capture.py``.
- Config fields moto drops are kept: ``ShadowProductionVariants``, ``VpcConfig``,
  ``ExecutionRoleArn``, ``EnableNetworkIsolation``, ``ExplainerConfig`` (shadow variants also show
  in ``DescribeEndpoint``); ``DescribeEndpoint`` carries ``LastDeploymentConfig``.
- A scenario can ask for ``SystemUpdating`` windows (updates refused while they last) and for
  ``InsufficientCapacity`` of an instance type (creates, updates and scale-outs needing it fail
  as SageMaker fails them: asynchronously, with its failure reason).
- ``UpdateEndpoint`` (moto has none): ``Updating`` with a ``PendingDeploymentSummary`` while the old
  variants keep serving; after ``endpointUpdateSeconds`` the new config's variants go live. When a
  variant of the new config serves a package whose behaviour has ``failDeploy``, the update fails
  as a blue/green update does on SageMaker: the endpoint returns to ``InService`` on the OLD config
  and ``FailureReason`` says why (no ``Failed`` status: the old fleet never stopped serving).
- ``UpdateEndpoint`` with a blue/green ``DeploymentConfig`` that routes traffic (deployment
  guardrails): the new fleet takes its canary or linear shares with a bake after each while the
  auto-rollback alarms are watched; an alarm in ALARM or the execution timeout sends the traffic
  back (``RollingBack``, then ``InService`` on the old config with a ``FailureReason``).
- ``UpdateEndpointWeightsAndCapacities``: ``Desired*`` change at once, the endpoint is ``Updating``
  and ``Current*`` follow after ``weightUpdateSeconds``; a weight-only request keeps the instance
  counts (moto drops them).
- ``DescribeEndpoint`` variants always carry ``CurrentWeight``/``DesiredWeight`` (weight 0
  included) and the instance counts; endpoint configs keep ``InitialVariantWeight: 0.0`` and
  default it to 1.0 as SageMaker does.
- Names are unique (case-insensitive for endpoints); a second create raises the
  ``ValidationException`` SageMaker raises, and so does a change or deletion of an in-progress
  endpoint and the deletion of a model or config that does not exist (with SageMaker's messages).
- ``UpdateModelPackage`` keeps the fields it is not given (moto blanks them) and, like SageMaker,
  every registry change emits a "SageMaker Model Package State Change" event on the local bus
  (``simulation.events.registryEventsPerChange`` of them: SageMaker may send several). Each
  change sets the package's ``LastModifiedTime`` (virtual time), which all the events of that
  change carry: it tells one change (an approval, a re-approval) from another.
- Every endpoint status change emits a "SageMaker Endpoint State Change" event; each stage of a
  guardrails deployment a "SageMaker Endpoint Deployment State Change" event.
- ``UpdateEndpoint`` refuses to remove a variant registered with Application Auto Scaling, or to
  change its instance type (deregister, update, register again); deregistering a scalable target
  deletes its scaling policies, as on AWS (moto keeps them).
- Batch transform jobs take ``transformSeconds`` and write their output objects in the local S3, or
  fail when the model's behaviour says ``transform_fails``
  (``localcloud/services/sagemaker/transforms.py``).
- Creation and modification times come from the virtual clock (with a microsecond sequence so
  that "newest first" listings keep creation order within one virtual second).

The simulator also keeps, per endpoint, the history of what serves traffic (variant, current
weight, model package, instances, instance type) for the traffic simulator
(``localcloud/services/cloudwatch/metrics.py``), and the history of current weights for the report.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

from moto.applicationautoscaling import models as aas_models
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.responses import ActionResult
from moto.sagemaker import models as sm_models
from moto.sagemaker import responses as sm_responses
from moto.sagemaker.exceptions import ValidationError

from localcloud.engine.scheduler import Scheduler
from localcloud.services.events import EventDelivery
from localcloud.services.sagemaker.baselines import Baseline
from localcloud.services.sagemaker.groundtruth import GroundTruthConfig
from localcloud.services.sagemaker.performance import PerformanceProfile
from localcloud.services.sagemaker.transforms import DEFAULT_FAILURE_REASON, TransformJobs

IN_PROGRESS = {"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"}
SERVING = {"InService", "Updating", "SystemUpdating", "RollingBack"}  # statuses in which traffic flows
EVENT_STATUS = {
    "Creating": "CREATING",
    "Updating": "UPDATING",
    "InService": "IN_SERVICE",
    "Failed": "FAILED",
    "Deleting": "DELETING",
    "RollingBack": "ROLLING_BACK",
    "SystemUpdating": "SYSTEM_UPDATING",
}
MONITOR_OUTCOMES = ("ok", "violations", "failed")
VARIANT_SCALING_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
MAX_VARIANTS = 10  # CreateEndpointConfig: ProductionVariants 1-10 items (API reference)
# The FailureReason of an endpoint SageMaker could not find instances for (reported in
# aws/deep-learning-containers#6673: "Unable to provision requested ML compute capacity due to
# InsufficientInstanceCapacity error.").
NO_CAPACITY_REASON = (
    "Unable to provision requested ML compute capacity due to InsufficientInstanceCapacity error."
)


@dataclass(frozen=True)
class BusinessMetric:
    """An outcome the application reports per served request (a conversion, a click).

    ``rate``: the share of reported requests with a successful outcome; ``reported``: the share of
    served requests whose outcome the application reports at all (below 1: fewer samples than
    requests, e.g. a sample-ratio mismatch between variants).
    """

    rate: float
    reported: float = 1.0


@dataclass
class ModelBehaviour:
    """How a model package version behaves once deployed (from a scenario's ``models``)."""

    error_rate: float = 0.001
    latency_ms: float = 40.0  # median ModelLatency
    latency_p99_ms: float | None = None  # p99 ModelLatency; None: the default spread (p99 ~ 1.8 x median)
    # metric name -> outcome the application publishes per variant (localcloud/services/cloudwatch/metrics.py)
    business_metrics: dict[str, BusinessMetric] = field(default_factory=dict)
    positive_rate: float = 0.2  # share of requests this version labels 1 (captured outputs)
    fail_deploy: bool = False
    fail_invoke: bool = False  # its invocations answer a ModelError (the multi-model smoke test)
    failure_reason: str = "The primary container for production variant failed the ping health check."
    monitor: str = "ok"  # Model Monitor verdict on this version's traffic: ok | violations | failed
    transform_fails: bool = False  # its batch transform jobs end Failed
    transform_failure_reason: str = DEFAULT_FAILURE_REASON
    # instance type -> how this version performs on it under load (services/sagemaker/performance.py)
    profiles: dict[str, PerformanceProfile] = field(default_factory=dict)
    # its input features and model quality (services/sagemaker/baselines.py); None: the fixed CSV row
    baseline: Baseline | None = None


@dataclass(frozen=True)
class SystemUpdatingWindow:
    """SageMaker maintenance of one endpoint: ``SystemUpdating`` for ``seconds`` from ``at``.

    Starts at ``at``, or as soon after as the endpoint is ``InService``; updates are refused while
    it lasts, traffic keeps flowing.
    """

    endpoint: str
    at: float
    seconds: float


@dataclass(frozen=True)
class CapacityShortage:
    """No instances of ``instance_type`` to be had from ``at`` until ``until`` (None: for good)."""

    instance_type: str
    at: float = 0.0
    until: float | None = None

    def covers(self, instance_type: str | None, now: float) -> bool:
        return (
            instance_type == self.instance_type
            and self.at <= now
            and (self.until is None or now < self.until)
        )


@dataclass
class SimulationSettings:
    endpoint_create_seconds: float = 480.0
    endpoint_update_seconds: float = 300.0
    # An endpoint that will fail stays Creating/Updating this long first: reports run from ~24 min
    # to ~1 h (aws/amazon-sagemaker-examples#3432); 30 min by default.
    endpoint_failure_seconds: float = 1800.0
    endpoint_delete_seconds: float = 60.0  # DeleteEndpoint: Deleting -> gone
    weight_update_seconds: float = 30.0
    transform_seconds: float = 900.0  # CreateTransformJob: InProgress -> Completed / Failed
    requests_per_minute: float = 600.0
    no_traffic_metrics: bool = False  # a variant without traffic: zeros (True) or no datapoints
    registry_events: bool = True
    behaviours: dict[str, ModelBehaviour] = field(default_factory=dict)  # "group/version" -> behaviour
    # CloudWatch: a minute's AWS/SageMaker datapoints become visible this long after the minute ends
    metric_delay_seconds: float = 60.0
    events: EventDelivery = field(default_factory=EventDelivery)  # how EventBridge delivers events
    system_updating: list[SystemUpdatingWindow] = field(default_factory=list)
    insufficient_capacity: list[CapacityShortage] = field(default_factory=list)
    # model package group -> the CloudWatch namespace its application publishes business metrics in
    business_namespaces: dict[str, str] = field(default_factory=dict)
    # ListMetrics shows a metric this long after its first datapoint was published (AWS: "up to 15 min")
    list_metrics_delay_seconds: float = 900.0
    capture_records_per_object: int = 100  # data capture: at most this many records per object
    # Inference Recommender jobs (localcloud/services/sagemaker/recommender.py): how long they run
    recommender_default_seconds: float = 2700.0  # Default jobs "complete within 45 minutes"
    recommender_advanced_seconds: float = 7200.0  # Advanced jobs take "an average of 2 hours"
    # labels uploaded for captured predictions (services/sagemaker/groundtruth.py); None: no labels
    ground_truth: GroundTruthConfig | None = None

    def business_namespace(self, package: str) -> str:
        """Where the application of ``package``'s group publishes: the group's configured namespace,
        else ``<group>/business``."""
        group = package.split("/", 1)[0]
        return self.business_namespaces.get(group) or f"{group}/business"

    def short_of(self, instance_type: str | None, now: float) -> bool:
        """Whether SageMaker has no ``instance_type`` instances to give at virtual time ``now``."""
        return any(shortage.covers(instance_type, now) for shortage in self.insufficient_capacity)

    def behaviour(self, package: str) -> ModelBehaviour:
        return self.behaviours.get(package) or _DEFAULT_BEHAVIOUR


_DEFAULT_BEHAVIOUR = ModelBehaviour()


def package_key(arn: str) -> str:
    """``group/version`` of a model package ARN."""
    match = re.search(r":model-package/([^/]+)/(\d+)$", arn)
    return f"{match[1]}/{match[2]}" if match else arn


@dataclass(frozen=True)
class ServingVariant:
    """One live variant as traffic sees it."""

    name: str
    weight: float
    package: str  # "group/version", or "model:<ModelName>" for a model not made from a package
    instances: int | None
    fleet: str | None = None  # during a guardrails deployment: the endpoint config of this fleet
    shadow: bool = False  # a shadow variant: a copy of a share of the production traffic, answers nobody
    instance_type: str | None = None  # the fleet's InstanceType (None: serverless)

    @property
    def label(self) -> str:
        return f"{self.name}@{self.fleet}" if self.fleet else self.name


Snapshot = tuple[ServingVariant, ...]


@dataclass(frozen=True)
class WeightChange:
    """The current weights of an endpoint's live variants from ``at`` on (and what each serves)."""

    at: float
    endpoint: str
    weights: dict[str, float]
    packages: dict[str, str]


@dataclass
class _PendingUpdate:
    kind: str  # "config" | "weights"
    config_name: str | None = None
    variants: list[dict[str, Any]] = field(default_factory=list)
    packages: dict[str, str] = field(default_factory=dict)


@dataclass
class _Guardrails:
    """A blue/green update with traffic routing in progress: what share the new fleet serves."""

    old_config: str
    new_config: str
    new_packages: dict[str, str]
    new_instances: dict[str, int | None]
    new_types: dict[str, str | None]
    phases: list[tuple[float, float]]  # (new fleet's traffic share, seconds to bake at it)
    alarms: list[str]
    deadline: float  # virtual time: MaximumExecutionTimeoutInSeconds after the update started
    share: float = 0.0


def _capacity_share(size: dict[str, Any], variants: list[dict[str, Any]]) -> float:
    """A canary or linear step as a share of the new fleet (``CAPACITY_PERCENT`` or ``INSTANCE_COUNT``)."""
    value = float(size.get("Value", 0))
    if size.get("Type") == "INSTANCE_COUNT":
        total = sum(int(v.get("CurrentInstanceCount") or 1) for v in variants) or 1
        return min(1.0, value / total)
    return min(1.0, value / 100.0)


def epoch_millis(when: datetime) -> int:
    """Epoch milliseconds of a datetime (naive ones are UTC, as moto stores them)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return round(when.timestamp() * 1000)


def _not_found(kind: str, arn: str) -> ValidationError:
    return ValidationError(f'Could not find {kind} "{arn}".')


def _in_progress(endpoint: Any) -> ValidationError:
    return ValidationError(f'Cannot update in-progress endpoint "{endpoint.arn}".')


# --- refusals: where SageMaker says no that moto does not -----------------------------------------
SERVERLESS_DOCS = "https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html"
CREATE_CONFIG_DOCS = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html"
SHADOW_TESTS_DOCS = "https://docs.aws.amazon.com/sagemaker/latest/dg/shadow-tests-create.html"


def _config_variants(config: Any) -> list[dict[str, Any]]:
    """Every variant of an endpoint config: its production variants, then its shadow variants (each
    is a fleet SageMaker provisions, with its model's artifacts and instances)."""
    return list(config.production_variants) + list(getattr(config, "shadow_production_variants", None) or [])


def _types_of_config(config: Any) -> dict[str, str | None]:
    """variant -> InstanceType of every variant of a config, shadow variants included."""
    return {str(v["VariantName"]): v.get("InstanceType") for v in _config_variants(config)}


def _is_serverless(variants: list[dict[str, Any]]) -> bool:
    return any(v.get("ServerlessConfig") for v in variants)


def check_endpoint_config(backend: Any, request: dict[str, Any]) -> None:
    """The ``ValidationException``s of ``CreateEndpointConfig`` that moto does not raise.

    - ``ProductionVariants`` holds 1 to 10 items, ``ShadowProductionVariants`` at most 10, and a
      variant name appears once in the config, shadow variants included (API reference,
      ``CREATE_CONFIG_DOCS``).
    - With ``ShadowProductionVariants``, exactly one production variant and one shadow variant
      (``CREATE_CONFIG_DOCS``, ``ShadowProductionVariants``: "you can only specify one variant" for
      each; the shadow tests page, ``SHADOW_TESTS_DOCS``: at most one shadow variant per endpoint
      and then at most one production variant). A shadow variant is never serverless, and an
      asynchronous config takes none: the shadow tests page lists serverless and asynchronous
      inference among the endpoint features that make the shadow set-up a validation error.
    - A serverless variant stands alone and takes no data capture, no inference pipeline, no
      multi-model container, no VPC configuration and no network isolation ("Feature exclusions"
      of the serverless page, ``SERVERLESS_DOCS``).

    The wording of the messages other than the length constraint is this simulator's own.
    """
    variants = list(request.get("ProductionVariants") or [])
    shadows = list(request.get("ShadowProductionVariants") or [])
    for key, items, low in (("productionVariants", variants, 1), ("shadowProductionVariants", shadows, 0)):
        if len(items) > MAX_VARIANTS or len(items) < low:
            bound = f"less than or equal to {MAX_VARIANTS}" if items else f"greater than or equal to {low}"
            raise ValidationError(
                f"1 validation error detected: Value at '{key}' failed to satisfy constraint: "
                f"Member must have length {bound}"
            )
    seen: set[str] = set()
    for variant in variants + shadows:
        name = str(variant.get("VariantName"))
        if name in seen:
            raise ValidationError(
                f'The variant name "{name}" appears more than once in the endpoint configuration: '
                "variant names must be unique."
            )
        seen.add(name)
    if shadows:
        if len(variants) != 1 or len(shadows) != 1:
            raise ValidationError(
                "An endpoint configuration with ShadowProductionVariants takes exactly one production "
                f"variant and one shadow variant; {len(variants)} production and {len(shadows)} shadow "
                "variants were given."
            )
        if _is_serverless(shadows):
            raise ValidationError(
                f'Shadow variant "{shadows[0].get("VariantName")}" has a ServerlessConfig: shadow '
                "variants do not support serverless inference."
            )
        if request.get("AsyncInferenceConfig"):
            raise ValidationError(
                "An endpoint configuration with AsyncInferenceConfig cannot have ShadowProductionVariants: "
                "shadow variants do not support asynchronous inference."
            )
    if not _is_serverless(variants + shadows):
        return
    if len(variants) + len(shadows) > 1:
        raise ValidationError(
            "A serverless endpoint configuration takes exactly one production variant and no shadow "
            f"variant; {len(variants) + len(shadows)} were given."
        )
    variant = variants[0]
    capture = request.get("DataCaptureConfig")
    if capture and capture.get("EnableCapture", True):
        raise ValidationError(
            f'Data capture is not supported for serverless endpoints (variant "{variant["VariantName"]}").'
        )
    if request.get("VpcConfig") or request.get("EnableNetworkIsolation"):
        raise ValidationError(
            "VPC configuration and network isolation are not supported for serverless endpoints."
        )
    model = backend._models.get(str(variant.get("ModelName")))
    if model is None:
        return
    containers = list(model.containers or []) + ([model.primary_container] if model.primary_container else [])
    if len(containers) > 1:
        raise ValidationError(
            f'Model "{model.model_name}" is an inference pipeline of {len(containers)} containers: '
            "serverless endpoints do not support inference pipelines."
        )
    if any((c or {}).get("Mode") == "MultiModel" for c in containers):
        raise ValidationError(
            f'Model "{model.model_name}" hosts multiple models: serverless endpoints do not support '
            "multi-model endpoints."
        )
    if model.vpc_config or model.enable_network_isolation:
        raise ValidationError(
            f'Model "{model.model_name}" has a VPC configuration or network isolation: serverless '
            "endpoints support neither."
        )


def check_update_to_serverless(endpoint: Any, config: Any, ever_on_instances: bool) -> None:
    """``UpdateEndpoint`` never turns an instance-based endpoint into a serverless one.

    "You cannot convert your instance-based, real-time endpoint to a serverless endpoint. If you try
    to update your real-time endpoint to serverless, you receive a ValidationError message. You can
    convert a serverless endpoint to real-time, but once you make the update, you cannot roll it back
    to serverless." (``SERVERLESS_DOCS``, "Feature exclusions")
    """
    if ever_on_instances and _is_serverless(config.production_variants):
        raise ValidationError(
            f'Cannot update endpoint "{endpoint.arn}" to the serverless endpoint configuration '
            f'"{config.endpoint_config_arn}": an endpoint that has run on instances cannot become serverless.'
        )


class SageMakerSimulator:
    def __init__(
        self,
        scheduler: Scheduler,
        settings: SimulationSettings,
        emit: Callable[[str, str, dict[str, Any], list[str]], None],
    ) -> None:
        self.scheduler = scheduler
        self.settings = settings
        self._emit = emit
        self._stack = ExitStack()
        self._stamps = itertools.count()
        self.status_log: list[tuple[float, str, str]] = []  # (t, endpoint, status)
        # endpoint name -> [(t, what serves from t on)]; an empty snapshot means no traffic
        self.serving: dict[str, list[tuple[float, Snapshot]]] = {}
        # endpoint name -> [(t, the shadow variants live from t on)] (they answer nobody)
        self.shadow_serving: dict[str, list[tuple[float, Snapshot]]] = {}
        # endpoint -> its live DataCaptureConfig while capture is enabled and may be written
        self._capture_configs: dict[str, dict[str, Any]] = {}
        self.weight_log: list[WeightChange] = []
        self._last_weights: dict[str, dict[str, float]] = {}
        self._live_packages: dict[str, dict[str, str]] = {}  # endpoint -> variant -> package
        self._live_types: dict[str, dict[str, str | None]] = {}  # endpoint -> variant -> InstanceType
        self._pending: dict[str, _PendingUpdate] = {}  # endpoint name -> in-flight update
        self._guardrails: dict[str, _Guardrails] = {}  # endpoint name -> traffic shifting in progress
        self.execution_modes: dict[str, str] = {}  # model name -> InferenceExecutionConfig.Mode
        self.guardrails_log: list[tuple[float, str, str]] = []  # (t, endpoint, what happened)
        self._backends: dict[str, Any] = {}  # endpoint name -> the moto backend holding it
        self._on_instances: set[str] = set()  # endpoints that have run on instances (never serverless again)
        # endpoint -> [(t, data capture enabled from t on)]: what Model Monitor can find captured
        self._capture_log: dict[str, list[tuple[float, bool]]] = {}
        # IAM for what SageMaker does with a model's execution role: (role ARN, call, action,
        # resource) -> allowed. Set by the local cloud from template.yaml; None allows everything.
        self.role_check: Callable[[str, str, str, str], bool] | None = None
        self.transforms = TransformJobs(
            scheduler,
            lambda: self.settings.transform_seconds,
            lambda arn: self.settings.behaviour(package_key(arn)) if arn else _DEFAULT_BEHAVIOUR,
            emit,
            self.stamp,
            self.package_of_model,
        )

    # --- time -----------------------------------------------------------------------------
    def stamp(self) -> datetime:
        """Virtual now as moto stores times (naive UTC), plus a microsecond sequence for ordering."""
        now = self.scheduler.datetime().replace(tzinfo=None)
        return now + timedelta(microseconds=next(self._stamps) % 1_000_000)

    # --- patching -------------------------------------------------------------------------
    def install(self) -> None:
        backend_cls = sm_models.SageMakerModelBackend
        originals = {
            name: getattr(backend_cls, name)
            for name in (
                "create_endpoint",
                "delete_endpoint",
                "create_model",
                "delete_model",
                "create_endpoint_config",
                "describe_endpoint_config",
                "delete_endpoint_config",
                "update_model_package",
                "create_model_package",
            )
        }
        sim = self

        def create_endpoint(backend: Any, endpoint_name: str, endpoint_config_name: str, tags: Any) -> Any:
            for existing in backend.endpoints.values():
                if existing.endpoint_name.lower() == endpoint_name.lower():
                    raise ValidationError(f'Cannot create already existing endpoint "{existing.arn}".')
            config = backend.endpoint_configs.get(endpoint_config_name)
            if config is None:
                raise _not_found("endpoint configuration", sim._config_arn(backend, endpoint_config_name))
            elsewhere = sim._backends.get(endpoint_name)
            if elsewhere is not None and elsewhere.account_id != backend.account_id:
                # not SageMaker's rule (names are per account) but this simulator's: it keys endpoints by name
                raise RuntimeError(
                    f"the local cloud rehearses one endpoint named {endpoint_name!r} across its accounts "
                    f"(one is in {elsewhere.account_id}); name the stages' endpoints apart"
                )
            endpoint = originals["create_endpoint"](backend, endpoint_name, endpoint_config_name, tags)
            sim._backends[endpoint_name] = backend
            endpoint.production_variants = sim._variants_from_config(config)
            sim._go_live_on(endpoint, config)
            endpoint.creation_time = endpoint.last_modified_time = sim.stamp()
            sim._live_packages[endpoint_name] = sim._packages_of_config(backend, config)
            sim._live_types[endpoint_name] = _types_of_config(config)
            sim._set_status(endpoint, "Creating")
            failing = sim._failing_behaviour(backend, config)
            reason = (
                failing.failure_reason
                if failing is not None
                else sim._capacity_failure(config) or sim._access_failure(backend, config)
            )
            # A container that never passes its health check keeps the endpoint Creating for long.
            delay = (
                sim.settings.endpoint_failure_seconds
                if failing is not None
                else sim.settings.endpoint_create_seconds
            )

            def created() -> None:
                if (
                    backend.endpoints.get(endpoint_name) is not endpoint
                    or endpoint.endpoint_status != "Creating"
                ):
                    return
                if endpoint_config_name not in backend.endpoint_configs:
                    # deleted while the endpoint was being created (AWS only warns against it)
                    missing = _not_found(
                        "endpoint configuration", sim._config_arn(backend, endpoint_config_name)
                    )
                    sim._set_status(endpoint, "Failed", missing.message)
                elif reason is not None:
                    sim._set_status(endpoint, "Failed", reason)
                else:
                    sim._set_status(endpoint, "InService")

            sim.scheduler.after(delay, created)
            return endpoint

        def delete_endpoint(backend: Any, endpoint_name: str) -> None:
            endpoint = backend.endpoints.get(endpoint_name)
            if endpoint is None:
                originals["delete_endpoint"](backend, endpoint_name)  # moto's not-found error
                return
            if endpoint.endpoint_status in IN_PROGRESS:
                # Creating (even one that will fail), Updating, SystemUpdating, RollingBack, Deleting:
                # no deletion until it settles (aws/amazon-sagemaker-examples#3432).
                raise _in_progress(endpoint)
            sim._set_status(endpoint, "Deleting")

            def deleted() -> None:
                if backend.endpoints.get(endpoint_name) is not endpoint:
                    return
                originals["delete_endpoint"](backend, endpoint_name)
                sim._deregister_scaling(backend, endpoint_name)
                sim.status_log.append((sim.scheduler.now, endpoint_name, "Deleted"))
                sim._record_serving(endpoint_name, ())
                sim._note_capture(endpoint_name, None)
                sim._live_packages.pop(endpoint_name, None)
                sim._live_types.pop(endpoint_name, None)
                sim._last_weights.pop(endpoint_name, None)
                sim._on_instances.discard(endpoint_name)

            sim.scheduler.after(sim.settings.endpoint_delete_seconds, deleted)

        def create_model(backend: Any, model_name: str, *args: Any, **kwargs: Any) -> Any:
            if model_name in backend._models:
                arn = backend._models[model_name].arn
                raise ValidationError(f'Cannot create already existing model "{arn}".')
            containers = kwargs.get("containers") or []
            if len(containers) > 15:
                raise ValidationError(
                    "1 validation error detected: Value at 'containers' failed to satisfy constraint: "
                    "Member must have length less than or equal to 15"
                )
            model = originals["create_model"](backend, model_name, *args, **kwargs)
            model.creation_time = sim.stamp()
            return model

        def delete_model(backend: Any, model_name: str) -> None:
            if model_name not in backend._models:
                raise _not_found("model", sm_models.arn_formatter("model", model_name, *sim._where(backend)))
            originals["delete_model"](backend, model_name)

        def create_endpoint_config(backend: Any, endpoint_config_name: str, *args: Any, **kwargs: Any) -> Any:
            if endpoint_config_name in backend.endpoint_configs:
                arn = backend.endpoint_configs[endpoint_config_name].endpoint_config_arn
                raise ValidationError(f'Cannot create already existing endpoint configuration "{arn}".')
            config = originals["create_endpoint_config"](backend, endpoint_config_name, *args, **kwargs)
            for variant in config.production_variants:
                # SageMaker answers 1.0 when the weight was not given, and keeps an explicit 0.0
                weight = variant.get("InitialVariantWeight")
                variant["InitialVariantWeight"] = 1.0 if weight is None else float(weight)
            config.creation_time = sim.stamp()
            return config

        def describe_endpoint_config(backend: Any, endpoint_config_name: str) -> Any:
            if endpoint_config_name not in backend.endpoint_configs:
                raise _not_found("endpoint configuration", sim._config_arn(backend, endpoint_config_name))
            return originals["describe_endpoint_config"](backend, endpoint_config_name)

        def delete_endpoint_config(backend: Any, endpoint_config_name: str) -> None:
            # Allowed even when an endpoint uses the config or an update moves to it: "You must not
            # delete an EndpointConfig in use by an endpoint that is live or while the UpdateEndpoint
            # or CreateEndpoint operations are being performed on the endpoint" is a warning, not a
            # refusal (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DeleteEndpointConfig.html).
            # What needs the config afterwards fails (see ``_live_config`` and the update's end).
            if endpoint_config_name not in backend.endpoint_configs:
                raise _not_found("endpoint configuration", sim._config_arn(backend, endpoint_config_name))
            originals["delete_endpoint_config"](backend, endpoint_config_name)

        def update_endpoint_weights_and_capacities(
            backend: Any, endpoint_name: str, desired_weights_and_capacities: list[dict[str, Any]]
        ) -> str:
            return sim.update_weights(backend, endpoint_name, desired_weights_and_capacities)

        def update_model_package(
            backend: Any,
            model_package_arn: str,
            model_approval_status: str | None,
            approval_description: str | None,
            customer_metadata_properties: dict[str, str] | None,
            customer_metadata_properties_to_remove: list[str],
            additional_inference_specifications_to_add: list[Any] | None,
        ) -> str:
            package = backend.describe_model_package(model_package_arn)
            before = package.model_approval_status
            arn = originals["update_model_package"](
                backend,
                model_package_arn,
                model_approval_status or before,
                approval_description if approval_description is not None else package.approval_description,
                customer_metadata_properties
                if customer_metadata_properties is not None
                else dict(package.customer_metadata_properties or {}),
                customer_metadata_properties_to_remove or [],
                additional_inference_specifications_to_add,
            )
            updated = backend.describe_model_package(arn)
            updated.last_modified_time = sim.stamp()  # every change, in virtual time (moto: wall clock)
            sim._emit_package_event(updated)
            return str(arn)

        def create_model_package(backend: Any, *args: Any, **kwargs: Any) -> Any:
            arn = originals["create_model_package"](backend, *args, **kwargs)
            created = backend.describe_model_package(arn)
            created.last_modified_time = sim.stamp()
            sim._emit_package_event(created)
            return arn

        replacements = {
            "create_endpoint": create_endpoint,
            "delete_endpoint": delete_endpoint,
            "create_model": create_model,
            "delete_model": delete_model,
            "create_endpoint_config": create_endpoint_config,
            "describe_endpoint_config": describe_endpoint_config,
            "delete_endpoint_config": delete_endpoint_config,
            "update_endpoint_weights_and_capacities": update_endpoint_weights_and_capacities,
            "update_model_package": update_model_package,
            "create_model_package": create_model_package,
        }
        for name, replacement in replacements.items():
            self._stack.enter_context(mock.patch.object(backend_cls, name, replacement))

        aas_cls = aas_models.ApplicationAutoscalingBackend
        original_deregister = aas_cls.deregister_scalable_target

        def deregister_scalable_target(backend: Any, namespace: str, r_id: str, dimension: str) -> None:
            original_deregister(backend, namespace, r_id, dimension)
            for key in [k for k in backend.policies if k.split("\t")[1:3] == [r_id, dimension]]:
                backend.policies.pop(key).delete_alarms(backend.account_id, backend.region_name)

        self._stack.enter_context(
            mock.patch.object(aas_cls, "deregister_scalable_target", deregister_scalable_target)
        )

        def update_endpoint(response: Any) -> ActionResult:
            arn = sim.update_endpoint(
                response.sagemaker_backend,
                endpoint_name=response._get_param("EndpointName"),
                config_name=response._get_param("EndpointConfigName"),
                retain=bool(response._get_param("RetainAllVariantProperties")),
                exclude=[
                    p.get("VariantPropertyType")
                    for p in response._get_param("ExcludeRetainedVariantProperties") or []
                ],
                deployment_config=response._get_param("DeploymentConfig"),
                retain_deployment_config=bool(response._get_param("RetainDeploymentConfig")),
            )
            return ActionResult({"EndpointArn": arn})

        self._stack.enter_context(
            mock.patch.object(sm_responses.SageMakerResponse, "update_endpoint", update_endpoint, create=True)
        )
        original_create_config = sm_responses.SageMakerResponse.create_endpoint_config

        def create_endpoint_config_response(response: Any) -> Any:
            request = {
                key: response._get_param(key)
                for key in (
                    "ProductionVariants",
                    "ShadowProductionVariants",
                    "DataCaptureConfig",
                    "AsyncInferenceConfig",
                    "VpcConfig",
                    "ExecutionRoleArn",
                    "EnableNetworkIsolation",
                    "ExplainerConfig",
                )
            }
            check_endpoint_config(response.sagemaker_backend, request)
            answer = original_create_config(response)
            config = response.sagemaker_backend.endpoint_configs[response._get_param("EndpointConfigName")]
            # moto drops these real config fields; DescribeEndpointConfig returns them on AWS
            shadows = [
                {
                    **v,
                    "InitialVariantWeight": 1.0
                    if v.get("InitialVariantWeight") is None
                    else float(v["InitialVariantWeight"]),
                }
                for v in request["ShadowProductionVariants"] or []
            ]
            for attribute, value in (
                ("shadow_production_variants", shadows or None),
                ("vpc_config", request["VpcConfig"]),
                ("execution_role_arn", request["ExecutionRoleArn"]),
                ("enable_network_isolation", request["EnableNetworkIsolation"]),
                ("explainer_config", request["ExplainerConfig"]),
            ):
                if value is not None:
                    setattr(config, attribute, value)
            return answer

        self._stack.enter_context(
            mock.patch.object(
                sm_responses.SageMakerResponse, "create_endpoint_config", create_endpoint_config_response
            )
        )
        original_create_model = sm_responses.SageMakerResponse.create_model

        def create_model_response(response: Any) -> Any:
            # moto drops InferenceExecutionConfig: check it as SageMaker does and keep it here
            mode = (response._get_param("InferenceExecutionConfig") or {}).get("Mode")
            containers = response._get_param("Containers") or []
            if mode == "Direct" and any(not c.get("ContainerHostname") for c in containers):
                raise ValidationError("Direct invocation requires a ContainerHostname for every container.")
            answer = original_create_model(response)
            if mode:
                sim.execution_modes[str(response._get_param("ModelName"))] = str(mode)
            return answer

        self._stack.enter_context(
            mock.patch.object(sm_responses.SageMakerResponse, "create_model", create_model_response)
        )
        self.transforms.install()
        self._stack.callback(self.transforms.uninstall)
        for window in self.settings.system_updating:
            self.scheduler.at(window.at, functools.partial(self._system_update, window), background=True)

    def uninstall(self) -> None:
        self._stack.close()

    # --- endpoint updates -------------------------------------------------------------------
    def update_endpoint(
        self,
        backend: Any,
        *,
        endpoint_name: str,
        config_name: str,
        retain: bool = False,
        exclude: list[str] | None = None,
        deployment_config: dict[str, Any] | None = None,
        retain_deployment_config: bool = False,
    ) -> str:
        """``UpdateEndpoint``: blue/green, all at once, after ``endpointUpdateSeconds``.

        With a ``DeploymentConfig`` whose blue/green policy routes traffic (canary, linear, all at
        once), the new fleet is provisioned, then takes its shares of the traffic with a bake
        after each; an auto-rollback alarm in ALARM (or the execution timeout) sends all traffic
        back to the old fleet, and the endpoint returns to ``InService`` on the old config.
        A new fleet that never becomes healthy keeps the endpoint ``Updating`` for
        ``endpointFailureSeconds``; one SageMaker has no instances for fails after
        ``endpointUpdateSeconds``; either way the old fleet keeps serving.
        """
        endpoint = backend.endpoints.get(endpoint_name)
        if endpoint is None:
            raise _not_found(
                "endpoint", sm_models.FakeEndpoint.arn_formatter(endpoint_name, *self._where(backend))
            )
        config = backend.endpoint_configs.get(config_name)
        if config is None:
            raise _not_found("endpoint configuration", self._config_arn(backend, config_name))
        if endpoint.endpoint_status != "InService":
            raise _in_progress(endpoint)
        # SageMaker needs both the old and the new config for an update: with the live one deleted
        # the update is refused (hashicorp/terraform-provider-aws#40048, #48997).
        self._live_config(backend, endpoint)
        check_update_to_serverless(endpoint, config, endpoint_name in self._on_instances)
        self._check_autoscaled(backend, endpoint, config)
        if retain_deployment_config and not deployment_config:
            deployment_config = getattr(endpoint, "last_deployment_config", None)
        policy = (deployment_config or {}).get("BlueGreenUpdatePolicy")
        routed = bool(policy and policy.get("TrafficRoutingConfiguration"))
        if routed:
            self._check_same_variants(backend, endpoint, config)
        if deployment_config:
            endpoint.last_deployment_config = deployment_config  # DescribeEndpoint's LastDeploymentConfig
        previous = endpoint.production_variants if retain else None
        variants = self._variants_from_config(config, previous=previous, exclude=set(exclude or []))
        pending = _PendingUpdate(
            kind="config",
            config_name=config_name,
            variants=variants,
            packages=self._packages_of_config(backend, config),
        )
        self._pending[endpoint_name] = pending
        started = self.stamp()
        instance_types = {v["VariantName"]: v.get("InstanceType") for v in config.production_variants}
        endpoint.pending_deployment_summary = {
            "EndpointConfigName": config_name,
            "StartTime": started,
            "ProductionVariants": [
                {
                    **{k: v for k, v in variant.items() if k.startswith("Desired")},
                    "VariantName": variant["VariantName"],
                    **(
                        {"InstanceType": instance_types[variant["VariantName"]]}
                        if instance_types.get(variant["VariantName"])
                        else {}
                    ),
                    "VariantStatus": [{"Status": "Creating", "StartTime": started}],
                }
                for variant in variants
            ],
        }
        self._set_status(endpoint, "Updating")
        failing = self._failing_behaviour(backend, config)
        reason = (
            failing.failure_reason
            if failing is not None
            else self._capacity_failure(config) or self._access_failure(backend, config)
        )
        if routed and reason is None:
            self._start_guardrails(backend, endpoint, config, pending, deployment_config or {})
            return str(endpoint.arn)

        def finish() -> None:
            if backend.endpoints.get(endpoint_name) is not endpoint:
                return
            self._pending.pop(endpoint_name, None)
            endpoint.pending_deployment_summary = None
            why = reason
            if why is None and config_name not in backend.endpoint_configs:
                # the config the update was moving to was deleted meanwhile
                why = _not_found("endpoint configuration", self._config_arn(backend, config_name)).message
            if why is not None:
                # The new fleet never served: the old one keeps serving, as it did all along.
                self._set_status(endpoint, "InService", why)
                return
            endpoint.production_variants = pending.variants
            endpoint.endpoint_config_name = config_name
            endpoint.data_capture_config = config.data_capture_config
            self._go_live_on(endpoint, config)
            self._live_packages[endpoint_name] = pending.packages
            self._live_types[endpoint_name] = _types_of_config(config)
            self._set_status(endpoint, "InService")

        delay = (
            self.settings.endpoint_failure_seconds
            if failing is not None
            else self.settings.endpoint_update_seconds
        )
        self.scheduler.after(delay, finish)
        return str(endpoint.arn)

    def _live_config(self, backend: Any, endpoint: Any) -> Any:
        """The config an endpoint runs on, or SageMaker's error when it was deleted."""
        config = backend.endpoint_configs.get(endpoint.endpoint_config_name)
        if config is None:
            raise _not_found(
                "endpoint configuration", self._config_arn(backend, endpoint.endpoint_config_name)
            )
        return config

    def _go_live_on(self, endpoint: Any, config: Any) -> None:
        """What follows the config an endpoint now runs on: shadow variants, capture, instances."""
        shadows = getattr(config, "shadow_production_variants", None) or []
        endpoint.shadow_production_variants = (
            self._variants_from_config(config, variants=shadows) if shadows else None
        )
        capture = config.data_capture_config or None
        if capture and not self._role_may_write_capture(endpoint.endpoint_name, config, capture):
            capture = None  # SageMaker cannot write the captured data: nothing is captured
        self._note_capture(endpoint.endpoint_name, capture)
        if not _is_serverless(config.production_variants):
            self._on_instances.add(endpoint.endpoint_name)

    def _capacity_failure(self, config: Any) -> str | None:
        """SageMaker's failure reason when a fleet of ``config`` cannot be had now, else None."""
        now = self.scheduler.now
        if any(self.settings.short_of(v.get("InstanceType"), now) for v in _config_variants(config)):
            return NO_CAPACITY_REASON
        return None

    # --- the model execution role ------------------------------------------------------------
    def _role_of(self, backend: Any, config: Any) -> str | None:
        for variant in config.production_variants:
            model = backend._models.get(variant.get("ModelName"))
            if model is not None and model.execution_role_arn:
                return str(model.execution_role_arn)
        return None

    def _role_allows(self, role: str | None, call: str, action: str, bucket_and_key: str) -> bool:
        if self.role_check is None or role is None:
            return True
        return self.role_check(role, call, action, f"arn:aws:s3:::{bucket_and_key}")

    def _access_failure(self, backend: Any, config: Any) -> str | None:
        """SageMaker downloads every container's artifact with the model's execution role (the role
        passed to CreateModel); when the role may not read it, the endpoint fails with this reason
        (SageMaker troubleshooting: "Failed to download model data ... the role passed to CreateModel
        has permissions to download the model")."""
        for variant in _config_variants(config):
            model = backend._models.get(variant.get("ModelName"))
            if model is None:
                continue
            containers = list(model.containers or []) or [model.primary_container or {}]
            for container in self._artifact_containers(backend, containers):
                source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
                url = container.get("ModelDataUrl") or source.get("S3Uri")
                if not url or not str(url).startswith("s3://"):
                    continue
                bucket, _, key = str(url)[5:].partition("/")
                if container.get("Mode") == "MultiModel" or str(url).endswith("/"):
                    key = key + "model.tar.gz"  # an object under the multi-model or uncompressed prefix
                if not self._role_allows(
                    model.execution_role_arn, "sagemaker:CreateEndpoint", "s3:GetObject", f"{bucket}/{key}"
                ):
                    return (
                        f"Failed to download model data(bucket: {bucket}, key: {key}). Please ensure that "
                        "there is an object located at the URL and that the role passed to CreateModel "
                        "has permissions to download the model."
                    )
        return None

    @staticmethod
    def _artifact_containers(backend: Any, containers: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The containers whose artifacts SageMaker downloads: a container that names a model package
        runs the package's own containers (InferenceSpecification.Containers)."""
        out: list[dict[str, Any]] = []
        for container in containers:
            package_name = container.get("ModelPackageName")
            if not package_name:
                out.append(container)
                continue
            owner = backend
            if str(package_name).startswith("arn:") and str(package_name).split(":")[4] != backend.account_id:
                # a package of another account's registry (a stage account deploying the hub's)
                owner = sm_models.sagemaker_backends[str(package_name).split(":")[4]][backend.region_name]
            for package in owner.model_packages.values():
                if package_name in {package.arn, package.model_package_name}:
                    spec = package.inference_specification or {}
                    out.extend(spec.get("Containers") or [])
        return out

    def _role_may_write_capture(self, endpoint_name: str, config: Any, capture: dict[str, Any]) -> bool:
        """Captured requests are written with the model's execution role; a denied write loses them
        (the endpoint serves on; Model Monitor then finds no data)."""
        destination = str(capture.get("DestinationS3Uri") or "")
        if not destination.startswith("s3://"):
            return True
        backend = self._backends.get(endpoint_name)
        role = self._role_of(backend, config) if backend is not None else None
        prefix = destination[5:].rstrip("/")
        return self._role_allows(
            role, "sagemaker:DataCapture", "s3:PutObject", f"{prefix}/{endpoint_name}/capture.jsonl"
        )

    def _note_capture(self, endpoint_name: str, capture: dict[str, Any] | None) -> None:
        enabled = bool(capture) and bool((capture or {}).get("EnableCapture", True))
        if enabled and capture is not None:
            self._capture_configs[endpoint_name] = dict(capture)
        else:
            self._capture_configs.pop(endpoint_name, None)
        log = self._capture_log.setdefault(endpoint_name, [])
        if not log or log[-1][1] != enabled:
            log.append((self.scheduler.now, enabled))

    def capture_config(self, endpoint_name: str) -> dict[str, Any] | None:
        """The live ``DataCaptureConfig`` of an endpoint while capture is enabled and SageMaker may
        write it (the model's execution role may put the objects), else None."""
        return self._capture_configs.get(endpoint_name)

    def captured(self, endpoint_name: str, start: float, end: float) -> bool:
        """Whether the endpoint had data capture enabled at some time in ``[start, end)``."""
        log = self._capture_log.get(endpoint_name, [])
        for index, (since, enabled) in enumerate(log):
            until = log[index + 1][0] if index + 1 < len(log) else math.inf
            if enabled and since < end and until > start:
                return True
        return False

    def _deregister_scaling(self, backend: Any, endpoint_name: str) -> None:
        """Remove the scalable targets (and so the policies) of a deleted endpoint's variants.

        "If you delete an endpoint, Application Auto Scaling checks to see whether any of the models
        on that endpoint are targets for auto scaling. If any are ..., Application Auto Scaling
        deregisters those models as scalable targets without notifying you."
        (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-delete-with-scaling.html)
        """
        aas = aas_models.applicationautoscaling_backends[backend.account_id][backend.region_name]
        for variant in sorted(self.autoscaled_variants(backend, endpoint_name)):
            aas.deregister_scalable_target(
                "sagemaker", f"endpoint/{endpoint_name}/variant/{variant}", VARIANT_SCALING_DIMENSION
            )

    def _system_update(self, window: SystemUpdatingWindow) -> None:
        """A scenario's maintenance window: ``SystemUpdating`` as soon as the endpoint is ``InService``."""
        endpoint = self._find_endpoint(window.endpoint)
        if endpoint is None:
            return
        if endpoint.endpoint_status != "InService":
            self.scheduler.after(30.0, lambda: self._system_update(window), background=True)
            return
        self._set_status(endpoint, "SystemUpdating")

        def done() -> None:
            if (
                self._find_endpoint(window.endpoint) is endpoint
                and endpoint.endpoint_status == "SystemUpdating"
            ):
                self._set_status(endpoint, "InService")

        self.scheduler.after(window.seconds, done)

    def account_of(self, endpoint_name: str) -> str | None:
        """The account an endpoint was created in (None: no endpoint of that name was)."""
        backend = self._backends.get(endpoint_name)
        return str(backend.account_id) if backend is not None else None

    def _find_endpoint(self, name: str) -> Any:
        backend = self._backends.get(name)
        return None if backend is None else backend.endpoints.get(name)

    @staticmethod
    def _check_same_variants(backend: Any, endpoint: Any, config: Any) -> None:
        old_config = backend.endpoint_configs.get(endpoint.endpoint_config_name)
        before = sorted(v["VariantName"] for v in (old_config.production_variants if old_config else []))
        after = sorted(v["VariantName"] for v in config.production_variants)
        if before != after:
            raise ValidationError(
                "A blue/green deployment with traffic routing needs the new endpoint configuration to keep "
                f"the variant names of the old one ({', '.join(before)}); got {', '.join(after)}."
            )

    def _start_guardrails(
        self, backend: Any, endpoint: Any, config: Any, pending: _PendingUpdate, deployment: dict[str, Any]
    ) -> None:
        policy = deployment["BlueGreenUpdatePolicy"]
        routing = policy["TrafficRoutingConfiguration"]
        wait = float(routing.get("WaitIntervalInSeconds", 0))
        termination = float(policy.get("TerminationWaitInSeconds", 0))
        if routing["Type"] == "CANARY":
            phases = [(_capacity_share(routing["CanarySize"], pending.variants), wait), (1.0, termination)]
        elif routing["Type"] == "LINEAR":
            step = _capacity_share(routing["LinearStepSize"], pending.variants)
            shares = [min(1.0, step * (i + 1)) for i in range(math.ceil(1.0 / step - 1e-9))]
            phases = [(share, wait) for share in shares[:-1]] + [(1.0, wait + termination)]
        else:  # ALL_AT_ONCE
            phases = [(1.0, wait + termination)]
        name = endpoint.endpoint_name
        state = _Guardrails(
            old_config=str(endpoint.endpoint_config_name),
            new_config=str(pending.config_name),
            new_packages=pending.packages,
            new_instances={v["VariantName"]: v.get("CurrentInstanceCount") for v in pending.variants},
            new_types=_types_of_config(config),
            phases=phases,
            alarms=[
                str(a["AlarmName"])
                for a in (deployment.get("AutoRollbackConfiguration") or {}).get("Alarms", [])
            ],
            deadline=self.scheduler.now + float(policy.get("MaximumExecutionTimeoutInSeconds", 28800)),
        )

        def alive() -> bool:
            return backend.endpoints.get(name) is endpoint and self._guardrails.get(name) is state

        fleet = sum(int(v.get("CurrentInstanceCount") or 1) for v in pending.variants)
        self._deployment_stage(endpoint, "Creating", f"Launching {fleet} instance(s).")

        def shift(index: int) -> None:
            if not alive():
                return
            share, bake = state.phases[index]
            state.share = share
            instances = max(1, math.ceil(share * fleet - 1e-9))
            capacity = "full" if share >= 1.0 else "canary" if index == 0 else "partial"
            self._deployment_stage(
                endpoint,
                "ActivatingTraffic",
                f"Activating traffic on {capacity} capacity of {instances} instance(s).",
            )
            wait = "TerminationWaitInSeconds" if index + 1 == len(state.phases) else "WaitIntervalInSeconds"
            self._deployment_stage(
                endpoint,
                "Baking",
                f"Baking for {bake:.0f} seconds ({wait}) "
                f"with traffic enabled on {capacity} capacity of {instances} instance(s).",
            )
            self.guardrails_log.append((self.scheduler.now, name, f"new fleet at {share:.0%} of traffic"))
            self._record_serving(name, self._snapshot(endpoint), self._shadow_snapshot(endpoint))
            watch(index, self.scheduler.now + bake)

        def watch(index: int, until: float) -> None:
            if not alive():
                return
            why = self._rollback_reason(backend, state)
            if why is not None:
                self._roll_back_guardrails(backend, endpoint, state, why)
                return
            if self.scheduler.now >= until:
                if index + 1 < len(state.phases):
                    shift(index + 1)
                else:
                    self._finish_guardrails(backend, endpoint, state, config)
                return
            self.scheduler.after(min(60.0, until - self.scheduler.now), lambda: watch(index, until))

        self._guardrails[name] = state
        self.scheduler.after(self.settings.endpoint_update_seconds, lambda: shift(0))

    def _rollback_reason(self, backend: Any, state: _Guardrails) -> str | None:
        alarms = cloudwatch_backends[backend.account_id][backend.region_name].alarms
        for alarm_name in state.alarms:
            alarm = alarms.get(alarm_name)
            if alarm is not None and alarm.state_value == "ALARM":
                return f"Auto-rollback alarm {alarm_name} is in ALARM: {alarm.state_reason}"
        if self.scheduler.now >= state.deadline:
            return "The deployment exceeded MaximumExecutionTimeoutInSeconds."
        return None

    def _roll_back_guardrails(self, backend: Any, endpoint: Any, state: _Guardrails, why: str) -> None:
        name = endpoint.endpoint_name
        self.guardrails_log.append((self.scheduler.now, name, f"rolling back: {why}"))
        state.share = 0.0
        self._set_status(endpoint, "RollingBack")
        fleet = sum(int(n or 1) for n in state.new_instances.values())
        self._deployment_stage(
            endpoint, "Deleting", f"Rolling back: {why} Terminating {fleet} instance(s) of the new fleet."
        )

        def done() -> None:
            if backend.endpoints.get(name) is not endpoint:
                return
            self._guardrails.pop(name, None)
            self._pending.pop(name, None)
            endpoint.pending_deployment_summary = None
            self._set_status(endpoint, "InService", f"Deployment rolled back. {why}")

        self.scheduler.after(self.settings.weight_update_seconds, done)

    def _finish_guardrails(self, backend: Any, endpoint: Any, state: _Guardrails, config: Any) -> None:
        name = endpoint.endpoint_name
        if state.new_config not in backend.endpoint_configs:
            # the config the deployment moves to was deleted meanwhile: it cannot complete
            missing = _not_found("endpoint configuration", self._config_arn(backend, state.new_config))
            self._roll_back_guardrails(backend, endpoint, state, missing.message)
            return
        old_fleet = sum(int(v.get("CurrentInstanceCount") or 1) for v in endpoint.production_variants)
        self._deployment_stage(endpoint, "Deleting", f"Terminating {old_fleet} instance(s).")
        pending = self._pending.pop(name, None)
        self._guardrails.pop(name, None)
        endpoint.pending_deployment_summary = None
        if pending is not None:
            endpoint.production_variants = pending.variants
        endpoint.endpoint_config_name = state.new_config
        endpoint.data_capture_config = config.data_capture_config
        self._go_live_on(endpoint, config)
        self._live_packages[name] = state.new_packages
        self._live_types[name] = state.new_types
        self.guardrails_log.append((self.scheduler.now, name, "old fleet terminated"))
        self._set_status(endpoint, "InService")

    @staticmethod
    def autoscaled_variants(backend: Any, endpoint_name: str) -> set[str]:
        """The variants of an endpoint registered with Application Auto Scaling."""
        aas = aas_models.applicationautoscaling_backends[backend.account_id][backend.region_name]
        prefix = f"endpoint/{endpoint_name}/variant/"
        targets = aas.targets.get(VARIANT_SCALING_DIMENSION, {})
        return {rid[len(prefix) :] for rid in targets if rid.startswith(prefix)}

    def _check_autoscaled(self, backend: Any, endpoint: Any, config: Any) -> None:
        old_config = backend.endpoint_configs.get(endpoint.endpoint_config_name)
        before = {
            v["VariantName"]: v.get("InstanceType")
            for v in (old_config.production_variants if old_config else [])
        }
        after = {v["VariantName"]: v.get("InstanceType") for v in config.production_variants}
        for variant in sorted(self.autoscaled_variants(backend, endpoint.endpoint_name)):
            if variant not in after or after[variant] != before.get(variant):
                change = "removes" if variant not in after else "changes the instance type of"
                raise ValidationError(
                    f'Cannot update endpoint "{endpoint.arn}": the update {change} variant "{variant}", '
                    "which is registered with Application Auto Scaling; deregister its scalable target "
                    "first and register it again after the update."
                )

    def update_weights(self, backend: Any, endpoint_name: str, desired: list[dict[str, Any]]) -> str:
        """``UpdateEndpointWeightsAndCapacities``: ``Updating`` for ``weightUpdateSeconds``."""
        endpoint = backend.endpoints.get(endpoint_name)
        if endpoint is None:
            raise _not_found(
                "endpoint", sm_models.FakeEndpoint.arn_formatter(endpoint_name, *self._where(backend))
            )
        if endpoint.endpoint_status != "InService":
            raise _in_progress(endpoint)
        # the variants' settings come from the live config: deleted, the change is refused
        live_config = self._live_config(backend, endpoint)
        instance_types = {v["VariantName"]: v.get("InstanceType") for v in live_config.production_variants}
        live = {v["VariantName"]: v for v in endpoint.production_variants}
        seen: set[str] = set()
        for entry in desired:
            name = entry.get("VariantName")
            if name in seen:
                raise ValidationError(f'The variant name "{name}" was non-unique within the request.')
            if name not in live:
                raise ValidationError(
                    f'The variant name(s) "{name}" is/are not present within endpoint configuration '
                    f'"{endpoint.endpoint_config_name}".'
                )
            seen.add(str(name))
        no_capacity: list[str] = []  # variants scaling out onto an instance type SageMaker has none of
        for entry in desired:
            variant = live[entry["VariantName"]]
            if entry.get("DesiredWeight") is not None:
                variant["DesiredWeight"] = float(entry["DesiredWeight"])
            if entry.get("DesiredInstanceCount") is not None:
                variant["DesiredInstanceCount"] = int(entry["DesiredInstanceCount"])
                more = variant["DesiredInstanceCount"] > int(variant.get("CurrentInstanceCount") or 0)
                if more and self.settings.short_of(
                    instance_types.get(variant["VariantName"]), self.scheduler.now
                ):
                    no_capacity.append(str(variant["VariantName"]))
        self._pending[endpoint_name] = _PendingUpdate(kind="weights")
        self._set_status(endpoint, "Updating")

        def finish() -> None:
            if backend.endpoints.get(endpoint_name) is not endpoint:
                return
            self._pending.pop(endpoint_name, None)
            if no_capacity:
                # "RollingBack: Endpoint fails to scale up or down or change its variant weight and is
                # in the process of rolling back to its previous configuration. Once the rollback
                # completes, endpoint returns to an InService status." (DescribeEndpoint, API reference)
                for variant in endpoint.production_variants:
                    for key in [k for k in variant if k.startswith("Current")]:
                        variant[key.replace("Current", "Desired", 1)] = variant[key]
                self._set_status(endpoint, "RollingBack")

                def rolled_back() -> None:
                    if backend.endpoints.get(endpoint_name) is endpoint:
                        self._set_status(endpoint, "InService", NO_CAPACITY_REASON)

                self.scheduler.after(self.settings.weight_update_seconds, rolled_back)
                return
            for variant in endpoint.production_variants:
                if "DesiredWeight" in variant:
                    variant["CurrentWeight"] = variant["DesiredWeight"]
                if "DesiredInstanceCount" in variant:
                    variant["CurrentInstanceCount"] = variant["DesiredInstanceCount"]
            self._set_status(endpoint, "InService")

        self.scheduler.after(self.settings.weight_update_seconds, finish)
        return str(endpoint.arn)

    # --- behaviour ------------------------------------------------------------------------
    def live_packages(self, endpoint_name: str) -> dict[str, str]:
        """variant -> package version (``group/version``) an endpoint's live variants serve."""
        return dict(self._live_packages.get(endpoint_name, {}))

    def serving_now(self, endpoint_name: str) -> Snapshot:
        """What serves ``endpoint_name``'s traffic now: its production variants (fleets during a
        guardrails deployment) with current weights, packages, instances and instance types; empty
        when the endpoint does not serve."""
        history = self.serving.get(endpoint_name)
        return history[-1][1] if history else ()

    @staticmethod
    def _where(backend: Any) -> tuple[str, str]:
        return str(backend.account_id), str(backend.region_name)

    def _config_arn(self, backend: Any, name: str) -> str:
        return str(sm_models.FakeEndpointConfig.arn_formatter(name, *self._where(backend)))

    @staticmethod
    def _variants_from_config(
        config: Any,
        previous: list[dict[str, Any]] | None = None,
        exclude: set[str] | None = None,
        *,
        variants: list[dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        """Live variants (``Current*``/``Desired*``) of a config, as an endpoint reports them.

        ``variants``: other variants of the config than its production ones (its shadow variants).
        """
        retained = {v["VariantName"]: v for v in previous or []}
        exclude = exclude or set()
        live = []
        for configured in config.production_variants if variants is None else variants:
            name = configured["VariantName"]
            weight = configured.get("InitialVariantWeight")
            variant: dict[str, Any] = {
                "VariantName": name,
                "CurrentWeight": 1.0 if weight is None else float(weight),
            }
            if configured.get("InitialInstanceCount") is not None:
                variant["CurrentInstanceCount"] = int(configured["InitialInstanceCount"])
            if configured.get("ServerlessConfig"):
                variant["CurrentServerlessConfig"] = dict(configured["ServerlessConfig"])
            old = retained.get(name)
            if old is not None:
                if "DesiredWeight" not in exclude and old.get("DesiredWeight") is not None:
                    variant["CurrentWeight"] = float(old["DesiredWeight"])
                if "DesiredInstanceCount" not in exclude and old.get("DesiredInstanceCount") is not None:
                    variant["CurrentInstanceCount"] = int(old["DesiredInstanceCount"])
            for key in [k for k in variant if k.startswith("Current")]:
                variant[key.replace("Current", "Desired", 1)] = variant[key]
            live.append(variant)
        return live

    def _packages_of_config(self, backend: Any, config: Any) -> dict[str, str]:
        """variant -> package of every variant of a config, shadow variants included."""
        packages = {}
        for variant in _config_variants(config):
            model_name = str(variant.get("ModelName", ""))
            arn = self.package_of_model(backend, model_name)
            packages[str(variant["VariantName"])] = package_key(arn) if arn else f"model:{model_name}"
        return packages

    def _failing_behaviour(self, backend: Any, config: Any) -> ModelBehaviour | None:
        """The behaviour of the first variant whose package fails to deploy, if any."""
        for package in self._packages_of_config(backend, config).values():
            behaviour = self.settings.behaviour(package)
            if behaviour.fail_deploy:
                return behaviour
        return None

    @staticmethod
    def package_of_model(backend: Any, model_name: str) -> str | None:
        model = backend._models.get(model_name)
        if model is None:
            return None
        containers = list(model.containers or []) + (
            [model.primary_container] if model.primary_container else []
        )
        for container in containers:
            if container.get("ModelPackageName"):
                return str(container["ModelPackageName"])
        # a model built from the package's containers (a pipeline, a multi-model container) says
        # which package it came from in the control plane's tags
        tags = {t["Key"]: t["Value"] for t in model.tags or []}
        group, version = tags.get("smdeploy:model-package-group"), tags.get("smdeploy:model-package-version")
        if group and version:
            return sm_models.arn_formatter(
                "model-package", f"{group}/{version}", str(backend.account_id), str(backend.region_name)
            )
        return None

    # --- state changes ------------------------------------------------------------------
    def _snapshot(self, endpoint: Any) -> Snapshot:
        if endpoint.endpoint_status not in SERVING:
            return ()
        packages = self._live_packages.get(endpoint.endpoint_name, {})
        types = self._live_types.get(endpoint.endpoint_name, {})
        live = tuple(
            ServingVariant(
                name=str(v["VariantName"]),
                weight=float(v.get("CurrentWeight", 1.0)),
                package=packages.get(str(v["VariantName"]), ""),
                instances=v.get("CurrentInstanceCount"),
                instance_type=types.get(str(v["VariantName"])),
            )
            for v in endpoint.production_variants
        )
        shifting = self._guardrails.get(endpoint.endpoint_name)
        if shifting is None or shifting.share <= 0:
            return live
        fleets: list[ServingVariant] = []
        for variant in live:
            old = variant.weight * (1.0 - shifting.share)
            if old > 0:
                fleets.append(
                    ServingVariant(
                        variant.name,
                        old,
                        variant.package,
                        variant.instances,
                        shifting.old_config,
                        instance_type=variant.instance_type,
                    )
                )
            fleets.append(
                ServingVariant(
                    variant.name,
                    variant.weight * shifting.share,
                    shifting.new_packages.get(variant.name, ""),
                    shifting.new_instances.get(variant.name),
                    shifting.new_config,
                    instance_type=shifting.new_types.get(variant.name),
                )
            )
        return tuple(fleets)

    def _shadow_snapshot(self, endpoint: Any) -> Snapshot:
        """The shadow variants of an endpoint that serves (``ShadowProductionVariants`` of its live
        config, as ``DescribeEndpoint`` shows them)."""
        if endpoint.endpoint_status not in SERVING:
            return ()
        packages = self._live_packages.get(endpoint.endpoint_name, {})
        types = self._live_types.get(endpoint.endpoint_name, {})
        return tuple(
            ServingVariant(
                name=str(v["VariantName"]),
                weight=float(v.get("CurrentWeight", 1.0)),
                package=packages.get(str(v["VariantName"]), ""),
                instances=v.get("CurrentInstanceCount"),
                shadow=True,
                instance_type=types.get(str(v["VariantName"])),
            )
            for v in getattr(endpoint, "shadow_production_variants", None) or []
        )

    def _append_history(self, history: list[tuple[float, Snapshot]], snapshot: Snapshot) -> bool:
        """Record what holds from now on; False when nothing changed."""
        now = self.scheduler.now
        if history and history[-1][1] == snapshot:
            return False
        if history and history[-1][0] == now:
            history.pop()
            if history and history[-1][1] == snapshot:
                return False
        history.append((now, snapshot))
        return True

    def _record_serving(self, endpoint_name: str, snapshot: Snapshot, shadows: Snapshot = ()) -> None:
        now = self.scheduler.now
        self._append_history(self.shadow_serving.setdefault(endpoint_name, []), shadows)
        if not self._append_history(self.serving.setdefault(endpoint_name, []), snapshot):
            return
        if snapshot:
            weights = {v.label: v.weight for v in snapshot}
            if self._last_weights.get(endpoint_name) != weights:
                self._last_weights[endpoint_name] = weights
                packages = {v.label: v.package for v in snapshot}
                self.weight_log.append(WeightChange(now, endpoint_name, weights, packages))

    def _set_status(self, endpoint: Any, status: str, reason: str | None = None) -> None:
        endpoint.endpoint_status = status
        endpoint.failure_reason = reason
        endpoint.last_modified_time = self.stamp()
        self.status_log.append((self.scheduler.now, endpoint.endpoint_name, status))
        self._record_serving(
            endpoint.endpoint_name, self._snapshot(endpoint), self._shadow_snapshot(endpoint)
        )
        detail = self._endpoint_detail(endpoint)
        self._emit("aws.sagemaker", "SageMaker Endpoint State Change", detail, [endpoint.arn])

    def _endpoint_detail(self, endpoint: Any) -> dict[str, Any]:
        """The ``detail`` of SageMaker's endpoint events (upper-case status, epoch milliseconds)."""
        status, reason = endpoint.endpoint_status, endpoint.failure_reason
        return {
            "EndpointName": endpoint.endpoint_name,
            "EndpointArn": endpoint.arn,
            "EndpointConfigName": endpoint.endpoint_config_name,
            "ProductionVariants": [
                {
                    key: v[key]
                    for key in ("VariantName", "DesiredWeight", "DesiredInstanceCount")
                    if v.get(key) is not None
                }
                for v in endpoint.production_variants
            ],
            "EndpointStatus": EVENT_STATUS.get(status, status.upper()),
            "FailureReason": reason,
            "CreationTime": epoch_millis(endpoint.creation_time),
            "LastModifiedTime": epoch_millis(endpoint.last_modified_time),
            "Tags": {tag["Key"]: tag["Value"] for tag in endpoint.tags or []},
        }

    def _deployment_stage(self, endpoint: Any, status: str, message: str) -> None:
        """A stage of a guardrails deployment: the new fleet's ``VariantStatus`` in
        ``PendingDeploymentSummary`` and a "SageMaker Endpoint Deployment State Change" event, shaped
        as the example of https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html
        ("SageMaker endpoint deployment state change")."""
        started = self.stamp()
        summary = endpoint.pending_deployment_summary or {}
        for variant in summary.get("ProductionVariants", []):
            variant["VariantStatus"] = [{"Status": status, "StatusMessage": message, "StartTime": started}]
        detail = self._endpoint_detail(endpoint)
        detail["ProductionVariants"] = [
            {
                key: v[key]
                for key in (
                    "VariantName",
                    "CurrentWeight",
                    "DesiredWeight",
                    "CurrentInstanceCount",
                    "DesiredInstanceCount",
                )
                if v.get(key) is not None
            }
            for v in endpoint.production_variants
        ]
        if summary:
            detail["PendingDeploymentSummary"] = {
                "EndpointConfigName": summary["EndpointConfigName"],
                "StartTime": epoch_millis(summary["StartTime"]),
                "ProductionVariants": [
                    {
                        **{k: v for k, v in variant.items() if k not in {"VariantStatus", "InstanceType"}},
                        "VariantStatus": [
                            {"Status": status, "StatusMessage": message, "StartTime": epoch_millis(started)}
                        ],
                    }
                    for variant in summary.get("ProductionVariants", [])
                ],
            }
        self._emit("aws.sagemaker", "SageMaker Endpoint Deployment State Change", detail, [endpoint.arn])

    def _emit_package_event(self, package: Any) -> None:
        if not self.settings.registry_events:
            return
        described = package.gen_response_object()
        detail = {
            key: described.get(key)
            for key in (
                "ModelPackageGroupName",
                "ModelPackageVersion",
                "ModelPackageArn",
                "ModelPackageName",
                "ModelPackageDescription",
                "CreationTime",
                "LastModifiedTime",
                "InferenceSpecification",
                "ModelPackageStatus",
                "ModelApprovalStatus",
                "ApprovalDescription",
                "CustomerMetadataProperties",
            )
            if described.get(key) is not None
        }
        detail["CreationTime"] = str(detail.get("CreationTime", ""))
        if detail.get("LastModifiedTime") is not None:
            # ISO-8601 UTC as SageMaker's events carry it; the same for every event of one change,
            # a new one for every change (a re-approval after a rejection is a new transition).
            modified = detail["LastModifiedTime"]
            detail["LastModifiedTime"] = (
                modified.replace(tzinfo=UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
                if isinstance(modified, datetime)
                else str(modified)
            )
        # "SageMaker may send multiple events to EventBridge for each state change" (SageMaker's
        # EventBridge page): each one a separate event with its own id.
        for _ in range(self.settings.events.registry_events_per_change):
            self._emit(
                "aws.sagemaker",
                "SageMaker Model Package State Change",
                dict(detail),
                [str(described["ModelPackageArn"])],
            )
