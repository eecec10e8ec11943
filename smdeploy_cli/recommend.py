"""``smdeploy recommend JOB_NAME``: the recommendations of a finished Inference Recommender job, the
cheapest configuration that fits first.

The job is read with ``DescribeInferenceRecommendationsJob``. Each of its
``InferenceRecommendations[]`` has ``EndpointConfiguration`` (``InstanceType``,
``InitialInstanceCount``, or ``ServerlessConfig``), ``ModelConfiguration.EnvironmentParameters`` and
``Metrics`` (API reference, ``RecommendationMetrics``; units from the developer guide's "Recommendation
results"): ``MaxInvocations`` requests per minute, ``ModelLatency`` in milliseconds at that load,
``CostPerHour`` and ``CostPerInference`` in US dollars; ``MaxInvocations`` and ``CostPerHour`` are
"for the instance" (one instance), ``InitialInstanceCount`` how many instances the job recommends.

Fit: the recommendation's ``ModelLatency`` is within the job's latency threshold
(``StoppingConditions.ModelLatencyThresholds``, the strictest when there are several); a ``Default``
job has none, and every recommendation fits. When the job names a throughput
(``StoppingConditions.MaxInvocations``), each configuration is sized to carry it: instances = that
throughput / the instance's ``MaxInvocations``, rounded up; otherwise the job's
``InitialInstanceCount``. The configuration's throughput and cost per hour are the instance's times
its instances.

Order: fitting configurations first, then by cost per hour, then by cost per 1,000 inferences.
Everything here but :func:`describe_job`, :func:`list_jobs` and :func:`main` is pure: it takes
API-shaped dicts.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

SageMakerClient = Any  # a boto3 "sagemaker" client (the project ships no boto3 stubs)

RUNNING = ("PENDING", "IN_PROGRESS", "STOPPING")


class RecommendError(Exception):
    """The job cannot be shown: it does not exist, has not completed, or holds no recommendation."""


@dataclass(frozen=True)
class Requirement:
    latency_ms: float | None = None  # the strictest ModelLatencyThresholds value
    percentile: str | None = None  # its percentile (P95, P99)
    invocations_per_minute: float | None = None  # StoppingConditions.MaxInvocations

    def text(self) -> str:
        parts = []
        if self.latency_ms is not None:
            parts.append(f"{(self.percentile or 'latency').lower()} <= {self.latency_ms:g} ms")
        if self.invocations_per_minute:
            parts.append(f"at {self.invocations_per_minute:g} invocations/min")
        return " ".join(parts) if parts else "none stated (SageMaker's own ranking)"


@dataclass(frozen=True)
class Row:
    """One configuration, sized to the job's throughput when it names one."""

    instanceType: str  # or "serverless <memory> MB" for a serverless recommendation
    instanceCount: int | None  # None for serverless
    recommendedInstanceCount: int | None  # the job's InitialInstanceCount
    maxInvocationsPerMinute: float | None
    modelLatencyMs: float | None
    costPerHour: float | None
    costPer1000Inferences: float | None
    fits: bool
    why: str
    environment: dict[str, str] = field(default_factory=dict)
    recommendationId: str | None = None


