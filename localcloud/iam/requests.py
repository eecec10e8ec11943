"""What a served API call asks IAM to authorize: actions, resources and the request context.

The resources of an action come from its resource types in the Service Authorization Reference:
an ARN in the request that has the type's format, or the type's ARN format filled from the
request's parameters (``${EndpointName}`` from ``EndpointName``). When the request names no
resource of any type (``List*``, ``GetMetricData``...), the resource is ``*``.

Some calls need more than their own action ("dependent actions" in the reference, and the service
pages): ``CreateModel`` passes the execution role (``iam:PassRole`` with ``iam:PassedToService``),
Model Monitor's schedules and job definitions the monitoring job's role, EventBridge Scheduler's
``CreateSchedule``/``UpdateSchedule`` the target's role (likewise);
creating with ``Tags`` needs ``sagemaker:AddTags``; Application Auto Scaling's target-tracking
policies create and delete CloudWatch alarms as the caller; deployment guardrails read the
auto-rollback alarms as the caller of ``UpdateEndpoint``.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import unquote

from localcloud.engine.apicalls import service_model
from localcloud.iam import catalog
from localcloud.iam.policy import Context, Request

# Variables of ARN formats filled from a parameter of another name.
_VARIABLE_PARAMS = {
    "ParameterNameWithoutLeadingSlash": ("Name", lambda v: v.lstrip("/")),
    "AlarmName": ("AlarmNames", None),
    "RelativeId": ("Name", None),
    # SageMaker Inference Recommender: inference-recommendations-job/${InferenceRecommendationsJobName}
    "InferenceRecommendationsJobName": ("JobName", None),
    # EventBridge Scheduler: schedule/${GroupName}/${ScheduleName}, the name in the request's URI
    "ScheduleName": ("Name", None),
}
# moto's service names that botocore spells otherwise.
_BOTOCORE_NAMES = {
    "awslambda": "lambda",
    "awslambda_simple": "lambda",
    "sagemakerruntime": "sagemaker-runtime",
}
# Services whose ARNs SageMaker builds with the resource name in lower case.
_LOWER_CASE_NAMES = {"sagemaker"}
# Application Auto Scaling names the alarms of a target-tracking policy so (Application Auto Scaling
# user guide, "Target tracking scaling policies": "TargetTracking-..." alarms; do not edit them).
TARGET_TRACKING_ALARM = "TargetTracking-{resource}-*"
SCALING_SERVICE_LINKED_ROLE = (
    "arn:aws:iam::{account}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)


@dataclass(frozen=True)
class Call:
    """One API call as served: ``service:Operation`` and its parameters."""

    name: str
    params: dict[str, Any]
    region: str
    account: str


def params_of(response: Any) -> dict[str, Any]:
    """The parameters of a request served by a moto response object, whatever its protocol."""
    params: dict[str, Any] = {}
    parsed = getattr(response, "params", None)  # moto parses requests with botocore's service model
    if isinstance(parsed, Mapping):
        params.update(parsed)
    uri_match = getattr(response, "uri_match", None)
    if isinstance(uri_match, Mapping):
        for key, value in uri_match.items():
            params.setdefault(key, value)
    body = getattr(response, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not params and isinstance(body, str) and body.strip().startswith("{"):
        try:
            loaded = json.loads(body)
            if isinstance(loaded, dict):
                params.update(loaded)
        except ValueError:
            pass
    if params and isinstance(body, str) and _body_holds_members(response):
        # A REST-JSON request (EventBridge Scheduler's CreateSchedule) carries in its body the
        # members that are not in its URI, and the rest in its query string (``groupName``).
        with contextlib.suppress(ValueError):
            loaded = json.loads(body) if body.strip().startswith("{") else {}
            for key, value in (loaded if isinstance(loaded, dict) else {}).items():
                params.setdefault(key, value)
        for key, values in (getattr(response, "querystring", None) or {}).items():
            if isinstance(values, list) and len(values) == 1:
                params.setdefault(key, values[0])
    querystring = getattr(response, "querystring", None) or {}
    if not params and "Action" in querystring:
        with contextlib.suppress(Exception):  # a protocol without query parameters
            params.update(response._get_params())
    uri = unquote(str(getattr(response, "uri", "") or ""))
    # REST-style paths: Lambda functions/{name}/invocations, SageMaker Runtime endpoints/{name}/...
    match = re.search(r"/functions/([^/?]+)", uri)
    if match:
        params.setdefault("FunctionName", match.group(1))
    match = re.search(r"/endpoints/([^/?]+)/invocations", uri)
    if match:
        params.setdefault("EndpointName", match.group(1))
        headers = getattr(response, "headers", {}) or {}
        target = headers.get("X-Amzn-SageMaker-Target-Model")
        if target:
            params.setdefault("TargetModel", target)
    return params


@cache
def _rest_json_members_in_body(service: str, operation: str) -> bool:
    """Whether the body of a ``service`` ``operation`` request holds its members (REST-JSON without
    a payload member), rather than a payload of its own (Lambda's Invoke, SageMaker's
    InvokeEndpoint), per botocore's service model."""
    try:
        model = service_model(service)
        shape = model.operation_model(operation).input_shape
    except Exception:  # a service or operation botocore does not know
        return False
    return model.protocol == "rest-json" and shape is not None and not shape.serialization.get("payload")


