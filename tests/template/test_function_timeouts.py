"""Each function's Timeout outlasts the longest AWS call it can make.

A Lambda function that reaches its Timeout is stopped mid-call ("Configure Lambda function
timeout", Lambda Developer Guide) and the state machine sees ``Sandbox.Timedout`` with the call's
effect unknown. So every client has explicit connect and read timeouts
(``smdeploy.adapters.aws.client_config``) and each function's Timeout exceeds attempts x (connect
+ read) of the slowest service it calls, plus headroom for the rest of the handler.

Which services a function calls is read from its handler: the adapters it imports
(``functions/<name>/app.py``) and the ``client("service")`` calls in those adapters.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from localcloud.engine.template import TEMPLATE_PATH, Template, load_yaml
from smdeploy.adapters.aws import client_config, longest_call_seconds
from tests.template.helpers import REPO

ADAPTERS = REPO / "layers" / "common" / "smdeploy" / "adapters"
CLIENT_CALL = re.compile(r"""\bclient\(\s*["']([a-z0-9-]+)["']\s*\)""")
HEADROOM_SECONDS = 10  # the handler's own work and its other (fast) calls
LAMBDA_DEFAULT_TIMEOUT = 3  # seconds, when neither the function nor Globals set one


def adapter_services() -> dict[str, set[str]]:
    """adapter module (``smdeploy.adapters.s3``) -> the services whose clients it builds."""
    return {
        f"smdeploy.adapters.{path.stem}": set(CLIENT_CALL.findall(path.read_text()))
        for path in ADAPTERS.glob("*.py")
    }


def services_called(handler_dir: Path, adapters: dict[str, set[str]]) -> set[str]:
    tree = ast.parse((handler_dir / "app.py").read_text())
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    return set().union(*(adapters.get(module, set()) for module in modules))


def function_timeouts(doc: dict[str, Any]) -> dict[str, tuple[Path, int]]:
    """logical id -> (code directory, Timeout in seconds)."""
    default = int(doc.get("Globals", {}).get("Function", {}).get("Timeout", LAMBDA_DEFAULT_TIMEOUT))
    return {
        lid: (REPO / res["Properties"]["CodeUri"], int(res["Properties"].get("Timeout", default)))
        for lid, res in doc["Resources"].items()
        if res["Type"] == "AWS::Serverless::Function"
    }


def timeout_problems(doc: dict[str, Any]) -> list[str]:
    adapters = adapter_services()
    problems = []
    for lid, (code_dir, timeout) in sorted(function_timeouts(doc).items()):
        services = services_called(code_dir, adapters)
        if not services:
            continue
        slowest = max(services, key=longest_call_seconds)
        needed = longest_call_seconds(slowest) + HEADROOM_SECONDS
        if timeout < needed:
            problems.append(
                f"{lid}: Timeout {timeout} s, but one {slowest} call may take "
                f"{longest_call_seconds(slowest):g} s (+{HEADROOM_SECONDS} s headroom)"
            )
    return problems


def test_every_function_outlasts_its_slowest_call() -> None:
    assert timeout_problems(load_yaml(TEMPLATE_PATH)) == []


def test_the_smoke_test_waits_long_enough_for_a_multi_model_endpoint_to_load_a_model() -> None:
    """InvokeEndpoint: containers answer within 60 s, so the SDK read timeout must be above that."""
    assert client_config("sagemaker-runtime").read_timeout >= 70
    adapters = adapter_services()
    smoke_dir, timeout = function_timeouts(load_yaml(TEMPLATE_PATH))["SmokeTestFunction"]
    assert services_called(smoke_dir, adapters) == {"sagemaker-runtime"}
    assert timeout > longest_call_seconds("sagemaker-runtime")


def test_every_client_has_explicit_timeouts_below_botocore_defaults() -> None:
    for services in adapter_services().values():
        for service in services:
            config = client_config(service)
            assert config.connect_timeout is not None and config.connect_timeout < 60
            assert config.read_timeout is not None
            assert config.retries == {"total_max_attempts": 1, "mode": "standard"}


def test_the_resolved_template_carries_the_same_timeouts() -> None:
    """The local cloud reads the same template: the check is not about a copy."""
    assert set(function_timeouts(load_yaml(TEMPLATE_PATH))) == set(Template().functions())


@pytest.mark.parametrize(("function", "timeout"), [("SmokeTestFunction", 60), ("AddModelFunction", 60)])
def test_a_timeout_too_short_for_the_slowest_call_is_named(function: str, timeout: int) -> None:
    doc = load_yaml(TEMPLATE_PATH)
    doc["Resources"][function]["Properties"]["Timeout"] = timeout
    [problem] = timeout_problems(doc)
    assert problem.startswith(f"{function}: Timeout {timeout} s")
