"""Multi-model endpoints through the deploy state machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.statemachine.helpers import execution, rehearse

PREFIX = "s3://mme-models/churn/"
# The model role reads the packages' artifacts (the SageMaker default bucket) and the prefix's bucket.
ARTIFACT_BUCKETS = "sagemaker-us-east-1-123456789012,mme-models"


def scenario(models: dict[str, Any], versions: int, groups: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": "multi-model",
        "groups": groups or {"churn": {"endpoint": "churn-mme", "multiModel": {"artifactPrefix": PREFIX}}},
        "data": {"s3://mme-models/README.txt": "models live under churn/"},
        "parameters": {"ModelArtifactBuckets": ARTIFACT_BUCKETS},
        "models": models,
        "timeline": [
            {"at": 3600 * (v - 1), "approve": {"group": "churn", "version": v}}
            for v in range(1, versions + 1)
        ],
    }


def _models(report: dict[str, Any]) -> list[str]:
    [variant] = report["endpoints"]["churn-mme"]["variants"]
    return list(variant["multiModel"]["targetModels"])


def test_a_later_version_is_copied_under_the_prefix_and_smoke_tested_without_an_update(
    tmp_path: Path,
) -> None:
    result = rehearse(tmp_path, scenario({}, 2))
    assert [execution(result, n)["outcome"] for n in (1, 2)] == ["DEPLOYED", "DEPLOYED"]
    calls = result.report["controlPlaneApiCalls"]
    assert "sagemaker:UpdateEndpoint" not in calls and calls["sagemaker:CreateEndpoint"] == 1
    assert calls["sagemaker-runtime:InvokeEndpoint"] == 2  # one smoke invocation per model
    assert _models(result.report) == ["churn-v1.tar.gz", "churn-v2.tar.gz"]
    assert execution(result, 2)["output"]["targetModel"] == "churn-v2.tar.gz"


def test_a_model_that_fails_its_smoke_test_is_taken_away_again(tmp_path: Path) -> None:
    result = rehearse(tmp_path, scenario({"churn/2": {"failInvoke": True}}, 2))
    second = execution(result, 2)
    assert (second["status"], second["outcome"], second["error"]) == ("FAILED", "FAILED", "SmokeTestFailed")
    assert _models(result.report) == ["churn-v1.tar.gz"]
    assert result.report["endpoints"]["churn-mme"]["status"] == "InService"
    # the failed deployment released the endpoint's lock and closed its claim
    assert not [lock for lock in result.report["locks"] if str(lock["pk"]).startswith("LOCK#")]
    assert [lock["state"] for lock in result.report["locks"]] == ["DONE", "DONE"]


def test_a_multi_model_group_refuses_an_endpoint_that_hosts_a_single_model(tmp_path: Path) -> None:
    groups = {
        "churn": {"endpoint": "shared"},
        "fraud": {"endpoint": "shared", "multiModel": {"artifactPrefix": "s3://mme-models/fraud/"}},
    }
    spec = scenario({}, 1, groups=groups)
    spec["timeline"].append({"at": 3600, "approve": {"group": "fraud", "version": 1}})
    result = rehearse(tmp_path, spec)
    second = execution(result, 2)
    assert (second["outcome"], second["error"]) == ("INVALID_REQUEST", "InvalidRequest")
    assert "hosts a single model" in second["cause"]
    calls = result.report["controlPlaneApiCalls"]
    assert calls["sagemaker:CreateModel"] == 1 and "sagemaker-runtime:InvokeEndpoint" not in calls
