"""The operator's commands against a deployed stack: ``smdeploy status|history|plan|deploy|promote|
abort|rollback``.

Pointed at a stack (``--stack NAME``, default ``$SMDEPLOY_STACK`` else ``smdeploy``), whose outputs
(CloudFormation ``DescribeStacks``) name the deploy state machine, the deployments table and the
topic; Region and profile come the usual AWS way. Every command goes through a boto3-like
``session`` (anything with ``client(service)``): ``boto3.Session`` on AWS, the local cloud in a
rehearsal (a scenario's ``cli:`` step), so each verb is tested the way it runs.

- ``status ENDPOINT [--watch]``: what serves (status, config, variants, weights, versions), the
  rollout that holds the endpoint's lock (execution, current state, latest verdict and reasons).
- ``history ENDPOINT``: past deployments, newest first: outcome, version, reason, when.
- ``plan PACKAGE_ARN [--endpoint E]``: the plan the deployment would resolve and the live config
  beside it, setting by setting, changing nothing (:mod:`smdeploy_cli.plan`).
- ``deploy PACKAGE_ARN [--endpoint E] [--instance-type T] [--count N] [--strategy JSON] [--reason R]``:
  a manual start with the documented input (checked first, as the state machine checks it).
- ``promote ENDPOINT [--full]`` / ``abort ENDPOINT``: a command to the rollout holding the lock,
  kept in the deployments table (``OPERATOR#<endpoint>``) and obeyed at its next check
  (``smdeploy.canary``): promote ends the current step's bake (``--full``: promotes at once); abort
  rolls back and converges, as an unhealthy verdict does.
- ``rollback ENDPOINT [--to VERSION]``: a manual deployment of a retained version (default: the
  version that served before the current one, from the history), all at once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from botocore.exceptions import ClientError
from pydantic import ValidationError

from smdeploy.adapters.gates import Gates
from smdeploy.adapters.wakeups import Wakeups
from smdeploy.errors import SmdeployError
from smdeploy.models import ManualDeployInput, package_label

VERBS = ("status", "history", "plan", "deploy", "promote", "abort", "rollback", "approve", "reject")
DEFAULT_STACK = "smdeploy"
REQUIRED_OUTPUTS = ("DeployStateMachineArn", "DeploymentsTableName")
SERVING_OUTCOMES = {"DEPLOYED", "PROMOTED"}


class OperatorError(Exception):
    """What the operator asked cannot be done; the message says what is missing."""


# --- the stack -----------------------------------------------------------------------------------------
def stack_outputs(session: Any, stack: str) -> dict[str, str]:
    """The stack's outputs by key (DescribeStacks)."""
    cfn = session.client("cloudformation")
    try:
        found = cfn.describe_stacks(StackName=stack)["Stacks"]
    except Exception as exc:  # botocore's ClientError and friends
        message = getattr(exc, "response", {}).get("Error", {}).get("Message") or str(exc)
        raise OperatorError(
            f"no stack {stack!r}: {message} (deploy it with sam deploy, or name it with --stack)"
        ) from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in (found[0].get("Outputs") or [])} if found else {}
    missing = [key for key in REQUIRED_OUTPUTS if key not in outputs]
    if missing:
        raise OperatorError(f"stack {stack!r} has no output {', '.join(missing)}: is it an smdeploy stack?")
    return outputs


def _item_value(value: dict[str, Any]) -> Any:
    raw = next(iter(value.values()))
    if "N" in value:
        return float(raw)
    if "S" in value and isinstance(raw, str) and raw[:1] in "{[":
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def _items(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: _item_value(v) for k, v in item.items()} for item in answer.get("Items", [])]


