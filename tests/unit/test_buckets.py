"""The plan refuses S3 locations the model execution role cannot use, before anything is created.

SageMaker reads artifacts and writes captured data and async results with the role passed to
CreateModel ("How to use SageMaker AI execution roles", SageMaker Developer Guide); the role may
only use the buckets the stack names (template parameters ModelArtifactBuckets, DataCaptureBucket,
AsyncResultsBucket, BatchDataBucket).
"""

from __future__ import annotations

from typing import Any

import pytest

from smdeploy.buckets import RoleBuckets, bucket_of
from smdeploy.errors import InvalidRequest
from smdeploy.models import DeploymentPlan, DeployRequest, GroupConfig
from smdeploy.plan import build_plan

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
DEFAULT_BUCKET = "sagemaker-us-east-1-123456789012"
BUCKETS = RoleBuckets(
    read=(DEFAULT_BUCKET, "ml-project-artifacts"),
    write=("smdeploy-data-capture", "smdeploy-async-results", "smdeploy-batch-data"),
)
DEFAULTS: dict[str, Any] = {
    "instanceType": "ml.m5.large",
    "initialInstanceCount": 1,
    "pollSeconds": 30,
    "deployTimeoutSeconds": 1800,
}
SSM = "ssm:/smdeploy/groups/churn"


def package(*containers: dict[str, Any]) -> dict[str, Any]:
    return {
        "ModelPackageArn": ARN,
        "ModelPackageStatus": "Completed",
        "ModelApprovalStatus": "Approved",
        "InferenceSpecification": {
            "Containers": list(containers)
            or [{"Image": IMAGE, "ModelDataUrl": f"s3://{DEFAULT_BUCKET}/churn/3/model.tar.gz"}]
        },
    }


def plan(
    pkg: dict[str, Any] | None = None, buckets: RoleBuckets | None = BUCKETS, **group: Any
) -> DeploymentPlan:
    return build_plan(
        DeployRequest(source="approval", modelPackageArn=ARN),
        package=pkg or package(),
        group_config=GroupConfig.model_validate({"endpoint": "churn-prod", **group}),
        group_config_source=SSM,
        defaults=DEFAULTS,
        live_endpoint=None,
        role_buckets=buckets,
    )


def refusal(pkg: dict[str, Any] | None = None, **group: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        plan(pkg, **group)
    return caught.value


# --- model artifacts -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        f"s3://{DEFAULT_BUCKET}/churn/pipelines-x/output/model.tar.gz",
        "s3://ml-project-artifacts/churn/model.tar.gz",
        f"https://{DEFAULT_BUCKET}.s3.us-east-1.amazonaws.com/churn/model.tar.gz",
    ],
)
def test_an_artifact_in_a_named_bucket_plans(url: str) -> None:
    assert plan(package({"Image": IMAGE, "ModelDataUrl": url})).action == "CREATE"


def test_an_artifact_outside_the_named_buckets_is_refused_naming_the_field_and_the_location() -> None:
    url = "s3://sagemaker-project-p-abc123/churn/pipelines-x/output/model.tar.gz"
    exc = refusal(package({"Image": IMAGE, "ModelDataUrl": url}))

    assert exc.field == "InferenceSpecification.Containers[0].ModelDataUrl"
    assert url in exc.problem
    assert "ModelArtifactBuckets" in exc.problem and DEFAULT_BUCKET in exc.problem


def test_every_container_of_a_pipeline_is_checked() -> None:
    good = {"Image": IMAGE, "ModelDataUrl": f"s3://{DEFAULT_BUCKET}/a/model.tar.gz"}
    bad = {"Image": IMAGE, "ModelDataUrl": "s3://elsewhere/b/model.tar.gz"}

    assert refusal(package(good, bad)).field == "InferenceSpecification.Containers[1].ModelDataUrl"


