"""smdeploy.plan: the layers of configuration and the names and numbers of a deployment plan.

``package`` is always a hand-written DescribeModelPackage answer and ``live_endpoint`` a
DescribeEndpoint answer (or None): no AWS, no mocks.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smdeploy.errors import EndpointBusy, InvalidRequest
from smdeploy.events import normalize
from smdeploy.models import DeploymentPlan, DeployRequest, GroupConfig
from smdeploy.plan import (
    build_plan,
    metadata_overrides,
    parse_group_config,
    parse_package_arn,
    resource_name,
)

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3"
SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
DEFAULTS: dict[str, Any] = {
    "instanceType": "ml.m5.large",
    "initialInstanceCount": 1,
    "pollSeconds": 30,
    "deployTimeoutSeconds": 1800,
}
SSM = "ssm:/smdeploy/groups/churn"
LIVE = {
    "EndpointName": "churn-prod",
    "EndpointStatus": "InService",
    "EndpointConfigName": "churn-prod-v2-1a2b3c4d",
}
BASELINE = [
    {
        "VariantName": "churn-v0",
        "ModelName": "churn-v0-1234abcd",
        "ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/99",
        "CurrentWeight": 1.0,
    }
]


def package(arn: str = ARN, **changes: Any) -> dict[str, Any]:
    """A DescribeModelPackage answer; a value of ``...`` drops the key."""
    group, version = arn.split("/")[-2:]
    answer: dict[str, Any] = {
        "ModelPackageGroupName": group,
        "ModelPackageVersion": int(version),
        "ModelPackageArn": arn,
        "ModelPackageStatus": "Completed",
        "ModelApprovalStatus": "Approved",
        "InferenceSpecification": {
            "Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"}]
        },
        "CustomerMetadataProperties": {},
    }
    for key, value in changes.items():
        if value is ...:
            answer.pop(key, None)
        else:
            answer[key] = value
    return answer


def approval(arn: str = ARN) -> DeployRequest:
    return DeployRequest(source="approval", modelPackageArn=arn)


def manual(**fields: Any) -> DeployRequest:
    return normalize({"modelPackageArn": ARN, **fields})


def plan_for(
    request: DeployRequest | None = None,
    *,
    pkg: dict[str, Any] | None = None,
    group: GroupConfig | None = None,
    defaults: dict[str, Any] | None = None,
    live: dict[str, Any] | None = None,
    live_variants: list[dict[str, Any]] | None = None,
) -> DeploymentPlan:
    request = request or approval()
    return build_plan(
        request,
        package=pkg if pkg is not None else package(request.modelPackageArn),
        group_config=group if group is not None else GroupConfig(endpoint="churn-prod"),
        group_config_source=SSM,
        defaults=defaults or DEFAULTS,
        live_endpoint=live,
        live_variants=live_variants if live_variants is not None else (BASELINE if live else None),
    )


def invalid_field(**kwargs: Any) -> str:
    with pytest.raises(InvalidRequest) as caught:
        plan_for(**kwargs)
    return caught.value.field


# --- layers of configuration ---------------------------------------------------------------------
def test_template_defaults_apply_when_no_other_layer_sets_a_value() -> None:
    plan = plan_for()

    assert (plan.instanceType, plan.initialInstanceCount) == ("ml.m5.large", 1)
    assert plan.endpointName == "churn-prod"
    assert plan.configSources == ["template defaults", SSM]


def test_group_config_beats_template_defaults() -> None:
    plan = plan_for(
        group=GroupConfig(endpoint="churn-prod", instanceType="ml.c5.xlarge", initialInstanceCount=2)
    )

    assert (plan.instanceType, plan.initialInstanceCount) == ("ml.c5.xlarge", 2)


def test_package_metadata_beats_group_config() -> None:
    pkg = package(
        CustomerMetadataProperties={
            "smdeploy:instanceType": "ml.g5.xlarge",
            "smdeploy:initialInstanceCount": "3",
        }
    )

    plan = plan_for(
        pkg=pkg, group=GroupConfig(endpoint="churn-prod", instanceType="ml.c5.xlarge", initialInstanceCount=2)
    )

    assert (plan.instanceType, plan.initialInstanceCount) == ("ml.g5.xlarge", 3)
    assert plan.configSources == ["template defaults", SSM, "package CustomerMetadataProperties"]


def test_manual_input_beats_package_metadata() -> None:
    pkg = package(
        CustomerMetadataProperties={
            "smdeploy:instanceType": "ml.g5.xlarge",
            "smdeploy:initialInstanceCount": "3",
        }
    )
    request = manual(endpointName="churn-canary", instanceType="ml.m5.2xlarge", initialInstanceCount=4)

    plan = plan_for(request, pkg=pkg, group=GroupConfig(endpoint="churn-prod", instanceType="ml.c5.xlarge"))

    assert (plan.endpointName, plan.instanceType, plan.initialInstanceCount) == (
        "churn-canary",
        "ml.m5.2xlarge",
        4,
    )
    assert plan.configSources == [
        "template defaults",
        SSM,
        "package CustomerMetadataProperties",
        "manual input",
    ]
    assert plan.source == "manual"


def test_each_layer_only_overrides_the_fields_it_sets() -> None:
    # defaults: type + count; group: count; metadata: type; manual: endpoint only
    pkg = package(CustomerMetadataProperties={"smdeploy:instanceType": "ml.g5.xlarge"})

    plan = plan_for(manual(endpointName="churn-canary"), pkg=pkg, group=GroupConfig(initialInstanceCount=5))

    assert (plan.endpointName, plan.instanceType, plan.initialInstanceCount) == (
        "churn-canary",
        "ml.g5.xlarge",
        5,
    )


def test_manual_reason_is_carried_into_the_plan() -> None:
    assert plan_for(manual(reason="hotfix")).reason == "hotfix"


def test_no_group_config_leaves_it_out_of_the_sources() -> None:
    plan = build_plan(
        manual(endpointName="churn-prod"),
        package=package(),
        group_config=None,
        group_config_source=SSM,
        defaults=DEFAULTS,
        live_endpoint=None,
    )

    assert plan.configSources == ["template defaults", "manual input"]


# --- CustomerMetadataProperties ------------------------------------------------------------------
def test_unknown_smdeploy_metadata_key_is_invalid_naming_it() -> None:
    pkg = package(CustomerMetadataProperties={"smdeploy:xyz": "1"})

    with pytest.raises(InvalidRequest) as caught:
        plan_for(pkg=pkg)

    assert caught.value.field == "CustomerMetadataProperties.smdeploy:xyz"
    assert "smdeploy:instanceType" in caught.value.problem


def test_owner_metadata_keys_without_the_smdeploy_prefix_are_ignored() -> None:
    owner = {
        "team": "growth",
        "instanceType": "not-even-valid",
        "smdeploy-instanceType": "x",
        "SMDEPLOY:xyz": "y",
    }

    assert metadata_overrides(owner) == {}
    assert plan_for(pkg=package(CustomerMetadataProperties=owner)).instanceType == "ml.m5.large"


def test_metadata_overrides_convert_allow_listed_keys_to_plan_fields() -> None:
    assert metadata_overrides(
        {"smdeploy:instanceType": "ml.m5.xlarge", "smdeploy:initialInstanceCount": "12", "owner": "me"}
    ) == {"instanceType": "ml.m5.xlarge", "initialInstanceCount": 12}


@pytest.mark.parametrize("count", ["0", "101", "two", "1.5", "-1", " 2", "", "²"])
def test_bad_instance_count_in_metadata_is_invalid_naming_the_key(count: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        metadata_overrides({"smdeploy:initialInstanceCount": count})

    assert caught.value.field == "CustomerMetadataProperties.smdeploy:initialInstanceCount"
    assert "1 to 100" in caught.value.problem


def test_bad_instance_count_in_package_metadata_stops_the_plan() -> None:
    pkg = package(CustomerMetadataProperties={"smdeploy:initialInstanceCount": "0"})

    assert invalid_field(pkg=pkg) == "CustomerMetadataProperties.smdeploy:initialInstanceCount"


@pytest.mark.parametrize("instance_type", ["m5.large", "ml.m5", "ml.m5.large "])
def test_bad_instance_type_in_metadata_is_invalid_naming_the_key(instance_type: str) -> None:
    pkg = package(CustomerMetadataProperties={"smdeploy:instanceType": instance_type})

    assert invalid_field(pkg=pkg) == "CustomerMetadataProperties.smdeploy:instanceType"


def test_missing_metadata_properties_mean_no_overrides() -> None:
    assert plan_for(pkg=package(CustomerMetadataProperties=...)).instanceType == "ml.m5.large"


# --- the package must be deployable --------------------------------------------------------------
@pytest.mark.parametrize("approval_status", ["PendingManualApproval", "Rejected", ...])
def test_package_not_approved_is_invalid_naming_model_package_arn(approval_status: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        plan_for(pkg=package(ModelApprovalStatus=approval_status))

    assert caught.value.field == "modelPackageArn"
    assert "only Approved packages deploy" in caught.value.problem


@pytest.mark.parametrize("status", ["Pending", "InProgress", "Failed", "Deleting", ...])
def test_package_not_completed_is_invalid_naming_model_package_arn(status: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        plan_for(pkg=package(ModelPackageStatus=status))

    assert caught.value.field == "modelPackageArn"
    assert "'Completed'" in caught.value.problem


def test_unversioned_or_malformed_request_arn_is_invalid_naming_model_package_arn() -> None:
    request = DeployRequest(
        source="approval", modelPackageArn="arn:aws:sagemaker:<<region>>:<<account>>:model-package/x/1"
    )

    assert invalid_field(request=request, pkg=package()) == "modelPackageArn"


# --- the endpoint ---------------------------------------------------------------------------------
def test_no_endpoint_configured_anywhere_is_invalid_naming_endpoint_name() -> None:
    with pytest.raises(InvalidRequest) as caught:
        plan_for(group=GroupConfig(instanceType="ml.c5.xlarge"))

    assert caught.value.field == "endpointName"
    assert "'churn'" in caught.value.problem
    assert SSM in caught.value.problem


def test_no_group_config_and_no_manual_endpoint_is_invalid_naming_endpoint_name() -> None:
    with pytest.raises(InvalidRequest) as caught:
        build_plan(
            approval(),
            package=package(),
            group_config=None,
            group_config_source=SSM,
            defaults=DEFAULTS,
            live_endpoint=None,
        )

    assert caught.value.field == "endpointName"


def test_endpoint_name_that_sagemaker_would_refuse_is_invalid_naming_endpoint_name() -> None:
    # DeployRequest built directly (not through normalize), so nothing checked the name before
    request = DeployRequest(source="manual", modelPackageArn=ARN, overrides={"endpointName": "churn_prod"})

    assert invalid_field(request=request) == "endpointName"


def test_action_is_create_without_a_live_endpoint() -> None:
    plan = plan_for(live=None)

    assert plan.action == "CREATE"
    assert plan.currentEndpointConfigName is None


def test_action_is_update_with_a_live_endpoint_and_remembers_its_config() -> None:
    plan = plan_for(live=LIVE)

    assert plan.action == "UPDATE"
    assert plan.currentEndpointConfigName == LIVE["EndpointConfigName"]
    assert plan.baselineVariantName == "churn-v0"
    assert plan.canaryConfigName != plan.finalConfigName


def test_action_is_skip_when_the_package_already_serves_all_traffic() -> None:
    request = approval()
    serving = [{**BASELINE[0], "ModelPackageArn": request.modelPackageArn}]
    assert plan_for(request, live=LIVE, live_variants=serving).action == "SKIP"


def test_endpoint_serving_two_variants_is_invalid_naming_the_endpoint() -> None:
    two = [BASELINE[0], {**BASELINE[0], "VariantName": "other", "CurrentWeight": 0.5}]
    assert invalid_field(live=LIVE, live_variants=two) == "endpointName"


def test_endpoint_that_is_updating_is_busy_not_invalid() -> None:
    with pytest.raises(EndpointBusy):
        plan_for(live={**LIVE, "EndpointStatus": "Updating"})


# --- names ---------------------------------------------------------------------------------------
LONG_GROUP = "g" * 63
LONG_ARNS = [
    f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{LONG_GROUP}/1",
    f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{LONG_GROUP}/2",
    f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{LONG_GROUP[:-1]}h/1",
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/" + "a-" * 31 + "b/1234567890",
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/1",
    "arn:aws:sagemaker:us-east-1:210987654321:model-package/churn/1",
]
LONG_ENDPOINT = "e" * 63


def _names(plan: DeploymentPlan) -> list[str]:
    return [plan.modelName, plan.endpointConfigName, plan.variantName]


@pytest.mark.parametrize("arn", LONG_ARNS)
def test_generated_names_fit_sagemaker_limits_and_pattern(arn: str) -> None:
    plan = plan_for(approval(arn), group=GroupConfig(endpoint=LONG_ENDPOINT))

    for name in _names(plan):
        assert len(name) <= 63, name
        assert SAGEMAKER_NAME.fullmatch(name), name


def test_generated_names_are_deterministic() -> None:
    first = plan_for(approval(LONG_ARNS[0]))
    again = plan_for(approval(LONG_ARNS[0]))

    assert _names(first) == _names(again)
    assert first == again


def test_generated_names_differ_for_different_packages_even_when_long_group_names_are_cut() -> None:
    plans = [plan_for(approval(arn), group=GroupConfig(endpoint=LONG_ENDPOINT)) for arn in LONG_ARNS]

    model_names = [plan.modelName for plan in plans]
    config_names = [plan.endpointConfigName for plan in plans]
    # the readable parts of the long ones are identical after the cut ...
    assert len({name[:-9] for name in model_names[:3]}) == 1
    # ... yet every package gets its own model and endpoint config
    assert len(set(model_names)) == len(LONG_ARNS)
    assert len(set(config_names)) == len(LONG_ARNS)


def test_generated_names_are_readable_for_short_groups() -> None:
    plan = plan_for()

    assert re.fullmatch(r"churn-prod-churn-v3-[0-9a-f]{8}", plan.modelName)
    assert re.fullmatch(r"churn-prod-v3-[0-9a-f]{8}", plan.endpointConfigName)


def test_endpoint_config_name_changes_with_the_instance_settings() -> None:
    small = plan_for()
    large = plan_for(group=GroupConfig(endpoint="churn-prod", instanceType="ml.m5.xlarge"))

    assert small.modelName == large.modelName
    assert small.endpointConfigName != large.endpointConfigName


def test_resource_name_replaces_characters_sagemaker_refuses() -> None:
    name = resource_name("my_group.v2", "", "--x--", salt="s")

    assert name.startswith("my-group-v2-x-")
    assert SAGEMAKER_NAME.fullmatch(name)


def test_resource_name_of_nothing_readable_is_the_hash_alone() -> None:
    assert re.fullmatch(r"[0-9a-f]{8}", resource_name("", "___", salt="s"))


@given(parts=st.lists(st.text(max_size=80), max_size=4), salt=st.text(max_size=40))
def test_resource_name_is_always_a_valid_sagemaker_name(parts: list[str], salt: str) -> None:
    name = resource_name(*parts, salt=salt)

    assert len(name) <= 63
    assert SAGEMAKER_NAME.fullmatch(name)
    assert name == resource_name(*parts, salt=salt)


# --- polling --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("timeout", "poll"),
    [(1800, 30), (1801, 30), (60, 7), (3600, 3600), (86400, 5), (10, 30)],
)
def test_max_polls_is_the_timeout_divided_by_the_poll_interval_rounded_up(timeout: int, poll: int) -> None:
    plan = plan_for(defaults={**DEFAULTS, "deployTimeoutSeconds": timeout, "pollSeconds": poll})

    assert plan.pollSeconds == poll
    assert plan.maxPolls == math.ceil(timeout / poll)
    assert plan.maxPolls * poll >= timeout


# --- parse_package_arn ---------------------------------------------------------------------------
def test_parse_package_arn_splits_region_account_group_and_version() -> None:
    assert parse_package_arn(ARN) == ("us-east-1", "123456789012", "churn", 3)
    assert parse_package_arn("arn:aws-cn:sagemaker:cn-north-1:123456789012:model-package/a-b/42") == (
        "cn-north-1",
        "123456789012",
        "a-b",
        42,
    )


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn",
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/0",
        "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/churn",
        ARN + "\n",
        "",
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/" + "g" * 64 + "/1",
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/" + "a-" * 32 + "b/1",
    ],
)
def test_parse_package_arn_rejects_anything_but_a_versioned_package_naming_the_field(arn: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_package_arn(arn)
    assert caught.value.field == "modelPackageArn"

    with pytest.raises(InvalidRequest) as caught:
        parse_package_arn(arn, field="detail.ModelPackageArn")
    assert caught.value.field == "detail.ModelPackageArn"


# --- group config --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"endpoint": "churn_prod"}, f"{SSM}.endpoint"),
        ({"initialInstanceCount": 0}, f"{SSM}.initialInstanceCount"),
        ({"instanceType": "big"}, f"{SSM}.instanceType"),
        ({"endpoints": "churn-prod"}, f"{SSM}.endpoints"),
        ("not an object", f"{SSM}.value"),
    ],
)
def test_bad_group_config_is_invalid_naming_the_parameter_and_key(raw: Any, field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_group_config(raw, SSM)

    assert caught.value.field == field


def test_good_group_config_parses() -> None:
    config = parse_group_config({"endpoint": "churn-prod", "initialInstanceCount": 2}, SSM)

    assert config == GroupConfig(endpoint="churn-prod", initialInstanceCount=2)


def test_a_package_from_another_account_needs_the_group_to_allow_that_account() -> None:
    foreign = approval("arn:aws:sagemaker:us-east-1:210987654321:model-package/churn/4")
    own = {**DEFAULTS, "accountId": "123456789012"}
    with pytest.raises(InvalidRequest) as caught:
        plan_for(foreign, defaults=own)
    assert caught.value.field == "modelPackageArn"
    assert "allowedAccounts" in caught.value.problem
    allowed = GroupConfig(endpoint="churn-prod", allowedAccounts=["210987654321"])
    assert plan_for(foreign, defaults=own, group=allowed).modelPackageArn.startswith(
        "arn:aws:sagemaker:us-east-1:2109"
    )


def test_a_package_from_the_own_account_needs_no_allowance() -> None:
    assert plan_for(defaults={**DEFAULTS, "accountId": "123456789012"}).action == "CREATE"


# --- staged promotion -------------------------------------------------------------------------------
STAGED = GroupConfig.model_validate(
    {
        "stages": [
            {"endpoint": "churn-staging"},
            {"endpoint": "churn-prod", "gate": "manual", "timeoutHours": 2},
        ]
    }
)


def test_an_approval_deploys_to_the_first_stage_and_names_the_gate_after_it() -> None:
    plan = plan_for(approval(), group=STAGED)

    assert plan.endpointName == "churn-staging"
    assert plan.stage == {"index": 0, "of": 2, "endpoint": "churn-staging"}
    assert plan.nextStage == {"index": 1, "endpoint": "churn-prod", "gate": "manual", "timeoutSeconds": 7200}


def test_a_manual_deployment_to_a_stage_stops_there_unless_it_goes_through_the_stages() -> None:
    stops = plan_for(manual(endpointName="churn-staging"), group=STAGED)
    goes_on = plan_for(manual(endpointName="churn-staging", throughStages=True), group=STAGED)

    assert (stops.endpointName, stops.nextStage) == ("churn-staging", None)
    assert goes_on.nextStage is not None and goes_on.nextStage["endpoint"] == "churn-prod"


def test_the_last_stage_has_no_next_stage() -> None:
    plan = plan_for(manual(endpointName="churn-prod", throughStages=True), group=STAGED)

    assert plan.stage == {"index": 1, "of": 2, "endpoint": "churn-prod"} and plan.nextStage is None