class Stack:
    """The deployed stack's resources, read through ``session``."""

    def __init__(self, session: Any, name: str) -> None:
        self.session = session
        self.name = name
        self._clients: dict[str, Any] = {}
        self._stage_roles: dict[str, str | None] = {}
        self.outputs = stack_outputs(session, name)
        self.table = self.outputs["DeploymentsTableName"]
        self.state_machine = self.outputs["DeployStateMachineArn"]

    def client(self, service: str) -> Any:
        """One client per service for the command (a command reads and writes through several)."""
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]

    def stage_role(self, endpoint: str) -> str | None:
        """The role of the stage in another account that names ``endpoint`` in a group config (the
        configs under the stack's GroupConfigPrefix), or None: the endpoint is in this account."""
        if endpoint in self._stage_roles:
            return self._stage_roles[endpoint]
        prefix = self.outputs.get("GroupConfigPrefix")
        role = None
        if prefix:
            pages = self.client("ssm").get_paginator("get_parameters_by_path").paginate(Path=prefix)
            for parameter in (p for page in pages for p in page.get("Parameters", [])):
                try:
                    config = json.loads(parameter.get("Value") or "{}")
                except json.JSONDecodeError:
                    continue
                stages = config.get("stages") if isinstance(config, dict) else None
                for stage in stages if isinstance(stages, list) else []:
                    if isinstance(stage, dict) and stage.get("endpoint") == endpoint and stage.get("roleArn"):
                        role = str(stage["roleArn"])
        self._stage_roles[endpoint] = role
        return role

    def endpoint_client(self, endpoint: str, service: str) -> Any:
        """A client for ``endpoint``'s account: through its stage's role when the group config puts
        it in another account (the operator's credentials must be allowed to assume that role)."""
        return self.client_as(self.stage_role(endpoint), service, endpoint)

    def client_as(self, role: str | None, service: str, endpoint: str) -> Any:
        """A client through ``role`` (None: the operator's own), for work on ``endpoint``."""
        if role is None:
            return self.client(service)
        key = f"{service}@{role}"
        if key not in self._clients:
            try:
                credentials = self.client("sts").assume_role(
                    RoleArn=role, RoleSessionName="smdeploy-operator"
                )["Credentials"]
            except Exception as exc:
                raise OperatorError(
                    f"{endpoint} is deployed through {role}: AssumeRole: {_message(exc)}"
                ) from exc
            import boto3

            assumed = boto3.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
                region_name=self.client("sts").meta.region_name,
            )
            self._clients[key] = assumed.client(service)
        return self._clients[key]

    def endpoint(self, name: str) -> dict[str, Any]:
        sm = self.endpoint_client(name, "sagemaker")
        try:
            live = sm.describe_endpoint(EndpointName=name)
        except Exception as exc:
            raise OperatorError(f"no endpoint {name!r} (DescribeEndpoint: {_message(exc)})") from exc
        try:
            config = sm.describe_endpoint_config(EndpointConfigName=live["EndpointConfigName"])
        except Exception:
            config = {"ProductionVariants": []}
        models = {v["VariantName"]: v for v in config.get("ProductionVariants", [])}
        variants = []
        for variant in live.get("ProductionVariants", []):
            model_name = models.get(variant["VariantName"], {}).get("ModelName")
            package = None
            if model_name:
                try:
                    model = sm.describe_model(ModelName=model_name)
                    containers = model.get("Containers") or [model.get("PrimaryContainer") or {}]
                    package = next(
                        (c.get("ModelPackageName") for c in containers if c.get("ModelPackageName")), None
                    )
                except Exception:
                    package = None
            variants.append(
                {
                    "variant": variant["VariantName"],
                    "version": _label(package) if package else None,
                    "modelPackageArn": package,
                    "weight": variant.get("CurrentWeight"),
                    "desiredWeight": variant.get("DesiredWeight"),
                    "instances": variant.get("CurrentInstanceCount"),
                    "instanceType": models.get(variant["VariantName"], {}).get("InstanceType"),
                }
            )
        return {
            "endpointName": name,
            "status": live.get("EndpointStatus"),
            "config": live.get("EndpointConfigName"),
            "variants": variants,
            "failureReason": live.get("FailureReason"),
            **({"roleArn": role} if (role := self.stage_role(name)) else {}),
        }

    def lock_holder(self, endpoint: str) -> str | None:
        answer = self.client("dynamodb").get_item(
            TableName=self.table,
            Key={"pk": {"S": f"LOCK#{endpoint}"}, "sk": {"S": "LOCK"}},
            ConsistentRead=True,
        )
        item = answer.get("Item") or {}
        return str(item["owner"]["S"]) if "owner" in item else None

    def history(self, endpoint: str, limit: int = 20) -> list[dict[str, Any]]:
        answer = self.client("dynamodb").query(
            TableName=self.table,
            IndexName="byEndpoint",
            KeyConditionExpression="gsi1pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"ENDPOINT#{endpoint}"}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return _items(answer)

    def rollout(self, execution_arn: str) -> dict[str, Any]:
        """The running execution: its status, current state and latest verdict (from its history)."""
        sfn = self.client("stepfunctions")
        described = sfn.describe_execution(executionArn=execution_arn)
        events = sfn.get_execution_history(executionArn=execution_arn, reverseOrder=True, maxResults=200)[
            "events"
        ]
        state = next(
            (e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e), None
        )
        verdict: dict[str, Any] = {}
        for event in events:
            details = event.get("stateExitedEventDetails") or {}
            if details.get("name") in ("Judge candidate", "Judge shadow"):
                output = json.loads(details.get("output") or "{}")
                verdict = output.get("judgement") or output.get("shadow") or {}
                break
        return {
            "executionArn": execution_arn,
            "name": described.get("name"),
            "status": described.get("status"),
            "startDate": _iso(described.get("startDate")),
            "state": state,
            "verdict": verdict.get("verdict"),
            "decision": verdict.get("decision"),
            "step": verdict.get("stepIndex"),
            "percent": verdict.get("percent"),
            "reasons": verdict.get("reasons") or [],
        }


def _message(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Message") or exc)


def _label(arn: str | None) -> str:
    return package_label(arn) if arn else "-"


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value) if value is not None else None


# --- the verbs ------------------------------------------------------------------------------------------
def status(stack: Stack, endpoint: str) -> dict[str, Any]:
    gates = Gates(stack.table, dynamodb=stack.client("dynamodb"), stepfunctions=stack.client("stepfunctions"))
    gate = gates.get(endpoint)
    try:
        found = stack.endpoint(endpoint)
    except OperatorError:
        if gate is None:
            raise
        # a stage's endpoint before the first version passes its gate
        found = {"endpointName": endpoint, "status": "not created yet", "config": None, "variants": []}
    if gate is not None:
        found["gate"] = {k: v for k, v in gate.items() if k != "token"}
    holder = stack.lock_holder(endpoint)
    found["rollout"] = stack.rollout(holder) if holder else None
    command = operator_command(stack, endpoint)
    if command:
        found["operatorCommand"] = command
    return found


def status_text(found: dict[str, Any]) -> str:
    config = f", config {found['config']}" if found.get("config") else ""
    elsewhere = (
        f" (account {found['roleArn'].split(':')[4]}, through its stage role)" if found.get("roleArn") else ""
    )
    lines = [f"{found['endpointName']}{elsewhere}: {found['status']}{config}"]
    for v in found["variants"]:
        weight = v["weight"] if v["weight"] is not None else "-"
        lines.append(
            f"  {v['variant']}: {v['version']} weight {weight}, {v['instances']} x {v['instanceType']}"
        )
    if found.get("failureReason"):
        lines.append(f"  failure: {found['failureReason']}")
    rollout = found.get("rollout")
    if rollout:
        lines.append(f"  rollout {rollout['name']} ({rollout['status']}): at {rollout['state']}")
        if rollout.get("verdict"):
            at = f" at {rollout['percent']:g}%" if rollout.get("percent") is not None else ""
            lines.append(f"    latest verdict{at}: {rollout['verdict']} -> {rollout['decision']}")
            lines += [f"      {reason}" for reason in rollout["reasons"]]
    else:
        lines.append("  no rollout in progress")
    if found.get("operatorCommand"):
        command = found["operatorCommand"]
        lines.append(f"  operator command waiting: {command['command']} (sent {command['at']})")
    gate = found.get("gate")
    if gate:
        lines.append(
            f"  gate: {_label(gate.get('modelPackageArn'))} passed {gate.get('fromEndpoint')} and waits for "
            f"`smdeploy approve|reject {found['endpointName']}` (closes {gate.get('closesAt')})"
        )
    return "\n".join(lines)


def history_text(records: list[dict[str, Any]], endpoint: str) -> str:
    if not records:
        return f"{endpoint}: no deployment on record"
    lines = [f"{endpoint}: {len(records)} deployments, newest first"]
    for record in records:
        execution = str(record.get("executionArn", "")).rsplit(":", 1)[-1]
        lines.append(
            f"  {record.get('recordedAt', '?')[:19]}  {record.get('outcome', '?'):<17} "
            f"{_label(record.get('modelPackageArn'))}  {execution}"
        )
        why = record.get("cause") or record.get("reason")
        if why:
            lines.append(f"      {str(why)[:300]}")
        gate = record.get("gate")
        if isinstance(gate, str):
            with contextlib.suppress(ValueError):
                gate = json.loads(gate)
        if isinstance(gate, dict):
            by = f" by {gate['by']}" if gate.get("by") else ""
            lines.append(f"      gate of {gate.get('endpoint')}: {gate.get('answer')}{by}")
    return "\n".join(lines)


def operator_command(stack: Stack, endpoint: str) -> dict[str, Any] | None:
    answer = stack.client("dynamodb").get_item(
        TableName=stack.table, Key={"pk": {"S": f"OPERATOR#{endpoint}"}, "sk": {"S": "COMMAND"}}
    )
    item = answer.get("Item")
    return {k: _item_value(v) for k, v in item.items()} if item else None


def send_command(
    stack: Stack, endpoint: str, command: str, now: datetime, reason: str | None
) -> dict[str, Any]:
    """Leave ``command`` for the rollout that holds ``endpoint``'s lock (obeyed at its next check)."""
    holder = stack.lock_holder(endpoint)
    if holder is None:
        raise OperatorError(f"nothing running on {endpoint}: no rollout holds its lock")
    rollout = stack.rollout(holder)
    if rollout["status"] != "RUNNING":
        raise OperatorError(f"nothing running on {endpoint}: {rollout['name']} is {rollout['status']}")
    item = {
        "pk": {"S": f"OPERATOR#{endpoint}"},
        "sk": {"S": "COMMAND"},
        "command": {"S": command},
        "executionArn": {"S": holder},
        "at": {"S": now.astimezone(UTC).isoformat()},
    }
    if reason:
        item["reason"] = {"S": reason[:512]}
    stack.client("dynamodb").put_item(TableName=stack.table, Item=item)
    # A bake waiting on events (waits: events) is woken to obey now; polling obeys at its next check.
    wakeups = Wakeups(
        stack.table, dynamodb=stack.client("dynamodb"), stepfunctions=stack.client("stepfunctions")
    )
    token = wakeups.signal(endpoint, f"operator {command}", ("bake",))
    if token is not None and wakeups.answer(token, {"wokenBy": f"operator {command}", "at": now.isoformat()}):
        wakeups.consumed(endpoint, f"operator {command}")
    return {
        "command": command,
        "endpointName": endpoint,
        "execution": rollout["name"],
        "state": rollout["state"],
    }


def caller(stack: Stack) -> str:
    """Who answers a gate: the caller's ARN (STS GetCallerIdentity)."""
    try:
        return str(stack.client("sts").get_caller_identity()["Arn"])
    except ClientError:
        return "an operator"


def answer_gate(
    stack: Stack, endpoint: str, approve: bool, now: datetime, reason: str | None
) -> dict[str, Any]:
    """Approve or reject the version waiting at ``endpoint``'s gate (staged promotion)."""
    gates = Gates(stack.table, dynamodb=stack.client("dynamodb"), stepfunctions=stack.client("stepfunctions"))
    gate = gates.get(endpoint)
    if gate is None:
        raise OperatorError(f"no gate waits on {endpoint}: nothing to {'approve' if approve else 'reject'}")
    who = caller(stack)
    try:
        if approve:
            answered = gates.succeed(gate["token"], {"by": who, "reason": reason, "at": now.isoformat()})
        else:
            answered = gates.fail(gate["token"], "GateRejected", f"{who}: {reason or 'rejected'}")
    except SmdeployError as exc:  # the adapter's named errors (throttled, refused)
        raise OperatorError(str(exc)) from exc
    if not answered:
        raise OperatorError(f"the gate of {endpoint} has closed (it was to close at {gate.get('closesAt')})")
    return {
        "endpointName": endpoint,
        "modelPackageArn": gate.get("modelPackageArn"),
        "answer": "APPROVED" if approve else "REJECTED",
        "by": who,
        "execution": str(gate.get("executionArn", "")).rsplit(":", 1)[-1],
        "passed": gate.get("fromEndpoint"),
    }


def start(stack: Stack, execution_input: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    try:
        checked = ManualDeployInput.model_validate(execution_input)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "input"
        raise OperatorError(f"{where}: {first['msg']}") from exc
    sfn = stack.client("stepfunctions")
    request = {
        "stateMachineArn": stack.state_machine,
        "input": json.dumps(checked.model_dump(exclude_none=True, mode="json")),
    }
    if name:
        request["name"] = name
    answer = sfn.start_execution(**request)
    return {"executionArn": answer["executionArn"], "input": json.loads(request["input"])}


def rollback_target(stack: Stack, endpoint: str, to: str | None) -> str:
    """The package ARN to roll back to: ``--to`` (a version number or GROUP/VERSION of the serving
    group), else the newest version that served before the one serving now."""
    live = stack.endpoint(endpoint)
    serving = [v for v in live["variants"] if (v["weight"] or 0) > 0 and v["modelPackageArn"]]
    if not serving:
        raise OperatorError(f"{endpoint} serves no model package version to roll back from")
    current = str(serving[0]["modelPackageArn"])
    prefix = current.rsplit("/", 1)[0]
    if to:
        version = to.rsplit("/", 1)[-1]
        if not version.isdigit():
            raise OperatorError(f"--to {to!r}: expected a version number or GROUP/VERSION")
        target = f"{prefix}/{version}"
        if target == current:
            raise OperatorError(f"{endpoint} already serves {_label(current)}")
        return target
    for record in stack.history(endpoint, limit=50):
        arn = record.get("modelPackageArn")
        if record.get("outcome") in SERVING_OUTCOMES and arn and arn != current:
            return str(arn)
    raise OperatorError(f"no earlier version served {endpoint} according to its history; name one with --to")


# --- the command line -----------------------------------------------------------------------------------
def add_arguments(sub: Any) -> None:
    """The operator verbs as subcommands of ``sub`` (an argparse subparsers object)."""

    def common(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser.add_argument(
            "--stack", default=None, help="the deployed stack (default $SMDEPLOY_STACK, else smdeploy)"
        )
        parser.add_argument("--region", help="AWS Region (default: the usual AWS configuration)")
        parser.add_argument("--profile", help="AWS profile (default: the usual AWS configuration)")
        parser.add_argument("--json", action="store_true", help="print one JSON document")
        return parser

    p = common(sub.add_parser("status", help="what serves an endpoint and the rollout in progress"))
    p.add_argument("endpoint")
    p.add_argument("--watch", action="store_true", help="refresh until the rollout ends")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between refreshes (--watch)")
    p.add_argument("--max-refreshes", type=int, default=0, help=argparse.SUPPRESS)
    p = common(sub.add_parser("history", help="an endpoint's past deployments, newest first"))
    p.add_argument("endpoint")
    p.add_argument("--limit", type=int, default=20)
    p = common(sub.add_parser("plan", help="what a deployment of a package would do, changing nothing"))
    p.add_argument("package", metavar="PACKAGE_ARN")
    p.add_argument("--endpoint")
    p = common(sub.add_parser("deploy", help="start a deployment by hand"))
    p.add_argument("package", metavar="PACKAGE_ARN")
    p.add_argument("--endpoint")
    p.add_argument("--instance-type")
    p.add_argument("--count", type=int)
    p.add_argument("--strategy", help='strategy keys as JSON, e.g. \'{"type": "canary", "steps": [10]}\'')
    p.add_argument("--reason")
    p.add_argument("--create-endpoint", action="store_true")
    p = common(
        sub.add_parser("promote", help="end the current bake of the running rollout (--full: promote now)")
    )
    p.add_argument("endpoint")
    p.add_argument("--full", action="store_true")
    p.add_argument("--reason")
    p = common(sub.add_parser("abort", help="roll the running rollout back and converge"))
    p.add_argument("endpoint")
    p.add_argument("--reason")
    p = common(sub.add_parser("rollback", help="deploy a retained version again, all at once"))
    p.add_argument("endpoint")
    p.add_argument("--to", help="the version (N or GROUP/N; default: the one that served before)")
    p.add_argument("--reason")
    for verb, text in (
        ("approve", "let the version waiting at an endpoint's stage gate deploy to it"),
        ("reject", "stop the version waiting at an endpoint's stage gate (it goes no further)"),
    ):
        p = common(sub.add_parser(verb, help=text))
        p.add_argument("endpoint")
        p.add_argument("--reason")


def execute(
    args: argparse.Namespace,
    *,
    session: Any,
    out: TextIO,
    now: Callable[[], datetime],
    sleep: Callable[[float], None],
) -> int:
    stack_name = args.stack or os.environ.get("SMDEPLOY_STACK") or DEFAULT_STACK
    try:
        stack = Stack(session, stack_name)
        return _verb(args, stack, out=out, now=now, sleep=sleep)
    except OperatorError as exc:
        print(f"smdeploy {args.command}: {exc}", file=sys.stderr)
        return 2


def _verb(
    args: argparse.Namespace,
    stack: Stack,
    *,
    out: TextIO,
    now: Callable[[], datetime],
    sleep: Callable[[float], None],
) -> int:
    def emit(document: Any, text: str) -> None:
        print(json.dumps(document, indent=2, sort_keys=True, default=str) if args.json else text, file=out)

    if args.command == "status":
        refreshes = 0
        while True:
            found = status(stack, args.endpoint)
            emit(found, status_text(found))
            refreshes += 1
            running = (found.get("rollout") or {}).get("status") == "RUNNING"
            if not args.watch or not running or (args.max_refreshes and refreshes >= args.max_refreshes):
                return 0
            sleep(args.interval)
    if args.command == "history":
        records = stack.history(args.endpoint, limit=args.limit)
        emit(records, history_text(records, args.endpoint))
        return 0
    if args.command == "plan":
        from smdeploy_cli import plan as planning

        code, document, text = planning.plan_or_refusal(stack, args.package, args.endpoint)
        emit(document, text)
        return code
    if args.command == "deploy":
        execution_input: dict[str, Any] = {"modelPackageArn": args.package}
        if args.endpoint:
            execution_input["endpointName"] = args.endpoint
        if args.instance_type:
            execution_input["instanceType"] = args.instance_type
        if args.count:
            execution_input["initialInstanceCount"] = args.count
        if args.strategy:
            try:
                execution_input["strategy"] = json.loads(args.strategy)
            except json.JSONDecodeError as exc:
                raise OperatorError(f"--strategy is not JSON: {exc}") from exc
        if args.reason:
            execution_input["reason"] = args.reason
        if args.create_endpoint:
            execution_input["createEndpoint"] = True
        started = start(stack, execution_input)
        emit(started, f"started {started['executionArn'].rsplit(':', 1)[-1]}: {_label(args.package)}")
        return 0
    if args.command in ("promote", "abort"):
        command = "promote-full" if args.command == "promote" and args.full else args.command
        sent = send_command(stack, args.endpoint, command, now(), args.reason)
        emit(sent, f"{command} sent to {sent['execution']} (at {sent['state']}): obeyed at its next check")
        return 0
    if args.command == "rollback":
        target = rollback_target(stack, args.endpoint, args.to)
        reason = args.reason or f"rollback by operator to {_label(target)}"
        started = start(
            stack,
            {
                "modelPackageArn": target,
                "endpointName": args.endpoint,
                "reason": reason,
                "strategy": {"type": "replace"},
            },
        )
        name = started["executionArn"].rsplit(":", 1)[-1]
        emit(started, f"rollback of {args.endpoint} to {_label(target)} started: {name}")
        return 0
    if args.command in ("approve", "reject"):
        answered = answer_gate(stack, args.endpoint, args.command == "approve", now(), args.reason)
        emit(
            answered,
            f"{_label(answered['modelPackageArn'])} {answered['answer'].lower()} for {args.endpoint} "
            f"(it passed {answered['passed']}; execution {answered['execution']})",
        )
        return 0
    raise OperatorError(f"unknown command {args.command}")


def run(
    argv: list[str],
    *,
    session: Any,
    out: TextIO | None = None,
    now: Callable[[], datetime] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Parse ``argv`` (``["abort", "churn-prod", ...]``) and run the verb through ``session``."""
    parser = argparse.ArgumentParser(prog="smdeploy")
    add_arguments(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return execute(
        args, session=session, out=out or sys.stdout, now=now or (lambda: datetime.now(UTC)), sleep=sleep
    )


def main(args: argparse.Namespace) -> int:
    """A verb parsed by ``smdeploy``'s own parser, run on AWS (boto3's usual configuration)."""
    import boto3

    session = boto3.Session(region_name=args.region, profile_name=args.profile)
    return execute(args, session=session, out=sys.stdout, now=lambda: datetime.now(UTC), sleep=time.sleep)
