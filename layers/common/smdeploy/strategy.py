"""Rollout strategies and the canary verdict (pure: no AWS calls here).

A strategy turns into the list of traffic percentages the candidate receives, one bake per step:

- ``all-at-once``: ``[100]`` (shift everything, bake, then promote; rollback is still a weight flip)
- ``replace``: no traffic shift and no bake: one blue/green ``UpdateEndpoint`` to the version's
  config, the retained one when the endpoint still has it (``smdeploy rollback``)
- ``canary``: ``[canaryPercent]`` (one step, then all at promotion)
- ``linear``: ``linearSteps`` equal steps ending at 100
- explicit ``steps`` such as ``[10, 50]`` (any type but ``all-at-once``)

Promotion replaces the two-variant config by a candidate-only config, which moves the rest of
the traffic; a step of 100 bakes the candidate alone before that.

``ab-test`` is one step at ``split`` that lasts up to ``maxDurationMinutes``: both variants serve
while a sequential test (``smdeploy.experiment``) compares them on ``primaryMetric`` at every check
and ends the test as soon as the data decide: the candidate wins (promoted with ``onWinner:
promote``), the baseline wins, no difference as large as ``minimumDetectableEffect``, or an invalid
test (sample-ratio mismatch); the candidate's alarms still roll back at once.

``judge: {type: statistical}`` adds to any weight-shifting rollout a comparison of candidate and
baseline on the same window at every check (``smdeploy.experiment.judge_metrics``).

The ``guardrails-*`` types hand the traffic shifting to SageMaker instead: one ``UpdateEndpoint``
with a blue/green ``DeploymentConfig`` (``CANARY``, ``LINEAR`` or ``ALL_AT_ONCE``) whose
auto-rollback alarms are the candidate's alarms and the strategy's ``alarms``; ``bakeMinutes``
is SageMaker's wait between shifts and ``terminationWaitMinutes`` how long the old fleet stays.
"""

from __future__ import annotations

import itertools
import math
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from smdeploy.experiment import (
    Arm,
    ExperimentSettings,
    ExperimentState,
    evaluate,
    judge_metrics,
    min_latency_minutes,
)

Decision = Literal["WAIT", "NEXT_STEP", "PROMOTE", "ROLLBACK"]
# WITHDRAWN: the candidate's approval was withdrawn (Rejected) during the rollout; PREEMPTED: a
# newer version of the group was approved and will deploy (plan ``preempt``). Both roll back.
# An A/B test: TESTING while it runs, then its decision (smdeploy.experiment).
Verdict = Literal[
    "HEALTHY",
    "UNHEALTHY",
    "INCONCLUSIVE",
    "PENDING",
    "WITHDRAWN",
    "PREEMPTED",
    "TESTING",
    "CANDIDATE_WINS",
    "BASELINE_WINS",
    "NO_DIFFERENCE",
    "INVALID",
    "SHADOW_PASSED",
    "OPERATOR",  # an operator's command (smdeploy promote / abort) decided
]

# Metrics SageMaker publishes per variant that a test or a statistical judge may compare:
# name -> (MetricName, statistic, kind, goal). Latency percentiles are compared minute by minute.
BUILTIN_METRICS: dict[str, tuple[str, str, Literal["rate", "mean"], Literal["maximize", "minimize"]]] = {
    "errorRate": ("Invocation5XXErrors", "rate", "rate", "minimize"),
    "latencyP50": ("ModelLatency", "p50", "mean", "minimize"),
    "latencyP99": ("ModelLatency", "p99", "mean", "minimize"),
}
BuiltinMetric = Literal["errorRate", "latencyP50", "latencyP99"]
DEFAULT_JUDGE_METRICS: tuple[BuiltinMetric, ...] = ("errorRate", "latencyP99")
CLOUDWATCH_NAME_RE = r"^[^:\s][^\s]{0,254}$"


class MonitorPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    failOnViolations: bool = True
    failOnFailure: bool = False


