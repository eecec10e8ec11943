"""The SageMaker simulator's batch transform jobs: virtual time, outputs in S3, failures, events."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud.engine.cloud import LocalCloud
from localcloud.services.sagemaker.transforms import DEFAULT_FAILURE_REASON, score
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.batch import BatchPlan, start_transform
from tests.integration.test_simulator_support import ACCOUNT, PACKAGE, REGION, cloud_with_models, settings

BUCKET = "scoring"
JOB_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:transform-job/{{}}"


def job_request(name: str = "nightly", model: str = "m1", prefix: str = "in/") -> dict[str, Any]:
    return {
        "TransformJobName": name,
        "ModelName": model,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{prefix}"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": f"s3://{BUCKET}/out/", "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        "Tags": [{"Key": "smdeploy:managed", "Value": "true"}],
    }


def put_inputs(cloud: LocalCloud) -> None:
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="in/part-1.csv", Body=b"1,2\n3,4\n")
    s3.put_object(Bucket=BUCKET, Key="in/nested/part-2.csv", Body=b"5,6\n")


def objects(cloud: LocalCloud, prefix: str) -> dict[str, str]:
    s3 = cloud.client("s3")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read().decode() for o in listed}


def transform_events(cloud: LocalCloud) -> list[tuple[float, dict[str, Any]]]:
    return [
        (d.at, d.event["detail"])
        for d in cloud.bus.deliveries
        if d.event["detail-type"] == "SageMaker Transform Job State Change"
    ]


def test_a_job_is_in_progress_for_transform_seconds_then_writes_one_output_per_input_object() -> None:
    with cloud_with_models() as cloud:
        put_inputs(cloud)
        sm = cloud.client("sagemaker")
        cloud.scheduler.at(600, lambda: sm.create_transform_job(**job_request()))
        cloud.run(600)
        during = sm.describe_transform_job(TransformJobName="nightly")
        assert during["TransformJobStatus"] == "InProgress"
        assert "TransformEndTime" not in during and "FailureReason" not in during
        assert objects(cloud, "out/") == {}
        cloud.run()
        assert cloud.scheduler.now == 600 + 900  # transformSeconds defaults to 900
        after = sm.describe_transform_job(TransformJobName="nightly")
        assert after["TransformJobStatus"] == "Completed" and "FailureReason" not in after
        started = after["CreationTime"].timestamp()
        assert after["TransformStartTime"].timestamp() == started
        assert after["TransformEndTime"].timestamp() - started == 900
        package = PACKAGE.format(1)
        assert objects(cloud, "out/") == {
            "out/part-1.csv.out": f"{score(package, '1,2')}\n{score(package, '3,4')}\n",
            "out/nested/part-2.csv.out": f"{score(package, '5,6')}\n",
        }
        (job,) = cloud.sagemaker_sim.transforms.jobs
        assert (job.status, job.model_package_arn, job.created_at, job.ended_at) == (
            "Completed",
            package,
            600.0,
            1500.0,
        )
        assert job.output_objects == [  # in key order, as S3 lists them
            f"s3://{BUCKET}/out/nested/part-2.csv.out",
            f"s3://{BUCKET}/out/part-1.csv.out",
        ]


def test_outputs_depend_on_the_model_version_and_are_deterministic() -> None:
    assert score(PACKAGE.format(1), "1,2") == score(PACKAGE.format(1), "1,2")
    assert score(PACKAGE.format(1), "1,2") != score(PACKAGE.format(2), "1,2")
    assert 0 <= float(score(PACKAGE.format(1), "1,2")) < 1


def test_every_status_change_is_an_event_shaped_like_sagemakers() -> None:
    with cloud_with_models() as cloud:
        put_inputs(cloud)
        cloud.client("sagemaker").create_transform_job(**job_request())
        cloud.run()
        events = transform_events(cloud)
        assert [(at, detail["TransformJobStatus"]) for at, detail in events] == [
            (0.0, "InProgress"),
            (900.0, "Completed"),
        ]
        _, completed = events[-1]
        assert completed["TransformJobArn"] == JOB_ARN.format("nightly")
        assert completed["ModelName"] == "m1"
        assert completed["TransformOutput"]["S3OutputPath"] == f"s3://{BUCKET}/out/"
        assert completed["TransformEndTime"] - completed["CreationTime"] == 900_000  # epoch millis
        assert completed["FailureReason"] is None
        assert completed["Tags"] == {"smdeploy:managed": "true"}
        assert events[0][1]["TransformEndTime"] is None


def test_a_job_name_is_unique_and_the_model_must_exist() -> None:
    with cloud_with_models() as cloud:
        put_inputs(cloud)
        sm = cloud.client("sagemaker")
        sm.create_transform_job(**job_request())
        with pytest.raises(ClientError) as again:
            sm.create_transform_job(**job_request())
        assert again.value.response["Error"]["Code"] == "ResourceInUse"
        assert JOB_ARN.format("nightly") in again.value.response["Error"]["Message"]
        with pytest.raises(ClientError) as no_model:
            sm.create_transform_job(**job_request(name="other", model="nope"))
        error = no_model.value.response["Error"]
        assert (error["Code"], error["Message"]) == (
            "ValidationException",
            f'Could not find model "arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/nope".',
        )
        assert len(cloud.sagemaker_sim.transforms.jobs) == 1


def test_a_version_whose_transforms_fail_ends_failed_with_its_reason_and_writes_nothing() -> None:
    simulation = settings(v2={"transform_fails": True})
    simulation.transform_seconds = 60
    with cloud_with_models(simulation) as cloud:
        put_inputs(cloud)
        sm = cloud.client("sagemaker")
        sm.create_transform_job(**job_request(name="with-v2", model="m2"))
        cloud.run()
        described = sm.describe_transform_job(TransformJobName="with-v2")
        assert (described["TransformJobStatus"], described["FailureReason"]) == (
            "Failed",
            DEFAULT_FAILURE_REASON,
        )
        assert cloud.scheduler.now == 60
        assert objects(cloud, "out/") == {}
        assert transform_events(cloud)[-1][1]["FailureReason"] == DEFAULT_FAILURE_REASON


def test_nothing_under_the_input_prefix_fails_the_job() -> None:
    with cloud_with_models() as cloud:
        put_inputs(cloud)
        sm = cloud.client("sagemaker")
        sm.create_transform_job(**job_request(prefix="empty/"))
        cloud.run()
        described = sm.describe_transform_job(TransformJobName="nightly")
        assert described["TransformJobStatus"] == "Failed"
        assert f'No S3 objects found under S3 URL "s3://{BUCKET}/empty/"' in described["FailureReason"]


class RacingGateway(SageMakerGateway):
    """Another delivery of the same tick creates the job between this one's check and its create."""

    def __init__(self, cloud: LocalCloud) -> None:
        super().__init__(cloud.client("sagemaker"))
        self.cloud, self.checks = cloud, 0

    def find_transform_job(self, name: str) -> dict[str, Any] | None:
        self.checks += 1
        if self.checks == 1:
            self.cloud.client("sagemaker").create_transform_job(**job_request(name=name))
            return None
        return super().find_transform_job(name)


def test_a_job_created_between_the_check_and_the_create_makes_this_tick_a_duplicate() -> None:
    with cloud_with_models() as cloud:
        put_inputs(cloud)
        plan = BatchPlan(
            modelPackageArn=PACKAGE.format(1),
            modelPackageGroup="churn",
            modelPackageVersion=1,
            modelName="m1",
            transformJobName="churn-20260101-0200",
            scheduledTime="2026-01-01T02:00:00+00:00",
            inputPrefix=f"s3://{BUCKET}/in/",
            outputPrefix=f"s3://{BUCKET}/out/",
            settings={
                "instanceType": "ml.m5.large",
                "instanceCount": 1,
                "contentType": "text/csv",
                "splitType": "Line",
                "assembleWith": "Line",
                "batchStrategy": "MultiRecord",
                "maxPayloadInMB": 6,
            },
        )
        result = start_transform(
            plan, sagemaker=RacingGateway(cloud), role_arn=f"arn:aws:iam::{ACCOUNT}:role/r", tags=[]
        )
        assert (result["started"], result["duplicate"], result["status"]) == (False, True, "InProgress")
        assert len(cloud.sagemaker_sim.transforms.jobs) == 1
