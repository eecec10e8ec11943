"""The SageMaker simulator refuses and takes time where SageMaker does, never kinder.

Each test cites where the behaviour comes from: an AWS documentation page or a public issue thread.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud.services.sagemaker.endpoints import (
    NO_CAPACITY_REASON,
    CapacityShortage,
    SimulationSettings,
    SystemUpdatingWindow,
)
from smdeploy.adapters.autoscaling import ScalingGateway
from tests.integration.test_simulator_support import (
    ACCOUNT,
    CAPTURE,
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
SERVERLESS = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def _serverless(name: str, model: str = "m1") -> dict[str, Any]:
    return {"VariantName": name, "ModelName": model, "ServerlessConfig": SERVERLESS}


def _with(simulation: SimulationSettings, **changes: Any) -> SimulationSettings:
    for key, value in changes.items():
        setattr(simulation, key, value)
    return simulation


# --- endpoints that will fail -------------------------------------------------------------------
def test_an_endpoint_that_will_fail_stays_creating_for_long_and_cannot_be_deleted_meanwhile() -> None:
    """A container that never passes its health check keeps the endpoint ``Creating`` for a long
    time (reports of ~24 min to ~1 h) and there is "no option to delete it" until it is ``Failed``
    (aws/amazon-sagemaker-examples#3432)."""
    simulation = settings(v1={"fail_deploy": True, "failure_reason": "ping health check failed"})
    with cloud_with_models(simulation) as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud)
        sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="baseline")
        # Long after a healthy endpoint would be InService (480 s), it is still Creating
        cloud.run(until=1799)
        assert sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] == "Creating"
        with pytest.raises(ClientError) as creating:
            sm.delete_endpoint(EndpointName=ENDPOINT)
        assert _error(creating) == (
            "ValidationException",
            f'Cannot update in-progress endpoint "{ENDPOINT_ARN}".',
        )
        # Then after endpointFailureSeconds (30 min by default) it is Failed, and may be deleted
        cloud.run()
        assert cloud.scheduler.now == 1800
        failed = sm.describe_endpoint(EndpointName=ENDPOINT)
        assert (failed["EndpointStatus"], failed["FailureReason"]) == ("Failed", "ping health check failed")
        sm.delete_endpoint(EndpointName=ENDPOINT)
        cloud.run()
        assert endpoint_events(cloud) == [(0.0, "CREATING"), (1800.0, "FAILED"), (1800.0, "DELETING")]


def test_an_update_that_will_fail_stays_updating_for_the_failure_time() -> None:
    """The same unhealthy container in a blue/green update: ``Updating`` for long, then back on the
    old fleet with the reason (aws/amazon-sagemaker-examples#3432 for the time; the time is
    configurable)."""
    simulation = _with(settings(v2={"fail_deploy": True}), endpoint_failure_seconds=2400.0)
    with cloud_with_models(simulation) as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud)
        canary_config(cloud)
        live_endpoint(cloud)
        started = cloud.scheduler.now
        sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="canary")
        cloud.run(until=started + 2399)
        assert sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] == "Updating"
        cloud.run()
        after = sm.describe_endpoint(EndpointName=ENDPOINT)
        assert (after["EndpointStatus"], after["EndpointConfigName"]) == ("InService", "baseline")
        assert cloud.scheduler.now - started == 2400


# --- DeleteEndpoint -------------------------------------------------------------------------------
def test_delete_endpoint_goes_through_deleting_and_deregisters_its_autoscaled_variants() -> None:
    """ "If you delete an endpoint, Application Auto Scaling checks to see whether any of the models
    on that endpoint are targets for auto scaling. If any are ..., Application Auto Scaling
    deregisters those models as scalable targets without notifying you."
    (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-delete-with-scaling.html); the endpoint
    is ``Deleting`` meanwhile (``EndpointStatus`` values of DescribeEndpoint)."""
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud)
        live_endpoint(cloud)
        gateway = ScalingGateway(cloud.client("application-autoscaling"))
        gateway.register(ENDPOINT, "baseline", minimum=1, maximum=4)
        policy = {
            "PolicyName": "p",
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": 100.0,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                },
            },
        }
        gateway.put_policy(ENDPOINT, "baseline", policy)
        deleted_at = cloud.scheduler.now
        sm.delete_endpoint(EndpointName=ENDPOINT)
        # Deleting: still there, no traffic, no change and no second deletion accepted
        assert sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] == "Deleting"
        with pytest.raises(ClientError):
            sm.delete_endpoint(EndpointName=ENDPOINT)
        with pytest.raises(ClientError) as recreate:
            sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="baseline")
        assert "Cannot create already existing endpoint" in _error(recreate)[1]
        assert cloud.sagemaker_sim.serving[ENDPOINT][-1][1] == ()  # no traffic from now on
        cloud.run()
        assert cloud.scheduler.now - deleted_at == 60  # endpointDeleteSeconds
        with pytest.raises(ClientError) as gone:
            sm.describe_endpoint(EndpointName=ENDPOINT)
        assert "Could not find endpoint" in _error(gone)[1]
        assert gateway.targets_of(ENDPOINT) == {}
        assert gateway.policies_of(ENDPOINT, "baseline") == []


