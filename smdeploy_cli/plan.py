"""``smdeploy plan PACKAGE_ARN [--endpoint E]``: what a deployment of the package would do, changing nothing.

The plan is resolved by the product's own code (:func:`smdeploy.deploy.resolve_plan`, as the
deploy state machine resolves it under the endpoint's lock) with the operator's credentials and the
stack's parameters (``DescribeStacks``): the same group config from SSM, the same defaults, the
same checks. Only reads are made. Then the live endpoint config is set beside what the deployment
would build, setting by setting: the serving variant's instances, data capture, asynchronous
inference, serverless settings, autoscaling, and what the rollout adds (strategy steps, the
candidate's alarms and the group's, monitors). A request the state machine would refuse is shown
as ``INVALID_REQUEST`` naming the field, exit 2.
"""

from __future__ import annotations

from typing import Any

from smdeploy.adapters.autoscaling import ScalingGateway
from smdeploy.adapters.cloudwatch import CloudWatchGateway
from smdeploy.adapters.config_store import GroupConfigStore
from smdeploy.adapters.records import DeploymentRecords
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.errors import InvalidRequest
from smdeploy.models import package_label
from smdeploy.plan import parse_package_arn
from smdeploy.settings import PlanSettings

# template parameter -> the Lambda environment variable it becomes (template.yaml Globals)
PARAMETER_ENV = {
    "GroupConfigPrefix": "GROUP_CONFIG_PREFIX",
    "DefaultInstanceType": "DEFAULT_INSTANCE_TYPE",
    "DefaultInstanceCount": "DEFAULT_INSTANCE_COUNT",
    "EndpointPollSeconds": "ENDPOINT_POLL_SECONDS",
    "EndpointFirstCheckSeconds": "ENDPOINT_FIRST_CHECK_SECONDS",
    "EndpointDeployTimeoutSeconds": "ENDPOINT_DEPLOY_TIMEOUT_SECONDS",
    "LockWaitSeconds": "LOCK_WAIT_SECONDS",
    "LockPollSeconds": "LOCK_POLL_SECONDS",
    "StageRoleName": "STAGE_ROLE_NAME",
}


def settings(stack: Any) -> PlanSettings:
    """The resolve-plan function's settings, from the stack's parameters and outputs."""
    described = stack.client("cloudformation").describe_stacks(StackName=stack.name)["Stacks"][0]
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters") or []}
    region, account = str(described["StackId"]).split(":")[3:5]
    env = {variable: parameters[key] for key, variable in PARAMETER_ENV.items() if parameters.get(key)}
    artifacts = parameters.get("ModelArtifactBuckets") or f"sagemaker-{region}-{account}"
    writes = [parameters.get(k, "") for k in ("DataCaptureBucket", "AsyncResultsBucket", "BatchDataBucket")]
    env |= {
        "ACCOUNT_ID": account,
        "MODEL_ARTIFACT_BUCKETS": artifacts,
        "MODEL_WRITE_BUCKETS": ",".join(b for b in writes if b) or artifacts,
        "DATA_CAPTURE_BUCKET": parameters.get("DataCaptureBucket") or "",
        "DEPLOYMENTS_TABLE": stack.table,
    }
    env.setdefault("GROUP_CONFIG_PREFIX", stack.outputs.get("GroupConfigPrefix", "/smdeploy/groups/"))
    env.setdefault("DEFAULT_INSTANCE_TYPE", "ml.m5.large")
    env.setdefault("DEFAULT_INSTANCE_COUNT", "1")
    env.setdefault("ENDPOINT_POLL_SECONDS", "30")
    env.setdefault("ENDPOINT_DEPLOY_TIMEOUT_SECONDS", "3600")
    return PlanSettings.from_env(env)