class PrimaryMetric(BaseModel):
    """What an A/B test decides on: a metric the application publishes per variant (dimensions
    ``EndpointName`` and ``VariantName``) or a built-in (``errorRate``, ``latencyP50``, ``latencyP99``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(min_length=1, max_length=255)
    namespace: str | None = Field(default=None, min_length=1, max_length=255)
    # rate: Sum / SampleCount of a statistic set (successes out of requests); mean: per-minute Average
    statistic: Literal["rate", "mean"] = "rate"
    goal: Literal["maximize", "minimize"] | None = None

    @model_validator(mode="after")
    def _known(self) -> PrimaryMetric:
        if self.namespace is None or self.namespace == "AWS/SageMaker":
            builtin = BUILTIN_METRICS.get(self.name)
            if builtin is None:
                raise ValueError(
                    f"unknown built-in metric {self.name!r}: expected one of {', '.join(BUILTIN_METRICS)}, "
                    "or a metric of your own with its namespace"
                )
            if self.goal == "maximize":
                raise ValueError(f"{self.name} is better lower: its goal is minimize")
        elif self.namespace.startswith("AWS/"):
            raise ValueError(
                f"namespace {self.namespace!r}: only AWS/SageMaker built-ins or your own metrics"
            )
        return self

    def resolved(self) -> dict[str, Any]:
        """Namespace, MetricName, statistic, kind and goal as the judge reads them."""
        builtin = BUILTIN_METRICS.get(self.name) if self.namespace in (None, "AWS/SageMaker") else None
        if builtin is not None:
            metric, statistic, kind, goal = builtin
            return {
                "label": self.name,
                "namespace": "AWS/SageMaker",
                "metricName": metric,
                "statistic": statistic,
                "kind": kind,
                "goal": goal,
            }
        return {
            "label": self.name,
            "namespace": self.namespace,
            "metricName": self.name,
            "statistic": self.statistic,
            "kind": self.statistic,
            "goal": self.goal or "maximize",
        }


class JudgeConfig(BaseModel):
    """``judge``: how a weight-shifting rollout's candidate is judged beyond its alarms."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    type: Literal["alarms", "statistical"] = "alarms"
    metrics: list[BuiltinMetric] = Field(default_factory=lambda: list(DEFAULT_JUDGE_METRICS), min_length=1)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    # relative worsening tolerated before "worse" counts (with large samples tiny effects are significant)
    tolerance: float = Field(default=0.1, ge=0, le=10)


class StrategyConfig(BaseModel):
    """The ``strategy`` object of a group config or a manual input (every key optional)."""

    # JSON's 1e400 reads as inf: no threshold or percentage may be infinite (or NaN).
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    type: Literal[
        "all-at-once",
        "replace",
        "canary",
        "linear",
        "guardrails-all-at-once",
        "guardrails-canary",
        "guardrails-linear",
        "ab-test",
        "shadow",
    ] = "canary"
    canaryPercent: float = Field(default=10, gt=0, lt=100)
    linearSteps: int = Field(default=4, ge=2, le=10)
    steps: list[float] | None = Field(default=None, min_length=1, max_length=10)
    bakeMinutes: float = Field(default=10, gt=0, le=24 * 60)
    checkIntervalSeconds: int = Field(default=120, ge=60, le=3600)
    minInvocations: int = Field(default=100, ge=0)
    onInconclusive: Literal["extend", "rollback"] = "extend"
    maxExtensions: int = Field(default=2, ge=0, le=20)
    errorRateThreshold: float = Field(default=0.05, gt=0, le=1)
    latencyP99Ms: float | None = Field(default=1000, gt=0)
    alarms: list[str] = Field(default_factory=list, max_length=20)
    monitor: MonitorPolicy = Field(default_factory=MonitorPolicy)
    terminationWaitMinutes: float = Field(
        default=5,
        ge=0,
        le=60,
        description="guardrails-*: how long SageMaker keeps the old fleet after the shift",
    )
    # ab-test
    split: float = Field(default=50, gt=0, lt=100, description="ab-test: % of traffic to the candidate")
    maxDurationMinutes: float = Field(default=1440, gt=0, le=30 * 24 * 60)
    primaryMetric: PrimaryMetric | None = None
    minimumDetectableEffect: float = Field(default=0.05, gt=0, le=10, description="relative")
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    onWinner: Literal["promote", "report"] = "promote"
    # shadow: the candidate answers nobody, then the rollout goes on as ``then`` (or stops)
    samplingPercent: float = Field(default=100, gt=0, le=100, description="shadow: % of requests copied")
    durationMinutes: float = Field(default=60, gt=0, le=7 * 24 * 60, description="shadow: how long")
    then: Literal["canary", "linear", "ab-test", "stop"] = "canary"
    minAgreement: float = Field(
        default=0.9, ge=0, le=1, description="shadow: share of requests both must answer alike"
    )
    # any weight-shifting rollout
    judge: JudgeConfig | None = None

    @field_validator("steps")
    @classmethod
    def _steps_increase(cls, steps: list[float] | None) -> list[float] | None:
        if steps is None:
            return None
        for percent in steps:
            if not 0 < percent <= 100:
                raise ValueError(f"each step is a percentage above 0 and at most 100, got {percent:g}")
        for before, after in itertools.pairwise(steps):
            if after <= before:
                raise ValueError(f"steps must increase, got {before:g} then {after:g}")
        return steps

    @field_validator("alarms")
    @classmethod
    def _alarm_names(cls, alarms: list[str]) -> list[str]:
        # CloudWatch's limits: outside them DescribeAlarms rejects the request itself.
        for name in alarms:
            if not 1 <= len(name) <= 255:
                raise ValueError(f"alarm names are 1-255 characters, got {len(name)}")
        return alarms

    @model_validator(mode="after")
    def _consistent(self) -> StrategyConfig:
        if self.type in ("all-at-once", "replace") and self.steps is not None:
            raise ValueError(f"{self.type} takes no steps")
        if self.type.startswith("guardrails-"):
            if self.steps is not None:
                raise ValueError(
                    f"{self.type} shifts by canaryPercent or linearSteps; explicit steps need canary/linear"
                )
            if self.bakeMinutes > 60:
                raise ValueError(
                    "guardrails wait at most 60 minutes between shifts (WaitIntervalInSeconds 3600)"
                )
            if self.type == "guardrails-canary" and not 1 <= round(self.canaryPercent) <= 50:
                raise ValueError("SageMaker's canary is 1-50% of the new fleet's capacity")
        if self.type == "shadow":
            if self.steps is not None and self.then not in ("canary", "linear"):
                raise ValueError(f"steps belong to a canary or linear rollout, not then: {self.then}")
            if self.durationMinutes * 60 < self.checkIntervalSeconds:
                raise ValueError("durationMinutes is shorter than checkIntervalSeconds")
            if self.then == "ab-test":
                follows = self.model_copy(update={"type": "ab-test"})
                follows._check_ab_test()  # the test that follows
                return self
        if self.type == "ab-test":
            self._check_ab_test()
            return self
        if (
            self.judge is not None
            and self.judge.type == "statistical"
            and self.type.startswith("guardrails-")
        ):
            raise ValueError(
                "a statistical judge needs a rollout that shifts weights itself (canary, linear)"
            )
        if self.bakeMinutes * 60 < self.checkIntervalSeconds:
            raise ValueError(
                f"bakeMinutes ({self.bakeMinutes:g} min) is shorter than checkIntervalSeconds "
                f"({self.checkIntervalSeconds} s): a step would never be checked"
            )
        return self

    def _check_ab_test(self) -> None:
        if self.primaryMetric is None:
            raise ValueError("ab-test needs a primaryMetric (a metric of your own, or errorRate, ...)")
        if self.steps is not None:
            raise ValueError("ab-test serves one fixed split: no steps")
        if self.maxDurationMinutes * 60 < self.checkIntervalSeconds:
            raise ValueError("maxDurationMinutes is shorter than checkIntervalSeconds")

    def traffic_steps(self) -> list[float]:
        if self.type == "shadow":
            after = "canary" if self.then == "stop" else self.then
            return self.model_copy(update={"type": after}).traffic_steps()
        if self.type == "ab-test":
            return [float(self.split)]
        if self.type in ("all-at-once", "replace", "guardrails-all-at-once"):
            return [100.0]
        if self.steps is not None:
            return [float(p) for p in self.steps]
        if self.type == "guardrails-canary":
            return [float(round(self.canaryPercent)), 100.0]
        if self.type == "canary":
            return [float(self.canaryPercent)]
        return [round(100 * (i + 1) / self.linearSteps, 2) for i in range(self.linearSteps)]