def _body_holds_members(response: Any) -> bool:
    service = str(getattr(response, "service_name", "") or "")
    action = getattr(response, "_get_action", None)
    if not service or action is None:
        return False
    try:
        operation = str(action())
    except Exception:  # not a request moto can name
        return False
    return _rest_json_members_in_body(_BOTOCORE_NAMES.get(service, service), operation)


def _values(params: Any, key: str) -> Iterator[str]:
    """Every string value under ``key`` (case-insensitive), anywhere in the parameters."""
    if isinstance(params, dict):
        for k, v in params.items():
            if k.lower() == key.lower():
                if isinstance(v, str):
                    yield v
                elif isinstance(v, list):
                    yield from (item for item in v if isinstance(item, str))
            else:
                yield from _values(v, key)
    elif isinstance(params, list):
        for item in params:
            yield from _values(item, key)


def _arns(params: Any) -> Iterator[str]:
    if isinstance(params, dict):
        for value in params.values():
            yield from _arns(value)
    elif isinstance(params, list):
        for item in params:
            yield from _arns(item)
    elif isinstance(params, str) and params.startswith("arn:"):
        yield params


def _fill(resource_type: catalog.ResourceType, call: Call, service: str) -> list[str]:
    values: dict[str, list[str]] = {}
    for variable in resource_type.variables:
        if variable == "Partition":
            values[variable] = ["aws"]
        elif variable == "Region":
            values[variable] = [call.region]
        elif variable == "Account":
            values[variable] = [call.account]
        else:
            found = list(_values(call.params, variable))
            if not found and variable in _VARIABLE_PARAMS:
                other, transform = _VARIABLE_PARAMS[variable]
                found = [transform(v) if transform else v for v in _values(call.params, other)]
            if not found and variable == "GroupName" and service == "scheduler":
                found = ["default"]  # a schedule call without GroupName acts on the default group
            if not found and variable == "AlarmName":
                # DescribeAlarms by AlarmNamePrefix: with a scope narrower than "*" CloudWatch answers
                # the metric alarms the caller may describe (CloudWatch API reference, DescribeAlarms;
                # only composite alarms need "*"). The prefix must fall inside the granted scope.
                found = [f"{v}*" for v in _values(call.params, "AlarmNamePrefix")]
            if not found:
                return []
            if service in _LOWER_CASE_NAMES:
                found = [v.lower() for v in found]
            values[variable] = found
    arns = [resource_type.arn_format]
    for variable, options in values.items():
        arns = [arn.replace("${" + variable + "}", option) for arn in arns for option in options]
    return arns


def resources_of(action: catalog.Action, call: Call) -> list[str]:
    """The ARNs the call acts on, per the action's resource types; ``["*"]`` when none is named."""
    given = list(_arns(call.params))
    found: list[str] = []
    for resource_type in action.resource_types:
        matching = [arn for arn in given if resource_type.pattern.match(arn)]
        if not matching:
            matching = _fill(resource_type, call, action.service)
        for arn in matching:
            if arn not in found:
                found.append(arn)
    # A request on a sub-resource is authorized on it alone: a Query with IndexName on the index
    # ARN (table/T/index/I), not on the table as well.
    specific = [arn for arn in found if not any(o != arn and o.startswith(arn + "/") for o in found)]
    return specific or ["*"]


def _tags(params: dict[str, Any]) -> dict[str, str]:
    tags = params.get("Tags") or params.get("tags") or {}
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    return {str(t.get("Key")): str(t.get("Value")) for t in tags if isinstance(t, dict)}


def base_context(action: catalog.Action, call: Call) -> Context:
    context: Context = {}
    tags = _tags(call.params)
    if tags and action.supports("aws:RequestTag/${TagKey}"):
        for key, value in tags.items():
            context[f"aws:requesttag/{key}".lower()] = [value]
        context["aws:tagkeys"] = list(tags)
    if action.qualified == "cloudwatch:PutMetricData" and "Namespace" in call.params:
        context["cloudwatch:namespace"] = [str(call.params["Namespace"])]
    if action.service == "application-autoscaling":
        for key, param in (
            ("service-namespace", "ServiceNamespace"),
            ("scalable-dimension", "ScalableDimension"),
        ):
            if action.supports(f"application-autoscaling:{key}") and call.params.get(param):
                context[f"application-autoscaling:{key}"] = [str(call.params[param])]
    if action.qualified == "sagemaker:InvokeEndpoint" and "TargetModel" in call.params:
        context["sagemaker:targetmodel"] = [str(call.params["TargetModel"])]
    return context


def with_resource_tags(
    context: Context, action: catalog.Action, resource: str, tags_of: Callable[[str], dict[str, str]]
) -> Context:
    """Add ``aws:ResourceTag/*`` for an existing resource of a type that supports it."""
    if resource == "*" or not action.supports("aws:ResourceTag/${TagKey}"):
        return context
    tags = tags_of(resource)
    if not tags:
        return context
    out = dict(context)
    for key, value in tags.items():
        out[f"aws:resourcetag/{key}".lower()] = [value]
    return out


