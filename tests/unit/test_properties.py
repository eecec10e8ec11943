"""Property-based tests (hypothesis): whatever starts an execution, the entry point answers with a
request or plan, or with ``InvalidRequest`` naming a field, and creates nothing; strategies and the
canary verdict keep their invariants for any input.

Inputs are the repository's sample events and the published AWS samples, mutated (keys dropped,
values replaced by any JSON value or retyped, ``detail`` sent as a string, batches, SNS wrapping),
and generated manual inputs, valid and mutated. AWS is replaced by small fakes that answer the
reads ``resolve_plan`` makes and record any other call. Every test is derandomized (a fixed seed
per test, no example database) and bounded, so CI sees the same examples on every run.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from smdeploy.adapters.config_store import GroupConfigStore
from smdeploy.deploy import resolve_plan
from smdeploy.errors import AwsRequestRejected, EndpointBusy, InvalidRequest
from smdeploy.events import normalize
from smdeploy.models import ENDPOINT_NAME_RE, DeploymentPlan, DeployRequest, ManualDeployInput
from smdeploy.plan import resolve_strategy
from smdeploy.settings import PlanSettings
from smdeploy.strategy import (
    HISTORY_EVENT_LIMIT,
    MAX_PENDING_CHECKS,
    Judgement,
    Observation,
    RolloutPlan,
    StrategyConfig,
    judge,
    resolve_rollout,
    worst_case_history_events,
)

REPO = Path(__file__).resolve().parents[2]
SAMPLES = sorted((REPO / "events").glob("*.json")) + sorted(
    (REPO / "tests/fixtures/aws-events").glob("*.json")
)
BASES: list[Any] = [json.loads(path.read_text()) for path in SAMPLES]
# Model package events and manual inputs are what the entry point deploys from: drawn half the time.
DEPLOY_BASES = [
    base
    for base in BASES
    if isinstance(base, dict) and ("modelPackageArn" in base or "ModelPackageArn" in str(base))
]
APPROVED_EVENT: dict[str, Any] = json.loads((REPO / "events" / "model_package_approved.json").read_text())


def fixed(max_examples: int) -> settings:
    """Deterministic and bounded: the same examples on every run, no deadline flakiness."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- generators: any JSON value, and mutations of a document ----------------------------------------
# Values the Lambda runtime's json.loads really produces from valid JSON: 1e400 is inf, a 400-digit
# number an int; a string may hold JSON text of its own (detail as a string, SNS messages).
ODD_SCALARS_LIST: list[Any] = [
    10**400,  # JSON's 400-digit integers: past what a float holds
    -(10**400),
    float("inf"),  # JSON's 1e400
    float("-inf"),
    2**63,
    -1,
    0,
    1e-300,
    "",
    " ",
    "null",
    "{}",
    "[]",
    "[[]]",
    '{"detail-type": 1}',
    "1" * 5000,  # JSON text past the interpreter's 4300-digit int limit
    "\u0000",
    "Approved",
    "aws.sagemaker",
]
ODD_SCALARS = st.sampled_from(ODD_SCALARS_LIST)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    ODD_SCALARS,
)
JSON_VALUES = ODD_SCALARS | st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON document (the root included)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