class RolloutPlan(BaseModel):
    """The resolved strategy the state machine runs."""

    type: str
    steps: list[float]
    bakeSeconds: int
    checkIntervalSeconds: int
    checksPerStep: int
    minInvocations: int
    onInconclusive: Literal["extend", "rollback"]
    maxExtensions: int
    errorRateThreshold: float
    latencyP99Ms: float | None
    alarms: list[str]
    monitor: MonitorPolicy
    # guardrails-* only: the BlueGreenUpdatePolicy of UpdateEndpoint's DeploymentConfig
    guardrails: dict[str, Any] | None = None
    # True where traffic cannot be split (serverless endpoints host one variant): the candidate-only
    # config replaces the live one in one blue/green UpdateEndpoint
    replaceOnly: bool = False
    # ab-test: the primary metric (PrimaryMetric.resolved) and the test's settings
    experiment: dict[str, Any] | None = None
    # judge type statistical: JudgeConfig
    statistical: dict[str, Any] | None = None
    # shadow first: samplingPercent, durationSeconds, checks, then, minAgreement
    shadow: dict[str, Any] | None = None


GUARDRAILS_ROUTING = {
    "guardrails-all-at-once": "ALL_AT_ONCE",
    "guardrails-canary": "CANARY",
    "guardrails-linear": "LINEAR",
}


def blue_green_policy(config: StrategyConfig, bake: int) -> dict[str, Any] | None:
    """SageMaker's ``BlueGreenUpdatePolicy`` for a ``guardrails-*`` strategy (else ``None``).

    ``MaximumExecutionTimeoutInSeconds`` depends on the deploy timeout: the plan sets it.
    """
    routing_type = GUARDRAILS_ROUTING.get(config.type)
    if routing_type is None:
        return None
    routing: dict[str, Any] = {"Type": routing_type, "WaitIntervalInSeconds": bake}
    if routing_type == "CANARY":
        routing["CanarySize"] = {"Type": "CAPACITY_PERCENT", "Value": round(config.canaryPercent)}
    elif routing_type == "LINEAR":
        routing["LinearStepSize"] = {"Type": "CAPACITY_PERCENT", "Value": round(100 / config.linearSteps)}
    return {
        "TrafficRoutingConfiguration": routing,
        "TerminationWaitInSeconds": round(config.terminationWaitMinutes * 60),
    }


