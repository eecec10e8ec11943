"""Inference Recommender jobs in virtual time: statuses, refusals, results from the profiles."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud.engine.cloud import LocalCloud, service_client
from localcloud.iam.requests import Call, requests_for
from localcloud.services.sagemaker.endpoints import ModelBehaviour, SimulationSettings
from localcloud.services.sagemaker.performance import PerformanceProfile, knee_rps, load_point, max_rps_within
from localcloud.services.sagemaker.recommender import PENDING_SECONDS, STOP_SECONDS
from smdeploy.instances import price_per_hour
from tests.integration.test_simulator_support import ACCOUNT, PACKAGE, REGION, ROLE, cloud_with_models

PAYLOAD = "s3://payloads/samples.tar.gz"
PROFILES = {
    "ml.m5.large": PerformanceProfile(max_rps=40, latency_ms=35),
    "ml.c5.xlarge": PerformanceProfile(max_rps=90, latency_ms=30),
    "ml.g4dn.xlarge": PerformanceProfile(max_rps=400, latency_ms=10),
}
TYPES = ["ml.m5.large", "ml.c5.xlarge", "ml.g4dn.xlarge"]


@contextmanager
def recommender_cloud(**behaviour: Any) -> Iterator[LocalCloud]:
    """churn/1 and churn/2 registered; churn/2 with PROFILES; a sample payload in S3."""
    settings = SimulationSettings(
        registry_events=False,
        behaviours={"churn/2": ModelBehaviour(latency_ms=35.0, profiles=dict(PROFILES), **behaviour)},
    )
    with cloud_with_models(settings) as cloud:
        s3 = cloud.client("s3")
        s3.create_bucket(Bucket="payloads")
        s3.put_object(Bucket="payloads", Key="samples.tar.gz", Body=b"payload")
        yield cloud


def advanced(
    cloud: LocalCloud,
    name: str = "loadtest-1",
    *,
    types: list[str] | None = None,
    requests_per_minute: int | None = 18000,
    p95_ms: int | None = 100,
    duration: int | None = None,
    client: Any = None,
    **input_config: Any,
) -> dict[str, Any]:
    stopping: dict[str, Any] = {}
    if requests_per_minute is not None:
        stopping["MaxInvocations"] = requests_per_minute
    if p95_ms is not None:
        stopping["ModelLatencyThresholds"] = [{"Percentile": "P95", "ValueInMilliseconds": p95_ms}]
    config: dict[str, Any] = {
        "ModelPackageVersionArn": PACKAGE.format(2),
        "ContainerConfig": {"PayloadConfig": {"SamplePayloadUrl": PAYLOAD}},
        "TrafficPattern": {
            "TrafficType": "PHASES",
            "Phases": [{"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 120}],
        },
        "EndpointConfigurations": [{"InstanceType": t} for t in types or TYPES],
        **input_config,
    }
    config = {key: value for key, value in config.items() if value is not None}
    if duration is not None:
        config["JobDurationInSeconds"] = duration
    sm = client or cloud.client("sagemaker")
    return dict(
        sm.create_inference_recommendations_job(
            JobName=name,
            JobType="Advanced",
            RoleArn=ROLE,
            InputConfig=config,
            **({"StoppingConditions": stopping} if stopping else {}),
        )
    )


def describe(cloud: LocalCloud, name: str = "loadtest-1") -> dict[str, Any]:
    return dict(cloud.client("sagemaker").describe_inference_recommendations_job(JobName=name))


def refusal(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as refused:
        call()
    return refused.value.response["Error"]["Code"], refused.value.response["Error"]["Message"]


def unvalidated() -> Any:
    """A SageMaker client that sends what botocore would refuse: what the server says is tested."""
    import boto3

    from localcloud.engine.cloud import _FAKE_CREDENTIALS

    return boto3.client(
        "sagemaker", region_name=REGION, config=Config(parameter_validation=False), **_FAKE_CREDENTIALS
    )


# --- statuses in virtual time ----------------------------------------------------------------------
def test_an_advanced_job_moves_through_its_statuses_in_virtual_time() -> None:
    with recommender_cloud() as cloud:
        start = cloud.scheduler.now
        arn = advanced(cloud, duration=3600)["JobArn"]
        assert arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:inference-recommendations-job/loadtest-1"
        assert describe(cloud)["Status"] == "PENDING"
        cloud.run(until=start + PENDING_SECONDS + 1)
        assert describe(cloud)["Status"] == "IN_PROGRESS"
        cloud.run(until=start + 3599)
        assert describe(cloud)["Status"] == "IN_PROGRESS"
        cloud.run(until=start + 3601)
        described = describe(cloud)
        assert described["Status"] == "COMPLETED"
        assert (described["CompletionTime"] - described["CreationTime"]).total_seconds() == pytest.approx(
            3600, abs=1
        )
        log = [(t - start, status) for t, name, status in cloud.recommender.status_log]
        assert log == [(0, "PENDING"), (PENDING_SECONDS, "IN_PROGRESS"), (3600, "COMPLETED")]


def test_job_durations_default_to_the_documented_ones() -> None:
    with recommender_cloud() as cloud:
        start = cloud.scheduler.now
        advanced(cloud)  # no JobDurationInSeconds: about 2 hours
        cloud.client("sagemaker").create_inference_recommendations_job(
            JobName="default-1",
            JobType="Default",
            RoleArn=ROLE,
            InputConfig={
                "ModelPackageVersionArn": PACKAGE.format(2),
                "ContainerConfig": {"PayloadConfig": {"SamplePayloadUrl": PAYLOAD}},
            },
        )
        cloud.run()
        ended = {name: t - start for t, name, status in cloud.recommender.status_log if status == "COMPLETED"}
        assert ended == {"default-1": 2700, "loadtest-1": 7200}


def test_stopping_a_job_stops_it_without_results() -> None:
    with recommender_cloud() as cloud:
        advanced(cloud)
        cloud.run(until=cloud.scheduler.now + 600)
        sm = cloud.client("sagemaker")
        sm.stop_inference_recommendations_job(JobName="loadtest-1")
        assert describe(cloud)["Status"] == "STOPPING"
        cloud.run(until=cloud.scheduler.now + STOP_SECONDS)
        described = describe(cloud)
        assert described["Status"] == "STOPPED" and "InferenceRecommendations" not in described
        cloud.run(until=cloud.scheduler.now + 10_000)
        assert describe(cloud)["Status"] == "STOPPED"
        code, message = refusal(lambda: sm.stop_inference_recommendations_job(JobName="loadtest-1"))
        assert code == "ValidationException" and "STOPPED" in message


def test_a_version_that_never_becomes_healthy_fails_the_job() -> None:
    with recommender_cloud(fail_deploy=True) as cloud:
        advanced(cloud)
        cloud.run()
        described = describe(cloud)
        assert described["Status"] == "FAILED"
        assert "failed the ping health check" in described["FailureReason"]
        assert "InferenceRecommendations" not in described


def test_a_missing_sample_payload_fails_the_job() -> None:
    with recommender_cloud() as cloud:
        config = {"ContainerConfig": {"PayloadConfig": {"SamplePayloadUrl": "s3://payloads/other.tar.gz"}}}
        advanced(cloud, **config)
        cloud.run()
        described = describe(cloud)
        assert described["Status"] == "FAILED"
        assert "s3://payloads/other.tar.gz" in described["FailureReason"]


# --- results ----------------------------------------------------------------------------------------
def test_recommendations_rank_the_cheapest_fitting_configuration_first() -> None:
    with recommender_cloud() as cloud:
        advanced(cloud, requests_per_minute=18000, p95_ms=100)  # 300 requests a second
        cloud.run()
        described = describe(cloud)
        recommendations = described["InferenceRecommendations"]
        ranked = [
            (r["EndpointConfiguration"]["InstanceType"], r["EndpointConfiguration"]["InitialInstanceCount"])
            for r in recommendations
        ]
        # per-instance capacity within P95 <= 100 ms, and the count for 18,000 a minute:
        expected = []
        for instance_type in TYPES:
            per_minute = math.floor(max_rps_within(PROFILES[instance_type], 0.95, 100) * 60)
            count = math.ceil(18000 / per_minute)
            price = price_per_hour(instance_type)
            assert price is not None
            expected.append((price * count, instance_type, count))
        expected.sort()
        assert ranked == [(t, n) for _, t, n in expected]
        # with the shipped prices: 1 g4dn.xlarge (0.7364/h) < 4 c5.xlarge (0.816/h) < 9 m5.large (1.035/h)
        assert ranked == [("ml.g4dn.xlarge", 1), ("ml.c5.xlarge", 4), ("ml.m5.large", 9)]


def test_the_metrics_follow_the_physics_and_the_price_table() -> None:
    with recommender_cloud() as cloud:
        advanced(cloud, types=["ml.m5.large"], requests_per_minute=6000, p95_ms=100)
        cloud.run()
        [recommendation] = describe(cloud)["InferenceRecommendations"]
        metrics = recommendation["Metrics"]
        per_second = max_rps_within(PROFILES["ml.m5.large"], 0.95, 100)
        assert metrics["MaxInvocations"] == math.floor(per_second * 60)  # requests per minute, per instance
        assert metrics["ModelLatency"] == pytest.approx(100, abs=1)  # milliseconds, at the threshold
        assert metrics["CostPerHour"] == pytest.approx(0.115)
        assert metrics["CostPerInference"] == pytest.approx(0.115 / (60 * metrics["MaxInvocations"]))
        assert 85 < metrics["CpuUtilization"] < 100
        assert "MemoryUtilization" not in metrics
        configuration = recommendation["EndpointConfiguration"]
        assert configuration["InitialInstanceCount"] == math.ceil(6000 / metrics["MaxInvocations"])
        assert set(configuration) == {"EndpointName", "VariantName", "InstanceType", "InitialInstanceCount"}
        assert recommendation["ModelConfiguration"] == {}
        assert recommendation["InvocationStartTime"] < recommendation["InvocationEndTime"]


def test_nothing_fitting_completes_without_recommendations_and_the_steps_say_why() -> None:
    with recommender_cloud() as cloud:
        advanced(cloud, types=["ml.m5.large", "ml.c5.xlarge", "ml.r5.large"], p95_ms=20)
        cloud.run()
        described = describe(cloud)
        assert described["Status"] == "COMPLETED"
        assert "InferenceRecommendations" not in described
        steps = cloud.client("sagemaker").list_inference_recommendations_job_steps(JobName="loadtest-1")[
            "Steps"
        ]
        assert [s["Status"] for s in steps] == ["FAILED"] * 3
        reasons = [s["InferenceBenchmark"]["FailureReason"] for s in steps]
        assert "above the threshold of 20 ms" in reasons[0]
        assert "No performance profile for ml.r5.large" in reasons[2]


def test_environment_ranges_are_tested_as_combinations_within_the_test_limit() -> None:
    with recommender_cloud() as cloud:
        ranges = {
            "CategoricalParameterRanges": [
                {"Name": "OMP_NUM_THREADS", "Value": ["1", "2"]},
                {"Name": "SAGEMAKER_MODEL_SERVER_WORKERS", "Value": ["1", "2"]},
            ]
        }
        advanced(
            cloud,
            EndpointConfigurations=[{"InstanceType": "ml.c5.xlarge", "EnvironmentParameterRanges": ranges}],
            ResourceLimit={"MaxNumberOfTests": 3, "MaxParallelOfTests": 1},
        )
        cloud.run()
        steps = cloud.client("sagemaker").list_inference_recommendations_job_steps(JobName="loadtest-1")[
            "Steps"
        ]
        environments = [s["InferenceBenchmark"]["ModelConfiguration"]["EnvironmentParameters"] for s in steps]
        assert len(environments) == 3
        assert environments[0] == [
            {"Key": "OMP_NUM_THREADS", "ValueType": "String", "Value": "1"},
            {"Key": "SAGEMAKER_MODEL_SERVER_WORKERS", "ValueType": "String", "Value": "1"},
        ]


def test_a_default_job_recommends_each_profiled_type_at_its_knee_with_one_instance() -> None:
    with recommender_cloud() as cloud:
        cloud.client("sagemaker").create_inference_recommendations_job(
            JobName="default-1",
            JobType="Default",
            RoleArn=ROLE,
            InputConfig={
                "ModelPackageVersionArn": PACKAGE.format(2),
                "ContainerConfig": {"PayloadConfig": {"SamplePayloadUrl": PAYLOAD}},
            },
        )
        cloud.run()
        recommendations = describe(cloud, "default-1")["InferenceRecommendations"]
        assert {r["EndpointConfiguration"]["InstanceType"] for r in recommendations} == set(TYPES)
        for r in recommendations:
            profile = PROFILES[r["EndpointConfiguration"]["InstanceType"]]
            assert r["EndpointConfiguration"]["InitialInstanceCount"] == 1
            assert r["Metrics"]["MaxInvocations"] == math.floor(knee_rps(profile) * 60)
            at = load_point(profile, r["Metrics"]["MaxInvocations"] / 60).quantile_ms(0.95)
            assert r["Metrics"]["ModelLatency"] == round(at)
        per_inference = [r["Metrics"]["CostPerInference"] for r in recommendations]
        assert per_inference == sorted(per_inference)


# --- refusals -------------------------------------------------------------------------------------------
def test_an_instance_type_not_offered_for_realtime_inference_is_refused_with_sagemakers_message() -> None:
    with recommender_cloud() as cloud:
        code, message = refusal(lambda: advanced(cloud, types=["ml.m5.large", "ml.t3.medium"]))
        assert code == "ValidationException"
        assert message.startswith(
            "1 validation error detected: Value 'ml.t3.medium' at "
            "'inputConfig.endpointConfigurations.2.member.instanceType' failed to satisfy constraint: "
            "Member must satisfy enum value set: ["
        )
        assert cloud.recommender.jobs == {}


def test_what_sagemaker_refuses_at_creation() -> None:
    with recommender_cloud() as cloud:
        sm = cloud.client("sagemaker")
        advanced(cloud)
        code, message = refusal(lambda: advanced(cloud))
        assert code == "ResourceInUse" and "loadtest-1" in message
        unknown = PACKAGE.format(9)
        code, message = refusal(lambda: advanced(cloud, "other", ModelPackageVersionArn=unknown))
        assert (code, message) == ("ValidationException", f'Could not find model package "{unknown}".')
        code, message = refusal(
            lambda: sm.create_inference_recommendations_job(
                JobName="p99",
                JobType="Advanced",
                RoleArn=ROLE,
                InputConfig={
                    "ModelPackageVersionArn": PACKAGE.format(2),
                    "ContainerConfig": {"PayloadConfig": {"SamplePayloadUrl": PAYLOAD}},
                    "EndpointConfigurations": [{"InstanceType": "ml.m5.large"}],
                },
                StoppingConditions={
                    "ModelLatencyThresholds": [{"Percentile": "P99", "ValueInMilliseconds": 100}]
                },
            )
        )
        assert code == "ValidationException" and "specify P95" in message
        code, message = refusal(lambda: advanced(cloud, "long", duration=60))  # phases of 120 s
        assert code == "ValidationException" and "longer than JobDurationInSeconds" in message
        no_payload = {"ContainerConfig": {}}
        code, message = refusal(lambda: advanced(cloud, "nopayload", **no_payload))
        assert code == "ValidationException" and "sample payload" in message
        zip_payload = {"ContainerConfig": {"PayloadConfig": {"SamplePayloadUrl": "s3://payloads/a.zip"}}}
        code, message = refusal(lambda: advanced(cloud, "zip", **zip_payload))
        assert code == "ValidationException" and ".tar.gz" in message
        code, message = refusal(lambda: advanced(cloud, "none", EndpointConfigurations=None))
        assert code == "ValidationException" and "EndpointConfigurations" in message
        assert list(cloud.recommender.jobs) == ["loadtest-1"]


def test_bad_phases_are_refused_by_the_service_too() -> None:
    with recommender_cloud() as cloud:
        client = unvalidated()
        bad = {
            "TrafficPattern": {
                "TrafficType": "PHASES",
                "Phases": [{"InitialNumberOfUsers": 0, "SpawnRate": 1, "DurationInSeconds": 60}],
            }
        }
        code, message = refusal(lambda: advanced(cloud, "bad", client=client, **bad))
        assert code == "ValidationException"
        assert "'inputConfig.trafficPattern.phases.1.member.initialNumberOfUsers'" in message
        crowd = {
            "TrafficPattern": {
                "TrafficType": "PHASES",
                "Phases": [{"InitialNumberOfUsers": 10, "SpawnRate": 1, "DurationInSeconds": 600}],
            }
        }
        code, message = refusal(lambda: advanced(cloud, "crowd", **crowd))
        assert code == "ValidationException" and "between 1 and 3" in message
        short = {
            "TrafficPattern": {
                "TrafficType": "PHASES",
                "Phases": [{"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 60}],
            }
        }
        code, message = refusal(lambda: advanced(cloud, "short", **short))
        assert code == "ValidationException" and "between 120 and 3600" in message
        empty = {"TrafficPattern": {"TrafficType": "PHASES", "Phases": []}}
        code, message = refusal(lambda: advanced(cloud, "empty", client=client, **empty))
        assert code == "ValidationException" and "phases" in message


def test_describing_or_stopping_an_unknown_job_is_resource_not_found() -> None:
    with recommender_cloud() as cloud:
        sm = cloud.client("sagemaker")
        code, message = refusal(lambda: sm.describe_inference_recommendations_job(JobName="nope"))
        assert code == "ResourceNotFound" and "inference-recommendations-job/nope" in message
        code, _ = refusal(lambda: sm.stop_inference_recommendations_job(JobName="nope"))
        assert code == "ResourceNotFound"


# --- listing ------------------------------------------------------------------------------------------------
def test_jobs_are_listed_newest_first_filtered_and_paginated() -> None:
    with recommender_cloud() as cloud:
        for index in range(3):
            advanced(cloud, f"job-{index}")
            cloud.run(until=cloud.scheduler.now + 10)
        sm = cloud.client("sagemaker")
        listed = sm.list_inference_recommendations_jobs()["InferenceRecommendationsJobs"]
        assert [j["JobName"] for j in listed] == ["job-2", "job-1", "job-0"]
        assert listed[0]["ModelPackageVersionArn"] == PACKAGE.format(2)
        assert listed[0]["SamplePayloadUrl"] == PAYLOAD
        page = sm.list_inference_recommendations_jobs(MaxResults=2, SortBy="Name", SortOrder="Ascending")
        assert [j["JobName"] for j in page["InferenceRecommendationsJobs"]] == ["job-0", "job-1"]
        rest = sm.list_inference_recommendations_jobs(
            MaxResults=2, SortBy="Name", SortOrder="Ascending", NextToken=page["NextToken"]
        )
        assert [j["JobName"] for j in rest["InferenceRecommendationsJobs"]] == [
            "job-2"
        ] and "NextToken" not in rest
        cloud.run(until=cloud.scheduler.now + 120)
        in_progress = sm.list_inference_recommendations_jobs(StatusEquals="IN_PROGRESS", NameContains="job-0")
        assert [j["JobName"] for j in in_progress["InferenceRecommendationsJobs"]] == ["job-0"]


# --- IAM --------------------------------------------------------------------------------------------------
def test_the_calls_are_authorized_on_the_job_arn_and_pass_the_role() -> None:
    job_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:inference-recommendations-job/loadtest-1"
    params = {
        "JobName": "loadtest-1",
        "JobType": "Advanced",
        "RoleArn": ROLE,
        "InputConfig": {"ModelPackageVersionArn": PACKAGE.format(2)},
    }
    create = requests_for(
        Call("sagemaker:CreateInferenceRecommendationsJob", params, REGION, ACCOUNT), lambda _: {}
    )
    assert [(r.action, r.resource) for r in create] == [
        ("sagemaker:CreateInferenceRecommendationsJob", job_arn),
        ("iam:PassRole", ROLE),
    ]
    assert create[1].context["iam:passedtoservice"] == ["sagemaker.amazonaws.com"]
    for operation in ("DescribeInferenceRecommendationsJob", "StopInferenceRecommendationsJob"):
        [request] = requests_for(
            Call(f"sagemaker:{operation}", {"JobName": "loadtest-1"}, REGION, ACCOUNT), lambda _: {}
        )
        assert (request.action, request.resource) == (f"sagemaker:{operation}", job_arn)
    for operation in ("ListInferenceRecommendationsJobs", "ListInferenceRecommendationsJobSteps"):
        params = {"JobName": "loadtest-1"} if operation.endswith("Steps") else {}
        [request] = requests_for(Call(f"sagemaker:{operation}", params, REGION, ACCOUNT), lambda _: {})
        assert request.resource == "*"  # List actions take no resource-level permission


def test_the_calls_are_counted_and_can_be_faulted() -> None:
    from localcloud.engine.apicalls import Fault

    settings = SimulationSettings(
        registry_events=False, behaviours={"churn/2": ModelBehaviour(profiles=dict(PROFILES))}
    )
    fault = Fault(call="sagemaker:CreateInferenceRecommendationsJob", error="ThrottlingException")
    with LocalCloud(simulation=settings, faults=[fault]) as cloud:
        cloud.api.injecting = True
        with pytest.raises(ClientError) as throttled:
            service_client("sagemaker", REGION).create_inference_recommendations_job(
                JobName="x",
                JobType="Default",
                RoleArn=ROLE,
                InputConfig={"ModelPackageVersionArn": PACKAGE.format(2)},
            )
        assert throttled.value.response["Error"]["Code"] == "ThrottlingException"
        assert cloud.api.counts["sagemaker:CreateInferenceRecommendationsJob"] == 1
