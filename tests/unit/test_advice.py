"""The deployment-option advice follows SageMaker's limits and says why."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from smdeploy.advice import Workload, advise

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("workload", "option"),
    [
        ({"live": False}, "batch-transform"),
        ({"live": True, "payloadMB": 2000}, "batch-transform"),
        ({"live": True, "processingSeconds": 7200}, "batch-transform"),
        ({"live": True, "payloadMB": 7}, "asynchronous"),
        ({"live": True, "processingSeconds": 61}, "asynchronous"),
        ({"live": True, "payloadMB": 1024, "processingSeconds": 3600}, "asynchronous"),
        ({"live": True, "containers": 3}, "multi-container"),
        ({"live": True, "models": 500}, "multi-model"),
        ({"live": True, "traffic": "intermittent", "coldStartOk": True}, "serverless"),
        ({"live": True, "traffic": "spiky", "coldStartOk": True, "payloadMB": 5}, "real-time"),
        ({"live": True, "traffic": "spiky", "coldStartOk": False}, "real-time"),
        ({"live": True}, "real-time"),
        ({"live": True, "payloadMB": 6, "processingSeconds": 60}, "real-time"),
    ],
)
def test_each_workload_gets_the_option_its_limits_allow(workload: dict[str, Any], option: str) -> None:
    advice = advise(Workload.model_validate(workload))
    assert advice.option == option
    assert advice.reasons


def test_ruling_serverless_out_says_why() -> None:
    advice = advise(Workload(live=True, traffic="spiky", coldStartOk=False))
    assert any("cold starts are not acceptable" in reason for reason in advice.reasons)


def test_cli_prints_json_advice_and_rejects_impossible_input() -> None:
    run = [sys.executable, "-m", "localcloud.cli", "advise"]
    done = subprocess.run(
        [*run, "--live", "--payload-mb", "50", "--json"], capture_output=True, text=True, cwd=REPO
    )
    assert done.returncode == 0
    assert json.loads(done.stdout)["option"] == "asynchronous"
    bad = subprocess.run([*run, "--live", "--containers", "16"], capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 2
    assert "containers" in bad.stderr


WORKLOADS = [
    {"live": False},
    {"live": True, "payloadMB": 50, "traffic": "intermittent"},
    {"live": True, "containers": 3},
    {"live": True, "models": 40},
    {"live": True, "traffic": "intermittent", "coldStartOk": True},
    {"live": True},
]


@pytest.mark.parametrize("workload", WORKLOADS, ids=lambda w: advise(Workload.model_validate(w)).option)
def test_every_recommendation_comes_with_a_config_smdeploy_accepts_and_a_scenario(
    workload: dict[str, Any],
) -> None:
    from localcloud.engine.template import parameter_problem, template_parameters
    from smdeploy.advice import starter
    from smdeploy.models import GroupConfig

    work = Workload.model_validate(workload)
    advice = starter(advise(work), work)
    assert advice.rehearse is not None and (REPO / advice.rehearse).is_file()
    if advice.option == "batch-transform":
        assert advice.groupConfig is None and advice.templateParameters
        assert set(advice.templateParameters) <= set(template_parameters())
    else:
        assert advice.groupConfig is not None
        GroupConfig.model_validate(advice.groupConfig)  # the group config parser accepts it as it is
    declared = template_parameters()
    for name, value in (advice.templateParameters or {}).items():
        assert parameter_problem(declared[name], value) is None, name  # CloudFormation would take it
