"""The SageMaker simulator's endpoints: UpdateEndpoint, weight updates, describe, deletes, events."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from localcloud.engine.apicalls import Fault
from localcloud.engine.cloud import LocalCloud
from tests.integration.test_simulator_support import (
    ACCOUNT,
    ENDPOINT,
    REGION,
    ROLE,
    baseline_config,
    canary_config,
    cloud_with_models,
    endpoint_events,
    live_endpoint,
    settings,
    variant,
)

ENDPOINT_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{ENDPOINT}"
NOPE_CONFIG_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/nope"


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def test_update_endpoint_is_updating_on_the_old_config_then_serves_the_new_one() -> None:
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud)
        canary_config(cloud)
        live_endpoint(cloud)
        started = cloud.scheduler.now
        # When the endpoint is updated to the two-variant config
        assert (
            sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="canary")["EndpointArn"]
            == ENDPOINT_ARN
        )
        # Then it is Updating, still on the old config, with the new one pending
        during = sm.describe_endpoint(EndpointName=ENDPOINT)
        assert (during["EndpointStatus"], during["EndpointConfigName"]) == ("Updating", "baseline")
        pending = during["PendingDeploymentSummary"]
        assert pending["EndpointConfigName"] == "canary"
        assert [(v["VariantName"], v["DesiredWeight"]) for v in pending["ProductionVariants"]] == [
            ("baseline", 1.0),
            ("candidate", 0.0),
        ]
        assert [v["VariantName"] for v in during["ProductionVariants"]] == ["baseline"]
        # And after endpointUpdateSeconds (300 s by default) the new variants are live
        cloud.run()
        assert cloud.scheduler.now - started == 300
        after = sm.describe_endpoint(EndpointName=ENDPOINT)
        assert (after["EndpointStatus"], after["EndpointConfigName"]) == ("InService", "canary")
        assert "PendingDeploymentSummary" not in after and "FailureReason" not in after
        assert [
            (v["VariantName"], v["CurrentWeight"], v["DesiredWeight"], v["CurrentInstanceCount"])
            for v in after["ProductionVariants"]
        ] == [("baseline", 1.0, 1.0, 2), ("candidate", 0.0, 0.0, 1)]
        # And every status change was an event on the local bus
        assert endpoint_events(cloud) == [
            (0.0, "CREATING"),
            (480.0, "IN_SERVICE"),
            (480.0, "UPDATING"),
            (780.0, "IN_SERVICE"),
        ]


def test_changes_to_an_in_progress_endpoint_are_rejected() -> None:
    in_progress = ("ValidationException", f'Cannot update in-progress endpoint "{ENDPOINT_ARN}".')
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud)
        canary_config(cloud)
        sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="baseline")
        with pytest.raises(ClientError) as creating:
            sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="canary")
        assert _error(creating) == in_progress
        cloud.run()
        sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="canary")
        for call in (
            lambda: sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="canary"),
            lambda: sm.update_endpoint_weights_and_capacities(
                EndpointName=ENDPOINT,
                DesiredWeightsAndCapacities=[{"VariantName": "baseline", "DesiredWeight": 1}],
            ),
            lambda: sm.delete_endpoint(EndpointName=ENDPOINT),
        ):
            with pytest.raises(ClientError) as updating:
                call()
            assert _error(updating) == in_progress


def test_update_of_a_missing_endpoint_or_to_a_missing_config_names_the_arn() -> None:
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud)
        live_endpoint(cloud)
        with pytest.raises(ClientError) as no_endpoint:
            sm.update_endpoint(EndpointName="nope", EndpointConfigName="baseline")
        assert (
            _error(no_endpoint)[1]
            == f'Could not find endpoint "arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/nope".'
        )
        with pytest.raises(ClientError) as no_config:
            sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="nope")
        assert _error(no_config) == (
            "ValidationException",
            f'Could not find endpoint configuration "{NOPE_CONFIG_ARN}".',
        )


def test_a_failing_update_returns_to_in_service_on_the_old_config_with_a_reason() -> None:
    simulation = settings(v2={"fail_deploy": True, "failure_reason": "ping health check failed"})
    with cloud_with_models(simulation) as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud)
        canary_config(cloud)
        live_endpoint(cloud)
        sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="canary")
        cloud.run()
        after = sm.describe_endpoint(EndpointName=ENDPOINT)
        assert (after["EndpointStatus"], after["EndpointConfigName"]) == ("InService", "baseline")
        assert after["FailureReason"] == "ping health check failed"
        assert [v["VariantName"] for v in after["ProductionVariants"]] == ["baseline"]
        last = cloud.bus.deliveries[-1].event["detail"]
        assert (last["EndpointStatus"], last["FailureReason"]) == ("IN_SERVICE", "ping health check failed")


def test_weight_update_passes_through_updating_and_keeps_instance_counts() -> None:
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud)
        canary_config(cloud)
        live_endpoint(cloud, "canary")
        started = cloud.scheduler.now
        sm.update_endpoint_weights_and_capacities(
            EndpointName=ENDPOINT,
            DesiredWeightsAndCapacities=[
                {"VariantName": "baseline", "DesiredWeight": 0.9},
                {"VariantName": "candidate", "DesiredWeight": 0.1},
            ],
        )
        during = sm.describe_endpoint(EndpointName=ENDPOINT)
        assert during["EndpointStatus"] == "Updating"
        assert [
            (v["CurrentWeight"], v["DesiredWeight"], v["CurrentInstanceCount"], v["DesiredInstanceCount"])
            for v in during["ProductionVariants"]
        ] == [(1.0, 0.9, 2, 2), (0.0, 0.1, 1, 1)]
        cloud.run()
        assert cloud.scheduler.now - started == 30  # weightUpdateSeconds
        after = sm.describe_endpoint(EndpointName=ENDPOINT)
        assert after["EndpointStatus"] == "InService"
        assert [
            (v["CurrentWeight"], v["DesiredWeight"], v["CurrentInstanceCount"], v["DesiredInstanceCount"])
            for v in after["ProductionVariants"]
        ] == [(0.9, 0.9, 2, 2), (0.1, 0.1, 1, 1)]
        change = cloud.sagemaker_sim.weight_log[-1]
        assert (change.at, change.endpoint, change.weights) == (
            started + 30,
            ENDPOINT,
            {"baseline": 0.9, "candidate": 0.1},
        )
        assert change.packages == {"baseline": "churn/1", "candidate": "churn/2"}


def test_capacity_update_changes_only_the_named_variant() -> None:
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        canary_config(cloud)
        live_endpoint(cloud, "canary")
        sm.update_endpoint_weights_and_capacities(
            EndpointName=ENDPOINT,
            DesiredWeightsAndCapacities=[{"VariantName": "candidate", "DesiredInstanceCount": 3}],
        )
        cloud.run()
        variants = sm.describe_endpoint(EndpointName=ENDPOINT)["ProductionVariants"]
        assert [(v["CurrentWeight"], v["CurrentInstanceCount"]) for v in variants] == [(1.0, 2), (0.0, 3)]


def test_weight_update_with_an_unknown_variant_is_rejected() -> None:
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud)
        live_endpoint(cloud)
        with pytest.raises(ClientError) as unknown:
            sm.update_endpoint_weights_and_capacities(
                EndpointName=ENDPOINT,
                DesiredWeightsAndCapacities=[{"VariantName": "candidate", "DesiredWeight": 1}],
            )
        code, message = _error(unknown)
        assert code == "ValidationException" and '"candidate"' in message
        assert sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] == "InService"


def test_weight_zero_survives_the_config_and_the_endpoint_and_the_default_is_one() -> None:
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        canary_config(cloud)
        sm.create_endpoint_config(EndpointConfigName="plain", ProductionVariants=[variant("only", "m1")])
        described = sm.describe_endpoint_config(EndpointConfigName="canary")["ProductionVariants"]
        assert [v["InitialVariantWeight"] for v in described] == [1.0, 0.0]
        plain = sm.describe_endpoint_config(EndpointConfigName="plain")["ProductionVariants"]
        assert plain[0]["InitialVariantWeight"] == 1.0
        live_endpoint(cloud, "canary")
        live = sm.describe_endpoint(EndpointName=ENDPOINT)["ProductionVariants"]
        assert [(v["VariantName"], v["CurrentWeight"], v["DesiredWeight"]) for v in live] == [
            ("baseline", 1.0, 1.0),
            ("candidate", 0.0, 0.0),
        ]


def test_retain_all_variant_properties_keeps_the_live_weights() -> None:
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        canary_config(cloud)
        canary_config(cloud, "canary-2")
        live_endpoint(cloud, "canary")
        sm.update_endpoint_weights_and_capacities(
            EndpointName=ENDPOINT,
            DesiredWeightsAndCapacities=[
                {"VariantName": "baseline", "DesiredWeight": 0.5},
                {"VariantName": "candidate", "DesiredWeight": 0.5},
            ],
        )
        cloud.run()
        sm.update_endpoint(
            EndpointName=ENDPOINT, EndpointConfigName="canary-2", RetainAllVariantProperties=True
        )
        cloud.run()
        live = sm.describe_endpoint(EndpointName=ENDPOINT)["ProductionVariants"]
        assert [v["CurrentWeight"] for v in live] == [0.5, 0.5]


def test_deleting_a_config_in_use_is_allowed_and_breaks_what_needs_it() -> None:
    """SageMaker only warns against deleting a config in use ("You must not delete an
    EndpointConfig in use by an endpoint that is live or while the UpdateEndpoint or CreateEndpoint
    operations are being performed on the endpoint",
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DeleteEndpointConfig.html); an update
    then fails with "Could not find endpoint configuration" (hashicorp/terraform-provider-aws#40048,
    #48997). The simulator used to refuse the deletion: kinder than AWS."""
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud)
        canary_config(cloud)
        canary_config(cloud, "canary-2")
        live_endpoint(cloud)
        # Given an update moving to "canary" whose config is deleted in flight
        sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="canary")
        sm.delete_endpoint_config(EndpointConfigName="canary")
        cloud.run()
        # Then the update fails and the old fleet keeps serving
        after = sm.describe_endpoint(EndpointName=ENDPOINT)
        assert (after["EndpointStatus"], after["EndpointConfigName"]) == ("InService", "baseline")
        canary_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/canary"
        assert after["FailureReason"] == f'Could not find endpoint configuration "{canary_arn}".'
        # When the live config is deleted, the endpoint keeps serving
        sm.delete_endpoint_config(EndpointConfigName="baseline")
        assert sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] == "InService"
        # But an update and a weight change, which need it, are refused
        baseline_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/baseline"
        missing = ("ValidationException", f'Could not find endpoint configuration "{baseline_arn}".')
        for call in (
            lambda: sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="canary-2"),
            lambda: sm.update_endpoint_weights_and_capacities(
                EndpointName=ENDPOINT,
                DesiredWeightsAndCapacities=[{"VariantName": "baseline", "DesiredInstanceCount": 3}],
            ),
        ):
            with pytest.raises(ClientError) as refused:
                call()
            assert _error(refused) == missing