def resolve_rollout(config: StrategyConfig) -> RolloutPlan:
    if config.type == "shadow":
        then = "canary" if config.then == "stop" else config.then
        after = resolve_rollout(config.model_copy(update={"type": then}))
        duration = round(config.durationMinutes * 60)
        shadow = {
            "samplingPercent": config.samplingPercent,
            "durationSeconds": duration,
            "checks": max(1, math.ceil(duration / config.checkIntervalSeconds)),
            "then": config.then,
            "minAgreement": config.minAgreement,
        }
        return after.model_copy(
            update={"shadow": shadow, "type": then if config.then != "stop" else "shadow"}
        )
    bake = round(config.bakeMinutes * 60)
    experiment = None
    if config.type == "ab-test":
        assert config.primaryMetric is not None
        bake = round(config.maxDurationMinutes * 60)
        experiment = {
            **config.primaryMetric.resolved(),
            "split": config.split,
            "minimumDetectableEffect": config.minimumDetectableEffect,
            "confidence": config.confidence,
            "onWinner": config.onWinner,
        }
    statistical = (
        config.judge.model_dump() if config.judge is not None and config.judge.type == "statistical" else None
    )
    return RolloutPlan(
        type=config.type,
        steps=config.traffic_steps(),
        bakeSeconds=bake,
        checkIntervalSeconds=config.checkIntervalSeconds,
        checksPerStep=max(1, math.ceil(bake / config.checkIntervalSeconds)),
        minInvocations=config.minInvocations,
        onInconclusive=config.onInconclusive,
        maxExtensions=0 if experiment else config.maxExtensions,  # a test runs to its decision or deadline
        errorRateThreshold=config.errorRateThreshold,
        latencyP99Ms=config.latencyP99Ms,
        alarms=list(config.alarms),
        monitor=config.monitor,
        guardrails=blue_green_policy(config, bake),
        # replace: one blue/green UpdateEndpoint to the version's config (an operator's rollback)
        replaceOnly=config.type == "replace",
        experiment=experiment,
        statistical=statistical,
    )


# The alarms smdeploy creates for each candidate (smdeploy.canary): one-minute datapoints, 2 of the
# last 3 breaching.
CANDIDATE_ALARM_PERIOD = 60
CANDIDATE_ALARM_EVALUATION_PERIODS = 3
CANDIDATE_ALARM_DATAPOINTS = 2
# CloudWatch publishes a minute's datapoint after the minute ends: "with slightly delayed publishing,
# the most recent minute never has data" (CloudWatch metric math page, FILL function). An alarm
# cannot see a datapoint before it is published, so its window is one minute longer.
METRIC_PUBLISH_DELAY_SECONDS = 60


def alarm_window_seconds(alarm: dict[str, Any]) -> int | None:
    """The shortest time an alarm needs to go to ALARM: datapoints to alarm x period, plus the
    publishing delay. ``alarm`` is a DescribeAlarms ``MetricAlarms`` entry (or a PutMetricAlarm
    definition); ``None`` when it has no period of its own (a composite alarm)."""
    periods = [int(alarm["Period"])] if alarm.get("Period") else []
    for query in alarm.get("Metrics") or []:  # a metric math alarm: each query has its period
        period = query.get("Period") or (query.get("MetricStat") or {}).get("Period")
        if period:
            periods.append(int(period))
    if not periods:
        return None
    datapoints = int(alarm.get("DatapointsToAlarm") or alarm.get("EvaluationPeriods") or 1)
    return datapoints * max(periods) + METRIC_PUBLISH_DELAY_SECONDS


def candidate_alarm_window_seconds() -> int:
    """The window of the alarms smdeploy creates for a candidate."""
    window = alarm_window_seconds(
        {"Period": CANDIDATE_ALARM_PERIOD, "DatapointsToAlarm": CANDIDATE_ALARM_DATAPOINTS}
    )
    assert window is not None
    return window


# Standard workflows stop at 25,000 history events per execution
# (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html).
HISTORY_EVENT_LIMIT = 25_000
# Measured from the history of a canary rehearsal (scenarios/canary-promote.yaml): one bake check
# (Wait entered/exited, Judge task entered/scheduled/started/succeeded/exited, Choice
# entered/exited) is 9 events; shifting to a step is a task, 5 more; everything outside the bake
# loop took 136, allowed here with room for endpoint waits and retries.
EVENTS_PER_CHECK = 9
EVENTS_PER_STEP = 5
EVENTS_OUTSIDE_BAKE = 1_000


def worst_case_history_events(rollout: RolloutPlan) -> int:
    """History events of a weight-shifting rollout whose every step takes its longest bake: every
    check, every extension and every check while weights are still applying."""
    checks = rollout.checksPerStep + rollout.maxExtensions + MAX_PENDING_CHECKS
    shadow = 0
    if rollout.shadow is not None:  # the shadow's looks, then (unless it stops) the rollout
        shadow = (
            int(rollout.shadow["checks"]) + rollout.maxExtensions + MAX_PENDING_CHECKS
        ) * EVENTS_PER_CHECK
        if rollout.shadow["then"] == "stop":
            return EVENTS_OUTSIDE_BAKE + shadow
    return EVENTS_OUTSIDE_BAKE + shadow + len(rollout.steps) * (EVENTS_PER_STEP + checks * EVENTS_PER_CHECK)


