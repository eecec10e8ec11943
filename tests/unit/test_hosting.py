"""How a model is hosted: one container, a pipeline (serial or direct), or a multi-model endpoint."""

from __future__ import annotations

from typing import Any

import pytest

from smdeploy.errors import InvalidRequest
from smdeploy.models import GroupConfig
from smdeploy.plan import build_plan, parse_group_config
from tests.unit.test_plan import ARN, BASELINE, DEFAULTS, LIVE, SSM, approval, package
from tests.unit.test_serverless import SERVERLESS

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
MME = {"artifactPrefix": "s3://mme-models/churn/", "smokePayload": "1,2,3"}


def containers(n: int) -> dict[str, Any]:
    return {
        "Containers": [
            {"Image": IMAGE, "ModelDataUrl": f"s3://artifacts/churn/3/step{i}/model.tar.gz"} for i in range(n)
        ]
    }


def plan_for(
    group: dict[str, Any], spec: dict[str, Any] | None = None, live: Any = None, variants: Any = None
):  # type: ignore[no-untyped-def]
    answer = package(ARN, **({"InferenceSpecification": spec} if spec else {}))
    return build_plan(
        approval(),
        package=answer,
        group_config=GroupConfig.model_validate({"endpoint": "churn-prod", **group}),
        group_config_source=SSM,
        defaults=DEFAULTS,
        live_endpoint=live,
        live_variants=variants,
    )


def test_a_single_container_package_is_deployed_as_the_package_itself() -> None:
    plan = plan_for({})
    assert plan.containers is None and plan.containerMode is None and not plan.isMultiModel


def test_several_containers_are_a_serial_pipeline_unless_the_group_asks_for_direct() -> None:
    serial = plan_for({}, containers(3))
    assert serial.containerMode == "Serial"
    assert serial.containers is not None
    assert [c["ContainerHostname"] for c in serial.containers] == [
        "container-1",
        "container-2",
        "container-3",
    ]
    assert serial.containers[1]["ModelDataUrl"].endswith("step1/model.tar.gz")
    assert plan_for({"containerMode": "Direct"}, containers(2)).containerMode == "Direct"


def test_a_container_mode_for_a_single_container_package_is_noted_not_hidden() -> None:
    plan = plan_for({"containerMode": "Direct"})
    assert plan.containerMode is None
    assert any("containerMode Direct" in note for note in plan.notes)


@pytest.mark.parametrize(
    ("group", "spec", "field", "words"),
    [
        ({}, containers(16), "modelPackageArn", "at most 15"),
        ({"serverless": SERVERLESS}, containers(2), "serverless", "do not run multi-container"),
        ({"multiModel": MME}, containers(2), "multiModel", "hosts one container"),
        ({"multiModel": MME}, {"Containers": [{"Image": IMAGE}]}, "modelPackageArn", "ModelDataUrl"),
    ],
)
def test_hosting_sagemaker_cannot_do_is_invalid(
    group: dict[str, Any], spec: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        plan_for(group, spec)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_a_multi_model_group_creates_then_adds_models_without_an_update() -> None:
    first = plan_for({"multiModel": MME}, containers(1))
    assert (first.action, first.isMultiModel) == ("CREATE", True)
    assert first.multiModel is not None
    assert first.multiModel["targetModel"] == "churn-v3.tar.gz"
    assert first.multiModel["sourceArtifact"] == "s3://artifacts/churn/3/step0/model.tar.gz"
    later = plan_for({"multiModel": MME}, containers(1), live=LIVE, variants=BASELINE)
    assert later.action == "ADD_MODEL"
    assert later.endpointConfigName == LIVE["EndpointConfigName"]  # no new config: the live one stays
    assert any("no endpoint update" in note for note in later.notes)


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"multiModel": {"artifactPrefix": "s3://mme-models/churn"}}, "pattern"),
        ({"multiModel": MME, "serverless": SERVERLESS}, "do not host multi-model"),
        ({"containerMode": "Parallel"}, "Serial"),
    ],
)
def test_bad_hosting_settings_in_the_group_config_are_invalid(config: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_group_config({"endpoint": "churn-prod", **config}, SSM)
    assert words in str(caught.value)


VARIANTS = [
    {"instanceType": "ml.m5.large", "initialInstanceCount": 3, "weight": 3},
    {"instanceType": "ml.c5.xlarge"},
]


def test_several_variants_are_planned_and_replaced_together_with_a_note() -> None:
    first = plan_for({"variants": VARIANTS})
    assert first.variants is not None and [v["weight"] for v in first.variants] == [3, 1.0]
    assert first.notes == []
    two_live = [{**BASELINE[0], "VariantName": f"churn-v0-{i}"} for i in (1, 2)]
    later = plan_for({"variants": VARIANTS}, live=LIVE, variants=two_live)
    assert later.action == "UPDATE" and later.rollout is not None and later.rollout.replaceOnly
    assert "the group serves 2 production variants" in later.notes[0]


def test_several_variants_already_serving_the_package_are_skipped() -> None:
    serving = [{**BASELINE[0], "VariantName": f"v{i}", "ModelPackageArn": ARN} for i in (1, 2)]
    assert plan_for({"variants": VARIANTS}, live=LIVE, variants=serving).action == "SKIP"


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"variants": VARIANTS, "instanceType": "ml.m5.large"}, "per variant"),
        ({"variants": VARIANTS[:1]}, "at least 2"),
        ({"variants": VARIANTS, "strategy": {"type": "guardrails-canary"}}, "guardrails shift one variant"),
        ({"variants": [{"instanceType": "m5.large"}, VARIANTS[1]]}, "instance type"),
        (
            {"variants": [VARIANTS[0], {**VARIANTS[1], "autoscaling": {"minCapacity": 0, "maxCapacity": 2}}]},
            "needs an asynchronous endpoint",
        ),
    ],
)
def test_contradictory_variant_settings_are_invalid(config: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_group_config({"endpoint": "churn-prod", **config}, SSM)
    assert words in str(caught.value)


def test_a_manual_instance_type_contradicts_a_group_with_several_variants() -> None:
    from tests.unit.test_plan import manual

    with pytest.raises(InvalidRequest) as caught:
        build_plan(
            manual(instanceType="ml.m5.xlarge"),
            package=package(ARN),
            group_config=GroupConfig.model_validate({"endpoint": "churn-prod", "variants": VARIANTS}),
            group_config_source=SSM,
            defaults=DEFAULTS,
            live_endpoint=None,
        )
    assert caught.value.field == "instanceType"