# --- serverless ---------------------------------------------------------------------------------
def test_serverless_configs_take_no_capture_no_pipeline_no_second_variant() -> None:
    """ "Some of the features currently available for SageMaker AI Real-time Inference are not
    supported for Serverless Inference, including ... Multi-Model Endpoints, VPC configuration,
    network isolation, data capture, multiple production variants, Model Monitor, and inference
    pipelines." (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html)"""
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        sm.create_model(
            ModelName="pipeline",
            ExecutionRoleArn=ROLE,
            Containers=[{"Image": "a"}, {"Image": "b"}],
        )
        sm.create_model(
            ModelName="many", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "a", "Mode": "MultiModel"}
        )
        refused: dict[str, dict[str, Any]] = {
            "capture": {"ProductionVariants": [_serverless("only")], "DataCaptureConfig": CAPTURE},
            "pipeline": {"ProductionVariants": [_serverless("only", "pipeline")]},
            "multi-model": {"ProductionVariants": [_serverless("only", "many")]},
            "two-variants": {"ProductionVariants": [_serverless("one"), _serverless("two", "m2")]},
            "mixed": {"ProductionVariants": [_serverless("one"), variant("two", "m2")]},
            "network-isolation": {
                "ProductionVariants": [_serverless("only")],
                "EnableNetworkIsolation": True,
            },
        }
        for name, request in refused.items():
            with pytest.raises(ClientError) as error:
                sm.create_endpoint_config(EndpointConfigName=name, **request)
            assert _error(error)[0] == "ValidationException", name
            assert sm.list_endpoint_configs(NameContains=name)["EndpointConfigs"] == []
        sm.create_endpoint_config(EndpointConfigName="lite", ProductionVariants=[_serverless("only")])


def test_an_instance_based_endpoint_never_becomes_serverless_but_a_serverless_one_may_take_instances() -> (
    None
):
    """ "You cannot convert your instance-based, real-time endpoint to a serverless endpoint. If you
    try to update your real-time endpoint to serverless, you receive a ValidationError message. You
    can convert a serverless endpoint to real-time, but once you make the update, you cannot roll it
    back to serverless." (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html)"""
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        sm.create_endpoint_config(EndpointConfigName="lite", ProductionVariants=[_serverless("only")])
        sm.create_endpoint_config(EndpointConfigName="lite-2", ProductionVariants=[_serverless("only", "m2")])
        sm.create_endpoint_config(EndpointConfigName="instances", ProductionVariants=[variant("only", "m1")])
        live_endpoint(cloud, "lite")
        # serverless -> serverless and serverless -> instances: allowed
        sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="lite-2")
        cloud.run()
        sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="instances")
        cloud.run()
        assert sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"] == "instances"
        # instances -> serverless: refused, and the endpoint stays as it is
        with pytest.raises(ClientError) as back:
            sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="lite")
        code, message = _error(back)
        assert code == "ValidationException" and "serverless" in message
        assert sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] == "InService"


# --- variants and the fields moto drops --------------------------------------------------------
def test_a_config_takes_one_to_ten_variants_with_unique_names() -> None:
    """CreateEndpointConfig: ``ProductionVariants`` "Array Members: Minimum number of 1 item. Maximum
    number of 10 items." (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html);
    a variant name identifies the variant in every later call, so it is unique within the config."""
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        eleven = [variant(f"v{i}", "m1") for i in range(11)]
        with pytest.raises(ClientError) as too_many:
            sm.create_endpoint_config(EndpointConfigName="eleven", ProductionVariants=eleven)
        assert _error(too_many) == (
            "ValidationException",
            "1 validation error detected: Value at 'productionVariants' failed to satisfy constraint: "
            "Member must have length less than or equal to 10",
        )
        with pytest.raises(ClientError) as twice:
            sm.create_endpoint_config(
                EndpointConfigName="twice", ProductionVariants=[variant("same", "m1"), variant("same", "m2")]
            )
        code, message = _error(twice)
        assert code == "ValidationException" and '"same"' in message
        with pytest.raises(ClientError) as shadow_twice:
            sm.create_endpoint_config(
                EndpointConfigName="shadow-twice",
                ProductionVariants=[variant("same", "m1")],
                ShadowProductionVariants=[variant("same", "m2")],
            )
        assert _error(shadow_twice)[0] == "ValidationException"
        sm.create_endpoint_config(EndpointConfigName="ten", ProductionVariants=eleven[:10])
        assert len(sm.describe_endpoint_config(EndpointConfigName="ten")["ProductionVariants"]) == 10