def merge_strategy(*layers: dict[str, Any] | None) -> dict[str, Any]:
    """Merge strategy objects key by key, later layers winning (``monitor`` merged one level deeper).

    A layer that sets ``type`` without ``steps`` drops the steps of earlier layers.
    """
    merged: dict[str, Any] = {}
    for layer in layers:
        if layer and "type" in layer and "steps" not in layer:
            merged.pop("steps", None)  # a new type brings its own steps
        for key, value in (layer or {}).items():
            if key == "monitor" and isinstance(value, dict) and isinstance(merged.get("monitor"), dict):
                merged["monitor"] = {**merged["monitor"], **value}
            else:
                merged[key] = value
    return merged


class Observation(BaseModel):
    """What the judge saw at one check."""

    endpointStatus: str
    weightsApplied: bool
    alarms: list[dict[str, str]] = Field(default_factory=list)  # {name, state, reason}
    monitor: dict[str, Any] | None = None  # latest execution since the step began
    candidateInvocations: float = 0.0
    # CloudWatch publishes metrics late ("with slightly delayed publishing, the most recent minute
    # never has data": metric math page, FILL): the end of the newest minute of candidate
    # Invocations published so far (None: no datapoint at all), and when the check was made.
    metricsThrough: str | None = None
    checkedAt: str | None = None
    # The candidate package's ModelApprovalStatus now (None: not read): Rejected rolls back.
    candidateApproval: str | None = None
    # With ``preempt``: the newer version of the group that will deploy, if any (rolls back).
    preemptedBy: str | None = None
    # ab-test: the primary metric per variant since the test began ({"baseline": Arm, "candidate": Arm})
    experimentArms: dict[str, dict[str, Any]] | None = None
    # statistical judge: metric -> [baseline Arm, candidate Arm] since the step began
    metricArms: dict[str, list[dict[str, Any]]] | None = None
    # shadow test: requests captured from both variants, and how many got the same answer
    agreement: dict[str, int] | None = None
    # drift as evidence (monitoring.duringRollout): [{kind: predictions|inputs, diverged, detail}]
    drift: list[dict[str, Any]] | None = None
    # an operator's command to this rollout (smdeploy promote|abort): {command, at, reason}
    operator: dict[str, Any] | None = None


class Judgement(BaseModel):
    """The bake state carried from one check to the next, and the decision."""

    stepIndex: int
    percent: float
    shiftedAt: str
    checks: int = 0
    pendingChecks: int = 0
    extensionsUsed: int = 0
    verdict: Verdict | None = None
    decision: Decision | None = None
    reasons: list[str] = Field(default_factory=list)
    nextStepIndex: int | None = None
    candidateInvocations: float = 0.0
    history: list[str] = Field(default_factory=list)
    # set when the bake is over but CloudWatch has not published its last minute yet: the minute
    # boundary the candidate's metrics must reach before the step is judged
    awaitingMetricsThrough: str | None = None
    # ab-test: the sequential test's state (smdeploy.experiment.ExperimentState)
    experiment: dict[str, Any] | None = None
    # statistical judge: metric -> always-valid p-value so far (running minimum)
    statisticalP: dict[str, float] = Field(default_factory=dict)
    # where the variants' comparison (A/B test, statistical judge, shadow) starts: a whole minute
    # once the weights apply (``canary.comparison_window_start``)
    windowStart: str | None = None
    # how long the bake waits before its next look (the wait Task's timeout); an event may end it
    # sooner (``bake_wait``)
    nextWaitSeconds: int | None = None
    # when the step's bake started: the shift when its weights applied by the first look, else the
    # first look that saw them applied (a bake paced by events counts its time from here)
    bakeStartedAt: str | None = None

    def with_(self, **changes: Any) -> Judgement:
        return self.model_copy(update=changes)


MAX_PENDING_CHECKS = 10
MIN_AGREEMENT_SAMPLE = 100  # captured request pairs before prediction agreement is judged
SHADOW_JUDGE = {
    "type": "statistical",
    "metrics": ["errorRate", "latencyP99"],
    "confidence": 0.95,
    "tolerance": 0.1,
}


def judge_shadow(previous: Judgement, seen: Observation, rollout: RolloutPlan) -> Judgement:
    """One look at a shadow test: the candidate answers nobody while it gets a copy of the requests.

    Judged like a bake (``judge``) of ``shadow.checks`` checks on the shadow variant: its alarms, a
    statistical comparison with production (``judge`` of the rollout, else errors and p99 latency)
    and the agreement of predictions when requests are captured. Passed, it goes on to the rollout
    (``NEXT_STEP`` to step 0) or, with ``then: stop``, ends with ``SHADOW_PASSED`` (the baseline
    keeps serving alone).
    """
    assert rollout.shadow is not None
    as_bake = rollout.model_copy(
        update={
            "checksPerStep": int(rollout.shadow["checks"]),
            "experiment": None,
            "statistical": rollout.statistical or SHADOW_JUDGE,
            "steps": rollout.steps or [100.0],
        }
    )
    judged = judge(previous, seen, as_bake)
    if judged.decision == "NEXT_STEP" and rollout.shadow["then"] == "stop":
        reasons = [*judged.reasons, "then: stop: the baseline keeps serving alone"]
        summary = "shadow: SHADOW_PASSED -> ROLLBACK: " + "; ".join(reasons)
        return judged.with_(
            verdict="SHADOW_PASSED",
            decision="ROLLBACK",
            nextStepIndex=None,
            reasons=reasons,
            history=[*previous.history, summary],
        )
    return judged


