"""schemas/manual-input.schema.json: generated from the model, and it accepts what the model accepts."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from smdeploy.errors import InvalidRequest
from smdeploy.events import normalize
from smdeploy.models import ManualDeployInput

REPO = Path(__file__).resolve().parents[2]
SCHEMA_FILE = REPO / "schemas" / "manual-input.schema.json"
ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3"


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_schema", REPO / "tools" / "generate_schema.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = _load_generator()


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_committed_schema_is_what_the_model_generates_now() -> None:
    assert SCHEMA_FILE.exists(), "schemas/manual-input.schema.json is missing: run `make schema`"
    assert SCHEMA_FILE.read_text() == generator.render(), (
        "schemas/manual-input.schema.json differs from ManualDeployInput: run `make schema` and commit it"
    )


def test_schema_declares_draft_2020_12_and_a_relative_id() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "manual-input.schema.json"
    assert "://" not in schema["$id"]


def test_schema_file_is_sorted_indented_and_ends_with_a_newline() -> None:
    text = SCHEMA_FILE.read_text()

    assert text.endswith("}\n")
    assert not text.endswith("\n\n")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_generator_check_mode_reports_up_to_date_and_writes_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = SCHEMA_FILE.stat().st_mtime_ns

    assert generator.main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert SCHEMA_FILE.stat().st_mtime_ns == before


def test_sample_manual_deploy_event_is_valid_against_the_schema(validator: Draft202012Validator) -> None:
    instance = json.loads((REPO / "events" / "manual_deploy.json").read_text())

    assert list(validator.iter_errors(instance)) == []


def test_schema_examples_are_valid_against_the_schema_and_the_model(validator: Draft202012Validator) -> None:
    examples = json.loads(SCHEMA_FILE.read_text())["examples"]

    assert examples
    for example in examples:
        assert list(validator.iter_errors(example)) == []
        assert normalize(example).source == "manual"


MALFORMED = {
    "unversioned arn": {"modelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn"},
    "not an arn": {"modelPackageArn": "churn/3"},
    "group of 64 chars": {
        "modelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/" + "g" * 64 + "/3"
    },
    "no arn": {"endpointName": "churn-prod"},
    "arn not a string": {"modelPackageArn": 3},
    "endpoint with underscore": {"modelPackageArn": ARN, "endpointName": "churn_prod"},
    "endpoint of 64 chars": {"modelPackageArn": ARN, "endpointName": "e" * 64},
    "endpoint of 72 chars with hyphens": {"modelPackageArn": ARN, "endpointName": "a" + "-" * 10 + "b" * 61},
    "bad instance type": {"modelPackageArn": ARN, "instanceType": "m5.large"},
    "instance count 0": {"modelPackageArn": ARN, "initialInstanceCount": 0},
    "instance count 101": {"modelPackageArn": ARN, "initialInstanceCount": 101},
    "instance count 1.5": {"modelPackageArn": ARN, "initialInstanceCount": 1.5},
    "reason too long": {"modelPackageArn": ARN, "reason": "x" * 513},
    "unknown key": {"modelPackageArn": ARN, "dryRun": True},
    "not an object": [ARN],
}


@pytest.mark.parametrize("instance", MALFORMED.values(), ids=MALFORMED)
def test_malformed_manual_input_is_rejected_by_the_schema_and_by_the_model(
    validator: Draft202012Validator, instance: Any
) -> None:
    assert list(validator.iter_errors(instance)), "the schema accepted it"
    with pytest.raises(InvalidRequest):
        normalize(instance)


def test_schema_names_the_offending_property_of_a_malformed_example(validator: Draft202012Validator) -> None:
    errors = list(validator.iter_errors({"modelPackageArn": ARN, "endpointName": "churn_prod"}))

    assert [list(error.absolute_path) for error in errors] == [["endpointName"]]


def test_schema_requires_only_the_package_arn_and_forbids_other_keys() -> None:
    schema = ManualDeployInput.model_json_schema()

    assert schema["required"] == ["modelPackageArn"]
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {
        "modelPackageArn",
        "endpointName",
        "instanceType",
        "initialInstanceCount",
        "createEndpoint",
        "reason",
        "strategy",
        "throughStages",
    }
