"""The buckets the template lets the model execution role use reach the plan, which refuses others."""

from __future__ import annotations

from pathlib import Path

from tests.statemachine.helpers import execution, rehearse

APPROVE = [{"at": 0, "approve": {"group": "churn", "version": 1}}]


def test_a_package_whose_artifact_is_outside_the_named_buckets_creates_nothing(tmp_path: Path) -> None:
    # Given a stack that lets models read only a project bucket, while the package's artifact is in
    # the SageMaker default bucket (where the local registry puts it, as pipelines do)
    result = rehearse(
        tmp_path,
        {
            "name": "t",
            "groups": {"churn": {"endpoint": "churn-prod"}},
            "parameters": {"ModelArtifactBuckets": "ml-project-artifacts"},
            "timeline": APPROVE,
        },
    )
    ex = execution(result)
    # Then the plan refuses it, naming the field and the location, and nothing is created
    assert (ex["status"], ex["outcome"], ex["error"]) == ("FAILED", "INVALID_REQUEST", "InvalidRequest")
    assert "InferenceSpecification.Containers[0].ModelDataUrl" in ex["cause"]
    assert "s3://sagemaker-us-east-1-123456789012/churn/1/model.tar.gz" in ex["cause"]
    assert not any(
        call.startswith("sagemaker:Create") and "Package" not in call for call in result.report["apiCalls"]
    )


def test_a_capture_destination_the_model_role_cannot_write_creates_nothing(tmp_path: Path) -> None:
    capture = {"samplingPercentage": 20, "destination": "s3://someone-elses-bucket/churn"}
    result = rehearse(
        tmp_path,
        {
            "name": "t",
            "groups": {"churn": {"endpoint": "churn-prod", "dataCapture": capture}},
            "timeline": APPROVE,
        },
    )
    ex = execution(result)
    assert (ex["outcome"], ex["error"]) == ("INVALID_REQUEST", "InvalidRequest")
    assert "dataCapture.destination" in ex["cause"] and "s3://someone-elses-bucket/churn" in ex["cause"]
    assert "sagemaker:CreateEndpoint" not in result.report["apiCalls"]