def test_a_create_whose_config_is_deleted_meanwhile_fails() -> None:
    """https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DeleteEndpointConfig.html: deleting
    the config of an endpoint being created is allowed, and the creation cannot complete."""
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud)
        sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="baseline")
        sm.delete_endpoint_config(EndpointConfigName="baseline")
        cloud.run()
        described = sm.describe_endpoint(EndpointName=ENDPOINT)
        assert described["EndpointStatus"] == "Failed"
        assert "Could not find endpoint configuration" in described["FailureReason"]


def test_deleting_what_does_not_exist_gives_sagemakers_messages() -> None:
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        with pytest.raises(ClientError) as model:
            sm.delete_model(ModelName="nope")
        assert _error(model) == (
            "ValidationException",
            f'Could not find model "arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/nope".',
        )
        with pytest.raises(ClientError) as config:
            sm.delete_endpoint_config(EndpointConfigName="nope")
        assert _error(config) == (
            "ValidationException",
            f'Could not find endpoint configuration "{NOPE_CONFIG_ARN}".',
        )


def test_creation_times_come_from_the_virtual_clock_in_creation_order() -> None:
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud, "first")
        baseline_config(cloud, "second")
        listed = sm.list_endpoint_configs(SortBy="CreationTime", SortOrder="Descending")["EndpointConfigs"]
        assert [c["EndpointConfigName"] for c in listed] == ["second", "first"]
        assert {c["CreationTime"].year for c in listed} == {2026}
        assert listed[0]["CreationTime"].replace(microsecond=0) == cloud.scheduler.datetime()


def test_faults_can_be_injected_into_the_simulated_actions() -> None:
    faults = [Fault(call="sagemaker:UpdateEndpoint", error="ResourceLimitExceeded", times=1)]
    with LocalCloud(simulation=settings(), faults=faults) as cloud:
        sm = cloud.client("sagemaker")
        sm.create_model(ModelName="m1", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "x"})
        baseline_config(cloud)
        live_endpoint(cloud)
        with pytest.raises(ClientError) as throttled:
            sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="baseline")
        assert throttled.value.response["Error"]["Code"] == "ResourceLimitExceeded"
        sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="baseline")
        assert cloud.api.counts["sagemaker:UpdateEndpoint"] == 2
