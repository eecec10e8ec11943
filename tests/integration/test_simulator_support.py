"""Helpers for the simulator tests: a LocalCloud with packages, models and endpoint configs.

Driven with boto3 clients, as the control plane's handlers drive AWS; no state machine runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from localcloud.engine.cloud import LocalCloud
from localcloud.services.sagemaker.endpoints import ModelBehaviour, SimulationSettings

ACCOUNT, REGION = "123456789012", "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker"
PACKAGE = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/churn/{{}}"
ENDPOINT = "churn-prod"
INFERENCE = {
    "Containers": [{"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/sklearn-inference:1.2-1"}],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}


def settings(**behaviours: dict[str, Any]) -> SimulationSettings:
    """Settings with ``v1=dict(error_rate=...)``-style behaviours for churn/1, churn/2...

    Registry events are off: approving the packages must not start the deploy state machine here.
    """
    return SimulationSettings(
        registry_events=False,
        behaviours={f"churn/{key[1:]}": ModelBehaviour(**value) for key, value in behaviours.items()},
    )


@contextmanager
def cloud_with_models(
    simulation: SimulationSettings | None = None, versions: int = 2, seed: int = 7
) -> Iterator[LocalCloud]:
    """A LocalCloud holding approved churn/1..N and a model ``m<N>`` for each."""
    with LocalCloud(simulation=simulation or settings(), seed=seed) as cloud:
        sm = cloud.client("sagemaker")
        sm.create_model_package_group(ModelPackageGroupName="churn")
        for version in range(1, versions + 1):
            sm.create_model_package(
                ModelPackageGroupName="churn",
                InferenceSpecification=INFERENCE,
                ModelApprovalStatus="Approved",
            )
            sm.create_model(
                ModelName=f"m{version}",
                ExecutionRoleArn=ROLE,
                Containers=[{"ModelPackageName": PACKAGE.format(version)}],
            )
        yield cloud


def variant(name: str, model: str, weight: float | None = None, count: int = 1) -> dict[str, Any]:
    out: dict[str, Any] = {
        "VariantName": name,
        "ModelName": model,
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": count,
    }
    if weight is not None:
        out["InitialVariantWeight"] = weight
    return out


CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 100,
    "DestinationS3Uri": "s3://capture-bucket/churn",
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
}


def baseline_config(cloud: LocalCloud, name: str = "baseline", *, capture: bool = False) -> None:
    """A one-variant config; ``capture``: with data capture (what Model Monitor analyses)."""
    cloud.client("sagemaker").create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[variant("baseline", "m1", count=2)],
        **({"DataCaptureConfig": CAPTURE} if capture else {}),
    )


def canary_config(cloud: LocalCloud, name: str = "canary", *, capture: bool = False) -> None:
    cloud.client("sagemaker").create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[variant("baseline", "m1", count=2), variant("candidate", "m2", weight=0.0)],
        **({"DataCaptureConfig": CAPTURE} if capture else {}),
    )


def live_endpoint(cloud: LocalCloud, config: str = "baseline") -> None:
    """Create ``churn-prod`` on ``config`` and run until it is InService."""
    cloud.client("sagemaker").create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=config)
    cloud.run()


def canary_endpoint(cloud: LocalCloud, candidate_weight: float = 0.1, *, capture: bool = False) -> float:
    """A live two-variant endpoint with ``candidate_weight`` on the candidate; returns when it is."""
    baseline_config(cloud, capture=capture)
    canary_config(cloud, capture=capture)
    live_endpoint(cloud)
    sm = cloud.client("sagemaker")
    sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="canary")
    cloud.run()
    sm.update_endpoint_weights_and_capacities(
        EndpointName=ENDPOINT,
        DesiredWeightsAndCapacities=[
            {"VariantName": "baseline", "DesiredWeight": 1.0 - candidate_weight},
            {"VariantName": "candidate", "DesiredWeight": candidate_weight},
        ],
    )
    cloud.run()
    return cloud.scheduler.now


def endpoint_events(cloud: LocalCloud) -> list[tuple[float, str]]:
    return [
        (d.at, d.event["detail"]["EndpointStatus"])
        for d in cloud.bus.deliveries
        if d.event["detail-type"] == "SageMaker Endpoint State Change"
    ]


def dims(variant_name: str) -> list[dict[str, str]]:
    return [{"Name": "EndpointName", "Value": ENDPOINT}, {"Name": "VariantName", "Value": variant_name}]