def with_resource_account(context: Context, resource: str, call: Call) -> Context:
    """``aws:ResourceAccount`` (a global key): the account that owns the resource. S3 ARNs carry no
    account; the local cloud's buckets all belong to its one account."""
    if resource == "*":
        return context
    parts = resource.split(":")
    owner = parts[4] if len(parts) > 4 and parts[4] else call.account
    return {**context, "aws:resourceaccount": [owner]}


def requests_for(call: Call, tags_of: Callable[[str], dict[str, str]]) -> list[Request]:
    """Every authorization the call needs, its own action first."""
    action = catalog.action(catalog.action_of(call.name))
    context = base_context(action, call)
    out = [
        Request(
            action.qualified,
            resource,
            with_resource_account(with_resource_tags(context, action, resource, tags_of), resource, call),
        )
        for resource in resources_of(action, call)
    ]
    out.extend(list(_implied(action, call, list(out), context)))
    return out


def _implied(action: catalog.Action, call: Call, own: list[Request], context: Context) -> Iterator[Request]:
    params, account, region = call.params, call.account, call.region
    name = action.qualified
    if name == "sagemaker:CreateModel" and params.get("ExecutionRoleArn"):
        yield Request(
            "iam:PassRole",
            str(params["ExecutionRoleArn"]),
            {"iam:passedtoservice": ["sagemaker.amazonaws.com"]},
        )
    if name == "sagemaker:CreateInferenceRecommendationsJob" and params.get("RoleArn"):
        # iam:PassRole is a dependent action of CreateInferenceRecommendationsJob (Service Authorization
        # Reference, SageMaker): the job runs with the role it is given.
        yield Request(
            "iam:PassRole", str(params["RoleArn"]), {"iam:passedtoservice": ["sagemaker.amazonaws.com"]}
        )
    if name in {
        "sagemaker:CreateMonitoringSchedule",
        "sagemaker:UpdateMonitoringSchedule",
        "sagemaker:CreateDataQualityJobDefinition",
        "sagemaker:CreateModelQualityJobDefinition",
    }:
        # iam:PassRole is a dependent action of each (Service Authorization Reference, SageMaker): the
        # monitoring job runs with the role of its definition, inline in the schedule or its own.
        config = params.get("MonitoringScheduleConfig")
        inline = (config.get("MonitoringJobDefinition") or {}) if isinstance(config, dict) else {}
        role = inline.get("RoleArn") if isinstance(inline, dict) else None
        role = role or params.get("RoleArn")
        if role:
            yield Request("iam:PassRole", str(role), {"iam:passedtoservice": ["sagemaker.amazonaws.com"]})
    target_role = (
        (params.get("Target") or {}).get("RoleArn") if isinstance(params.get("Target"), dict) else None
    )
    if name in {"scheduler:CreateSchedule", "scheduler:UpdateSchedule"} and target_role:
        # iam:PassRole is a dependent action of both (Service Authorization Reference, EventBridge
        # Scheduler): the schedule's target runs with the role it is given.
        yield Request("iam:PassRole", str(target_role), {"iam:passedtoservice": ["scheduler.amazonaws.com"]})
    if name.startswith("sagemaker:Create") and _tags(params):
        # "To create a resource with tags you need sagemaker:AddTags too" (SageMaker developer guide,
        # "Provide permissions for tagging SageMaker resources").
        add_tags = catalog.action("sagemaker:AddTags")
        tag_context = base_context(add_tags, call)
        for request in own:
            yield Request("sagemaker:AddTags", request.resource, tag_context)
    alarm_arn = f"arn:aws:cloudwatch:{region}:{account}:alarm:{{}}"
    if name in {"sagemaker:UpdateEndpoint", "sagemaker:CreateEndpoint"}:
        rollback = (params.get("DeploymentConfig") or {}).get("AutoRollbackConfiguration") or {}
        for alarm in rollback.get("Alarms") or []:
            # Deployment guardrails page: the caller needs cloudwatch:DescribeAlarms on these alarms.
            yield Request("cloudwatch:DescribeAlarms", alarm_arn.format(alarm.get("AlarmName")), {})
    if action.service == "application-autoscaling":
        resource_id = str(params.get("ResourceId", "*"))
        alarms = alarm_arn.format(TARGET_TRACKING_ALARM.format(resource=resource_id))
        if name == "application-autoscaling:PutScalingPolicy" and params.get(
            "TargetTrackingScalingPolicyConfiguration"
        ):
            yield Request("cloudwatch:DescribeAlarms", alarms, {})
            yield Request("cloudwatch:PutMetricAlarm", alarms, {})
        if name in {
            "application-autoscaling:DeleteScalingPolicy",
            "application-autoscaling:DeregisterScalableTarget",
        }:
            yield Request("cloudwatch:DescribeAlarms", alarms, {})
            yield Request("cloudwatch:DeleteAlarms", alarms, {})