def test_config_fields_moto_drops_are_kept_and_shadow_variants_show_on_the_endpoint() -> None:
    """``ShadowProductionVariants``, ``VpcConfig``, ``ExecutionRoleArn``, ``EnableNetworkIsolation`` and
    ``ExplainerConfig`` are fields of CreateEndpointConfig that DescribeEndpointConfig returns
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpointConfig.html), and
    DescribeEndpoint lists "the shadow variants hosted on the endpoint"
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html)."""
    vpc = {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0123456789abcdef0"]}
    explainer = {"ClarifyExplainerConfig": {"ShapConfig": {"ShapBaselineConfig": {"ShapBaseline": "1,2"}}}}
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        sm.create_endpoint_config(
            EndpointConfigName="shadowed",
            ProductionVariants=[variant("baseline", "m1", count=2)],
            ShadowProductionVariants=[variant("shadow", "m2")],
            VpcConfig=vpc,
            ExecutionRoleArn=ROLE,
            EnableNetworkIsolation=True,
            ExplainerConfig=explainer,
        )
        described = sm.describe_endpoint_config(EndpointConfigName="shadowed")
        assert [
            (v["VariantName"], v["InitialVariantWeight"]) for v in described["ShadowProductionVariants"]
        ] == [("shadow", 1.0)]
        assert described["VpcConfig"] == vpc
        assert (described["ExecutionRoleArn"], described["EnableNetworkIsolation"]) == (ROLE, True)
        assert described["ExplainerConfig"] == explainer
        live_endpoint(cloud, "shadowed")
        endpoint = sm.describe_endpoint(EndpointName=ENDPOINT)
        assert [
            (v["VariantName"], v["CurrentWeight"], v["CurrentInstanceCount"])
            for v in endpoint["ShadowProductionVariants"]
        ] == [("shadow", 1.0, 1)]
        # traffic goes to the production variants only
        assert {v.name for v in cloud.sagemaker_sim.serving[ENDPOINT][-1][1]} == {"baseline"}


# --- maintenance and capacity ----------------------------------------------------------------
def test_a_system_updating_window_refuses_updates_while_traffic_keeps_flowing() -> None:
    """``SystemUpdating`` is an endpoint status (DescribeEndpoint: "SystemUpdating: Endpoint is
    undergoing maintenance and cannot be updated or deleted or re-scaled until it has completed",
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html)."""
    simulation = _with(settings(), system_updating=[SystemUpdatingWindow(ENDPOINT, at=600.0, seconds=900.0)])
    with cloud_with_models(simulation) as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud)
        canary_config(cloud)
        live_endpoint(cloud)
        cloud.run(until=600)
        assert sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] == "SystemUpdating"
        assert cloud.sagemaker_sim.serving[ENDPOINT][-1][1]  # still serving
        for call in (
            lambda: sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="canary"),
            lambda: sm.update_endpoint_weights_and_capacities(
                EndpointName=ENDPOINT,
                DesiredWeightsAndCapacities=[{"VariantName": "baseline", "DesiredInstanceCount": 3}],
            ),
            lambda: sm.delete_endpoint(EndpointName=ENDPOINT),
        ):
            with pytest.raises(ClientError) as refused:
                call()
            assert _error(refused) == (
                "ValidationException",
                f'Cannot update in-progress endpoint "{ENDPOINT_ARN}".',
            )
        cloud.run(until=1500)
        assert sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] == "InService"
        sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="canary")
        assert [e for e in endpoint_events(cloud) if e[1] == "SYSTEM_UPDATING"] == [
            (600.0, "SYSTEM_UPDATING")
        ]


def test_insufficient_capacity_fails_creates_updates_and_scale_outs_as_sagemaker_does() -> None:
    """SageMaker accepts the call and the endpoint fails later: "Final Resource State: Failed. Failure
    Reason: Unable to provision requested ML compute capacity due to InsufficientInstanceCapacity
    error." (aws/deep-learning-containers#6673); an update or scale-out that cannot get instances
    leaves the old fleet serving."""
    shortage = CapacityShortage("ml.g4dn.xlarge", at=0.0, until=5000.0)
    simulation = _with(settings(), insufficient_capacity=[shortage])
    with cloud_with_models(simulation) as cloud:
        sm = cloud.client("sagemaker")
        gpu = {**variant("baseline", "m2"), "InstanceType": "ml.g4dn.xlarge"}
        sm.create_endpoint_config(EndpointConfigName="gpu", ProductionVariants=[gpu])
        sm.create_endpoint(EndpointName="gpu-prod", EndpointConfigName="gpu")
        baseline_config(cloud)
        live_endpoint(cloud)
        failed = sm.describe_endpoint(EndpointName="gpu-prod")
        assert (failed["EndpointStatus"], failed["FailureReason"]) == ("Failed", NO_CAPACITY_REASON)
        # an update onto the short type fails back to the old config
        sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="gpu")
        cloud.run()
        after = sm.describe_endpoint(EndpointName=ENDPOINT)
        assert (after["EndpointStatus"], after["EndpointConfigName"]) == ("InService", "baseline")
        assert after["FailureReason"] == NO_CAPACITY_REASON
        # once capacity is back, the same update goes through
        cloud.run(until=5000)
        sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="gpu")
        cloud.run()
        assert sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"] == "gpu"


