"""The load-test gate in the pure domain: the job it asks for, the table it makes, what it picks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from smdeploy import loadtest
from smdeploy.models import DeploymentPlan

SETTINGS: dict[str, Any] = {
    "type": "advanced",
    "requirements": {"p99LatencyMs": 200, "requestsPerSecond": 100},
    "instanceTypes": ["ml.m5.large", "ml.c5.xlarge", "ml.g4dn.xlarge"],
    "trafficPattern": {"phases": [{"users": 2, "spawnRate": 2, "seconds": 600}]},
    "payloads": None,
    "onNoFit": "fail",
    "maxWaitHours": 6,
}
START = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)


def plan(**settings: Any) -> DeploymentPlan:
    return DeploymentPlan(
        source="approval",
        modelPackageArn="arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/2",
        modelPackageGroup="churn",
        modelPackageVersion=2,
        action="UPDATE",
        endpointName="churn-prod",
        endpointConfigName="churn-prod-v2-0000",
        modelName="churn-v2-0000",
        variantName="churn-v2-0000",
        instanceType="ml.m5.large",
        initialInstanceCount=2,
        pollSeconds=30,
        maxPolls=60,
        loadTest={**SETTINGS, **settings},
        loadTestJobName="churn-prod-v2-lt-0000",
    )


def recommendation(instance: str, per_minute: float, latency: float, per_hour: float) -> dict[str, Any]:
    return {
        "EndpointConfiguration": {"InstanceType": instance, "InitialInstanceCount": 1},
        "Metrics": {
            "MaxInvocations": per_minute,
            "ModelLatency": latency,
            "CostPerHour": per_hour,
            "CostPerInference": per_hour / per_minute / 60,
        },
    }


COMPLETED = {
    "Status": "COMPLETED",
    "InferenceRecommendations": [
        recommendation("ml.m5.large", 900, 260, 0.115),  # never under 200 ms
        recommendation("ml.c5.xlarge", 3600, 80, 0.204),  # 2 needed: 0.408 USD/h
        recommendation("ml.g4dn.xlarge", 18000, 30, 0.736),  # 1 needed: 0.736 USD/h
    ],
}


def test_an_advanced_job_carries_the_requirements_as_stopping_conditions() -> None:
    request = loadtest.job_request(plan(), role_arn="arn:aws:iam::123456789012:role/model")
    assert request["JobType"] == "Advanced"
    assert request["StoppingConditions"] == {
        "MaxInvocations": 6000,
        "ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 200}],
    }
    assert [c["InstanceType"] for c in request["InputConfig"]["EndpointConfigurations"]] == SETTINGS[
        "instanceTypes"
    ]
    phases = request["InputConfig"]["TrafficPattern"]["Phases"]
    assert phases == [{"InitialNumberOfUsers": 2, "SpawnRate": 2, "DurationInSeconds": 600}]


def test_a_default_job_asks_for_instance_recommendations_only() -> None:
    request = loadtest.job_request(plan(type="default", instanceTypes=[]), role_arn="arn:aws:iam::1:role/m")
    assert request["JobType"] == "Default" and "StoppingConditions" not in request
    assert request["InputConfig"] == {"ModelPackageVersionArn": plan().modelPackageArn}


def test_the_cheapest_fleet_that_meets_the_requirement_is_picked_and_sizes_the_candidate() -> None:
    result = loadtest.check(plan(), COMPLETED, START.isoformat(), START + timedelta(hours=1))
    assert result["state"] == "FIT"
    assert [(r["instanceType"], r["instanceCount"], r["fits"]) for r in result["table"]] == [
        ("ml.c5.xlarge", 2, True),
        ("ml.g4dn.xlarge", 1, True),
        ("ml.m5.large", 7, False),
    ]
    assert result["table"][0]["costPerHour"] == 0.408
    sized = DeploymentPlan.model_validate(result["plan"])
    assert (sized.instanceType, sized.initialInstanceCount, sized.instanceSettingsExplicit) == (
        "ml.c5.xlarge",
        2,
        True,
    )
    assert "cheapest of 3 configurations" in sized.notes[-1]


def test_no_fit_ends_the_deployment_or_keeps_the_current_settings_as_asked() -> None:
    slow = {**COMPLETED, "InferenceRecommendations": COMPLETED["InferenceRecommendations"][:1]}
    failed = loadtest.check(plan(), slow, START.isoformat(), START + timedelta(hours=1))
    assert failed["state"] == "NO_FIT" and "no configuration tried meets" in failed["reason"]
    kept = loadtest.check(plan(onNoFit="use-current"), slow, START.isoformat(), START + timedelta(hours=1))
    assert kept["state"] == "USE_CURRENT"
    assert DeploymentPlan.model_validate(kept["plan"]).instanceType == "ml.m5.large"


def test_a_running_job_is_looked_at_again_until_the_wait_is_over() -> None:
    running = {"Status": "IN_PROGRESS"}
    result = loadtest.check(plan(), running, START.isoformat(), START + timedelta(hours=1))
    assert (result["state"], result["nextWaitSeconds"]) == ("WAIT", loadtest.RECHECK_SECONDS)
    late = loadtest.check(plan(), running, START.isoformat(), START + timedelta(hours=7))
    assert late["state"] == "NO_FIT" and "more than 6 h" in late["reason"]


def test_a_failed_job_is_no_fit_with_its_reason() -> None:
    failed = {"Status": "FAILED", "FailureReason": "Image could not be pulled"}
    result = loadtest.check(plan(), failed, START.isoformat(), START + timedelta(hours=1))
    assert result["state"] == "NO_FIT" and "FAILED: Image could not be pulled" in result["reason"]