def get(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def put(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    """``doc`` with the value at ``path`` replaced (the root replaced when the path is empty)."""
    if not path:
        return value
    get(doc, path[:-1])[path[-1]] = value
    return doc


def drop(doc: Any, path: tuple[Any, ...]) -> Any:
    if path:
        parent = get(doc, path[:-1])
        if isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
    return doc


def retyped(value: Any) -> list[Any]:
    """The same value in the other types a careless producer sends."""
    text = json.dumps(value, default=str)
    return [text, text[: len(text) // 2], [value], {"value": value}, None, str(value)]


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    """``base`` after one to three mutations: drop a key, replace or retype a value anywhere."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        everywhere = paths(doc)
        near_the_top = [path for path in everywhere if len(path) <= 2]  # where the fields that matter are
        path = draw(st.sampled_from(near_the_top if draw(st.integers(0, 4)) else everywhere))
        operation = draw(st.sampled_from(["drop", "replace", "retype"]))
        if operation == "drop":
            doc = drop(doc, path)
        elif operation == "replace":
            doc = put(doc, path, draw(JSON_VALUES))
        else:
            doc = put(doc, path, draw(st.sampled_from(retyped(get(doc, path)))))
    return doc


@st.composite
def delivered(draw: st.DrawFn, document: Any) -> Any:
    """A document as it may reach the state machine: as is, detail as a string, batched, via SNS."""
    shape = draw(st.sampled_from(["as is", "detail as string", "batch", "sns", "json text"]))
    if shape == "detail as string" and isinstance(document, dict) and "detail" in document:
        return {**document, "detail": json.dumps(document["detail"], default=str)}
    if shape == "batch":
        others = draw(st.lists(st.sampled_from([document, APPROVED_EVENT, {}, []]), max_size=2))
        return [document, *others]
    if shape == "sns":
        return {
            "Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(document, default=str)}}]
        }
    if shape == "json text":
        return json.dumps(document, default=str)
    return document


# --- generators: valid manual inputs and strategies ------------------------------------------------
ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# SageMaker names: letters and digits, single or repeated hyphens inside.
GROUPS = st.lists(st.text(ALNUM, min_size=1, max_size=6), min_size=1, max_size=3).map("-".join)
REGIONS = st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1"])
PARTITIONS = st.sampled_from(["aws", "aws-us-gov", "aws-cn"])


@st.composite
def package_arns(draw: st.DrawFn) -> str:
    account = f"{draw(st.integers(0, 10**12 - 1)):012d}"
    version = draw(st.integers(1, 9_999_999_999))
    return (
        f"arn:{draw(PARTITIONS)}:sagemaker:{draw(REGIONS)}:{account}:model-package/{draw(GROUPS)}/{version}"
    )


ENDPOINT_NAMES = (
    st.lists(st.text(ALNUM, min_size=1, max_size=8), min_size=1, max_size=3).map("--".join) | GROUPS
)
INSTANCE_TYPES = st.sampled_from(["ml.m5.large", "ml.m5.xlarge", "ml.g5.2xlarge", "ml.c7g.large"])
ALARM_NAMES = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=1, max_size=40)


@st.composite
def valid_strategies(draw: st.DrawFn) -> dict[str, Any]:
    """A strategy object every layer accepts: any subset of the keys, each within its rules."""
    strategy: dict[str, Any] = {}

    def maybe(key: str, values: st.SearchStrategy[Any]) -> None:
        if draw(st.booleans()):
            strategy[key] = draw(values)

    maybe("type", st.sampled_from(["all-at-once", "canary", "linear"]))
    if strategy.get("type") != "all-at-once":
        percents = st.floats(min_value=0, max_value=100, exclude_min=True, allow_nan=False)
        maybe("steps", st.lists(percents, min_size=1, max_size=10, unique=True).map(sorted))
    maybe("canaryPercent", st.floats(min_value=0, max_value=100, exclude_min=True, exclude_max=True))
    maybe("linearSteps", st.integers(2, 10))
    maybe("checkIntervalSeconds", st.integers(60, 3600))
    interval = strategy.get("checkIntervalSeconds", 120)
    maybe("bakeMinutes", st.integers(interval, 24 * 3600).map(lambda seconds: seconds / 60))
    assume(strategy.get("bakeMinutes", 10) * 60 >= interval)  # seconds / 60 * 60 may lose an ulp
    maybe("minInvocations", st.integers(0, 10**6))
    maybe("onInconclusive", st.sampled_from(["extend", "rollback"]))
    maybe("maxExtensions", st.integers(0, 20))
    maybe("errorRateThreshold", st.floats(min_value=0, max_value=1, exclude_min=True))
    maybe("latencyP99Ms", st.none() | st.floats(min_value=1e-3, max_value=1e6))
    maybe("alarms", st.lists(ALARM_NAMES, max_size=3, unique=True))
    maybe("terminationWaitMinutes", st.integers(0, 60))
    maybe(
        "monitor",
        st.fixed_dictionaries(
            {}, optional={"failOnViolations": st.booleans(), "failOnFailure": st.booleans()}
        ),
    )
    # Valid means within Step Functions' history limit too (the plan refuses longer rollouts).
    rollout = resolve_rollout(StrategyConfig.model_validate(strategy))
    assume(rollout.guardrails is not None or worst_case_history_events(rollout) <= HISTORY_EVENT_LIMIT)
    return strategy


STRATEGY_KEYS = sorted(StrategyConfig.model_fields)
# Values just inside and just outside every rule, plus anything at all.
EDGY = st.sampled_from(
    [0, -1, 1, 2, 10, 11, 59, 60, 99.999, 100, 100.5, 3600, 3601, 1440, 1441, 0.5, 1e-9, 10**400, "10", True]
)
STRATEGY_VALUES = st.one_of(
    EDGY,
    JSON_VALUES,
    st.lists(st.one_of(EDGY, st.floats(-10, 200)), max_size=4),
    st.sampled_from(["all-at-once", "canary", "linear", "extend", "rollback", "blue-green"]),
    st.dictionaries(
        st.sampled_from(["failOnViolations", "failOnFailure", "other"]), st.booleans(), max_size=2
    ),
    st.lists(st.one_of(ALARM_NAMES, st.sampled_from(["", "a" * 256])), min_size=1, max_size=3),  # alarms
)
# For each key, values at and across the edges of its rule (JSON's 1e400 reads as inf).
INF = float("inf")
KEY_EDGES: dict[str, list[Any]] = {
    "type": [
        "all-at-once",
        "canary",
        "linear",
        "guardrails-canary",
        "guardrails-linear",
        "ab-test",
        "shadow",
        "blue-green",
        "",
        None,
        1,
    ],
    "canaryPercent": [0, 1e-9, 99.999, 100, -5, 10**400, INF, "10", None],
    "linearSteps": [1, 2, 10, 11, 2.5, "4", None],
    "steps": [
        [],
        [0],
        [100],
        [100.5],
        [50, 10],
        [10, 10],
        [10, INF],
        list(range(1, 12)),
        [None],
        "10",
        None,
    ],
    "bakeMinutes": [0, 1e-9, 1, 2, 60, 61, 1440, 1441, 10**400, INF, None],
    "terminationWaitMinutes": [-1, 0, 60, 61, INF, "5", None],
    "checkIntervalSeconds": [59, 60, 3600, 3601, 60.5, 10**400, INF, None],
    "minInvocations": [-1, 0, 10**400, INF, 1.5, None],
    "onInconclusive": ["extend", "rollback", "wait", None],
    "maxExtensions": [-1, 0, 20, 21, INF, None],
    "errorRateThreshold": [0, 1e-9, 1, 1.01, 10**400, INF, None],
    "latencyP99Ms": [0, 1e-9, 1e308, 10**400, INF, None, "fast"],
    "alarms": [[], [""], ["a" * 255], ["a" * 256], ["x"] * 20, ["x"] * 21, ["ok", 1], "alarm", None],
    "monitor": [
        {},
        {"failOnViolations": False},
        {"failOnViolation": True},
        {"failOnFailure": "yes"},
        [],
        None,
    ],
    "split": [0, 1e-9, 50, 99.999, 100, -1, INF, "50", None],
    "maxDurationMinutes": [0, 1, 1440, 43200, 43201, INF, None],
    "primaryMetric": [
        {"name": "errorRate"},
        {"name": "latencyP99", "goal": "minimize"},
        {"name": "errorRate", "goal": "maximize"},
        {"name": "bogus"},
        {"name": "Conversion", "namespace": "churn/business"},
        {"name": "Conversion", "namespace": "AWS/Other"},
        {"name": "", "namespace": "x"},
        {"name": "Conversion", "namespace": "x", "statistic": "median"},
        "Conversion",
        None,
    ],
    "minimumDetectableEffect": [0, 1e-9, 0.05, 10, 10.5, INF, None],
    "confidence": [0.5, 0.50001, 0.95, 0.99999, 1, INF, None],
    "onWinner": ["promote", "report", "ship", None],
    "samplingPercent": [0, 1e-9, 100, 100.5, INF, None],
    "durationMinutes": [0, 1, 60, 10080, 10081, INF, None],
    "then": ["canary", "linear", "ab-test", "stop", "guardrails-canary", None],
    "minAgreement": [-0.1, 0, 0.9, 1, 1.1, INF, None],
    "judge": [
        {"type": "statistical"},
        {"type": "statistical", "metrics": ["errorRate"]},
        {"type": "statistical", "metrics": []},
        {"type": "statistical", "metrics": ["throughput"]},
        {"type": "statistical", "confidence": 1},
        {"type": "alarms"},
        {"type": "bayesian"},
        None,
    ],
}
assert set(KEY_EDGES) == set(STRATEGY_KEYS)
ANY_STRATEGIES = st.one_of(
    valid_strategies(),
    st.dictionaries(st.sampled_from([*STRATEGY_KEYS, "bakeSeconds", "Steps"]), STRATEGY_VALUES, max_size=4),
    st.tuples(valid_strategies(), st.sampled_from(STRATEGY_KEYS), STRATEGY_VALUES).map(
        lambda t: {**t[0], t[1]: t[2]}
    ),
    st.tuples(
        valid_strategies(),
        st.sampled_from(STRATEGY_KEYS).flatmap(
            lambda key: st.tuples(st.just(key), st.sampled_from(KEY_EDGES[key]))
        ),
    ).map(lambda t: {**t[0], t[1][0]: t[1][1]}),
)


@st.composite
def valid_manual_inputs(draw: st.DrawFn) -> dict[str, Any]:
    manual: dict[str, Any] = {"modelPackageArn": draw(package_arns())}
    optional = {
        "endpointName": ENDPOINT_NAMES,
        "instanceType": INSTANCE_TYPES,
        "initialInstanceCount": st.integers(1, 100),
        "reason": st.text(max_size=512),
        "strategy": valid_strategies(),
    }
    for key, values in optional.items():
        if draw(st.booleans()):
            manual[key] = draw(values)
    return manual


# --- what an InvalidRequest may name ------------------------------------------------------------------
EVENT_FIELDS = {"input", "detail-type", "source", "detail", "Records"}
MANUAL_FIELDS = set(ManualDeployInput.model_fields)
PLAN_FIELDS = {
    "modelPackageArn",
    "endpointName",
    "strategy",
    "CustomerMetadataProperties",
    "instanceType",  # instance settings a group with serverless or several variants takes no more
    "serverless",
    "multiModel",
}


def keys_in(value: Any, depth: int = 0) -> set[str]:
    """Every dict key anywhere in a document, JSON text inside strings included."""
    if depth > 8:
        return set()
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return keys_in(json.loads(value), depth + 1)
        except (ValueError, RecursionError):
            return set()
    if isinstance(value, dict):
        return set(value).union(*(keys_in(child, depth + 1) for child in value.values()))
    if isinstance(value, list):
        return set().union(*(keys_in(child, depth + 1) for child in value))
    return set()


def assert_names_a_field(exc: InvalidRequest, raw: Any, known: set[str]) -> None:
    """The message starts with the field, and the field is one the input or the contract has."""
    assert str(exc).startswith(f"{exc.field}: "), str(exc)
    assert exc.problem, str(exc)
    root = re.split(r"[.\[]", exc.field, maxsplit=1)[0]
    named_key = any(exc.field == key or exc.field.startswith(f"{key}.") for key in keys_in(raw))
    assert root in known or root.startswith("ssm:") or named_key, f"{exc.field!r} names no field: {exc}"


def normalize_or_invalid(raw: Any) -> DeployRequest | InvalidRequest:
    try:
        request = normalize(raw)
    except InvalidRequest as exc:
        assert type(exc) is InvalidRequest
        return exc
    assert isinstance(request, DeployRequest)
    return request


# --- normalize: events and manual inputs ----------------------------------------------------------------
@fixed(150)
@given(data=st.data())
def test_mutated_events_give_a_request_or_invalid_request_naming_a_field(data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(DEPLOY_BASES) | st.sampled_from(BASES), label="base")
    raw = data.draw(delivered(data.draw(mutated(base), label="mutated")), label="raw")
    result = normalize_or_invalid(raw)
    if isinstance(result, InvalidRequest):
        assert_names_a_field(result, raw, EVENT_FIELDS | MANUAL_FIELDS)


@fixed(8)
@given(base=st.sampled_from(DEPLOY_BASES), shape=st.sampled_from(["as is", "detail as string", "sns"]))
def test_every_field_of_a_deploy_input_set_to_each_odd_value_is_a_request_or_named_error(
    base: Any, shape: str
) -> None:
    """Systematic where the mutations above are random: every key near the top, every odd value."""
    for path in [path for path in paths(base) if 1 <= len(path) <= 2]:
        for value in [*ODD_SCALARS_LIST, *retyped(get(base, path)), "drop"]:
            doc = copy.deepcopy(base)
            doc = drop(doc, path) if value == "drop" else put(doc, path, value)
            raw = doc
            if shape == "detail as string" and isinstance(doc, dict) and "detail" in doc:
                raw = {**doc, "detail": json.dumps(doc["detail"], default=str)}
            elif shape == "sns":
                raw = {"Records": [{"Sns": {"Message": json.dumps(doc, default=str)}}]}
            result = normalize_or_invalid(raw)
            if isinstance(result, InvalidRequest):
                assert_names_a_field(result, raw, EVENT_FIELDS | MANUAL_FIELDS)


@fixed(80)
@given(raw=JSON_VALUES)
def test_any_json_value_gives_a_request_or_invalid_request_naming_a_field(raw: Any) -> None:
    result = normalize_or_invalid(raw)
    if isinstance(result, InvalidRequest):
        assert_names_a_field(result, raw, EVENT_FIELDS | MANUAL_FIELDS)


@fixed(50)
@given(manual=valid_manual_inputs(), as_text=st.booleans())
def test_valid_manual_input_gives_a_manual_request_with_its_overrides(
    manual: dict[str, Any], as_text: bool
) -> None:
    request = normalize(json.dumps(manual) if as_text else manual)
    assert (request.source, request.modelPackageArn, request.reason) == (
        "manual",
        manual["modelPackageArn"],
        manual.get("reason"),
    )
    expected = {k: v for k, v in manual.items() if k not in {"modelPackageArn", "reason", "strategy"}}
    assert {k: v for k, v in request.overrides.items() if k != "strategy"} == expected
    assert ("strategy" in request.overrides) == ("strategy" in manual)


@fixed(120)
@given(data=st.data())
def test_mutated_manual_input_gives_a_request_or_invalid_request_naming_a_field(data: st.DataObject) -> None:
    manual = data.draw(valid_manual_inputs(), label="valid")
    raw = data.draw(mutated(manual), label="mutated")
    if data.draw(st.booleans(), label="strategy of any shape") and isinstance(raw, dict):
        raw["strategy"] = data.draw(ANY_STRATEGIES | JSON_VALUES, label="strategy")
    result = normalize_or_invalid(raw)
    if isinstance(result, InvalidRequest):
        assert_names_a_field(result, raw, MANUAL_FIELDS | EVENT_FIELDS)


# --- resolve_plan with fakes: nothing is created, only plans or named errors --------------------------
class RecordsChanges:
    """A fake for an AWS adapter: the reads a test writes answer; any other call is recorded."""

    def __init__(self) -> None:
        self.changes: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def change(*_args: Any, **_kwargs: Any) -> None:
            self.changes.append(name)

        return change


class FakeSageMaker(RecordsChanges):
    """The registry and one endpoint, as DescribeModelPackage / DescribeEndpoint answer them."""

    def __init__(
        self,
        packages: dict[str, dict[str, Any]],
        endpoint: dict[str, Any] | None,
        variants: list[dict[str, Any]],
        latest_approved: str | None = None,
    ) -> None:
        super().__init__()
        self.packages, self.endpoint, self.variants = packages, endpoint, variants
        self.latest_approved = latest_approved

    def find_model_package(self, arn: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.packages.get(arn))

    def latest_approved_package(self, group: str) -> dict[str, Any] | None:
        """ListModelPackages(Approved, newest first, 1): a summary, or None."""
        latest = self.latest_approved
        return {"ModelPackageArn": latest} if latest and latest.split("/")[-2] == group else None

    def find_endpoint(self, name: str) -> dict[str, Any] | None:
        if self.endpoint is None or self.endpoint["EndpointName"] != name:
            return None
        return copy.deepcopy(self.endpoint)

    def variants_serving(self, endpoint: dict[str, Any]) -> list[dict[str, Any]]:
        assert endpoint["EndpointStatus"] == "InService"
        return copy.deepcopy(self.variants)

    def describe_endpoint_config(self, name: str) -> dict[str, Any]:
        return {
            "EndpointConfigName": name,
            "ProductionVariants": [
                {"VariantName": v["VariantName"], "ModelName": v["ModelName"]} for v in self.variants
            ],
        }

    def find_model(self, name: str) -> dict[str, Any] | None:
        """Every other model is a multi-model container loading from s3://models/mme/."""
        index = int(name.rsplit("-", 1)[-1]) if name.rsplit("-", 1)[-1].isdigit() else 0
        container = {"Image": "image", "ModelDataUrl": "s3://models/mme/"}
        return {
            "ModelName": name,
            "Containers": [{**container, "Mode": "MultiModel"} if index % 2 else container],
        }


class FakeSsm(RecordsChanges):
    """The SSM client under the real GroupConfigStore: parameter values as stored text."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__()
        self.values = values

    def get_parameter(self, *, Name: str) -> dict[str, Any]:
        if Name not in self.values:
            error = {"Error": {"Code": "ParameterNotFound", "Message": f"Parameter {Name} not found."}}
            raise ClientError(error, "GetParameter")  # type: ignore[arg-type]
        return {"Parameter": {"Name": Name, "Value": self.values[Name]}}


class FakeCloudWatch(RecordsChanges):
    def __init__(self, existing: set[str]) -> None:
        super().__init__()
        self.existing = existing

    def find_alarms(self, names: list[str]) -> list[dict[str, Any]]:
        # What boto3's parameter validation does before any request (DescribeAlarms.AlarmNames:
        # 1-100 names of 1-255 characters), and how the real gateway reports it.
        for index, name in enumerate(names):
            if not 1 <= len(name) <= 255:
                raise AwsRequestRejected(f"DescribeAlarms: Invalid length for parameter AlarmNames[{index}]")
        return [
            {"AlarmName": name, "Period": 60, "EvaluationPeriods": 1}
            for name in names
            if name in self.existing
        ]

    def missing_alarms(self, names: list[str]) -> list[str]:
        present = {alarm["AlarmName"] for alarm in self.find_alarms(names)}
        return [name for name in names if name not in present]


PREFIX = "/smdeploy/groups/"
DEFAULTS = PlanSettings.from_env(
    {
        "GROUP_CONFIG_PREFIX": PREFIX,
        "DEFAULT_INSTANCE_TYPE": "ml.m5.large",
        "DEFAULT_INSTANCE_COUNT": "1",
        "ENDPOINT_POLL_SECONDS": "30",
        "ENDPOINT_FIRST_CHECK_SECONDS": "240",
        "ENDPOINT_DEPLOY_TIMEOUT_SECONDS": "3600",
        "MODEL_ARTIFACT_BUCKETS": "sagemaker-us-east-1-123456789012",
        "MODEL_WRITE_BUCKETS": "smdeploy-data-capture",
    }
).defaults()
ENDPOINT_STATUSES = [
    "InService",
    "Updating",
    "Creating",
    "SystemUpdating",
    "RollingBack",
    "Failed",
    "Deleting",
]


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` four times in five: most worlds must get far enough to make a plan."""
    return st.sampled_from([True, True, True, True, False]).flatmap(lambda ok: good if ok else bad)


@st.composite
def metadata(draw: st.DrawFn) -> dict[str, str]:
    """CustomerMetadataProperties: allow-listed keys (good or bad values), owner keys, unknown keys."""
    values = {
        "team": st.text(max_size=10),
        "smdeploy:instanceType": mostly(INSTANCE_TYPES, st.text(max_size=12)),
        "smdeploy:initialInstanceCount": mostly(st.integers(1, 100).map(str), st.text(max_size=5)),
        "smdeploy:strategy": mostly(
            valid_strategies().map(json.dumps), ANY_STRATEGIES.map(lambda s: json.dumps(s, default=str))
        ),
        "smdeploy:endpoint": st.text(max_size=5),
    }
    chosen = draw(st.lists(st.sampled_from(list(values)), unique=True, max_size=3))
    return {key: draw(values[key]) for key in chosen}


@st.composite
def group_configs(draw: st.DrawFn, endpoint: str) -> str | None:
    """The SSM parameter text: a config with good (mostly) and bad keys, none, not JSON, any JSON."""
    kind = draw(st.sampled_from(["config", "config", "config", "none", "any json", "not json"]))
    if kind == "none":
        return None
    if kind == "not json":
        return draw(st.text(max_size=10).filter(lambda s: not s.strip().startswith(("{", "[", '"'))))
    if kind == "any json":
        return json.dumps(draw(JSON_VALUES), default=str)
    config: dict[str, Any] = {}
    options = {
        "endpoint": mostly(st.just(endpoint), ENDPOINT_NAMES | STRATEGY_VALUES),
        "instanceType": mostly(INSTANCE_TYPES, STRATEGY_VALUES),
        "initialInstanceCount": mostly(st.integers(1, 100), STRATEGY_VALUES),
        "strategy": mostly(valid_strategies(), ANY_STRATEGIES),
        "retainConfigs": mostly(st.integers(1, 10), STRATEGY_VALUES),
        "unknownKey": STRATEGY_VALUES,
        # the deployment options: mostly sound settings, sometimes odd values or contradictions
        "dataCapture": mostly(
            st.just({"samplingPercentage": 20, "destination": "s3://capture/c"}), STRATEGY_VALUES
        ),
        "serverless": mostly(st.just({"memorySizeMB": 2048, "maxConcurrency": 5}), STRATEGY_VALUES),
        "asyncInference": mostly(st.just({"outputPath": "s3://results/out/"}), STRATEGY_VALUES),
        "autoscaling": mostly(
            st.builds(
                lambda low, high: {"minCapacity": low, "maxCapacity": high},
                st.integers(0, 3),
                st.integers(1, 4),
            ),
            STRATEGY_VALUES,
        ),
        "multiModel": mostly(
            st.sampled_from(
                [{"artifactPrefix": "s3://models/mme/"}, {"artifactPrefix": "s3://models/other/"}]
            ),
            STRATEGY_VALUES,
        ),
        "variants": mostly(
            st.lists(st.fixed_dictionaries({"instanceType": INSTANCE_TYPES}), min_size=2, max_size=3),
            STRATEGY_VALUES,
        ),
        "containerMode": mostly(st.sampled_from(["Serial", "Direct"]), STRATEGY_VALUES),
    }
    for key, values in options.items():
        if key == "endpoint" or draw(st.sampled_from([False, False, False, True])):
            config[key] = draw(values)
    return json.dumps(config, default=str)


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, Any]:
    """An input and the AWS it meets: the package, the group config, the endpoint and alarms."""
    arn = draw(package_arns())
    group = arn.split("/")[-2]
    endpoint_name = draw(ENDPOINT_NAMES)
    kind = draw(
        st.sampled_from(["approval", "manual", "approval", "manual", "mutated approval", "mutated manual"])
    )
    if kind.endswith("approval"):
        event = copy.deepcopy(APPROVED_EVENT)
        event["detail"]["ModelPackageArn"] = arn
        raw: Any = draw(mutated(event)) if kind.startswith("mutated") else event
    else:
        manual = draw(valid_manual_inputs())
        manual["modelPackageArn"] = arn
        if draw(st.booleans()):
            manual["endpointName"] = endpoint_name
        raw = draw(mutated(manual)) if kind.startswith("mutated") else manual
    raw = draw(mostly(st.just(raw), delivered(raw)))

    package = None
    if draw(st.sampled_from([True, True, True, True, False])):
        package = {
            "ModelPackageArn": arn,
            "ModelApprovalStatus": draw(
                mostly(st.just("Approved"), st.sampled_from(["Rejected", "PendingManualApproval"]))
            ),
            "ModelPackageStatus": draw(
                mostly(st.just("Completed"), st.sampled_from(["InProgress", "Failed"]))
            ),
            "CustomerMetadataProperties": draw(metadata()),
        }
    endpoint = None
    variants: list[dict[str, Any]] = []
    if draw(st.sampled_from([True, True, False])):
        endpoint = {
            "EndpointName": endpoint_name,
            "EndpointStatus": draw(mostly(st.just("InService"), st.sampled_from(ENDPOINT_STATUSES))),
            "EndpointConfigName": f"{endpoint_name}-config",
        }
        # Mostly one variant serving everything (what a rollout starts from), else any mix of weights.
        weights = draw(
            mostly(st.just([1.0]), st.lists(st.sampled_from([0.0, 0.5, 1.0]), min_size=1, max_size=3))
        )
        serving = [arn.rsplit("/", 1)[0] + "/424242", arn, None]  # an older version, this one, a plain model
        variants = [
            {
                "VariantName": f"v{index}",
                "ModelName": f"model-{index}",
                "ModelPackageArn": draw(st.sampled_from(serving)),
                "CurrentWeight": weight,
                "DesiredWeight": weight,
            }
            for index, weight in enumerate(weights)
        ]
    ssm_text = draw(group_configs(endpoint_name))
    base, version = arn.rsplit("/", 1)
    latest = draw(
        st.sampled_from([arn, None, f"{base}/{int(version) + 1}", f"{base}/{max(1, int(version) - 1)}"])
    )
    return {
        "raw": raw,
        "under_lock": draw(st.booleans()),  # resolved first before the endpoint's lock, then under it
        "sagemaker": FakeSageMaker({arn: package} if package else {}, endpoint, variants, latest),
        "ssm": FakeSsm({} if ssm_text is None else {f"{PREFIX}{group}": ssm_text}),
        "cloudwatch": FakeCloudWatch(set(draw(st.lists(ALARM_NAMES, max_size=3)))),
    }


def assert_plan_invariants(plan: DeploymentPlan, world: dict[str, Any]) -> None:
    assert ENDPOINT_NAME_RE.fullmatch(plan.endpointName) and len(plan.endpointName) <= 63
    for name in (plan.modelName, plan.endpointConfigName, plan.variantName):
        assert ENDPOINT_NAME_RE.fullmatch(name) and len(name) <= 63, name
    live = world["sagemaker"].endpoint
    latest = world["sagemaker"].latest_approved
    if not world["under_lock"]:
        assert plan.action == "PENDING"  # the endpoint is read only under its lock
    elif plan.action == "SUPERSEDED":
        assert (
            plan.source == "approval" and latest and int(latest.rsplit("/", 1)[1]) > plan.modelPackageVersion
        )
    elif live is None or live["EndpointName"] != plan.endpointName:
        assert plan.action == "CREATE"
    elif plan.isMultiModel:
        assert live["EndpointStatus"] == "InService" and plan.action == "ADD_MODEL"
        assert plan.multiModel is not None and plan.endpointConfigName == live["EndpointConfigName"]
    else:
        assert live["EndpointStatus"] == "InService" and plan.action in {"UPDATE", "SKIP"}
    if plan.serverless is not None:
        assert plan.dataCapture is None and plan.autoscaling is None and not plan.variants
        assert plan.rollout is not None and (plan.action != "UPDATE" or plan.rollout.replaceOnly)
    if plan.variants and plan.action == "UPDATE":
        assert plan.rollout is not None and plan.rollout.replaceOnly and plan.notes
    assert 1 <= plan.initialInstanceCount <= 100
    assert plan.maxPolls >= 1
    assert plan.rollout is not None
    assert_rollout_invariants(plan.rollout)
    # The plan goes back to Step Functions as JSON: nothing JSON cannot carry.
    json.dumps(plan.model_dump(), allow_nan=False, default=str)


@fixed(150)
@given(world=worlds())
def test_resolve_plan_gives_a_plan_or_a_named_error_and_creates_nothing(world: dict[str, Any]) -> None:
    sagemaker, ssm, cloudwatch = world["sagemaker"], world["ssm"], world["cloudwatch"]
    try:
        plan = resolve_plan(
            world["raw"],
            sagemaker=sagemaker,
            configs=GroupConfigStore(PREFIX, ssm=ssm),
            defaults=DEFAULTS,
            cloudwatch=cloudwatch,
            under_lock=world["under_lock"],
        )
    except InvalidRequest as exc:
        assert type(exc) is InvalidRequest
        assert_names_a_field(exc, world["raw"], EVENT_FIELDS | MANUAL_FIELDS | PLAN_FIELDS)
    except EndpointBusy:
        live = sagemaker.endpoint
        assert world["under_lock"] and live is not None and live["EndpointStatus"] != "InService"
    else:
        assert_plan_invariants(plan, world)
    assert sagemaker.changes == ssm.changes == cloudwatch.changes == []


def test_resolve_plan_fakes_record_a_change_when_one_is_made() -> None:
    """The fakes would see a create call: the property above is not vacuous."""
    fake = FakeSageMaker({}, None, [])
    fake.create_model(name="m", package_arn="a", role_arn="r", tags=[])
    assert fake.changes == ["create_model"]


@pytest.mark.parametrize("status", ["Updating", "Creating", "SystemUpdating"])
def test_resolve_plan_under_the_lock_on_an_endpoint_in_flight_is_endpoint_busy_and_creates_nothing(
    status: str,
) -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3"
    package = {"ModelPackageArn": arn, "ModelApprovalStatus": "Approved", "ModelPackageStatus": "Completed"}
    sagemaker = FakeSageMaker(
        {arn: package},
        {"EndpointName": "churn-prod", "EndpointStatus": status, "EndpointConfigName": "c"},
        [],
    )
    ssm = FakeSsm({f"{PREFIX}churn": json.dumps({"endpoint": "churn-prod"})})
    with pytest.raises(EndpointBusy):
        resolve_plan(
            {"modelPackageArn": arn},
            sagemaker=sagemaker,
            configs=GroupConfigStore(PREFIX, ssm=ssm),
            defaults=DEFAULTS,
            cloudwatch=FakeCloudWatch(set()),
            under_lock=True,
        )
    assert sagemaker.changes == ssm.changes == []


# --- strategies ------------------------------------------------------------------------------------------
def assert_rollout_invariants(rollout: RolloutPlan) -> None:
    assert rollout.steps, rollout
    assert all(0 < percent <= 100 for percent in rollout.steps), rollout.steps
    assert all(a < b for a, b in itertools.pairwise(rollout.steps)), rollout.steps
    assert rollout.checksPerStep >= 1
    assert rollout.bakeSeconds >= rollout.checkIntervalSeconds
    assert (
        rollout.checksPerStep * rollout.checkIntervalSeconds >= rollout.bakeSeconds
    )  # checks cover the bake
    assert rollout.latencyP99Ms is None or math.isfinite(rollout.latencyP99Ms)
    assert math.isfinite(rollout.errorRateThreshold)
    # names CloudWatch's DescribeAlarms takes (1-255 characters), or the alarm check fails as a request
    assert all(1 <= len(name) <= 255 for name in rollout.alarms), rollout.alarms
    json.dumps(rollout.model_dump(), allow_nan=False)


@fixed(120)
@given(layers=st.lists(st.none() | ANY_STRATEGIES, max_size=3))
def test_strategy_layers_resolve_to_a_sound_rollout_or_invalid_naming_a_strategy_key(
    layers: list[dict[str, Any] | None],
) -> None:
    try:
        rollout = resolve_strategy(layers)
    except InvalidRequest as exc:
        assert type(exc) is InvalidRequest
        assert exc.field == "strategy" or exc.field.startswith("strategy."), str(exc)
        assert str(exc).startswith(f"{exc.field}: ")
    else:
        assert_rollout_invariants(rollout)


@pytest.mark.parametrize("key", STRATEGY_KEYS)
@fixed(10)
@given(base=valid_strategies())
def test_a_strategy_key_at_its_edges_resolves_soundly_or_is_invalid_naming_that_key(
    key: str, base: dict[str, Any]
) -> None:
    """Any valid strategy, then a later layer setting one key to each value at or across its rule."""
    for value in KEY_EDGES[key]:
        try:
            rollout = resolve_strategy([base, {key: value}])
        except InvalidRequest as exc:
            # the key itself, or the whole strategy when the keys contradict each other
            named = exc.field in {"strategy", f"strategy.{key}"} or exc.field.startswith(f"strategy.{key}.")
            assert named, f"{key}={value!r}: {exc}"
        else:
            assert_rollout_invariants(rollout)


@fixed(40)
@given(strategy=valid_strategies())
def test_valid_strategy_is_accepted_with_its_steps(strategy: dict[str, Any]) -> None:
    rollout = resolve_strategy([strategy])
    assert_rollout_invariants(rollout)
    if "steps" in strategy:
        assert rollout.steps == [float(p) for p in strategy["steps"]]
    if strategy.get("type") == "all-at-once":
        assert rollout.steps == [100.0]


# --- the canary verdict ----------------------------------------------------------------------------------
ROLLOUTS = valid_strategies().map(lambda s: resolve_strategy([s]))
ALARM_STATES = st.sampled_from(["OK", "ALARM", "INSUFFICIENT_DATA"])
OBSERVATIONS = st.builds(
    Observation,
    endpointStatus=st.sampled_from(["InService", "InService", "Updating", "SystemUpdating", "Failed"]),
    weightsApplied=st.booleans(),
    alarms=st.lists(
        st.fixed_dictionaries(
            {"name": st.sampled_from(["a", "b", "c"]), "state": ALARM_STATES, "reason": st.text(max_size=5)}
        ),
        max_size=3,
    ),
    monitor=st.none()
    | st.fixed_dictionaries(
        {
            "MonitoringExecutionStatus": st.sampled_from(
                ["Completed", "CompletedWithViolations", "Failed", "Stopped", "InProgress"]
            ),
            "ScheduledTime": st.just("2026-01-01T00:00:00Z"),
        }
    ),
    candidateInvocations=st.floats(min_value=0, max_value=1e6),
)


@st.composite
def bake_states(draw: st.DrawFn, rollout: RolloutPlan) -> Judgement:
    index = draw(st.integers(0, len(rollout.steps) - 1))
    return Judgement(
        stepIndex=index,
        percent=rollout.steps[index],
        shiftedAt="2026-01-01T00:00:00+00:00",
        checks=draw(st.integers(0, rollout.checksPerStep + rollout.maxExtensions + 1)),
        pendingChecks=draw(st.integers(0, MAX_PENDING_CHECKS)),
        extensionsUsed=draw(st.integers(0, rollout.maxExtensions)),
    )


def pending(seen: Observation) -> bool:
    return not seen.weightsApplied or seen.endpointStatus != "InService"


@fixed(150)
@given(data=st.data())
def test_judge_rolls_back_on_alarm_never_advances_unbaked_and_pending_never_counts(
    data: st.DataObject,
) -> None:
    rollout = data.draw(ROLLOUTS, label="rollout")
    before = data.draw(bake_states(rollout), label="before")
    seen = data.draw(OBSERVATIONS, label="seen")

    after = judge(before, seen, rollout)

    if any(alarm["state"] == "ALARM" for alarm in seen.alarms):
        assert after.decision == "ROLLBACK", after
    if after.decision in {"PROMOTE", "NEXT_STEP"}:
        assert not pending(seen)
        assert seen.candidateInvocations >= rollout.minInvocations
        assert after.checks >= rollout.checksPerStep
        assert (after.decision == "PROMOTE") == (before.stepIndex == len(rollout.steps) - 1)
        if after.decision == "NEXT_STEP":
            assert after.nextStepIndex == before.stepIndex + 1 < len(rollout.steps)
    if pending(seen):
        assert after.checks == before.checks
    assert after.checks >= before.checks
    assert before.extensionsUsed <= after.extensionsUsed <= rollout.maxExtensions
    assert after.decision in {"WAIT", "NEXT_STEP", "PROMOTE", "ROLLBACK"}


@fixed(50)
@given(data=st.data())
def test_a_step_advances_only_after_enough_applied_checks(data: st.DataObject) -> None:
    """Judged check after check from a fresh step: a step passes only after checksPerStep checks
    with the weights applied, however many pending checks come in between."""
    rollout = data.draw(ROLLOUTS, label="rollout")
    index = data.draw(st.integers(0, len(rollout.steps) - 1), label="step")
    state = Judgement(stepIndex=index, percent=rollout.steps[index], shiftedAt="2026-01-01T00:00:00+00:00")
    applied = 0
    for _ in range(rollout.checksPerStep + rollout.maxExtensions + MAX_PENDING_CHECKS + 2):
        seen = data.draw(OBSERVATIONS, label="seen")
        state = judge(state, seen, rollout)
        applied += not pending(seen)
        assert state.checks <= applied
        if state.decision in {"PROMOTE", "NEXT_STEP"}:
            assert applied >= rollout.checksPerStep
        if state.decision != "WAIT":
            break