DRIFT_REASONS = {"predictions": "PREDICTION_DIVERGENCE", "inputs": "INPUT_DRIFT"}


def drift_reasons(seen: Observation) -> list[str]:
    """``PREDICTION_DIVERGENCE: ...`` / ``INPUT_DRIFT: ...`` for each drift finding beyond its thresholds."""
    return [
        f"{DRIFT_REASONS.get(str(finding.get('kind')), 'DRIFT')}: {finding.get('detail')}"
        for finding in seen.drift or []
        if finding.get("diverged")
    ]


def _obey(previous: Judgement, seen: Observation, last_step: bool) -> Judgement:
    """An operator's command: ``abort`` rolls back, ``promote-full`` promotes now, ``promote`` ends
    the current step's bake (the next step, or the promotion after the last)."""
    command = seen.operator or {}
    why = f" ({command['reason']})" if command.get("reason") else ""
    sent = f"sent {command.get('at')}" if command.get("at") else "sent"
    if command.get("command") == "abort":
        return _decide(previous, "OPERATOR", "ROLLBACK", [f"ABORTED by operator, {sent}{why}"], seen)
    if command.get("command") == "promote-full" or last_step:
        return _decide(previous, "OPERATOR", "PROMOTE", [f"PROMOTED by operator, {sent}{why}"], seen)
    reason = f"bake of step {previous.stepIndex + 1} ended by operator, {sent}{why}"
    return _decide(previous, "OPERATOR", "NEXT_STEP", [reason], seen)


def judge(
    previous: Judgement, seen: Observation, rollout: RolloutPlan, *, event_fallback: int | None = None
) -> Judgement:
    """Decide after one check: wait, move to the next step, promote or roll back.

    A candidate whose approval was withdrawn rolls back first (``WITHDRAWN: ...``), then one a
    newer approval preempts (``PREEMPTED by vN: ...``), whatever the endpoint is doing.

    ``event_fallback`` (seconds) paces the bake by events: every piece of evidence the judge reads
    comes with an event that wakes the bake (an alarm going to ALARM, an operator's command, an
    approval changing), so the bake needs no periodic look. It lasts its time (``checksPerStep`` x
    ``checkIntervalSeconds`` from ``bakeStartedAt``) and looks at least every ``event_fallback``
    seconds. Without it the bake is paced by checks: ``checksPerStep`` looks, one per interval.
    """
    if seen.weightsApplied and previous.bakeStartedAt is None and seen.checkedAt is not None:
        started = previous.shiftedAt if previous.pendingChecks == 0 else seen.checkedAt
        previous = previous.with_(bakeStartedAt=started)
    decided = _judge(previous, seen, rollout, event_fallback)
    if decided.decision != "WAIT":
        return decided.with_(nextWaitSeconds=None)
    return decided.with_(nextWaitSeconds=bake_wait(decided, seen, rollout, event_fallback))


def bake_wait(
    judgement: Judgement, seen: Observation | None, rollout: RolloutPlan, event_fallback: int | None
) -> int:
    """Seconds until the bake's next look: the check interval, or, paced by events, the rest of the
    bake (at most ``event_fallback``). Weights still applying, metrics awaited after the bake, an
    extension and an A/B test keep the interval."""
    interval = rollout.checkIntervalSeconds
    if (
        event_fallback is None
        or rollout.experiment is not None
        or judgement.verdict == "PENDING"
        or judgement.awaitingMetricsThrough is not None
    ):
        return interval
    now = datetime.fromisoformat(seen.checkedAt) if seen and seen.checkedAt else None
    start = judgement.bakeStartedAt or judgement.shiftedAt
    remaining = (_bake_end(judgement, start, rollout) - now).total_seconds() if now else None
    if remaining is None or remaining <= 0:
        return interval  # an extension: one more interval
    return max(1, min(event_fallback, math.ceil(remaining)))


def _bake_end(judgement: Judgement, start: str, rollout: RolloutPlan) -> datetime:
    seconds = (rollout.checksPerStep + judgement.extensionsUsed) * rollout.checkIntervalSeconds
    return datetime.fromisoformat(start) + timedelta(seconds=seconds)