def resolve(stack: Any, package: str, endpoint: str | None) -> dict[str, Any]:
    """The plan (as the state machine would resolve it under the lock) and the live config."""
    conf = settings(stack)
    configs = GroupConfigStore(conf.group_config_prefix, stack.client("ssm"))
    config = configs.load(parse_package_arn(package)[2])
    target = endpoint or (config.default_endpoint() if config else None)
    role = config.stage_role(target) if config and target else None

    def where(service: str) -> Any:
        """The endpoint's account: a stage in another account is read through its role."""
        return stack.client_as(role, service, str(target))

    # the registry is read here, the endpoint where it is
    sagemaker = SageMakerGateway(where("sagemaker"), registry=stack.client("sagemaker"))
    raw: dict[str, Any] = {"modelPackageArn": package, "reason": "smdeploy plan"}
    if endpoint:
        raw["endpointName"] = endpoint
    from smdeploy import deploy  # the product's whole planning code

    plan = deploy.resolve_plan(
        raw,
        sagemaker=sagemaker,
        configs=configs,
        defaults=conf.defaults(),
        cloudwatch=CloudWatchGateway(where("cloudwatch")),
        autoscaling=ScalingGateway(where("application-autoscaling")),
        under_lock=True,
        role_buckets=conf.role_buckets(),
        records=DeploymentRecords(stack.table, stack.client("dynamodb")),
    ).model_dump(mode="json")
    live_config: dict[str, Any] | None = None
    serving: list[str] = []
    live = sagemaker.find_endpoint(plan["endpointName"])
    if live is not None:
        live_config = sagemaker.find_endpoint_config(str(live["EndpointConfigName"]))
        serving = sorted(
            package_label(str(v["ModelPackageArn"]))
            for v in sagemaker.variants_serving(live)
            if float(v.get("CurrentWeight") or 0) > 0 and v.get("ModelPackageArn")
        )
    found = {"plan": plan, "live": live, "liveConfig": live_config}
    return {**found, "diff": diff(plan, live_config, ", ".join(serving) or None)}


def _serving(config: dict[str, Any] | None) -> dict[str, Any]:
    variants = (config or {}).get("ProductionVariants") or []
    return max(variants, key=lambda v: float(v.get("InitialVariantWeight") or 0), default={})


def diff(
    plan: dict[str, Any], live: dict[str, Any] | None, serving: str | None = None
) -> list[dict[str, Any]]:
    """Setting by setting: ``{setting, live, planned}`` where they differ (live None: no endpoint;
    ``serving``: the versions the live endpoint serves)."""
    variant = _serving(live)
    rows = [
        ("version", serving, f"{plan['modelPackageGroup']}/{plan['modelPackageVersion']}"),
        (
            "instanceType",
            variant.get("InstanceType"),
            None if plan.get("serverless") else plan.get("instanceType"),
        ),
        (
            "initialInstanceCount",
            variant.get("InitialInstanceCount"),
            None if plan.get("serverless") else plan.get("initialInstanceCount"),
        ),
        ("serverless", variant.get("ServerlessConfig"), plan.get("serverless")),
        ("dataCapture", (live or {}).get("DataCaptureConfig"), plan.get("dataCapture")),
        ("asyncInference", (live or {}).get("AsyncInferenceConfig"), plan.get("asyncInference")),
        ("autoscaling", None, plan.get("autoscaling")),
        (
            "variants",
            len((live or {}).get("ProductionVariants") or []) or None,
            len(plan.get("variants") or []) or 1,
        ),
    ]
    out = [
        {"setting": name, "live": before, "planned": after}
        for name, before, after in rows
        if before != after and not (name in ("dataCapture", "asyncInference") and after is None)
    ]
    rollout = plan.get("rollout") or {}
    out.append(
        {
            "setting": "rollout",
            "live": None,
            "planned": {
                "type": rollout.get("type"),
                "steps": rollout.get("steps"),
                "bakeSeconds": rollout.get("bakeSeconds"),
                "checkIntervalSeconds": rollout.get("checkIntervalSeconds"),
                "alarms": rollout.get("alarms"),
            },
        }
    )
    if plan.get("monitoring"):
        out.append({"setting": "monitoring", "live": None, "planned": plan["monitoring"]})
    return out


def text(found: dict[str, Any]) -> str:
    plan = found["plan"]
    lines = [
        f"{plan['endpointName']}: {plan['action']} with "
        f"{plan['modelPackageGroup']}/{plan['modelPackageVersion']}",
        f"  config {plan['endpointConfigName']}, variant {plan['variantName']}, model {plan['modelName']}",
    ]
    if plan.get("reason"):
        lines.append(f"  {plan['reason']}")
    for note in plan.get("notes") or []:
        lines.append(f"  note: {note}")
    lines.append("  setting: live -> planned")
    for row in found["diff"]:
        lines.append(f"    {row['setting']}: {row['live']} -> {row['planned']}")
    lines.append("  (nothing was changed)")
    return "\n".join(lines)


def plan_or_refusal(stack: Any, package: str, endpoint: str | None) -> tuple[int, dict[str, Any], str]:
    """(exit code, JSON document, text): 0 and the plan, or 2 and the refusal naming the field."""
    try:
        found = resolve(stack, package, endpoint)
    except InvalidRequest as exc:
        refused = {"outcome": "INVALID_REQUEST", "field": exc.field, "message": exc.message}
        return 2, refused, f"INVALID_REQUEST {exc.field}: {exc.message} (nothing was changed)"
    return 0, found, text(found)
