"""The template and ASL checks pass on the real files and report each kind of breakage."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from localcloud.template_checks import (
    asl_paths,
    check_asl_files,
    check_asl_structure,
    check_definition_files,
    check_deploy_rule,
    check_functions,
    check_iam,
    lambda_placeholders,
    run_checks,
)
from tests.template.helpers import DEPLOY_ASL, REPO, write_json

SOURCE = "deploy_model.asl.json"
FUNCTION_PLACEHOLDERS = frozenset({"ResolvePlanFunctionArn", "CreateModelFunctionArn"})


def resources(template: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = template["Resources"]
    return result


def props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    result: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return result


def mentions(problems: list[str], *fragments: str) -> bool:
    return any(all(fragment in problem for fragment in fragments) for problem in problems)


def structure(definition: dict[str, Any]) -> list[str]:
    return check_asl_structure(definition, SOURCE, FUNCTION_PLACEHOLDERS)


# --- the real files ----------------------------------------------------------------------------
@pytest.mark.parametrize("check", list(run_checks()))
def test_real_template_and_asl_pass_every_check(check: str) -> None:
    assert run_checks()[check] == []


def test_every_asl_file_in_statemachines_is_checked(template: dict[str, Any]) -> None:
    checked = asl_paths(template, REPO)
    assert DEPLOY_ASL.resolve() in checked
    assert set((REPO / "statemachines").glob("*.asl.json")) <= set(checked)


def test_function_arn_substitutions_are_known_as_lambda_resources(template: dict[str, Any]) -> None:
    substitutions = {
        name
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::StateMachine"
        for name in resource["Properties"]["DefinitionSubstitutions"]
    }
    assert lambda_placeholders(template) == {name for name in substitutions if name.endswith("FunctionArn")}


# --- DefinitionUri and DefinitionSubstitutions --------------------------------------------------
def test_missing_definition_uri_file_is_reported(template: dict[str, Any], tmp_path: Path) -> None:
    props(template, "DeployStateMachine")["DefinitionUri"] = "statemachines/missing.asl.json"
    problems = check_definition_files(template, tmp_path)
    assert mentions(problems, "DeployStateMachine", "statemachines/missing.asl.json", "does not exist")


def test_placeholder_without_substitution_is_reported(
    template: dict[str, Any], deploy_asl: dict[str, Any], tmp_path: Path
) -> None:
    deploy_asl["States"]["Create endpoint"]["Resource"] = "${CreateEndpointFnArn}"
    write_json(tmp_path / "statemachines" / "deploy_model.asl.json", deploy_asl)
    problems = check_definition_files(template, tmp_path)
    assert mentions(problems, "${CreateEndpointFnArn}", "has no CreateEndpointFnArn")
    assert mentions(problems, "DefinitionSubstitutions.CreateEndpointFunctionArn is not used")


def test_unused_substitution_is_reported(template: dict[str, Any]) -> None:
    props(template, "DeployStateMachine")["DefinitionSubstitutions"]["LeftoverArn"] = "arn:aws:sns:x"
    assert check_definition_files(template, REPO) == [
        "DeployStateMachine: DefinitionSubstitutions.LeftoverArn is not used in "
        "statemachines/deploy_model.asl.json"
    ]


def test_state_machine_without_any_definition_is_reported(template: dict[str, Any]) -> None:
    del props(template, "DeployStateMachine")["DefinitionUri"]
    assert mentions(check_definition_files(template, REPO), "neither DefinitionUri nor Definition")


# --- ASL structure -----------------------------------------------------------------------------
def test_next_to_missing_state_is_reported(deploy_asl: dict[str, Any]) -> None:
    deploy_asl["States"]["Capture request"]["Next"] = "Resolve the plan"
    problems = structure(deploy_asl)
    assert mentions(problems, "'Capture request'", "Next 'Resolve the plan' is not a state")


def test_start_at_missing_state_is_reported(deploy_asl: dict[str, Any]) -> None:
    deploy_asl["StartAt"] = "Begin"
    assert mentions(structure(deploy_asl), "StartAt 'Begin' is not a state")


def test_choice_default_to_missing_state_is_reported(deploy_asl: dict[str, Any]) -> None:
    deploy_asl["States"]["Deployment type?"]["Default"] = "Update endpoint"
    assert mentions(structure(deploy_asl), "Default 'Update endpoint' is not a state")


def test_choice_rule_next_to_missing_state_is_reported(deploy_asl: dict[str, Any]) -> None:
    deploy_asl["States"]["Endpoint in service?"]["Choices"][0]["Next"] = "Shift traffic"
    assert mentions(structure(deploy_asl), "Choices[0].Next 'Shift traffic' is not a state")


def test_catch_next_to_missing_state_is_reported(deploy_asl: dict[str, Any]) -> None:
    deploy_asl["States"]["Create endpoint"]["Catch"][-1]["Next"] = "Roll back"
    assert mentions(structure(deploy_asl), "'Create endpoint'", "Catch[", "Next 'Roll back' is not a state")


def test_unreachable_state_is_reported(deploy_asl: dict[str, Any]) -> None:
    deploy_asl["States"]["Forgotten"] = {"Type": "Pass", "Next": "Deployed"}
    assert structure(deploy_asl) == [
        f"{SOURCE}: state 'Forgotten' is unreachable from StartAt 'Capture request'"
    ]


def test_state_reachable_only_through_catch_is_not_reported(deploy_asl: dict[str, Any]) -> None:
    # "Record invalid request" is entered only from Catches.
    assert not mentions(structure(deploy_asl), "'Record invalid request'")
    deploy_asl["States"]["Resolve deployment plan"]["Catch"].pop(0)
    deploy_asl["States"]["Re-read endpoint under lock"]["Catch"].pop(0)
    assert mentions(structure(deploy_asl), "'Record invalid request' is unreachable")


def test_state_without_next_or_end_is_reported(deploy_asl: dict[str, Any]) -> None:
    state = deploy_asl["States"]["Start canary at first step"]
    del state["Next"]
    problems = structure(deploy_asl)
    assert mentions(problems, "'Start canary at first step' has neither Next nor End")


def test_state_with_end_false_and_no_next_is_reported(deploy_asl: dict[str, Any]) -> None:
    state = deploy_asl["States"]["Start canary at first step"]
    del state["Next"]
    state["End"] = False
    assert mentions(structure(deploy_asl), "'Start canary at first step' has neither Next nor End")


def test_state_with_next_and_end_is_reported(deploy_asl: dict[str, Any]) -> None:
    deploy_asl["States"]["Start canary at first step"]["End"] = True
    assert mentions(structure(deploy_asl), "'Start canary at first step' has both Next and End")


def test_choice_succeed_and_fail_states_need_no_next(deploy_asl: dict[str, Any]) -> None:
    types = {state["Type"] for state in deploy_asl["States"].values() if "Next" not in state}
    assert types == {"Choice", "Succeed", "Fail"}
    assert structure(deploy_asl) == []


def test_unknown_state_type_is_reported(deploy_asl: dict[str, Any]) -> None:
    deploy_asl["States"]["Start canary at first step"]["Type"] = "Noop"
    assert mentions(structure(deploy_asl), "'Start canary at first step' has unknown Type 'Noop'")


@pytest.mark.parametrize(
    "resource",
    [
        "${CreateModelFunctionArn}",
        "arn:aws:lambda:us-east-1:123456789012:function:create-model",
        "arn:aws:states:::lambda:invoke",
    ],
)
def test_lambda_task_without_retry_is_reported(deploy_asl: dict[str, Any], resource: str) -> None:
    state = deploy_asl["States"]["Create model from package"]
    state["Resource"] = resource
    del state["Retry"]
    assert mentions(structure(deploy_asl), "'Create model from package': Lambda task has no Retry")


def test_non_lambda_task_without_retry_is_not_reported(deploy_asl: dict[str, Any]) -> None:
    state = deploy_asl["States"]["Create model from package"]
    state["Resource"] = "arn:aws:states:::sns:publish"
    del state["Retry"]
    assert structure(deploy_asl) == []


@pytest.mark.parametrize("blanket", ["States.TaskFailed", "States.ALL"])
def test_blanket_retry_is_reported(deploy_asl: dict[str, Any], blanket: str) -> None:
    retriers = deploy_asl["States"]["Create endpoint"]["Retry"]
    retriers.append({"ErrorEquals": [blanket], "MaxAttempts": 2})
    assert mentions(structure(deploy_asl), f"'Create endpoint': Retry[{len(retriers) - 1}] retries {blanket}")


def test_states_all_before_the_last_catch_is_reported(deploy_asl: dict[str, Any]) -> None:
    catchers = deploy_asl["States"]["Create endpoint"]["Catch"]
    catchers.reverse()
    assert mentions(structure(deploy_asl), "'Create endpoint': Catch[0]: States.ALL must be alone")


def test_next_to_missing_state_inside_parallel_branch_is_reported(deploy_asl: dict[str, Any]) -> None:
    deploy_asl["States"]["Start canary at first step"] = {
        "Type": "Parallel",
        "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "Next": "Shift traffic to candidate"}}},
        ],
        "ResultPath": None,
        "Next": "Shift traffic to candidate",
    }
    problems = structure(deploy_asl)
    assert problems == [
        f"{SOURCE}: Start canary at first step Branches[1] state 'B': "
        "Next 'Shift traffic to candidate' is not a state"
    ]


@pytest.mark.parametrize("key", ["ItemProcessor", "Iterator"])
def test_unreachable_state_inside_map_is_reported(deploy_asl: dict[str, Any], key: str) -> None:
    deploy_asl["States"]["Start canary at first step"] = {
        "Type": "Map",
        key: {
            "StartAt": "Score",
            "States": {"Score": {"Type": "Pass", "End": True}, "Stray": {"Type": "Succeed"}},
        },
        "Next": "Shift traffic to candidate",
    }
    assert structure(deploy_asl) == [
        f"{SOURCE}: Start canary at first step {key} state 'Stray' is unreachable from StartAt 'Score'"
    ]


def test_nested_lambda_task_without_retry_is_reported(deploy_asl: dict[str, Any]) -> None:
    task = {"Type": "Task", "Resource": "${ResolvePlanFunctionArn}", "End": True}
    deploy_asl["States"]["Start canary at first step"] = {
        "Type": "Parallel",
        "Branches": [{"StartAt": "T", "States": {"T": task}}],
        "Next": "Shift traffic to candidate",
    }
    assert mentions(structure(deploy_asl), "Branches[0] state 'T': Lambda task has no Retry")


def test_duplicate_state_name_in_asl_file_is_reported(template: dict[str, Any], tmp_path: Path) -> None:
    text = DEPLOY_ASL.read_text()
    duplicated = text.replace('"Deployment failed": {', '"Deployed": {', 1)
    assert duplicated != text
    (tmp_path / "statemachines").mkdir()
    (tmp_path / "statemachines" / "deploy_model.asl.json").write_text(duplicated)
    assert mentions(check_asl_files(template, tmp_path), "duplicate key 'Deployed'")


def test_asl_file_that_is_not_json_is_reported(template: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "statemachines").mkdir()
    (tmp_path / "statemachines" / "batch.asl.json").write_text("{StartAt: nope")
    assert mentions(check_asl_files(template, tmp_path), "statemachines/batch.asl.json", "not valid JSON")


def test_broken_asl_file_beside_the_template_is_found_without_a_reference(
    template: dict[str, Any], deploy_asl: dict[str, Any], tmp_path: Path
) -> None:
    deploy_asl["States"]["Capture request"]["Next"] = "Nowhere"
    write_json(tmp_path / "statemachines" / "unreferenced.asl.json", deploy_asl)
    assert mentions(check_asl_files(template, tmp_path), "unreferenced.asl.json", "Next 'Nowhere'")


# --- functions and layers ----------------------------------------------------------------------
@pytest.fixture
def code_copy(tmp_path: Path) -> Path:
    """functions/ and layers/ copied under tmp_path, to break without touching the repo."""
    shutil.copytree(REPO / "functions", tmp_path / "functions")
    shutil.copytree(REPO / "layers", tmp_path / "layers", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_real_functions_pass_from_a_copy(template: dict[str, Any], code_copy: Path) -> None:
    assert check_functions(template, code_copy) == []


def test_missing_code_uri_directory_is_reported(template: dict[str, Any]) -> None:
    props(template, "CreateModelFunction")["CodeUri"] = "functions/create_modle/"
    assert check_functions(template, REPO) == [
        "CreateModelFunction: CodeUri functions/create_modle/ is not a directory"
    ]


def test_missing_handler_module_is_reported(template: dict[str, Any]) -> None:
    props(template, "CreateModelFunction")["Handler"] = "handler.lambda_handler"
    assert mentions(check_functions(template, REPO), "CreateModelFunction", "module handler not found")


def test_handler_function_not_defined_is_reported(template: dict[str, Any], code_copy: Path) -> None:
    app = code_copy / "functions" / "check_endpoint" / "app.py"
    app.write_text(app.read_text().replace("def lambda_handler(", "def handle("))
    problems = check_functions(template, code_copy)
    assert problems == [
        "CheckEndpointFunction: functions/check_endpoint/app.py defines no lambda_handler "
        "(Handler app.lambda_handler)"
    ]


def test_handler_bound_by_assignment_counts_as_defined(template: dict[str, Any], code_copy: Path) -> None:
    app = code_copy / "functions" / "check_endpoint" / "app.py"
    app.write_text(
        app.read_text().replace("def lambda_handler(", "def handle(") + "\nlambda_handler = handle\n"
    )
    assert check_functions(template, code_copy) == []


def test_handler_module_that_does_not_parse_is_reported(template: dict[str, Any], code_copy: Path) -> None:
    (code_copy / "functions" / "check_endpoint" / "app.py").write_text("def lambda_handler(:\n")
    assert mentions(check_functions(template, code_copy), "CheckEndpointFunction", "does not parse")


def test_global_runtime_other_than_python313_is_reported(template: dict[str, Any]) -> None:
    template["Globals"]["Function"]["Runtime"] = "python3.11"
    problems = check_functions(template, REPO)
    functions = [
        lid for lid, res in resources(template).items() if res["Type"] == "AWS::Serverless::Function"
    ]
    assert len(problems) == len(functions)
    assert all("Runtime is 'python3.11', expected python3.13" in problem for problem in problems)


def test_function_runtime_overriding_globals_is_reported(template: dict[str, Any]) -> None:
    props(template, "RecordOutcomeFunction")["Runtime"] = "python3.12"
    assert check_functions(template, REPO) == [
        "RecordOutcomeFunction: Runtime is 'python3.12', expected python3.13"
    ]


def test_layer_built_for_another_python_is_reported(template: dict[str, Any]) -> None:
    resources(template)["CommonLayer"]["Metadata"]["BuildMethod"] = "python3.12"
    props(template, "CommonLayer")["CompatibleRuntimes"] = ["python3.12"]
    problems = check_functions(template, REPO)
    assert mentions(problems, "CommonLayer: CompatibleRuntimes")
    assert mentions(problems, "CommonLayer: Metadata.BuildMethod is python3.12")


# --- IAM ---------------------------------------------------------------------------------------
def first_statement(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    statement: dict[str, Any] = props(template, logical_id)["Policies"][0]["Statement"][0]
    return statement


@pytest.mark.parametrize("action", ["*", "sagemaker:*"])
def test_wildcard_action_in_function_policy_is_reported(template: dict[str, Any], action: str) -> None:
    first_statement(template, "ResolvePlanFunction")["Action"].append(action)
    assert check_iam(template) == [
        f"ResolvePlanFunction.Policies[0] Statement[ReadRegistryAndEndpoints]: wildcard Action '{action}'"
    ]


def test_wildcard_action_in_state_machine_policy_is_reported(template: dict[str, Any]) -> None:
    policies = props(template, "DeployStateMachine")["Policies"]
    policies.append(
        {"Statement": [{"Effect": "Allow", "Action": "lambda:*", "Resource": "arn:aws:lambda:x"}]}
    )
    assert mentions(check_iam(template), f"DeployStateMachine.Policies[{len(policies) - 1}]", "'lambda:*'")


def test_wildcard_action_in_iam_role_policy_is_reported(template: dict[str, Any]) -> None:
    statements = props(template, "ModelExecutionRole")["Policies"][0]["PolicyDocument"]["Statement"]
    statements[0]["Action"] = "s3:*"
    assert check_iam(template) == [
        "ModelExecutionRole.Policies[read-model-artifacts] Statement[ReadArtifacts]: wildcard Action 's3:*'"
    ]


def test_resource_star_for_action_with_resource_level_permissions_is_reported(
    template: dict[str, Any],
) -> None:
    first_statement(template, "CreateEndpointFunction")["Resource"] = "*"
    problems = check_iam(template)
    assert problems == [
        "CreateEndpointFunction.Policies[0] Statement[CreateTaggedEndpoints]: Resource '*' for actions that "
        "support resource-level permissions: sagemaker:AddTags, sagemaker:CreateEndpoint"
    ]


def test_resource_star_in_a_resource_list_is_reported(template: dict[str, Any]) -> None:
    first_statement(template, "ResolvePlanFunction")["Resource"].append("*")
    assert mentions(check_iam(template), "ReadRegistryAndEndpoints", "Resource '*'", "DescribeEndpoint")


def test_resource_star_only_for_allow_listed_actions_passes(template: dict[str, Any]) -> None:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "ecr:GetAuthorizationToken"],
        "Resource": "*",
    }
    policies = props(template, "CheckEndpointFunction")["Policies"]
    policies.append({"Statement": [statement]})
    assert check_iam(template) == []
    statement["Action"].append("sagemaker:DescribeEndpoint")
    assert mentions(
        check_iam(template),
        f"CheckEndpointFunction.Policies[{len(policies) - 1}]",
        "sagemaker:DescribeEndpoint",
    )


def test_wildcards_in_a_deny_statement_are_not_reported(template: dict[str, Any]) -> None:
    deny = {"Effect": "Deny", "Action": "*", "Resource": "*"}
    props(template, "CheckEndpointFunction")["Policies"][0]["Statement"].append(deny)
    assert check_iam(template) == []


def test_allow_with_not_action_is_reported(template: dict[str, Any]) -> None:
    statement = first_statement(template, "CheckEndpointFunction")
    statement["NotAction"] = statement.pop("Action")
    assert mentions(check_iam(template), "CheckEndpointFunction", "NotAction")


@pytest.mark.parametrize(
    "policy", ["AmazonSageMakerFullAccess", "arn:aws:iam::aws:policy/AdministratorAccess"]
)
def test_broad_managed_policy_is_reported(template: dict[str, Any], policy: str) -> None:
    props(template, "CreateModelFunction")["Policies"].append(policy)
    assert check_iam(template) == [
        f"CreateModelFunction: managed policy {policy} grants far more than least privilege"
    ]


# --- the deploy trigger ------------------------------------------------------------------------
def approval_pattern(template: dict[str, Any]) -> dict[str, Any]:
    pattern: dict[str, Any] = props(template, "DeployStateMachine")["Events"]["ModelPackageApproved"][
        "Properties"
    ]["Pattern"]
    return pattern


def test_deploy_rule_without_approval_filter_is_reported(template: dict[str, Any]) -> None:
    del approval_pattern(template)["detail"]
    assert check_deploy_rule(template) == [
        "DeployStateMachine.Events.ModelPackageApproved: "
        "detail.ModelApprovalStatus is None, expected ['Approved']"
    ]


def test_deploy_rule_that_also_matches_rejections_is_reported(template: dict[str, Any]) -> None:
    approval_pattern(template)["detail"]["ModelApprovalStatus"] = ["Approved", "Rejected"]
    assert mentions(check_deploy_rule(template), "ModelApprovalStatus is ['Approved', 'Rejected']")


def test_deploy_rule_with_another_source_is_reported(template: dict[str, Any]) -> None:
    approval_pattern(template)["source"] = ["smdeploy"]
    assert mentions(check_deploy_rule(template), "source is ['smdeploy'], expected ['aws.sagemaker']")


def test_deploy_state_machine_without_rule_is_reported(template: dict[str, Any]) -> None:
    del props(template, "DeployStateMachine")["Events"]
    assert mentions(check_deploy_rule(template), "DeployStateMachine: no EventBridge rule")


def test_deploy_rule_on_other_events_only_is_reported(template: dict[str, Any]) -> None:
    approval_pattern(template)["detail-type"] = ["SageMaker Endpoint State Change"]
    assert mentions(check_deploy_rule(template), "DeployStateMachine: no EventBridge rule")


def test_separate_events_rule_targeting_the_deploy_machine_counts(template: dict[str, Any]) -> None:
    pattern = approval_pattern(template)
    del props(template, "DeployStateMachine")["Events"]
    resources(template)["ApprovalRule"] = {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "EventPattern": pattern,
            "Targets": [{"Id": "deploy", "Arn": {"Ref": "DeployStateMachine"}}],
        },
    }
    assert check_deploy_rule(template) == []
    resources(template)["ApprovalRule"]["Properties"]["EventPattern"]["detail"] = {}
    assert mentions(check_deploy_rule(template), "ApprovalRule: detail.ModelApprovalStatus")


def test_missing_deploy_state_machine_is_reported(template: dict[str, Any]) -> None:
    resources(template)["DeployModelStateMachine"] = resources(template).pop("DeployStateMachine")
    assert check_deploy_rule(template) == [
        "DeployStateMachine: no such AWS::Serverless::StateMachine in the template"
    ]