def _judge(
    previous: Judgement, seen: Observation, rollout: RolloutPlan, event_fallback: int | None
) -> Judgement:
    last_step = previous.stepIndex >= len(rollout.steps) - 1
    if seen.candidateApproval == "Rejected":
        reason = "WITHDRAWN: the candidate's approval was withdrawn (ModelApprovalStatus Rejected)"
        return _decide(previous, "WITHDRAWN", "ROLLBACK", [reason], seen)
    if seen.preemptedBy:
        version = seen.preemptedBy.rsplit("/", 1)[-1]
        reason = f"PREEMPTED by v{version}: {_label(seen.preemptedBy)} is approved and deploys next"
        return _decide(previous, "PREEMPTED", "ROLLBACK", [reason], seen)
    if seen.operator:
        return _obey(previous, seen, last_step)
    alarming = [
        f"alarm {alarm['name']} is ALARM" + (f": {alarm['reason']}" if alarm.get("reason") else "")
        for alarm in seen.alarms
        if alarm.get("state") == "ALARM"
    ]
    if not seen.weightsApplied or seen.endpointStatus != "InService":
        if alarming:  # an alarm in ALARM rolls back even while the weights are still applying
            return _decide(previous, "UNHEALTHY", "ROLLBACK", alarming, seen)
        pending = previous.pendingChecks + 1
        if pending > MAX_PENDING_CHECKS:
            reason = f"endpoint still {seen.endpointStatus} after {pending} checks; weights never applied"
            return _decide(previous, "UNHEALTHY", "ROLLBACK", [reason], seen)
        return previous.with_(
            pendingChecks=pending, verdict="PENDING", decision="WAIT", reasons=["weights still applying"]
        )

    reasons = list(alarming)
    monitor = seen.monitor or {}
    status = monitor.get("MonitoringExecutionStatus")
    if status == "CompletedWithViolations" and rollout.monitor.failOnViolations:
        reasons.append(
            f"Model Monitor execution {monitor.get('ScheduledTime')} ended CompletedWithViolations"
        )
    if status == "Failed" and rollout.monitor.failOnFailure:
        reasons.append(
            f"Model Monitor execution {monitor.get('ScheduledTime')} failed: "
            f"{monitor.get('FailureReason') or '-'}"
        )
    agreement = ""
    if (
        seen.agreement
        and rollout.shadow is not None
        and seen.agreement.get("compared", 0) >= MIN_AGREEMENT_SAMPLE
    ):
        compared, agreeing = seen.agreement["compared"], seen.agreement.get("agreeing", 0)
        wanted = float(rollout.shadow["minAgreement"])
        agreement = (
            f"shadow predictions agree with production on {agreeing / compared:.1%} of {compared} "
            f"captured requests (need {wanted:.0%})"
        )
        if agreeing / compared < wanted:
            reasons.append(agreement)
    reasons += drift_reasons(seen)
    if reasons:
        return _decide(previous, "UNHEALTHY", "ROLLBACK", reasons, seen)
    if rollout.experiment is not None:
        return _judge_experiment(previous, seen, rollout)

    checks = previous.checks + 1
    enough = seen.candidateInvocations >= rollout.minInvocations
    served = (
        "requests copied to the shadow"
        if previous.stepIndex < 0
        else f"candidate invocations at {previous.percent:g}%"
    )
    evidence = (
        f"{seen.candidateInvocations:g} {served} (need {rollout.minInvocations}), "
        "no alarm, no monitor violation" + (f"; {agreement}" if agreement else "")
    )
    statistical_p = previous.statisticalP
    if rollout.statistical is not None:
        verdicts, statistical_p = judge_metrics(
            {
                metric: (Arm.model_validate(arms[0]), Arm.model_validate(arms[1]))
                for metric, arms in (seen.metricArms or {}).items()
            },
            confidence=float(rollout.statistical["confidence"]),
            minSamples=rollout.minInvocations,
            tolerance=float(rollout.statistical["tolerance"]),
            previous=previous.statisticalP,
        )
        worse = [v.reason for v in verdicts if v.status == "WORSE"]
        if worse:
            return _decide(previous.with_(statisticalP=statistical_p), "UNHEALTHY", "ROLLBACK", worse, seen)
        enough = enough and all(v.status == "OK" for v in verdicts)
        evidence += "; " + "; ".join(v.reason for v in verdicts)
        previous = previous.with_(statisticalP=statistical_p)
    verdict: Verdict = "HEALTHY" if enough else "INCONCLUSIVE"
    if event_fallback is not None and previous.bakeStartedAt and seen.checkedAt:
        end = _bake_end(previous, previous.bakeStartedAt, rollout)
        baked = datetime.fromisoformat(seen.checkedAt) >= end
    else:
        baked = checks >= rollout.checksPerStep + previous.extensionsUsed
    if not baked:
        return previous.with_(
            checks=checks,
            verdict=verdict,
            decision="WAIT",
            reasons=[evidence],
            candidateInvocations=seen.candidateInvocations,
        )
    awaited = _awaited_metrics(previous, seen)
    if awaited is not None:
        return previous.with_(
            pendingChecks=previous.pendingChecks + 1,
            awaitingMetricsThrough=awaited,
            verdict=verdict,
            decision="WAIT",
            reasons=[
                f"bake over; CloudWatch has published the candidate's metrics through "
                f"{seen.metricsThrough}, waiting for them through {awaited}: {evidence}"
            ],
            candidateInvocations=seen.candidateInvocations,
        )
    if verdict == "HEALTHY":
        decision: Decision = "PROMOTE" if last_step else "NEXT_STEP"
        return _decide(previous.with_(checks=checks), verdict, decision, [evidence], seen)
    if rollout.onInconclusive == "extend" and previous.extensionsUsed < rollout.maxExtensions:
        return previous.with_(
            checks=checks,
            extensionsUsed=previous.extensionsUsed + 1,
            verdict=verdict,
            decision="WAIT",
            reasons=[f"inconclusive: {evidence}; bake extended by {rollout.checkIntervalSeconds} s"],
            candidateInvocations=seen.candidateInvocations,
        )
    why = "onInconclusive is rollback" if rollout.onInconclusive == "rollback" else "no extension left"
    return _decide(
        previous.with_(checks=checks), "INCONCLUSIVE", "ROLLBACK", [f"inconclusive ({why}): {evidence}"], seen
    )


