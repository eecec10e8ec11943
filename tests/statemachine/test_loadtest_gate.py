"""The load-test gate rehearsed: an Inference Recommender job sizes the candidate before it serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.statemachine.helpers import execution, rehearse, repository_rehearsal, same_scenario

REPO = Path(__file__).resolve().parents[2]


def _scenario(name: str) -> dict[str, Any]:
    scenario = yaml.safe_load((REPO / "scenarios" / f"{name}.yaml").read_text())
    scenario.pop("expect", None)
    return scenario


def _serving(rehearsal: Any) -> list[tuple[str, int]]:
    variants = rehearsal.report["endpoints"]["churn-prod"]["variants"]
    return [(v["instanceType"], v["instanceCount"]) for v in variants if v["weight"] > 0]


@same_scenario("loadtest-picks-cheapest-fit")
def test_the_candidate_serves_on_the_cheapest_configuration_that_meets_the_requirement() -> None:
    rehearsal = repository_rehearsal("loadtest-picks-cheapest-fit")
    ex = execution(rehearsal, 2)
    assert (ex["status"], ex["outcome"]) == ("SUCCEEDED", "PROMOTED")
    assert _serving(rehearsal) == [("ml.c5.xlarge", 2)]
    table = ex["loadTest"]["table"]
    # ml.m5.large never meets 200 ms: the job recommends nothing on it
    assert [(row["instanceType"], row["instanceCount"], row["fits"]) for row in table] == [
        ("ml.c5.xlarge", 2, True),
        ("ml.g4dn.xlarge", 1, True),
    ]
    assert table[0]["costPerHour"] < table[1]["costPerHour"]
    assert all(row["costPerHour"] > 0 and row["costPer1000Inferences"] > 0 for row in table)
    assert ex["loadTest"]["chosen"]["instanceCount"] == 2
    states = [s["name"] for s in ex["states"]]
    # waited cheaply: the job's duration, then a look every 10 minutes
    assert states.count("Load test: check") <= 3


@same_scenario("loadtest-no-fit")
def test_no_fit_ends_the_deployment_before_anything_is_made_for_the_candidate() -> None:
    rehearsal = repository_rehearsal("loadtest-no-fit")
    ex = execution(rehearsal, 2)
    assert (ex["status"], ex["outcome"], ex["error"]) == ("FAILED", "NO_FIT", "LoadTestNoFit")
    assert "no configuration tried meets" in ex["cause"]
    calls = rehearsal.report["apiCalls"]
    assert calls.get("sagemaker:CreateModel") == 1 and calls.get("sagemaker:CreateEndpointConfig") == 1
    assert not calls.get("sagemaker:UpdateEndpoint")
    assert _serving(rehearsal) == [("ml.m5.large", 2)]


def test_no_fit_with_use_current_deploys_on_the_current_settings_with_a_note(tmp_path: Path) -> None:
    scenario = _scenario("loadtest-no-fit")
    scenario["groups"]["churn"]["loadTest"]["onNoFit"] = "use-current"
    rehearsal = rehearse(tmp_path, scenario)
    ex = execution(rehearsal, 2)
    assert (ex["status"], ex["outcome"]) == ("SUCCEEDED", "PROMOTED")
    assert _serving(rehearsal) == [("ml.m5.large", 2)]
    assert any("onNoFit use-current" in note for note in ex["notes"])


def _refused(tmp_path: Path, **load_test: Any) -> dict[str, Any]:
    scenario = _scenario("loadtest-picks-cheapest-fit")
    scenario["groups"]["churn"]["loadTest"].update(load_test)
    rehearsal = rehearse(tmp_path, scenario)
    ex = execution(rehearsal, 2)
    assert ex["outcome"] == "INVALID_REQUEST"
    assert not rehearsal.report["apiCalls"].get("sagemaker:CreateInferenceRecommendationsJob")
    return ex


def test_an_instance_type_not_offered_for_real_time_inference_is_refused(tmp_path: Path) -> None:
    ex = _refused(tmp_path, instanceTypes=["ml.m5.large", "ml.m5.99xlarge"])
    assert "loadTest.instanceTypes[1]" in ex["cause"] and "real-time" in ex["cause"]


def test_payloads_the_model_role_cannot_read_are_refused(tmp_path: Path) -> None:
    ex = _refused(tmp_path, payloads="s3://someone-elses-bucket/samples.tar.gz")
    assert "loadTest.payloads" in ex["cause"]


def test_requirements_that_are_not_numbers_are_refused(tmp_path: Path) -> None:
    ex = _refused(tmp_path, requirements={"p99LatencyMs": "fast", "requestsPerSecond": 100})
    assert "loadTest.requirements.p99LatencyMs" in ex["cause"]


def test_a_default_job_sizes_the_candidate_by_sagemakers_cheapest_inference(tmp_path: Path) -> None:
    scenario = _scenario("loadtest-picks-cheapest-fit")
    load_test = scenario["groups"]["churn"]["loadTest"]
    scenario["groups"]["churn"]["loadTest"] = {
        "type": "default",
        "instanceTypes": load_test["instanceTypes"],
        "payloads": load_test["payloads"],
    }
    rehearsal = rehearse(tmp_path, scenario)
    ex = execution(rehearsal, 2)
    assert (ex["status"], ex["outcome"]) == ("SUCCEEDED", "PROMOTED")
    table = ex["loadTest"]["table"]
    per_1000 = [row["costPer1000Inferences"] for row in table]
    assert per_1000 == sorted(per_1000)
    chosen = ex["loadTest"]["chosen"]
    assert _serving(rehearsal) == [(chosen["instanceType"], chosen["instanceCount"])]
