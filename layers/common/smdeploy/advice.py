"""Which SageMaker deployment option fits a workload: the decision users walk through, as code.

Limits used (SageMaker developer guide, "Model deployment options"): real-time endpoints take
payloads up to 6 MB and answer within 60 s; serverless endpoints take up to 4 MB and 60 s and
scale to zero (cold starts); asynchronous endpoints queue payloads up to 1 GB and process each
for up to one hour; batch transform scores whole datasets offline.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Option = Literal[
    "real-time", "serverless", "asynchronous", "batch-transform", "multi-model", "multi-container"
]

REALTIME_PAYLOAD_MB = 6.0
SERVERLESS_PAYLOAD_MB = 4.0
ASYNC_PAYLOAD_MB = 1024.0
SYNC_SECONDS = 60.0
ASYNC_SECONDS = 3600.0


class Workload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    live: bool = Field(description="Predictions are needed as requests arrive (not for a dataset at once)")
    payloadMB: float = Field(default=1.0, gt=0, description="Largest request payload")
    processingSeconds: float = Field(default=1.0, gt=0, description="Longest time to answer one request")
    traffic: Literal["steady", "spiky", "intermittent"] = "steady"
    coldStartOk: bool = Field(
        default=False, description="Seconds of cold start after idle time are acceptable"
    )
    models: int = Field(default=1, ge=1, description="Models to serve behind one endpoint")
    containers: int = Field(
        default=1, ge=1, le=15, description="Containers per inference (pipeline or direct)"
    )


class Advice(BaseModel):
    option: Option
    reasons: list[str]
    alsoConsider: list[str] = Field(default_factory=list)
    groupConfig: dict[str, Any] | None = None  # a starting group config smdeploy accepts
    templateParameters: dict[str, str] | None = None  # batch: the schedule's template parameters
    rehearse: str | None = None  # the scenario that rehearses this option


def advise(work: Workload) -> Advice:
    """Recommend one deployment option for ``work`` and say why."""
    size, seconds = work.payloadMB, work.processingSeconds
    if not work.live:
        return Advice(
            option="batch-transform",
            reasons=[
                "predictions are not needed live: score the dataset offline, paying only while the job runs"
            ],
        )
    if size > ASYNC_PAYLOAD_MB or seconds > ASYNC_SECONDS:
        return Advice(
            option="batch-transform",
            reasons=[
                f"a request of {size:g} MB taking {seconds:g} s is beyond asynchronous inference "
                f"({ASYNC_PAYLOAD_MB:g} MB, {ASYNC_SECONDS:g} s): split the data and score it as a batch"
            ],
        )
    if size > REALTIME_PAYLOAD_MB or seconds > SYNC_SECONDS:
        why = []
        if size > REALTIME_PAYLOAD_MB:
            why.append(
                f"payloads of {size:g} MB exceed the {REALTIME_PAYLOAD_MB:g} MB of real-time endpoints"
            )
        if seconds > SYNC_SECONDS:
            why.append(
                f"{seconds:g} s of processing exceeds the {SYNC_SECONDS:g} s a synchronous call may take"
            )
        why.append(
            "asynchronous inference queues requests (up to 1 GB, up to 1 hour each) and writes results to S3"
        )
        also = (
            ["scale to zero between bursts with an autoscaling minimum of 0"]
            if work.traffic != "steady"
            else []
        )
        return Advice(option="asynchronous", reasons=why, alsoConsider=also)
    if work.containers > 1:
        return Advice(
            option="multi-container",
            reasons=[
                f"{work.containers} containers per inference: a serial inference pipeline (pre-process, "
                "predict, post-process) or direct invocation of one container of several on one endpoint"
            ],
        )
    if work.models > 1:
        return Advice(
            option="multi-model",
            reasons=[
                f"{work.models} models sharing one framework container: a multi-model endpoint loads them "
                "from S3 on demand behind one endpoint, far cheaper than one endpoint each"
            ],
            alsoConsider=["real-time with one variant per model when each needs its own instance type"],
        )
    if work.traffic != "steady" and work.coldStartOk and size <= SERVERLESS_PAYLOAD_MB:
        return Advice(
            option="serverless",
            reasons=[
                f"{work.traffic} traffic with idle periods: serverless endpoints scale to zero "
                "and bill per request",
                "cold starts after idle time are acceptable (provisioned concurrency can remove them)",
                f"payloads fit its {SERVERLESS_PAYLOAD_MB:g} MB",
            ],
            alsoConsider=["real-time with autoscaling if latency must stay flat"],
        )
    reasons = [f"live predictions of {size:g} MB answered within {seconds:g} s fit a real-time endpoint"]
    if work.traffic != "steady" and not work.coldStartOk:
        reasons.append("cold starts are not acceptable, so serverless is out; use autoscaling for the peaks")
    elif work.traffic != "steady" and size > SERVERLESS_PAYLOAD_MB:
        reasons.append(f"payloads above {SERVERLESS_PAYLOAD_MB:g} MB rule serverless out")
    return Advice(
        option="real-time",
        reasons=reasons,
        alsoConsider=["canary rollouts with smdeploy's deploy state machine"],
    )


# Where to start once an option is chosen: a group config smdeploy accepts (or the template
# parameters of the batch schedule), and the scenario that rehearses it.
def starter(advice: Advice, work: Workload) -> Advice:
    """``advice`` with a starting configuration and the scenario to rehearse it with."""
    endpoint = "my-endpoint"
    canary = {"type": "canary", "canaryPercent": 10, "bakeMinutes": 10}
    config: dict[str, Any] | None
    parameters: dict[str, str] | None = None
    if advice.option == "batch-transform":
        config, scenario = None, "scenarios/batch-nightly.yaml"
        parameters = {
            "BatchModelPackageGroup": "my-group",
            "BatchDataBucket": "my-scoring-bucket",
            "BatchScheduleExpression": "cron(0 2 * * ? *)",
            "BatchScheduleState": "ENABLED",
        }
    elif advice.option == "asynchronous":
        scale_to_zero = work.traffic != "steady"
        config = {
            "endpoint": endpoint,
            "instanceType": "ml.m5.xlarge",
            "initialInstanceCount": 1,
            "asyncInference": {"outputPath": "s3://smdeploy-async-results/my-endpoint/"},
            "autoscaling": {
                "minCapacity": 0 if scale_to_zero else 1,
                "maxCapacity": 4,
                "targetBacklogPerInstance": 5,
            },
            "strategy": canary,
        }
        scenario = "scenarios/async-scale-to-zero.yaml"
    elif advice.option == "serverless":
        serverless: dict[str, Any] = {"memorySizeMB": 2048, "maxConcurrency": 20}
        config, scenario = {"endpoint": endpoint, "serverless": serverless}, "scenarios/serverless.yaml"
    elif advice.option == "multi-model":
        config = {
            "endpoint": endpoint,
            "instanceType": "ml.m5.xlarge",
            "initialInstanceCount": 2,
            "multiModel": {"artifactPrefix": "s3://my-model-bucket/multi-model/my-endpoint/"},
        }
        # the model role reads the packages' artifacts and the prefix: name both buckets
        parameters = {"ModelArtifactBuckets": "my-pipeline-bucket,my-model-bucket"}
        scenario = "scenarios/multi-model.yaml"
    elif advice.option == "multi-container":
        config = {"endpoint": endpoint, "containerMode": "Serial", "strategy": canary}
        scenario = "scenarios/multi-container.yaml"
    else:
        config = {
            "endpoint": endpoint,
            "instanceType": "ml.m5.large",
            "initialInstanceCount": 2,
            "autoscaling": {"minCapacity": 2, "maxCapacity": 6, "targetInvocationsPerInstance": 100},
            "strategy": canary,
        }
        scenario = "scenarios/realtime-autoscaling.yaml"
    return advice.model_copy(
        update={"groupConfig": config, "templateParameters": parameters, "rehearse": scenario}
    )
