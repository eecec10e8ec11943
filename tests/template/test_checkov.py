"""tools/run_checkov.py, as `make validate` runs it: suppressions survive the SAM translation and a
new finding fails the run.

The runs need the SAM CLI's and checkov's environments (`make validate` installs both in .tools/);
without them those tests are skipped, the pure preparation step is tested anyway.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.template.helpers import REPO

TOOL = REPO / "tools" / "run_checkov.py"
SAM_PYTHON = REPO / ".tools" / "sam" / "bin" / "python"
CHECKOV = REPO / ".tools" / "checkov" / "bin" / "checkov"
needs_tools = pytest.mark.skipif(
    not (SAM_PYTHON.is_file() and CHECKOV.is_file()),
    reason="make validate installs .tools/sam and .tools/checkov",
)
# A statement no reviewer should let through, on a function that already suppresses two IAM checks.
WILDCARD = """      Policies:
        - Statement:
            - Sid: Everything
              Effect: Allow
              Action: "*"
              Resource: "*"
            - Sid: ReadRegistryAndEndpoints"""
ANCHOR = """      Policies:
        - Statement:
            - Sid: ReadRegistryAndEndpoints"""
SKIPS = """          - {id: CKV_AWS_107, comment: "test: carried to the generated role"}
          - {id: CKV_AWS_109, comment: "test: carried to the generated role"}
"""


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_checkov", TOOL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def failed(report: Path) -> set[tuple[str, str]]:
    results: Any = json.loads(report.read_text())
    results = results[0] if isinstance(results, list) else results
    return {(check["check_id"], check["resource"]) for check in results["results"]["failed_checks"]}


def test_prepare_points_code_at_s3_and_inlines_state_machines(tmp_path: Path) -> None:
    tool = load_tool()
    (tmp_path / "sm.asl.json").write_text(
        json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    )
    template = {
        "Resources": {
            "Fn": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "functions/x/"}},
            "Layer": {
                "Type": "AWS::Serverless::LayerVersion",
                "Properties": {"ContentUri": "layers/common/"},
            },
            "Machine": {
                "Type": "AWS::Serverless::StateMachine",
                "Properties": {"DefinitionUri": "sm.asl.json"},
            },
            "Remote": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": "s3://bucket/code.zip"},
            },
        }
    }
    resources = tool.prepare(template, tmp_path)["Resources"]
    assert resources["Fn"]["Properties"]["CodeUri"] == "s3://smdeploy-checkov-placeholder/functions/x/"
    assert (
        resources["Layer"]["Properties"]["ContentUri"] == "s3://smdeploy-checkov-placeholder/layers/common/"
    )
    assert resources["Machine"]["Properties"] == {
        "Definition": json.loads((tmp_path / "sm.asl.json").read_text())
    }
    assert resources["Remote"]["Properties"]["CodeUri"] == "s3://bucket/code.zip"


def test_prepare_names_a_missing_definition_file(tmp_path: Path) -> None:
    template = {
        "Resources": {
            "M": {"Type": "AWS::Serverless::StateMachine", "Properties": {"DefinitionUri": "nope.json"}}
        }
    }
    with pytest.raises(SystemExit, match=r"M\.DefinitionUri: nope\.json does not exist"):
        load_tool().prepare(template, tmp_path)


@needs_tools
def test_wildcard_policy_fails_only_the_translated_run_and_skips_carry_over(tmp_path: Path) -> None:
    text = (REPO / "template.yaml").read_text()
    assert text.count(ANCHOR) == 1
    text = text.replace(ANCHOR, WILDCARD)
    function_skips = (
        "  ResolvePlanFunction:\n    Type: AWS::Serverless::Function\n"
        "    Metadata:\n      checkov:\n        skip:\n"
    )
    assert text.count(function_skips) == 1
    text = text.replace(function_skips, function_skips + SKIPS)
    (tmp_path / "template.yaml").write_text(text)
    (tmp_path / "statemachines").symlink_to(REPO / "statemachines")
    out = tmp_path / "out" / "translated.json"

    result = subprocess.run(
        [str(SAM_PYTHON), str(TOOL), "--template", str(tmp_path / "template.yaml"), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert failed(out.with_suffix(".sam-checkov.json")) == set()  # IAM checks do not run on SAM resources
    found = failed(out.with_suffix(".checkov.json"))
    role = "AWS::IAM::Role.ResolvePlanFunctionRole"
    assert ("CKV_AWS_63", role) in found
    assert ("CKV_AWS_111", role) in found
    # suppressed on the SAM function, so on the role the translator made from it
    assert ("CKV_AWS_107", role) not in found
    assert ("CKV_AWS_109", role) not in found
    assert {resource for _check, resource in found} == {role}
    assert "<- FAILED" in result.stdout
    assert "suppress it on the resource with a reason" in result.stderr
