"""Size the candidate before it serves: an Inference Recommender job, waited for cheaply, and the
cheapest configuration that meets the group's requirements.

``loadTest`` in a group config runs, before the candidate's model and configs are made, a
``CreateInferenceRecommendationsJob``: ``Advanced`` with the instance types to try, the traffic
pattern and the requirements as stopping conditions (``MaxInvocations`` = requests per second x 60,
``ModelLatencyThresholds`` P99), or ``Default`` (SageMaker's own instance recommendations). Jobs take
tens of minutes to hours, so the state machine waits the job's expected duration, then looks again
every ``RECHECK_SECONDS`` (a handful of state transitions per hour, not a poll every 30 s), up to
``maxWaitHours``.

Each recommendation (``InferenceRecommendations[]``: ``EndpointConfiguration`` and ``Metrics``,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_RecommendationMetrics.html:
``MaxInvocations`` requests per minute, ``ModelLatency`` in ms at that load, ``CostPerHour``,
``CostPerInference``, all "for the instance") becomes a row: the instance count the requirement
needs at its measured capacity, the cost per hour of that count and per 1,000 inferences, and
whether it fits (its latency within the requirement). The cheapest fitting row wins (cost per
hour of the fleet that carries the traffic, then cost per inference). Nothing fits: ``onNoFit:
fail`` ends the deployment with ``NO_FIT`` before anything is created for the candidate;
``use-current`` keeps the current instance settings with a note.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.models import DeploymentPlan
from smdeploy.plan import resource_name

RECHECK_SECONDS = 600  # after the job's expected duration, one look every 10 minutes
DEFAULT_JOB_SECONDS = 3600  # what a Default job usually takes before its first look
MIN_PHASE_SECONDS = 120  # TrafficPattern phases: DurationInSeconds 120-3600 (API reference)
MAX_INSTANCES = 100

State = Literal["WAIT", "FIT", "NO_FIT", "USE_CURRENT"]


def job_name(endpoint: str, version: int, execution_arn: str) -> str:
    """The job of one deployment (the same name on every retry of its start)."""
    return resource_name(endpoint, f"v{version}", "lt", salt=execution_arn)


def job_seconds(settings: dict[str, Any]) -> int:
    """How long the job's traffic runs: its phases, or an hour for Default jobs."""
    phases = (settings.get("trafficPattern") or {}).get("phases") or []
    return int(sum(int(p["seconds"]) for p in phases)) or DEFAULT_JOB_SECONDS


def job_request(plan: DeploymentPlan, *, role_arn: str) -> dict[str, Any]:
    """``CreateInferenceRecommendationsJob`` arguments for the plan's load test."""
    settings = plan.loadTest or {}
    advanced = settings.get("type", "advanced") == "advanced"
    input_config: dict[str, Any] = {"ModelPackageVersionArn": plan.modelPackageArn}
    request: dict[str, Any] = {
        "JobName": str(plan.loadTestJobName),
        "JobType": "Advanced" if advanced else "Default",
        "RoleArn": role_arn,
        "JobDescription": f"smdeploy: size {plan.modelPackageArn.split('/', 1)[-1]} for {plan.endpointName}",
        "InputConfig": input_config,
    }
    if settings.get("payloads"):  # else the package's own SamplePayloadUrl (checked by the plan)
        input_config["ContainerConfig"] = {
            "PayloadConfig": {
                "SamplePayloadUrl": settings["payloads"],
                "SupportedContentTypes": [settings.get("contentType") or "text/csv"],
            }
        }
    if settings.get("instanceTypes"):
        input_config["EndpointConfigurations"] = [{"InstanceType": t} for t in settings["instanceTypes"]]
    if not advanced:
        return request
    requirements = settings["requirements"]
    phases = (settings.get("trafficPattern") or {}).get("phases")
    if phases:
        input_config["TrafficPattern"] = {
            "TrafficType": "PHASES",
            "Phases": [
                {
                    "InitialNumberOfUsers": p["users"],
                    "SpawnRate": p["spawnRate"],
                    "DurationInSeconds": p["seconds"],
                }
                for p in phases
            ],
        }
        input_config["JobDurationInSeconds"] = job_seconds(settings) + 600  # set-up of each test
    input_config["ResourceLimit"] = {
        "MaxNumberOfTests": max(1, len(settings.get("instanceTypes") or [])),
        "MaxParallelOfTests": max(1, len(settings.get("instanceTypes") or [])),
    }
    request["StoppingConditions"] = {
        "MaxInvocations": math.ceil(float(requirements["requestsPerSecond"]) * 60),
        # "For custom load tests, specify the value as P95" (API_ModelLatencyThreshold): the job
        # stops when p95 passes the limit; the pick then holds each configuration's ModelLatency to it.
        "ModelLatencyThresholds": [
            {"Percentile": "P95", "ValueInMilliseconds": math.ceil(float(requirements["p99LatencyMs"]))}
        ],
    }
    return request