def _judge_experiment(previous: Judgement, seen: Observation, rollout: RolloutPlan) -> Judgement:
    """One look of an A/B test: wait, or end it with its decision (``smdeploy.experiment.evaluate``).

    The deadline is the last check of ``maxDurationMinutes``; like a bake, its verdict waits for
    CloudWatch to publish the last minutes (in the budget of pending checks).
    """
    experiment = rollout.experiment
    assert experiment is not None
    checks = previous.checks + 1
    deadline = checks >= rollout.checksPerStep
    if deadline:
        awaited = _awaited_metrics(previous, seen)
        if awaited is not None:
            return previous.with_(
                pendingChecks=previous.pendingChecks + 1,
                awaitingMetricsThrough=awaited,
                verdict="TESTING",
                decision="WAIT",
                reasons=[f"test over; waiting for CloudWatch to publish the metrics through {awaited}"],
                candidateInvocations=seen.candidateInvocations,
            )
    kind = experiment["kind"]
    settings = ExperimentSettings(
        metric=experiment["label"],
        kind=kind,
        goal=experiment["goal"],
        confidence=experiment["confidence"],
        minimumDetectableEffect=experiment["minimumDetectableEffect"],
        splitPercent=experiment["split"],
        # rates count requests; per-minute values count minutes
        minSamples=max(1, rollout.minInvocations)
        if kind == "rate"
        else min_latency_minutes(rollout.minInvocations),
    )
    arms = seen.experimentArms or {}
    state = evaluate(
        settings,
        Arm.model_validate(arms.get("baseline") or {}),
        Arm.model_validate(arms.get("candidate") or {}),
        ExperimentState.model_validate(previous.experiment) if previous.experiment else None,
        deadline=deadline,
    )
    looked = previous.with_(
        checks=checks,
        experiment=state.model_dump(mode="json"),
        candidateInvocations=seen.candidateInvocations,
    )
    if state.decision == "CONTINUE":
        return looked.with_(verdict="TESTING", decision="WAIT", reasons=[state.summary])
    if state.decision == "CANDIDATE_WINS":
        if experiment["onWinner"] == "promote":
            return _decide(looked, "CANDIDATE_WINS", "PROMOTE", [state.summary], seen)
        kept = "onWinner is report: the baseline keeps serving; deploy the candidate when you choose"
        return _decide(looked, "CANDIDATE_WINS", "ROLLBACK", [state.summary, kept], seen)
    return _decide(looked, state.decision, "ROLLBACK", [state.summary], seen)


def _label(arn: str) -> str:
    return "/".join(arn.split("/")[-2:])


def _awaited_metrics(previous: Judgement, seen: Observation) -> str | None:
    """The minute boundary the bake's metrics must reach before its verdict, if not reached yet.

    A bake is judged on all of its minutes: when it ends, the newest minute (or two) is not
    published yet, and neither the alarms nor the invocation count have seen it. The verdict waits
    a check for them, in the budget of pending checks (so a step's worst case stays bounded). No
    datapoint at all (no traffic) has nothing to wait for.
    """
    if seen.metricsThrough is None or seen.checkedAt is None:
        return None
    target = previous.awaitingMetricsThrough or (
        datetime.fromisoformat(seen.checkedAt).replace(second=0, microsecond=0).isoformat()
    )
    if datetime.fromisoformat(seen.metricsThrough) >= datetime.fromisoformat(target):
        return None
    if previous.pendingChecks >= MAX_PENDING_CHECKS:
        return None  # waited long enough: judge on what is published
    return target


def _decide(
    previous: Judgement, verdict: Verdict, decision: Decision, reasons: list[str], seen: Observation
) -> Judgement:
    where = "shadow" if previous.stepIndex < 0 else f"step {previous.stepIndex + 1} ({previous.percent:g}%)"
    summary = f"{where}: {verdict} -> {decision}: " + "; ".join(reasons)
    return previous.with_(
        verdict=verdict,
        decision=decision,
        reasons=reasons,
        nextStepIndex=previous.stepIndex + 1 if decision == "NEXT_STEP" else None,
        candidateInvocations=seen.candidateInvocations,
        history=[*previous.history, summary],
    )
