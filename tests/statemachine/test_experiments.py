"""A/B tests, shadow tests and the statistical judge, rehearsed with the real ASL and handlers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.statemachine.helpers import execution, rehearse, repository_rehearsal, same_scenario

REPO = Path(__file__).resolve().parents[2]


def _scenario(name: str, **changes: Any) -> dict[str, Any]:
    """A scenario of scenarios/ with some keys replaced (``groups``' strategy merged key by key)."""
    scenario = yaml.safe_load((REPO / "scenarios" / f"{name}.yaml").read_text())
    strategy = changes.pop("strategy", None)
    if strategy:
        scenario["groups"]["churn"]["strategy"].update(strategy)
    scenario.update(changes)
    scenario.pop("expect", None)
    return scenario


def _api_calls(rehearsal: Any) -> dict[str, int]:
    return dict(rehearsal.report["apiCalls"])


@same_scenario("ab-test-candidate-wins")
def test_a_winning_candidate_is_promoted_before_the_deadline_with_the_decision_recorded() -> None:
    rehearsal = repository_rehearsal("ab-test-candidate-wins")
    ex = execution(rehearsal, 2)
    assert (ex["status"], ex["outcome"], ex["verdict"]) == ("SUCCEEDED", "PROMOTED", "CANDIDATE_WINS")
    experiment = ex["experiment"]
    assert experiment["decision"] == "CANDIDATE_WINS"
    assert experiment["relCiLow"] > 0 < experiment["relativeEffect"]  # the interval excludes no effect
    assert experiment["pValue"] <= 0.05
    assert experiment["baselineSamples"] > 1000 and experiment["candidateSamples"] > 1000
    assert "mSPRT" in experiment["test"]
    assert ex["stoppedAt"] - ex["startedAt"] < 24 * 3600 / 4  # far from maxDurationMinutes (24 h)


def test_the_candidates_alarms_still_roll_an_ab_test_back_at_once(tmp_path: Path) -> None:
    scenario = _scenario("ab-test-candidate-wins")
    scenario["models"]["churn/2"]["errorRate"] = 0.2  # converts better, but fails a fifth of its requests
    ex = execution(rehearse(tmp_path, scenario), 2)
    assert (ex["status"], ex["outcome"], ex["verdict"]) == ("FAILED", "ROLLED_BACK", "UNHEALTHY")
    assert "5xx-rate is ALARM" in ex["cause"]
    assert ex["stoppedAt"] - ex["startedAt"] < 30 * 60


def test_a_winner_only_reported_leaves_the_baseline_serving_alone(tmp_path: Path) -> None:
    rehearsal = rehearse(tmp_path, _scenario("ab-test-candidate-wins", strategy={"onWinner": "report"}))
    ex = execution(rehearsal, 2)
    assert (ex["status"], ex["outcome"], ex["verdict"]) == ("SUCCEEDED", "ROLLED_BACK", "CANDIDATE_WINS")
    assert ex["experiment"]["decision"] == "CANDIDATE_WINS"
    serving = [v for v in rehearsal.report["endpoints"]["churn-prod"]["variants"] if v["weight"] > 0]
    assert [v["modelPackageArn"].rsplit("/", 2)[-2:] for v in serving] == [["churn", "1"]]


@same_scenario("ab-test-no-difference")
def test_no_difference_stops_early_by_futility_not_at_the_deadline() -> None:
    ex = execution(repository_rehearsal("ab-test-no-difference"), 2)
    assert ex["verdict"] == "NO_DIFFERENCE"
    assert ex["stoppedAt"] - ex["startedAt"] < 720 * 60  # maxDurationMinutes
    low, high = ex["experiment"]["relCiLow"], ex["experiment"]["relCiHigh"]
    assert low > -0.1 and high < 0.1  # the interval rules out a difference as large as the MDE


@same_scenario("ab-test-sample-ratio-mismatch")
def test_a_sample_ratio_mismatch_stops_the_test_as_invalid_with_its_p_value() -> None:
    ex = execution(repository_rehearsal("ab-test-sample-ratio-mismatch"), 2)
    assert (ex["outcome"], ex["verdict"]) == ("ROLLED_BACK", "INVALID")
    assert ex["experiment"]["srmPValue"] < 0.001
    assert "sample-ratio mismatch" in ex["cause"]


def test_a_primary_metric_never_published_is_refused_before_anything_changes(tmp_path: Path) -> None:
    scenario = _scenario(
        "ab-test-candidate-wins", strategy={"primaryMetric": {"name": "Revenue", "namespace": "churn/sales"}}
    )
    rehearsal = rehearse(tmp_path, scenario)
    ex = execution(rehearsal, 2)
    assert ex["outcome"] == "INVALID_REQUEST"
    assert "strategy.primaryMetric" in ex["cause"] and "Revenue" in ex["cause"]
    calls = _api_calls(rehearsal)
    # the first deployment's model and config only; the endpoint never updated
    assert calls.get("sagemaker:CreateModel") == 1 and calls.get("sagemaker:CreateEndpointConfig") == 1
    assert not calls.get("sagemaker:UpdateEndpoint")


def test_an_ab_test_on_a_serverless_endpoint_is_refused_naming_the_key(tmp_path: Path) -> None:
    scenario = _scenario("ab-test-candidate-wins")
    group = scenario["groups"]["churn"]
    del group["instanceType"], group["initialInstanceCount"]
    group["serverless"] = {"memorySizeMB": 2048, "maxConcurrency": 5}
    ex = execution(rehearse(tmp_path, scenario), 2)
    assert ex["outcome"] == "INVALID_REQUEST"
    assert "strategy.type" in ex["cause"] and "serverless" in ex["cause"]


def test_the_statistical_judge_names_each_metric_with_its_effect_and_p_value(tmp_path: Path) -> None:
    scenario = _scenario("canary-statistical-judge")
    ex = execution(rehearse(tmp_path, scenario), 2)
    assert (ex["outcome"], ex["verdict"]) == ("ROLLED_BACK", "UNHEALTHY")
    assert "errorRate" in ex["cause"] and "p=" in ex["cause"] and "WORSE" in ex["cause"]


def test_the_statistical_judge_promotes_a_candidate_as_good_as_the_baseline(tmp_path: Path) -> None:
    scenario = _scenario("canary-statistical-judge")
    scenario["models"]["churn/2"] = {"errorRate": 0.001, "latencyMs": 40}
    ex = execution(rehearse(tmp_path, scenario), 2)
    assert (ex["status"], ex["outcome"]) == ("SUCCEEDED", "PROMOTED")


def test_too_little_traffic_is_inconclusive_for_the_statistical_judge_never_a_promotion(
    tmp_path: Path,
) -> None:
    scenario = _scenario("canary-statistical-judge", strategy={"minInvocations": 100000, "maxExtensions": 1})
    scenario["models"]["churn/2"] = {"errorRate": 0.001, "latencyMs": 40}
    ex = execution(rehearse(tmp_path, scenario), 2)
    assert (ex["outcome"], ex["verdict"]) == ("ROLLED_BACK", "INCONCLUSIVE")


@same_scenario("shadow-fails")
def test_a_failing_shadow_never_answers_a_user_request() -> None:
    rehearsal = repository_rehearsal("shadow-fails")
    ex = execution(rehearsal, 2)
    assert (ex["outcome"], ex["verdict"]) == ("ROLLED_BACK", "UNHEALTHY")
    states = [s["name"] for s in ex["states"]]
    assert "Shift traffic to candidate" not in states and "Judge shadow" in states
    variants = rehearsal.report["invocations"]["churn-prod"]
    candidate = [name for name in variants if name.startswith("churn-v2")]
    assert candidate and all(variants[name].get("shadow") for name in candidate)
    assert sum(variants[name]["requests"] for name in candidate) > 0  # it did receive copies


def test_a_shadow_that_stops_after_passing_leaves_the_baseline_and_succeeds(tmp_path: Path) -> None:
    scenario = _scenario("shadow-then-canary", strategy={"then": "stop"})
    del scenario["groups"]["churn"]["strategy"]["steps"]  # steps belong to what follows a shadow
    rehearsal = rehearse(tmp_path, scenario)
    ex = execution(rehearsal, 2)
    assert (ex["status"], ex["outcome"], ex["verdict"]) == ("SUCCEEDED", "ROLLED_BACK", "SHADOW_PASSED")
    assert "Shift traffic to candidate" not in [s["name"] for s in ex["states"]]


def _captured_shadow() -> dict[str, Any]:
    """shadow-then-canary with every request captured into the template's capture bucket."""
    scenario = _scenario("shadow-then-canary")
    capture = {"samplingPercentage": 100, "destination": "s3://smdeploy-data-capture/churn"}
    scenario["groups"]["churn"]["dataCapture"] = capture
    scenario["data"] = {"s3://smdeploy-data-capture/README": "captured requests"}  # creates the bucket
    return scenario


def test_a_shadow_whose_predictions_disagree_with_production_fails(tmp_path: Path) -> None:
    scenario = _captured_shadow()
    scenario["models"]["churn/1"]["positiveRate"] = 0.2
    scenario["models"]["churn/2"]["positiveRate"] = 0.5  # agrees on about 70% of the requests
    ex = execution(rehearse(tmp_path, scenario), 2)
    assert (ex["outcome"], ex["verdict"]) == ("ROLLED_BACK", "UNHEALTHY")
    assert "agree with production" in ex["cause"]


def test_a_shadow_whose_predictions_agree_goes_on_to_the_canary(tmp_path: Path) -> None:
    scenario = _captured_shadow()
    scenario["models"]["churn/2"]["positiveRate"] = 0.21
    ex = execution(rehearse(tmp_path, scenario), 2)
    assert (ex["status"], ex["outcome"]) == ("SUCCEEDED", "PROMOTED")
    shadow = next(v for v in ex["verdicts"] if v["step"] == 0 and v["decision"] == "NEXT_STEP")
    assert any("agree with production on 9" in reason for reason in shadow["reasons"])  # measured, ~99%
