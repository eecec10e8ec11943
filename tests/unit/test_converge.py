"""Convergence from observed state, against the local cloud's SageMaker (moto + the endpoint simulator).

Each test puts an endpoint in the state a broken rollout can leave and calls the loop the way the
state machine does: ``converge_step`` until it stops answering ``WAIT``, the virtual clock running
for ``nextWaitSeconds`` in between.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from localcloud.engine.cloud import LocalCloud
from smdeploy import clock, converge
from smdeploy.adapters.autoscaling import ScalingGateway
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.errors import AwsThrottled
from smdeploy.models import DeploymentPlan
from tests.integration.test_simulator_support import (
    CAPTURE,
    ENDPOINT,
    PACKAGE,
    cloud_with_models,
    live_endpoint,
    settings,
    variant,
)
from tests.unit.test_canary_configs import plan as base_plan

BASELINE_PACKAGE, CANDIDATE_PACKAGE = PACKAGE.format(1), PACKAGE.format(2)
MANAGED = [{"Key": "smdeploy:managed", "Value": "true"}, {"Key": "smdeploy:endpoint", "Value": ENDPOINT}]
ROLLOUT = [
    {"Key": converge.ROLLOUT_TAG, "Value": converge.TRANSITIONAL},
    {"Key": converge.BASELINE_CONFIG_TAG, "Value": "baseline"},
    {"Key": converge.BASELINE_VARIANT_TAG, "Value": "baseline"},
]


def plan(**changes: Any) -> DeploymentPlan:
    return base_plan(
        **{
            "endpointName": ENDPOINT,
            "modelPackageArn": CANDIDATE_PACKAGE,
            "modelName": "m2",
            "variantName": "candidate",
            "currentEndpointConfigName": "baseline",
            "baselineVariantName": "baseline",
            "baselineModelName": "m1",
            "baselineModelPackageArn": BASELINE_PACKAGE,
            "canaryConfigName": "canary",
            "finalConfigName": "final",
            "waits": "polling",  # these tests read the poll cadence (events: test_with_events_...)
            **changes,
        }
    )


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with cloud_with_models(settings(v3={"fail_deploy": True}), versions=3) as local:
        yield local


def _configs(cloud: LocalCloud, *, capture: bool = False) -> None:
    """baseline (m1 alone), canary (m1 + m2 at 0, tagged transitional), final (m2 alone)."""
    sm = cloud.client("sagemaker")
    extra: dict[str, Any] = {"DataCaptureConfig": CAPTURE} if capture else {}
    sm.create_endpoint_config(
        EndpointConfigName="baseline", ProductionVariants=[variant("baseline", "m1", count=2)], Tags=MANAGED
    )
    sm.create_endpoint_config(
        EndpointConfigName="canary",
        ProductionVariants=[variant("baseline", "m1", count=2), variant("candidate", "m2", weight=0.0)],
        Tags=[*MANAGED, {"Key": "team", "Value": "churn"}, *ROLLOUT],
        **extra,
    )
    sm.create_endpoint_config(
        EndpointConfigName="final", ProductionVariants=[variant("candidate", "m2")], Tags=MANAGED
    )


def _canary_endpoint(cloud: LocalCloud, candidate_weight: float = 0.1, *, capture: bool = False) -> None:
    """The endpoint mid-canary: the transitional config live, ``candidate_weight`` on the candidate."""
    _configs(cloud, capture=capture)
    live_endpoint(cloud)
    sm = cloud.client("sagemaker")
    sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="canary")
    cloud.run()
    if candidate_weight:
        sm.update_endpoint_weights_and_capacities(
            EndpointName=ENDPOINT,
            DesiredWeightsAndCapacities=[
                {"VariantName": "baseline", "DesiredWeight": 1.0 - candidate_weight},
                {"VariantName": "candidate", "DesiredWeight": candidate_weight},
            ],
        )
        cloud.run()


def _step(
    cloud: LocalCloud,
    previous: dict[str, Any] | None,
    intent: converge.Intent = "rollback",
    gateway: SageMakerGateway | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    return converge.converge_step(
        kwargs.pop("the_plan", None) or plan(),
        previous,
        intent=intent,
        sagemaker=gateway or SageMakerGateway(cloud.client("sagemaker")),
        autoscaling=ScalingGateway(cloud.client("application-autoscaling")),
        **kwargs,
    )


def _loop(cloud: LocalCloud, intent: converge.Intent = "rollback", **kwargs: Any) -> list[dict[str, Any]]:
    """Call converge as the state machine does, the clock running between calls; every result."""
    results = [_step(cloud, {}, intent, **kwargs)]
    while results[-1]["state"] == "WAIT":
        assert len(results) < 100, results[-1]
        cloud.run(until=cloud.scheduler.now + results[-1]["nextWaitSeconds"])
        results.append(_step(cloud, results[-1], intent, **kwargs))
    return results


def _live(cloud: LocalCloud) -> dict[str, Any]:
    return dict(cloud.client("sagemaker").describe_endpoint(EndpointName=ENDPOINT))


# --- tags and outcomes ------------------------------------------------------------------------
def test_transitional_tags_are_recognised_as_a_map_or_as_list_tags_answers() -> None:
    assert converge.is_transitional({"smdeploy:rollout": "transitional"})
    assert converge.is_transitional(ROLLOUT)
    assert not converge.is_transitional({"smdeploy:rollout": "final"})
    assert not converge.is_transitional(MANAGED)
    assert not converge.is_transitional([])


@pytest.mark.parametrize(
    ("intent", "state", "serves", "expected"),
    [
        ("rollback", "CONVERGED", "candidate", "PROMOTED"),
        ("rollback", "CONVERGED", "baseline", "ROLLED_BACK"),
        ("rollback", "CONVERGED", "other", "FAILED"),
        ("rollback", "ABSENT", "none", "FAILED"),
        ("recover", "CONVERGED", "candidate", "PROMOTED"),
        ("recover", "CONVERGED", "baseline", "ABORTED"),
        ("recover", "ABSENT", "none", "ABORTED"),
        ("prepare", "CONVERGED", "candidate", None),
        ("prepare", "ABSENT", "none", None),
        ("rollback", "STUCK", "candidate", "FAILED"),
        ("recover", "WAIT", "baseline", None),
    ],
)
def test_outcome_of_a_finished_loop(intent: Any, state: Any, serves: Any, expected: str | None) -> None:
    assert converge.outcome_of(intent, state, serves) == expected


def test_baseline_only_config_copies_the_variant_at_full_weight_and_its_running_size() -> None:
    config: dict[str, Any] = {
        "ProductionVariants": [
            {
                **variant("baseline", "m1", weight=0.9, count=2),
                "ContainerStartupHealthCheckTimeoutInSeconds": 600,
            },
            variant("candidate", "m2", weight=0.1),
        ],
        "DataCaptureConfig": CAPTURE,
        "AsyncInferenceConfig": {},
        "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/1",
    }
    endpoint = {"ProductionVariants": [{"VariantName": "baseline", "CurrentInstanceCount": 4}]}
    variants, kept = converge.baseline_only_config(config, "baseline", endpoint)
    assert variants == [
        {
            **variant("baseline", "m1", weight=1.0, count=4),
            "ContainerStartupHealthCheckTimeoutInSeconds": 600,
        }
    ]
    assert kept == {"DataCaptureConfig": CAPTURE, "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/1"}
    assert config["ProductionVariants"][0]["InitialVariantWeight"] == 0.9  # the live config is untouched


# --- the loop -----------------------------------------------------------------------------------
def test_no_endpoint_is_absent_at_once(cloud: LocalCloud) -> None:
    result = _step(cloud, None, "recover")
    assert (result["state"], result["action"], result["serves"], result["outcome"]) == (
        "ABSENT",
        "none",
        "none",
        "ABORTED",
    )
    assert (result["endpointStatus"], result["configName"], result["nextWaitSeconds"]) == (None, None, 0)
    assert (result["checks"], result["actions"]) == (1, [])


def test_a_split_canary_goes_back_by_weights_then_to_the_baseline_config(cloud: LocalCloud) -> None:
    _canary_endpoint(cloud, 0.25)
    results = _loop(cloud)
    first = results[0]
    assert (first["state"], first["action"], first["nextWaitSeconds"]) == ("WAIT", "weights", 10)
    assert first["servingPackages"] == [BASELINE_PACKAGE, CANDIDATE_PACKAGE]
    assert (first["serves"], first["outcome"]) == ("other", None)
    last = results[-1]
    assert (last["state"], last["configName"], last["servingPackages"]) == (
        "CONVERGED",
        "baseline",
        [BASELINE_PACKAGE],
    )
    assert (last["serves"], last["outcome"], last["nextWaitSeconds"]) == ("baseline", "ROLLED_BACK", 0)
    assert [a["action"] for a in last["actions"]] == ["weights", "update"]
    assert last["checks"] == len(results)
    assert {r["startedAt"] for r in results} == {first["startedAt"]}
    live = _live(cloud)
    assert (live["EndpointStatus"], live["EndpointConfigName"]) == ("InService", "baseline")


def test_a_canary_with_no_traffic_on_the_candidate_goes_straight_to_the_baseline_config(
    cloud: LocalCloud,
) -> None:
    _canary_endpoint(cloud, 0.0)
    results = _loop(cloud)
    assert (results[0]["action"], results[0]["nextWaitSeconds"]) == ("update", 30)
    assert [a["action"] for a in results[-1]["actions"]] == ["update"]
    assert results[-1]["outcome"] == "ROLLED_BACK"


def test_an_update_in_flight_is_waited_for_not_changed(cloud: LocalCloud) -> None:
    _configs(cloud)
    live_endpoint(cloud)
    cloud.client("sagemaker").update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="final")
    first = _step(cloud, {})
    assert (first["state"], first["action"], first["endpointStatus"]) == ("WAIT", "wait", "Updating")
    assert (first["nextWaitSeconds"], first["actions"], first["outcome"]) == (30, [], None)
    cloud.run()
    # the promotion completed meanwhile: nothing to undo
    done = _step(cloud, first)
    assert (done["state"], done["action"], done["configName"]) == ("CONVERGED", "none", "final")
    assert (done["serves"], done["outcome"], done["checks"]) == ("candidate", "PROMOTED", 2)
    assert done["startedAt"] == first["startedAt"] and done["actions"] == []


def test_with_events_a_wait_lasts_the_event_fallback_which_the_endpoints_change_cuts_short(
    cloud: LocalCloud,
) -> None:
    _configs(cloud)
    live_endpoint(cloud)
    cloud.client("sagemaker").update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="final")
    first = _step(cloud, {}, the_plan=plan(waits="events", eventFallbackSeconds=240))
    assert (first["state"], first["nextWaitSeconds"]) == ("WAIT", 240)


def test_a_failed_first_deployment_is_deleted_and_the_loop_ends_absent(cloud: LocalCloud) -> None:
    sm = cloud.client("sagemaker")
    sm.create_endpoint_config(EndpointConfigName="broken", ProductionVariants=[variant("candidate", "m3")])
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="broken")
    first_plan = plan(
        action="CREATE",
        currentEndpointConfigName=None,
        baselineVariantName=None,
        baselineModelPackageArn=None,
    )
    results = _loop(cloud, the_plan=first_plan)
    statuses = [r["endpointStatus"] for r in results]
    assert statuses[0] == "Creating" and "Failed" in statuses and statuses[-1] is None
    deleting = results[statuses.index("Failed")]
    assert (deleting["action"], deleting["servingPackages"]) == ("delete", [])
    assert (results[-1]["state"], results[-1]["outcome"]) == ("ABSENT", "FAILED")
    assert [a["action"] for a in results[-1]["actions"]] == ["delete"]
    assert sm.list_endpoints()["Endpoints"] == []


def test_a_lost_response_is_safe_to_repeat(cloud: LocalCloud) -> None:
    _canary_endpoint(cloud, 0.5)
    first = _step(cloud, {})
    # The state machine never saw ``first``: it calls again with what it had.
    again = _step(cloud, {})
    assert (first["action"], again["action"], again["endpointStatus"]) == ("weights", "wait", "Updating")
    assert again["actions"] == []
    cloud.run()
    weights = {v["VariantName"]: v["CurrentWeight"] for v in _live(cloud)["ProductionVariants"]}
    assert weights == {"baseline": 1.0, "candidate": 0.0}


def test_a_change_refused_because_the_endpoint_got_busy_is_a_wait(cloud: LocalCloud) -> None:
    _canary_endpoint(cloud, 0.0)
    stale = _live(cloud)  # what the check sees: InService on the transitional config

    class Late(SageMakerGateway):
        def find_endpoint(self, name: str) -> dict[str, Any] | None:
            return dict(stale)

    # meanwhile someone else started an update
    cloud.client("sagemaker").update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="final")
    result = _step(cloud, {}, gateway=Late(cloud.client("sagemaker")))
    assert (result["state"], result["action"], result["actions"]) == ("WAIT", "wait", [])
    assert "busy" in result["detail"]
    assert _live(cloud)["PendingDeploymentSummary"]["EndpointConfigName"] == "final"


def test_throttling_propagates_for_the_state_machine_to_retry(cloud: LocalCloud) -> None:
    class Throttled(SageMakerGateway):
        def find_endpoint(self, name: str) -> dict[str, Any] | None:
            raise AwsThrottled("DescribeEndpoint: ThrottlingException: Rate exceeded")

    with pytest.raises(AwsThrottled):
        _step(cloud, {}, gateway=Throttled(cloud.client("sagemaker")))


def test_a_missing_baseline_config_is_rebuilt_from_the_transitional_one(cloud: LocalCloud) -> None:
    _canary_endpoint(cloud, 0.0, capture=True)
    sm = cloud.client("sagemaker")
    sm.delete_endpoint_config(EndpointConfigName="baseline")
    first = _step(cloud, {})
    rebuilt = converge.restore_config_name(ENDPOINT, "canary")
    assert (first["state"], first["action"]) == ("WAIT", "update")
    assert [a["action"] for a in first["actions"]] == ["create-config", "update"]
    assert rebuilt in first["actions"][1]["detail"] and "no longer exists" in first["actions"][0]["detail"]
    config = sm.describe_endpoint_config(EndpointConfigName=rebuilt)
    assert [
        (v["VariantName"], v["ModelName"], v["InitialVariantWeight"], v["InitialInstanceCount"])
        for v in config["ProductionVariants"]
    ] == [("baseline", "m1", 1.0, 2)]
    assert config["DataCaptureConfig"]["DestinationS3Uri"] == CAPTURE["DestinationS3Uri"]
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=config["EndpointConfigArn"])["Tags"]}
    assert tags == {"smdeploy:managed": "true", "smdeploy:endpoint": ENDPOINT, "team": "churn"}
    # a retry of the same call (lost response) neither creates again nor fails
    assert _step(cloud, {})["action"] == "wait"
    cloud.run()
    done = _step(cloud, first)
    assert (done["state"], done["configName"], done["serves"], done["outcome"]) == (
        "CONVERGED",
        rebuilt,
        "baseline",
        "ROLLED_BACK",
    )
    assert [a["action"] for a in done["actions"]] == ["create-config", "update"]


def test_the_plan_names_the_baseline_when_the_tags_do_not(cloud: LocalCloud) -> None:
    sm = cloud.client("sagemaker")
    _configs(cloud)
    sm.create_endpoint_config(
        EndpointConfigName="canary-untold",
        ProductionVariants=[variant("baseline", "m1"), variant("candidate", "m2", weight=0.0)],
        Tags=[*MANAGED, {"Key": converge.ROLLOUT_TAG, "Value": converge.TRANSITIONAL}],
    )
    live_endpoint(cloud, "canary-untold")
    results = _loop(cloud, "recover")
    assert [a["action"] for a in results[-1]["actions"]] == ["update"]
    assert (results[-1]["configName"], results[-1]["outcome"]) == ("baseline", "ABORTED")


def test_recovery_after_the_promotion_completed_keeps_the_candidate(cloud: LocalCloud) -> None:
    _configs(cloud)
    live_endpoint(cloud, "final")
    result = _step(cloud, {}, "recover")
    assert (result["state"], result["serves"], result["outcome"], result["actions"]) == (
        "CONVERGED",
        "candidate",
        "PROMOTED",
        [],
    )
    assert (result["servingPackages"], result["nextWaitSeconds"]) == ([CANDIDATE_PACKAGE], 0)


def test_prepare_leaves_a_stable_endpoint_alone_and_reports_no_outcome(cloud: LocalCloud) -> None:
    _configs(cloud)
    live_endpoint(cloud)
    result = _step(cloud, None, "prepare")
    assert (result["state"], result["action"], result["serves"], result["outcome"]) == (
        "CONVERGED",
        "none",
        "baseline",
        None,
    )


def test_a_package_to_avoid_sends_a_stable_endpoint_back_to_the_baseline_config(cloud: LocalCloud) -> None:
    _configs(cloud)
    live_endpoint(cloud, "final")
    kept = _step(cloud, {}, avoid=[PACKAGE.format(3)])
    assert (kept["state"], kept["serves"]) == ("CONVERGED", "candidate")
    results = _loop(cloud, avoid=[CANDIDATE_PACKAGE])
    assert (results[0]["action"], results[-1]["configName"], results[-1]["outcome"]) == (
        "update",
        "baseline",
        "ROLLED_BACK",
    )
    # on the baseline config it has nowhere else to go: converged, and the detail says why
    on_baseline = _step(cloud, {}, avoid=[BASELINE_PACKAGE])
    assert (on_baseline["state"], on_baseline["action"]) == ("CONVERGED", "none")
    assert "no other config" in on_baseline["detail"]


def test_going_back_from_an_autoscaled_variant_releases_it_first(cloud: LocalCloud) -> None:
    _configs(cloud)
    live_endpoint(cloud, "final")
    aas = cloud.client("application-autoscaling")
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": f"endpoint/{ENDPOINT}/variant/candidate",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
    }
    aas.register_scalable_target(**target, MinCapacity=1, MaxCapacity=4)
    results = _loop(cloud, avoid=[CANDIDATE_PACKAGE])
    assert (results[-1]["configName"], results[-1]["outcome"]) == ("baseline", "ROLLED_BACK")
    assert "autoscaling released: candidate" in results[-1]["actions"][0]["detail"]
    assert aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []


def test_a_loop_past_its_deadline_is_stuck_and_changes_nothing(cloud: LocalCloud) -> None:
    _configs(cloud)
    live_endpoint(cloud)
    cloud.client("sagemaker").update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="final")
    first = _step(cloud, {})
    started = clock.utcnow() - timedelta(hours=7)
    old = {**first, "startedAt": started.isoformat(), "checks": 400}
    stuck = _step(cloud, old)
    assert (stuck["state"], stuck["outcome"], stuck["nextWaitSeconds"]) == ("STUCK", "FAILED", 0)
    assert "Updating" in stuck["detail"] and ENDPOINT in stuck["detail"]
    assert (stuck["checks"], stuck["startedAt"]) == (401, started.isoformat())
    # the deadline counts from where the loop started, in virtual time
    cloud.run(until=cloud.scheduler.now + 60)
    assert _step(cloud, first, deadline_seconds=30)["state"] == "STUCK"
    assert _step(cloud, first, deadline_seconds=3600)["state"] == "WAIT"


def test_a_finished_or_other_intent_result_starts_a_new_loop(cloud: LocalCloud) -> None:
    _canary_endpoint(cloud, 0.5)
    old = {
        "state": "CONVERGED",
        "intent": "rollback",
        "startedAt": (clock.utcnow() - timedelta(hours=9)).isoformat(),
        "checks": 12,
        "actions": [{"at": "x", "action": "update", "detail": "earlier"}],
    }
    result = _step(cloud, old)
    assert (result["state"], result["checks"], result["startedAt"]) == (
        "WAIT",
        1,
        clock.utcnow().isoformat(),
    )
    assert [a["action"] for a in result["actions"]] == ["weights"]
    other_intent = _step(cloud, {**result, "intent": "prepare"})
    assert (other_intent["checks"], other_intent["actions"]) == (1, [])


# --- the handler ------------------------------------------------------------------------------
def _function(cloud: LocalCloud) -> str:
    return cloud.functions["ConvergeEndpointFunction"].physical_name


def test_the_handler_converges_with_its_own_role(cloud: LocalCloud) -> None:
    _canary_endpoint(cloud, 0.2)
    event: dict[str, Any] = {
        "executionArn": "arn:aws:states:us-east-1:123456789012:execution:deploy:e1",
        "plan": plan().model_dump(mode="json"),
        "converge": {},
        "intent": "rollback",
        "avoid": None,
    }
    answers = []
    while True:
        with cloud.iam.acting_as("function", "ConvergeEndpointFunction"):
            answer, error = cloud.lambdas.invoke(_function(cloud), event)
        assert error is None, answer
        answers.append(answer)
        if answer["state"] != "WAIT":
            break
        assert len(answers) < 20
        cloud.run(until=cloud.scheduler.now + answer["nextWaitSeconds"])
        event["converge"] = answer
    assert (answers[-1]["outcome"], answers[-1]["configName"]) == ("ROLLED_BACK", "baseline")
    assert [a["action"] for a in answers[-1]["actions"]] == ["weights", "update"]


def test_the_handler_refuses_an_unknown_intent(cloud: LocalCloud) -> None:
    event = {"executionArn": "e", "plan": plan().model_dump(mode="json"), "intent": "promote"}
    answer, error = cloud.lambdas.invoke(_function(cloud), event)
    assert (error, answer["errorType"]) == ("Unhandled", "ValidationError")


def test_a_rebuilt_baseline_config_drops_the_rollouts_shadow_and_keeps_anyone_elses() -> None:
    config = {
        "ProductionVariants": [{"VariantName": "base", "ModelName": "m1", "InitialVariantWeight": 1.0}],
        "ShadowProductionVariants": [
            {"VariantName": "candidate", "ModelName": "m2", "InitialVariantWeight": 0.5},
            {"VariantName": "theirs", "ModelName": "m3", "InitialVariantWeight": 0.1},
        ],
    }
    _, kept = converge.baseline_only_config(config, "base", rollout_shadow="candidate")
    assert [v["VariantName"] for v in kept["ShadowProductionVariants"]] == ["theirs"]
    only_ours = {**config, "ShadowProductionVariants": config["ShadowProductionVariants"][:1]}
    _, kept = converge.baseline_only_config(only_ours, "base", rollout_shadow="candidate")
    assert "ShadowProductionVariants" not in kept