def test_an_uncompressed_model_data_source_outside_the_buckets_is_refused() -> None:
    source = {"S3DataSource": {"S3Uri": "s3://elsewhere/churn/model/", "S3DataType": "S3Prefix"}}
    exc = refusal(package({"Image": IMAGE, "ModelDataSource": source}))

    assert exc.field == "InferenceSpecification.Containers[0].ModelDataSource.S3DataSource.S3Uri"
    assert "s3://elsewhere/churn/model/" in exc.problem


def test_a_container_without_artifacts_needs_no_bucket() -> None:
    assert plan(package({"Image": IMAGE})).action == "CREATE"


def test_an_address_that_names_no_bucket_is_refused() -> None:
    assert refusal(package({"Image": IMAGE, "ModelDataUrl": "https://example.com/model.tar.gz"})).field == (
        "InferenceSpecification.Containers[0].ModelDataUrl"
    )


def test_without_role_buckets_nothing_is_checked() -> None:
    elsewhere = package({"Image": IMAGE, "ModelDataUrl": "s3://elsewhere/model.tar.gz"})
    assert plan(elsewhere, buckets=None).action == "CREATE"


# --- what the group config makes the role read or write ----------------------------------------
@pytest.mark.parametrize(
    ("group", "field", "uri"),
    [
        (
            {"dataCapture": {"samplingPercentage": 20, "destination": "s3://capture-bucket/churn"}},
            "dataCapture.destination",
            "s3://capture-bucket/churn",
        ),
        (
            {"asyncInference": {"outputPath": "s3://results-elsewhere/churn/"}},
            "asyncInference.outputPath",
            "s3://results-elsewhere/churn/",
        ),
        (
            {
                "asyncInference": {
                    "outputPath": "s3://smdeploy-async-results/churn/",
                    "failurePath": "s3://failures-elsewhere/churn/",
                }
            },
            "asyncInference.failurePath",
            "s3://failures-elsewhere/churn/",
        ),
        (
            {"multiModel": {"artifactPrefix": "s3://mme-elsewhere/churn/"}},
            "multiModel.artifactPrefix",
            "s3://mme-elsewhere/churn/",
        ),
    ],
)
def test_a_group_location_the_role_cannot_use_is_refused_naming_field_location_and_config(
    group: dict[str, Any], field: str, uri: str
) -> None:
    exc = refusal(**group)

    assert exc.field == field
    assert uri in exc.problem and SSM in exc.problem


def test_capture_and_async_locations_in_the_writable_buckets_plan() -> None:
    planned = plan(
        dataCapture={"samplingPercentage": 20, "destination": "s3://smdeploy-data-capture/churn"},
        asyncInference={
            "outputPath": "s3://smdeploy-async-results/churn/",
            "failurePath": "s3://smdeploy-async-results/churn-failed/",
        },
    )
    assert planned.dataCapture and planned.asyncInference


def test_capture_to_a_bucket_the_role_may_only_read_is_refused() -> None:
    """Reading artifacts from a bucket does not let the role write captured data there."""
    exc = refusal(dataCapture={"samplingPercentage": 5, "destination": f"s3://{DEFAULT_BUCKET}/capture"})
    assert exc.field == "dataCapture.destination" and "DataCaptureBucket" in exc.problem


@pytest.mark.parametrize(
    ("uri", "bucket"),
    [
        ("s3://b-1/k", "b-1"),
        ("s3://b-1", "b-1"),
        ("https://b.1.s3.eu-west-1.amazonaws.com/k", "b.1"),
        ("https://b-1.s3-eu-west-1.amazonaws.com/k", "b-1"),
        ("https://s3.eu-west-1.amazonaws.com/b-1/k", "b-1"),
        ("https://b-1.s3.amazonaws.com/k", "b-1"),
        ("s3://", None),
        ("file:///tmp/model.tar.gz", None),
    ],
)
def test_bucket_of_reads_s3_uris_and_https_addresses(uri: str, bucket: str | None) -> None:
    assert bucket_of(uri) == bucket
