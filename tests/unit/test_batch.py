"""Batch transform planning with fakes: the package, the data, the deterministic job name."""

from __future__ import annotations

from typing import Any

import pytest

from smdeploy.batch import BatchPlan, check_transform, resolve_batch, start_transform
from smdeploy.errors import InvalidRequest, NoApprovedModel, TransformJobFailed

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/{}"


class FakeSageMaker:
    def __init__(self, packages: dict[int, str], jobs: dict[str, dict[str, Any]] | None = None) -> None:
        self.packages = packages  # version -> approval status
        self.jobs = jobs or {}
        self.created: list[str] = []

    def package_arn(self, group: str, version: int) -> str | None:
        return ARN.format(version) if group == "churn" else None

    def find_model_package(self, arn: str) -> dict[str, Any] | None:
        version = int(arn.rsplit("/", 1)[-1])
        if version not in self.packages:
            return None
        return {"ModelPackageArn": arn, "ModelApprovalStatus": self.packages[version]}

    def latest_approved_package(self, group: str) -> dict[str, Any] | None:
        approved = [v for v, status in self.packages.items() if status == "Approved"]
        return {"ModelPackageArn": ARN.format(max(approved))} if approved and group == "churn" else None

    def create_model(self, **kwargs: Any) -> bool:
        self.created.append(f"model:{kwargs['name']}")
        return True

    def find_transform_job(self, name: str) -> dict[str, Any] | None:
        return self.jobs.get(name)

    def create_transform_job(self, **request: Any) -> None:
        self.created.append(f"job:{request['TransformJobName']}")
        self.jobs[request["TransformJobName"]] = {"TransformJobStatus": "InProgress", **request}


class FakeS3:
    def __init__(self, prefixes: set[str]) -> None:
        self.prefixes = prefixes

    def has_objects(self, uri: str) -> bool:
        return uri in self.prefixes


INPUT = {
    "modelPackageGroup": "churn",
    "inputPrefix": "s3://scoring/in/{date}/",
    "outputPrefix": "s3://scoring/out/{date}/",
    "scheduledTime": "2026-01-02T03:00:00Z",
}


def plan(packages: dict[int, str] | None = None, **changes: Any) -> BatchPlan:
    sagemaker = FakeSageMaker(packages or {1: "Approved", 2: "Approved", 3: "PendingManualApproval"})
    return resolve_batch(
        {**INPUT, **changes}, sagemaker=sagemaker, s3=FakeS3({"s3://scoring/in/2026-01-02/"})
    )  # type: ignore[arg-type]


def test_latest_approved_version_is_chosen_and_dates_are_filled_in() -> None:
    result = plan()
    assert result.modelPackageArn == ARN.format(2)
    assert (result.inputPrefix, result.outputPrefix) == (
        "s3://scoring/in/2026-01-02/",
        "s3://scoring/out/2026-01-02/",
    )


def test_a_pinned_version_is_used_when_approved_and_refused_otherwise() -> None:
    assert plan(modelPackageVersion=1).modelPackageVersion == 1
    with pytest.raises(InvalidRequest) as caught:
        plan(modelPackageVersion=3)
    assert caught.value.field == "modelPackageVersion"


def test_a_group_without_approved_package_is_no_approved_model() -> None:
    with pytest.raises(NoApprovedModel):
        plan(packages={1: "Rejected"})


def test_an_input_prefix_without_objects_is_invalid_before_any_job() -> None:
    with pytest.raises(InvalidRequest) as caught:
        plan(scheduledTime="2026-01-03T03:00:00Z")
    assert caught.value.field == "inputPrefix"
    assert "s3://scoring/in/2026-01-03/" in caught.value.problem


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"modelPackageGroup": "bad_group"}, "modelPackageGroup"),
        ({"inputPrefix": "scoring/in"}, "inputPrefix"),
        ({"instanceType": "m5.large"}, "instanceType"),
        ({"maxPayloadInMB": 101}, "maxPayloadInMB"),
        ({"batchStrategy": "Everything"}, "batchStrategy"),
        ({"schedule": "daily"}, "schedule"),
        ({"scheduledTime": "yesterday"}, "scheduledTime"),
    ],
)
def test_malformed_input_is_invalid_naming_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        plan(**change)
    assert caught.value.field == field