def rows(settings: dict[str, Any], recommendations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per recommendation: the fleet the requirement needs, what it costs, whether it fits."""
    requirements = settings.get("requirements") or {}
    needed_per_minute = float(requirements.get("requestsPerSecond") or 0) * 60
    latency_limit = requirements.get("p99LatencyMs")
    out = []
    for recommendation in recommendations:
        metrics = recommendation.get("Metrics") or {}
        config = recommendation.get("EndpointConfiguration") or {}
        # RecommendationMetrics are "for the instance": requests per minute and cost per hour of one
        # instance; InitialInstanceCount is SageMaker's suggested count (used when no rate is required).
        capacity = float(metrics.get("MaxInvocations") or 0)
        per_hour = float(metrics.get("CostPerHour") or 0)
        latency = metrics.get("ModelLatency")
        if needed_per_minute and capacity > 0:
            count = max(1, math.ceil(needed_per_minute / capacity))
        else:
            count = max(1, int(config.get("InitialInstanceCount") or 1))
        why = []
        if latency_limit is not None and (latency is None or float(latency) > float(latency_limit)):
            why.append(f"p99 {latency} ms > {latency_limit:g} ms")
        if capacity <= 0:
            why.append("no measured capacity")
        if count > MAX_INSTANCES:
            why.append(f"needs {count} instances (> {MAX_INSTANCES})")
        per_inference = metrics.get("CostPerInference")
        out.append(
            {
                "instanceType": config.get("InstanceType"),
                "instanceCount": count,
                "maxInvocationsPerMinute": round(capacity * count, 1),
                "modelLatencyMs": latency,
                "costPerHour": round(per_hour * count, 4),
                "costPer1000Inferences": round(float(per_inference) * 1000, 6) if per_inference else None,
                "environment": {
                    p["Key"]: p["Value"]
                    for p in (recommendation.get("ModelConfiguration") or {}).get("EnvironmentParameters")
                    or []
                },
                "fits": not why,
                "why": "; ".join(why) or "meets the requirements",
            }
        )
    if not needed_per_minute:  # no traffic to carry (a Default job): the cheapest inference wins
        return sorted(out, key=lambda r: (not r["fits"], r["costPer1000Inferences"] or math.inf))
    return sorted(out, key=lambda r: (not r["fits"], r["costPerHour"], r["costPer1000Inferences"] or 0))


def check(
    plan: DeploymentPlan, described: dict[str, Any] | None, started_at: str, now: datetime
) -> dict[str, Any]:
    """One look at the job: wait, or its outcome (``FIT``, ``NO_FIT``, ``USE_CURRENT``) with the table
    of what was tried and, when the deployment goes on, the plan sized by the pick."""
    settings = plan.loadTest or {}
    waited = (now - datetime.fromisoformat(started_at)).total_seconds()
    status = (described or {}).get("Status")
    base = {"jobName": plan.loadTestJobName, "startedAt": started_at, "status": status}
    if status in (None, "PENDING", "IN_PROGRESS", "STOPPING"):
        if waited < float(settings.get("maxWaitHours", 6)) * 3600:
            return {**base, "state": "WAIT", "nextWaitSeconds": RECHECK_SECONDS}
        return _no_fit(plan, base, [], f"the job took more than {settings.get('maxWaitHours', 6):g} h")
    if status != "COMPLETED":
        reason = (described or {}).get("FailureReason") or "no reason given"
        return _no_fit(plan, base, [], f"the job ended {status}: {reason}")
    table = rows(settings, list((described or {}).get("InferenceRecommendations") or []))
    best = next((row for row in table if row["fits"]), None)
    if best is None:
        return _no_fit(plan, base, table, "no configuration tried meets the requirements")
    note = (
        f"load test {plan.loadTestJobName}: {best['instanceCount']} x {best['instanceType']} "
        f"(p99 {best['modelLatencyMs']} ms, {best['maxInvocationsPerMinute']:g} requests/min, "
        f"{best['costPerHour']:g} USD/h) is the cheapest of {len(table)} configurations that meets "
        f"{_requirement(settings)}"
    )
    sized = plan.model_copy(
        update={
            "instanceType": best["instanceType"],
            "initialInstanceCount": best["instanceCount"],
            "instanceSettingsExplicit": True,
            "notes": [*plan.notes, note],
        }
    )
    return {**base, "state": "FIT", "table": table, "chosen": best, "plan": sized.model_dump(mode="json")}


def _requirement(settings: dict[str, Any]) -> str:
    requirements = settings.get("requirements")
    if not requirements:
        return "SageMaker's ranking (a Default job)"
    return f"p99 <= {requirements['p99LatencyMs']:g} ms at {requirements['requestsPerSecond']:g} requests/s"


def _no_fit(
    plan: DeploymentPlan, base: dict[str, Any], table: list[dict[str, Any]], why: str
) -> dict[str, Any]:
    settings = plan.loadTest or {}
    reason = f"load test {plan.loadTestJobName}: {why} ({_requirement(settings)})"
    if settings.get("onNoFit") == "use-current":
        kept = plan.model_copy(
            update={"notes": [*plan.notes, f"{reason}; onNoFit use-current: current settings"]}
        )
        return {
            **base,
            "state": "USE_CURRENT",
            "table": table,
            "reason": reason,
            "plan": kept.model_dump(mode="json"),
        }
    return {**base, "state": "NO_FIT", "table": table, "reason": reason}


def start(
    plan: DeploymentPlan, *, sagemaker: SageMakerGateway, role_arn: str, now: datetime
) -> dict[str, Any]:
    """Start the job (a retry finds it started) and wait its expected duration before the first look."""
    sagemaker.start_recommendations_job(job_request(plan, role_arn=role_arn))
    return {
        "jobName": plan.loadTestJobName,
        "startedAt": now.isoformat(),
        "state": "WAIT",
        "nextWaitSeconds": job_seconds(plan.loadTest or {}) + RECHECK_SECONDS,
    }


def look(
    plan: DeploymentPlan, previous: dict[str, Any], *, sagemaker: SageMakerGateway, now: datetime
) -> dict[str, Any]:
    """One look at the job (:func:`check`); a job past ``maxWaitHours`` is stopped."""
    described = sagemaker.find_recommendations_job(str(plan.loadTestJobName))
    started_at = str(previous.get("startedAt") or now.isoformat())
    result = check(plan, described, started_at, now)
    if result["state"] != "WAIT" and (described or {}).get("Status") in ("PENDING", "IN_PROGRESS"):
        sagemaker.stop_recommendations_job(str(plan.loadTestJobName))
    return result
