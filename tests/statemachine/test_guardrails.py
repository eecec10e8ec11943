"""guardrails-* strategies through the deploy state machine and the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.test_simulator_support import (
    ENDPOINT,
    baseline_config,
    cloud_with_models,
    live_endpoint,
    variant,
)
from tests.statemachine.helpers import execution, rehearse


def scenario(strategy: dict[str, Any], candidate_error_rate: float = 0.001) -> dict[str, Any]:
    return {
        "name": "guardrails",
        "groups": {"churn": {"endpoint": "churn-prod", "initialInstanceCount": 2, "strategy": strategy}},
        "models": {"churn/1": {"errorRate": 0.001}, "churn/2": {"errorRate": candidate_error_rate}},
        "timeline": [
            {"at": 0, "approve": {"group": "churn", "version": 1}},
            {"at": 3600, "approve": {"group": "churn", "version": 2}},
        ],
    }


def _shares(report: dict[str, Any]) -> list[float]:
    """The new fleet's traffic share at each weight change of the second deployment."""
    out = []
    for change in report["weightChanges"]:
        new = [w for label, w in change["weights"].items() if change["packages"][label] == "churn/2"]
        if new:
            out.append(round(sum(new), 4))
    return out


def test_guardrails_linear_is_one_update_that_sagemaker_shifts_step_by_step(tmp_path: Path) -> None:
    result = rehearse(tmp_path, scenario({"type": "guardrails-linear", "linearSteps": 4, "bakeMinutes": 5}))
    assert execution(result, 2)["outcome"] == "PROMOTED"
    calls = result.report["controlPlaneApiCalls"]
    assert calls["sagemaker:UpdateEndpoint"] == 1
    assert "sagemaker:UpdateEndpointWeightsAndCapacities" not in calls
    assert _shares(result.report) == [0.25, 0.5, 0.75, 1.0, 1.0]
    variants = result.report["endpoints"]["churn-prod"]["variants"]
    # SageMaker requires the variant name of the old config: the candidate serves under it
    assert len(variants) == 1 and variants[0]["name"].startswith("churn-v1-")
    assert not [name for name in result.report["alarms"] if name.startswith("smdeploy-churn-prod-churn-v2")]


def test_a_guardrails_rollback_is_recorded_with_sagemakers_reason_and_cleaned_up(tmp_path: Path) -> None:
    result = rehearse(tmp_path, scenario({"type": "guardrails-canary", "canaryPercent": 10}, 0.3))
    second = execution(result, 2)
    assert (second["status"], second["outcome"], second["error"]) == (
        "FAILED",
        "ROLLED_BACK",
        "DeploymentRolledBack",
    )
    assert "Auto-rollback alarm smdeploy-churn-prod-churn-v2-" in second["cause"]
    assert _shares(result.report) == [0.1]  # never beyond the canary
    endpoint = result.report["endpoints"]["churn-prod"]
    assert [v["modelPackageArn"].rsplit("/", 1)[-1] for v in endpoint["variants"]] == ["1"]
    # the candidate config, model and alarms are gone
    assert list(result.report["endpointConfigDetails"]) == [endpoint["endpointConfigName"]]
    assert not [name for name in result.report["alarms"] if name.startswith("smdeploy-")]


def test_the_simulator_refuses_traffic_routing_to_a_config_with_other_variant_names() -> None:
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud)
        sm.create_endpoint_config(EndpointConfigName="renamed", ProductionVariants=[variant("other", "m2")])
        live_endpoint(cloud)
        routing = {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 60}
        with pytest.raises(ClientError) as refused:
            sm.update_endpoint(
                EndpointName=ENDPOINT,
                EndpointConfigName="renamed",
                DeploymentConfig={"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": routing}},
            )
        assert "keep the variant names" in refused.value.response["Error"]["Message"]
        described = sm.describe_endpoint(EndpointName=ENDPOINT)  # a refused update changes nothing
        assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", "baseline")