def requirement_of(job: dict[str, Any]) -> Requirement:
    stopping = job.get("StoppingConditions") or {}
    thresholds = [
        t for t in stopping.get("ModelLatencyThresholds") or [] if t.get("ValueInMilliseconds") is not None
    ]
    strictest = min(thresholds, key=lambda t: float(t["ValueInMilliseconds"]), default=None)
    per_minute = stopping.get("MaxInvocations")
    return Requirement(
        latency_ms=float(strictest["ValueInMilliseconds"]) if strictest else None,
        percentile=str(strictest.get("Percentile") or "") or None if strictest else None,
        invocations_per_minute=float(per_minute) if per_minute else None,
    )


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def row_of(recommendation: dict[str, Any], requirement: Requirement) -> Row:
    metrics = recommendation.get("Metrics") or {}
    config = recommendation.get("EndpointConfiguration") or {}
    environment = {
        str(p.get("Key")): str(p.get("Value"))
        for p in (recommendation.get("ModelConfiguration") or {}).get("EnvironmentParameters") or []
    }
    invocations = _number(metrics.get("MaxInvocations"))
    latency = _number(metrics.get("ModelLatency"))
    per_hour = _number(metrics.get("CostPerHour"))
    per_inference = _number(metrics.get("CostPerInference"))
    per_1000 = per_inference * 1000 if per_inference is not None else None
    why: list[str] = []
    if requirement.latency_ms is not None:
        if latency is None:
            why.append("no model latency measured")
        elif latency > requirement.latency_ms:
            why.append(f"latency {latency:g} ms > {requirement.latency_ms:g} ms")
    serverless = config.get("ServerlessConfig")
    if not config.get("InstanceType") and serverless:
        name = f"serverless {serverless.get('MemorySizeInMB')} MB"
        if serverless.get("MaxConcurrency"):
            name += f", concurrency {serverless['MaxConcurrency']}"
        return Row(
            name,
            None,
            None,
            invocations,
            latency,
            per_hour,
            per_1000,
            not why,
            "; ".join(why) or "meets the latency threshold",
            environment,
            recommendation.get("RecommendationId"),
        )
    recommended = max(1, int(_number(config.get("InitialInstanceCount")) or 1))
    count = recommended
    if requirement.invocations_per_minute:
        if invocations is None or invocations <= 0:
            why.append("no throughput measured")
        else:
            count = max(1, math.ceil(requirement.invocations_per_minute / invocations - 1e-9))
    return Row(
        instanceType=str(config.get("InstanceType") or "?"),
        instanceCount=count,
        recommendedInstanceCount=recommended,
        maxInvocationsPerMinute=invocations * count if invocations is not None else None,
        modelLatencyMs=latency,
        costPerHour=round(per_hour * count, 6) if per_hour is not None else None,
        costPer1000Inferences=per_1000,
        fits=not why,
        why="; ".join(why)
        or (
            "meets the latency threshold"
            if requirement.latency_ms is not None
            else "no latency threshold: every configuration fits"
        ),
        environment=environment,
        recommendationId=recommendation.get("RecommendationId"),
    )


def rank(job: dict[str, Any]) -> list[Row]:
    """The job's recommendations, cheapest fitting configuration first."""
    requirement = requirement_of(job)
    rows = [row_of(r, requirement) for r in job.get("InferenceRecommendations") or []]
    inf = math.inf
    return sorted(
        rows,
        key=lambda r: (
            not r.fits,
            r.costPerHour if r.costPerHour is not None else inf,
            r.costPer1000Inferences if r.costPer1000Inferences is not None else inf,
            r.instanceType,
        ),
    )


def check_job(job: dict[str, Any] | None, name: str) -> dict[str, Any]:
    """The job when its recommendations can be shown; :class:`RecommendError` saying why not."""
    if job is None:
        raise RecommendError(f"no Inference Recommender job named {name!r}")
    status = job.get("Status")
    if status != "COMPLETED":
        reason = job.get("FailureReason")
        text = f"job {name} is {status}, not COMPLETED"
        if reason:
            text += f": {reason}"
        if status in RUNNING:
            text += " (its recommendations come when it completes; Advanced jobs take up to hours)"
        raise RecommendError(text)
    if not job.get("InferenceRecommendations"):
        performances = job.get("EndpointPerformances")
        if performances:
            raise RecommendError(
                f"job {name} measured existing endpoints (EndpointPerformances) and made no "
                "InferenceRecommendations"
            )
        raise RecommendError(f"job {name} is COMPLETED but holds no InferenceRecommendations")
    return job


def to_json(job: dict[str, Any], rows: list[Row]) -> dict[str, Any]:
    requirement = requirement_of(job)
    best = next((r for r in rows if r.fits), None)
    return {
        "jobName": job.get("JobName"),
        "jobType": job.get("JobType"),
        "status": job.get("Status"),
        "requirement": {
            "modelLatencyMs": requirement.latency_ms,
            "percentile": requirement.percentile,
            "invocationsPerMinute": requirement.invocations_per_minute,
        },
        "recommendations": [asdict(r) for r in rows],
        "cheapestFit": asdict(best) if best else None,
    }