def test_job_name_is_deterministic_per_group_and_tick_and_valid() -> None:
    first, again, same_tick = plan(), plan(), plan(scheduledTime="2026-01-02T03:00:00+00:00")
    assert first.transformJobName == again.transformJobName == same_tick.transformJobName
    other = resolve_batch(  # a different tick
        {**INPUT, "scheduledTime": "2026-01-02T04:00:00Z", "inputPrefix": "s3://scoring/in/"},
        sagemaker=FakeSageMaker({1: "Approved"}),  # type: ignore[arg-type]
        s3=FakeS3({"s3://scoring/in/"}),  # type: ignore[arg-type]
    )
    assert other.transformJobName != first.transformJobName
    assert len(first.transformJobName) <= 63


def test_a_tick_delivered_twice_starts_one_job() -> None:
    sagemaker = FakeSageMaker({1: "Approved"})
    batch_plan = plan()
    first = start_transform(batch_plan, sagemaker=sagemaker, role_arn="arn:aws:iam::1:role/r", tags=[])  # type: ignore[arg-type]
    second = start_transform(batch_plan, sagemaker=sagemaker, role_arn="arn:aws:iam::1:role/r", tags=[])  # type: ignore[arg-type]
    assert (first["started"], second["started"], second["duplicate"]) == (True, False, True)
    assert [c for c in sagemaker.created if c.startswith("job:")] == [f"job:{batch_plan.transformJobName}"]


def test_a_failed_job_raises_with_its_failure_reason() -> None:
    batch_plan = plan()
    sagemaker = FakeSageMaker(
        {1: "Approved"},
        {
            batch_plan.transformJobName: {
                "TransformJobStatus": "Failed",
                "FailureReason": "ClientError: bad row",
            }
        },
    )
    with pytest.raises(TransformJobFailed, match="ClientError: bad row"):
        check_transform(batch_plan, sagemaker=sagemaker)  # type: ignore[arg-type]


# --- what the model execution role may read and write ---------------------------------------------
def _with_artifact(url: str) -> FakeSageMaker:
    sagemaker = FakeSageMaker({1: "Approved"})
    described = sagemaker.find_model_package

    def find_model_package(arn: str) -> dict[str, Any] | None:
        found = described(arn)
        return found and {
            **found,
            "InferenceSpecification": {"Containers": [{"Image": "i", "ModelDataUrl": url}]},
        }

    sagemaker.find_model_package = find_model_package  # type: ignore[method-assign]
    return sagemaker


def test_the_package_artifact_and_the_output_must_lie_in_the_model_role_buckets() -> None:
    from smdeploy.buckets import RoleBuckets

    buckets = RoleBuckets(read=("sagemaker-us-east-1-123456789012",), write=("scoring",))
    s3 = FakeS3({"s3://scoring/in/2026-01-02/"})
    good = _with_artifact("s3://sagemaker-us-east-1-123456789012/churn/1/model.tar.gz")
    pinned = {**INPUT, "modelPackageVersion": 1}

    assert resolve_batch(pinned, sagemaker=good, s3=s3, role_buckets=buckets).modelPackageVersion == 1  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest) as caught:
        resolve_batch(
            pinned, sagemaker=_with_artifact("s3://elsewhere/m.tar.gz"), s3=s3, role_buckets=buckets
        )  # type: ignore[arg-type]
    assert caught.value.field == "InferenceSpecification.Containers[0].ModelDataUrl"
    assert "s3://elsewhere/m.tar.gz" in caught.value.problem
    with pytest.raises(InvalidRequest) as caught:
        resolve_batch(
            {**pinned, "outputPrefix": "s3://not-writable/out/"}, sagemaker=good, s3=s3, role_buckets=buckets
        )  # type: ignore[arg-type]
    assert caught.value.field == "outputPrefix" and "BatchDataBucket" in caught.value.problem
