"""Rollout strategies and the canary verdict (pure: no AWS calls here).

A strategy turns into the list of traffic percentages the candidate receives, one bake per step:

- ``all-at-once``: ``[100]`` (shift everything, bake, then promote; rollback is still a weight flip)
- ``canary``: ``[canaryPercent]`` (one step, then all at promotion)
- ``linear``: ``linearSteps`` equal steps ending at 100
- explicit ``steps`` such as ``[10, 50]`` (any type but ``all-at-once``)

Promotion replaces the two-variant config by a candidate-only config, which moves the rest of
the traffic; a step of 100 bakes the candidate alone before that.

The ``guardrails-*`` types hand the traffic shifting to SageMaker instead: one ``UpdateEndpoint``
with a blue/green ``DeploymentConfig`` (``CANARY``, ``LINEAR`` or ``ALL_AT_ONCE``) whose
auto-rollback alarms are the candidate's alarms and the strategy's ``alarms``; ``bakeMinutes``
is SageMaker's wait between shifts and ``terminationWaitMinutes`` how long the old fleet stays.
"""

from __future__ import annotations

import itertools
import math
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Decision = Literal["WAIT", "NEXT_STEP", "PROMOTE", "ROLLBACK"]
# WITHDRAWN: the candidate's approval was withdrawn (Rejected) during the rollout; PREEMPTED: a
# newer version of the group was approved and will deploy (plan ``preempt``). Both roll back.
Verdict = Literal["HEALTHY", "UNHEALTHY", "INCONCLUSIVE", "PENDING", "WITHDRAWN", "PREEMPTED"]


class MonitorPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    failOnViolations: bool = True
    failOnFailure: bool = False


class StrategyConfig(BaseModel):
    """The ``strategy`` object of a group config or a manual input (every key optional)."""

    # JSON's 1e400 reads as inf: no threshold or percentage may be infinite (or NaN).
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    type: Literal[
        "all-at-once", "canary", "linear", "guardrails-all-at-once", "guardrails-canary", "guardrails-linear"
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
        if self.type == "all-at-once" and self.steps is not None:
            raise ValueError("all-at-once takes no steps")
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
        if self.bakeMinutes * 60 < self.checkIntervalSeconds:
            raise ValueError(
                f"bakeMinutes ({self.bakeMinutes:g} min) is shorter than checkIntervalSeconds "
                f"({self.checkIntervalSeconds} s): a step would never be checked"
            )
        return self

    def traffic_steps(self) -> list[float]:
        if self.type in ("all-at-once", "guardrails-all-at-once"):
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
    bake = round(config.bakeMinutes * 60)
    return RolloutPlan(
        type=config.type,
        steps=config.traffic_steps(),
        bakeSeconds=bake,
        checkIntervalSeconds=config.checkIntervalSeconds,
        checksPerStep=max(1, math.ceil(bake / config.checkIntervalSeconds)),
        minInvocations=config.minInvocations,
        onInconclusive=config.onInconclusive,
        maxExtensions=config.maxExtensions,
        errorRateThreshold=config.errorRateThreshold,
        latencyP99Ms=config.latencyP99Ms,
        alarms=list(config.alarms),
        monitor=config.monitor,
        guardrails=blue_green_policy(config, bake),
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
    return EVENTS_OUTSIDE_BAKE + len(rollout.steps) * (EVENTS_PER_STEP + checks * EVENTS_PER_CHECK)


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

    def with_(self, **changes: Any) -> Judgement:
        return self.model_copy(update=changes)


MAX_PENDING_CHECKS = 10


def judge(previous: Judgement, seen: Observation, rollout: RolloutPlan) -> Judgement:
    """Decide after one check: wait, move to the next step, promote or roll back.

    A candidate whose approval was withdrawn rolls back first (``WITHDRAWN: ...``), then one a
    newer approval preempts (``PREEMPTED by vN: ...``), whatever the endpoint is doing.
    """
    last_step = previous.stepIndex >= len(rollout.steps) - 1
    if seen.candidateApproval == "Rejected":
        reason = "WITHDRAWN: the candidate's approval was withdrawn (ModelApprovalStatus Rejected)"
        return _decide(previous, "WITHDRAWN", "ROLLBACK", [reason], seen)
    if seen.preemptedBy:
        version = seen.preemptedBy.rsplit("/", 1)[-1]
        reason = f"PREEMPTED by v{version}: {_label(seen.preemptedBy)} is approved and deploys next"
        return _decide(previous, "PREEMPTED", "ROLLBACK", [reason], seen)
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
    if reasons:
        return _decide(previous, "UNHEALTHY", "ROLLBACK", reasons, seen)

    checks = previous.checks + 1
    enough = seen.candidateInvocations >= rollout.minInvocations
    verdict: Verdict = "HEALTHY" if enough else "INCONCLUSIVE"
    evidence = (
        f"{seen.candidateInvocations:g} candidate invocations at {previous.percent:g}% "
        f"(need {rollout.minInvocations}), no alarm, no monitor violation"
    )
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
    summary = f"step {previous.stepIndex + 1} ({previous.percent:g}%): {verdict} -> {decision}: " + "; ".join(
        reasons
    )
    return previous.with_(
        verdict=verdict,
        decision=decision,
        reasons=reasons,
        nextStepIndex=previous.stepIndex + 1 if decision == "NEXT_STEP" else None,
        candidateInvocations=seen.candidateInvocations,
        history=[*previous.history, summary],
    )
