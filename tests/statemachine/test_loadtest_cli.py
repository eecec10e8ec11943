"""``smdeploy loadtest`` and ``smdeploy recommend`` against a rehearsal: the generator drives the local
cloud's ``InvokeEndpoint`` in virtual time and finds the knee the performance profile defines; the
recommendations of a rehearsed Inference Recommender job print cheapest fit first."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from localcloud.cli import main
from localcloud.services.sagemaker.performance import PerformanceProfile, max_rps_within

REPO = Path(__file__).resolve().parents[2]
ACCOUNT, REGION = "123456789012", "us-east-1"
PROFILE = {"maxRps": 40, "latencyMs": 35}
INSTANCES = 2
P99_MS = 200

SERVING = {
    "name": "churn/1 serves on two ml.m5.large; its profile saturates one at 40 requests/s",
    "groups": {
        "churn": {"endpoint": "churn-prod", "instanceType": "ml.m5.large", "initialInstanceCount": INSTANCES}
    },
    "models": {"churn/1": {"errorRate": 0.0, "latencyMs": 35, "profiles": {"ml.m5.large": PROFILE}}},
    "simulation": {"endpointCreateSeconds": 480, "requestsPerMinute": 60},
    "timeline": [{"at": 0, "approve": {"group": "churn", "version": 1}}],
    "expect": [{"endpoint": "churn-prod", "serving": "churn/1", "status": "InService"}],
}

PAYLOADS = f"s3://sagemaker-{REGION}-{ACCOUNT}/churn/payloads.tar.gz"
PACKAGE = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/churn/2"
SIZING = {
    "name": "an operator sizes churn/2 with an Inference Recommender job made by hand",
    "models": {
        "churn/2": {
            "latencyMs": 40,
            "profiles": {
                "ml.m5.large": {"maxRps": 20, "latencyMs": 130},
                "ml.c5.xlarge": {"maxRps": 60, "latencyMs": 30},
                "ml.g4dn.xlarge": {"maxRps": 300, "latencyMs": 15},
            },
        }
    },
    "data": {PAYLOADS: "1,2,3"},
    "timeline": [
        {"at": 0, "register": {"group": "churn", "version": 2}},
        {
            "at": 60,
            "aws": {
                "call": "sagemaker:CreateInferenceRecommendationsJob",
                "params": {
                    "JobName": "churn-v2-sizing",
                    "JobType": "Advanced",
                    "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/smdeploy-ModelExecutionRole",
                    "InputConfig": {
                        "ModelPackageVersionArn": PACKAGE,
                        "ContainerConfig": {
                            "PayloadConfig": {
                                "SamplePayloadUrl": PAYLOADS,
                                "SupportedContentTypes": ["text/csv"],
                            }
                        },
                        "EndpointConfigurations": [
                            {"InstanceType": "ml.m5.large"},
                            {"InstanceType": "ml.c5.xlarge"},
                            {"InstanceType": "ml.g4dn.xlarge"},
                        ],
                    },
                    "StoppingConditions": {
                        "MaxInvocations": 6000,
                        "ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 200}],
                    },
                },
            },
        },
    ],
    "until": 10000,
    "expect": [{"executions": 0}],
}


def scenario_file(tmp_path: Path, scenario: dict[str, Any]) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    return path


def test_the_rehearsed_load_test_finds_the_knee_the_profile_defines_within_ten_percent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = scenario_file(tmp_path, SERVING)
    argv = [
        "loadtest",
        "churn-prod",
        "--scenario",
        str(path),
        "--steps",
        "40,70,76,90",
        "--step-seconds",
        "10",
    ]
    code = main([*argv, "--p99-ms", str(P99_MS), "--keep-going", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)  # stdout holds the JSON document alone
    # where the profile's p99 crosses the requirement, per instance, times the instances
    expected = INSTANCES * max_rps_within(
        PerformanceProfile(max_rps=PROFILE["maxRps"], latency_ms=PROFILE["latencyMs"]), 0.99, P99_MS
    )
    knee = report["knee"]
    assert knee["found"] == "between"
    assert knee["rps"] == pytest.approx(expected, rel=0.10), (knee, expected)
    assert report["rehearsal"]["simulatedLatency"] is True  # every answer carried the simulated latency
    steps = {s["offeredRps"]: s for s in report["steps"]}
    assert steps[40]["latencyMs"]["p50"] == pytest.approx(
        PROFILE["latencyMs"], rel=0.15
    )  # flat below the knee
    assert steps[40]["ok"] == steps[40]["sent"] == 400
    # past the capacity of two instances (80/s) requests time out, as SageMaker's ModelError says
    assert steps[90]["timeouts"] > 0 and set(steps[90]["errorCodes"]) == {"ModelError"}
    assert steps[90]["achievedRps"] < 82


def test_a_load_test_before_the_endpoint_serves_exits_2_saying_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = scenario_file(tmp_path, SERVING)
    code = main(
        ["loadtest", "churn-prod", "--scenario", str(path), "--at", "100", "--steps", "10", "--p99-ms", "100"]
    )
    assert code == 2
    assert "endpoint churn-prod is Creating at t=100 s" in capsys.readouterr().err


def test_a_load_test_of_an_endpoint_that_does_not_exist_names_those_that_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = scenario_file(tmp_path, SERVING)
    assert main(["loadtest", "churn-dev", "--scenario", str(path), "--steps", "10", "--p99-ms", "100"]) == 2
    assert "no endpoint 'churn-dev' at t=" in capsys.readouterr().err


def test_recommend_prints_the_rehearsed_job_cheapest_fit_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = scenario_file(tmp_path, SIZING)
    assert main(["recommend", "churn-v2-sizing", "--scenario", str(path), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["status"] == "COMPLETED"
    assert document["requirement"] == {
        "modelLatencyMs": 200.0,
        "percentile": "P95",
        "invocationsPerMinute": 6000.0,
    }
    rows = document["recommendations"]
    assert rows and all(r["fits"] for r in rows)
    costs = [r["costPerHour"] for r in rows]
    assert costs == sorted(costs)
    best = document["cheapestFit"]
    assert best == rows[0]
    # ml.c5.xlarge carries about 58/s each within 200 ms: two carry 100/s and cost less than one g4dn
    assert (best["instanceType"], best["instanceCount"]) == ("ml.c5.xlarge", 2)
    assert best["maxInvocationsPerMinute"] >= 6000

    assert main(["recommend", "churn-v2-sizing", "--scenario", str(path)]) == 0
    text = capsys.readouterr().out
    assert "Cheapest fit: 2 x ml.c5.xlarge" in text


def test_recommend_on_a_job_still_running_says_its_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = scenario_file(tmp_path, SIZING)
    assert main(["recommend", "churn-v2-sizing", "--scenario", str(path), "--at", "100"]) == 2
    assert "job churn-v2-sizing is PENDING, not COMPLETED" in capsys.readouterr().err
    assert main(["recommend", "--scenario", str(path), "--at", "100"]) == 2  # no name: the jobs are listed
    assert "churn-v2-sizing  Advanced  PENDING" in capsys.readouterr().err


def test_recommend_shows_the_job_the_load_test_gate_ran_in_the_repository_scenario(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from localcloud.loadtest import RehearsalRunner
    from localcloud.scenario.contract import load_scenario
    from smdeploy_cli import recommend

    path = REPO / "scenarios" / "loadtest-picks-cheapest-fit.yaml"
    with RehearsalRunner(load_scenario(path), path).open_at(None) as cloud, cloud.quietly():
        client = cloud.client("sagemaker")
        (job,) = recommend.list_jobs(client)  # the gate's job, named after its execution
        args = argparse.Namespace(job=job["JobName"], json=True)
        assert recommend.show(args, client) == 0
    document = json.loads(capsys.readouterr().out)
    best = document["cheapestFit"]
    # what the gate picked and the candidate serves on (the scenario's expectations)
    assert (best["instanceType"], best["instanceCount"]) == ("ml.c5.xlarge", 2)
    # ml.m5.large cannot meet the threshold at any load: the job recommends it not at all
    assert {r["instanceType"] for r in document["recommendations"]} == {"ml.c5.xlarge", "ml.g4dn.xlarge"}


def test_the_rehearsal_before_a_load_test_is_the_one_simulate_runs(tmp_path: Path) -> None:
    """``RehearsalRunner.open_at`` and ``Runner.run`` share ``Runner.open``: the same scenario leaves
    the same endpoints at the same virtual time."""
    from localcloud.loadtest import RehearsalRunner
    from localcloud.scenario.contract import load_scenario
    from localcloud.scenario.runner import Runner, describe_endpoints

    path = scenario_file(tmp_path, {**SERVING, "until": 900})
    report = Runner(load_scenario(path), path).run().report
    with RehearsalRunner(load_scenario(path), path).open_at(None) as cloud, cloud.quietly():
        assert cloud.scheduler.now == report["virtualSeconds"] == 900
        assert describe_endpoints(cloud) == report["endpoints"]