def test_a_scale_out_without_capacity_rolls_back_and_keeps_the_instances() -> None:
    """A scale-out is a capacity request like any other (aws/deep-learning-containers#6673); one that
    fails is "RollingBack: Endpoint fails to scale up or down or change its variant weight and is in
    the process of rolling back to its previous configuration. Once the rollback completes, endpoint
    returns to an InService status."
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html)"""
    simulation = _with(settings(), insufficient_capacity=[CapacityShortage("ml.m5.large", at=100.0)])
    with cloud_with_models(simulation) as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud)
        live_endpoint(cloud)  # created at 0, before the shortage
        sm.update_endpoint_weights_and_capacities(
            EndpointName=ENDPOINT,
            DesiredWeightsAndCapacities=[{"VariantName": "baseline", "DesiredInstanceCount": 4}],
        )
        cloud.run()
        after = sm.describe_endpoint(EndpointName=ENDPOINT)
        (live,) = after["ProductionVariants"]
        assert (live["CurrentInstanceCount"], live["DesiredInstanceCount"]) == (2, 2)
        assert (after["EndpointStatus"], after["FailureReason"]) == ("InService", NO_CAPACITY_REASON)
        statuses = [status for _, status in endpoint_events(cloud)]
        assert statuses[-3:] == ["UPDATING", "ROLLING_BACK", "IN_SERVICE"]


# --- guardrails ---------------------------------------------------------------------------------
def test_a_guardrails_deployment_emits_deployment_state_changes_and_sets_last_deployment_config() -> None:
    """ "SageMaker endpoint deployment state change" events carry the ``PendingDeploymentSummary`` with
    the new fleet's ``VariantStatus`` (``Creating``, ``ActivatingTraffic``, ``Baking``, ``Deleting``)
    (https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html), and
    DescribeEndpoint answers ``LastDeploymentConfig``, "the most recent deployment configuration for
    the endpoint" (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html)."""
    deployment = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 600,
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 50},
            },
            "TerminationWaitInSeconds": 300,
            "MaximumExecutionTimeoutInSeconds": 3600,
        }
    }
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud)
        sm.create_endpoint_config(
            EndpointConfigName="next", ProductionVariants=[variant("baseline", "m2", count=2)]
        )
        live_endpoint(cloud)
        assert "LastDeploymentConfig" not in sm.describe_endpoint(EndpointName=ENDPOINT)
        sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="next", DeploymentConfig=deployment)
        cloud.run()
        described = sm.describe_endpoint(EndpointName=ENDPOINT)
        assert described["EndpointConfigName"] == "next"
        assert described["LastDeploymentConfig"] == deployment
        stages = [
            d.event["detail"]
            for d in cloud.bus.deliveries
            if d.event["detail-type"] == "SageMaker Endpoint Deployment State Change"
        ]
        statuses = [
            s["PendingDeploymentSummary"]["ProductionVariants"][0]["VariantStatus"][0]["Status"]
            for s in stages
        ]
        assert statuses == [
            "Creating",
            "ActivatingTraffic",
            "Baking",
            "ActivatingTraffic",
            "Baking",
            "Deleting",
        ]
        first_bake = stages[2]
        assert first_bake["EndpointStatus"] == "UPDATING"
        assert first_bake["PendingDeploymentSummary"]["EndpointConfigName"] == "next"
        message = first_bake["PendingDeploymentSummary"]["ProductionVariants"][0]["VariantStatus"][0][
            "StatusMessage"
        ]
        assert message == (
            "Baking for 600 seconds (WaitIntervalInSeconds) "
            "with traffic enabled on canary capacity of 1 instance(s)."
        )
        # RetainDeploymentConfig reuses it
        sm.create_endpoint_config(
            EndpointConfigName="again", ProductionVariants=[variant("baseline", "m1", count=2)]
        )
        sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="again", RetainDeploymentConfig=True)
        cloud.run()
        assert [g[2] for g in cloud.sagemaker_sim.guardrails_log].count("old fleet terminated") == 2