def render(job: dict[str, Any], rows: list[Row]) -> str:
    def num(value: float | int | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    requirement = requirement_of(job)
    lines = [
        f"Inference Recommender job {job.get('JobName')} ({job.get('JobType')}, {job.get('Status')}); "
        f"requirement: {requirement.text()}",
        "",
    ]
    header = (
        f"{'#':>2}  {'fits':<4}  {'instance type':<22} {'count':>5} {'max inv/min':>11} "
        f"{'latency ms':>10} {'USD/hour':>9} {'USD/1000 inf':>12}  why"
    )
    lines += [header, "-" * len(header)]
    for i, r in enumerate(rows, 1):
        lines.append(
            f"{i:>2}  {'yes' if r.fits else 'no':<4}  {r.instanceType:<22} {num(r.instanceCount, 'd'):>5} "
            f"{num(r.maxInvocationsPerMinute, '.0f'):>11} {num(r.modelLatencyMs, 'g'):>10} "
            f"{num(r.costPerHour, '.4f'):>9} {num(r.costPer1000Inferences, '.5f'):>12}  {r.why}"
        )
        if r.environment:
            lines.append(
                f"{'':>8}environment: " + ", ".join(f"{k}={v}" for k, v in sorted(r.environment.items()))
            )
    best = next((r for r in rows if r.fits), None)
    lines.append("")
    if best is None:
        lines.append("No configuration fits the requirement.")
    else:
        count = f"{best.instanceCount} x " if best.instanceCount is not None else ""
        cost = f" at {best.costPerHour:.4f} USD/hour" if best.costPerHour is not None else ""
        lines.append(f"Cheapest fit: {count}{best.instanceType}{cost}.")
    return "\n".join(lines)


# --- AWS -----------------------------------------------------------------------------------------


def describe_job(client: SageMakerClient, name: str) -> dict[str, Any] | None:
    """``DescribeInferenceRecommendationsJob``; None when there is no such job."""
    from botocore.exceptions import ClientError

    try:
        answer = client.describe_inference_recommendations_job(JobName=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFound":
            return None
        raise
    return dict(answer)


def list_jobs(client: SageMakerClient, limit: int = 10) -> list[dict[str, Any]]:
    """The newest jobs (``ListInferenceRecommendationsJobs``)."""
    answer = client.list_inference_recommendations_jobs(
        SortBy="CreationTime", SortOrder="Descending", MaxResults=limit
    )
    return list(answer.get("InferenceRecommendationsJobs") or [])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "job",
        metavar="JOB_NAME",
        nargs="?",
        help="the Inference Recommender job (without it: the newest jobs are listed)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout and nothing else"
    )
    aws = parser.add_argument_group("AWS (not used in a rehearsal)")
    aws.add_argument("--region", help="the job's region (default: AWS_REGION, the profile's)")
    aws.add_argument("--profile", help="a named profile of the AWS config files")


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else str(value or "")


def show(args: argparse.Namespace, client: SageMakerClient, *, out: Any = None) -> int:
    """Print the job's recommendations (or, without a job name, the newest jobs); 0 when printed, 2
    when the job cannot be shown."""
    from botocore.exceptions import BotoCoreError, ClientError

    out = out or sys.stdout
    try:
        if not args.job:
            jobs = list_jobs(client)
            if not jobs:
                print("smdeploy recommend: no Inference Recommender job here", file=sys.stderr)
                return 2
            print("smdeploy recommend: name a job; the newest are:", file=sys.stderr)
            for job in jobs:
                print(
                    f"  {job.get('JobName')}  {job.get('JobType')}  {job.get('Status')}  "
                    f"{_when(job.get('CreationTime'))}",
                    file=sys.stderr,
                )
            return 2
        job = check_job(describe_job(client, args.job), args.job)
    except RecommendError as exc:
        print(f"smdeploy recommend: {exc}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as exc:
        print(f"smdeploy recommend: {exc}", file=sys.stderr)
        return 2
    rows = rank(job)
    if args.json:
        print(json.dumps(to_json(job, rows), indent=2, default=str), file=out)
    else:
        print(render(job, rows), file=out)
    return 0


def main(args: argparse.Namespace) -> int:
    """``smdeploy recommend`` against AWS."""
    import boto3
    from botocore.exceptions import NoRegionError, ProfileNotFound

    try:
        client = boto3.Session(profile_name=args.profile, region_name=args.region).client("sagemaker")
    except ProfileNotFound as exc:
        print(f"smdeploy recommend: {exc} (--profile)", file=sys.stderr)
        return 2
    except NoRegionError:
        print("smdeploy recommend: no AWS region: pass --region, or set AWS_REGION", file=sys.stderr)
        return 2
    return show(args, client)
