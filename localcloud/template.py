"""Read ``template.yaml`` the way the local cloud needs it.

Functions (``CodeUri`` + ``Handler`` + environment), state machines (``DefinitionUri`` +
``DefinitionSubstitutions``) and the EventBridge rules that target them, with CloudFormation
intrinsics resolved against local resource names.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = REPO_ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that understands CloudFormation's short-form tags."""


def _tag(name: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "Fn::GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


for _short, _long in {
    "Ref": "Ref",
    "GetAtt": "Fn::GetAtt",
    "Sub": "Fn::Sub",
    "Join": "Fn::Join",
    "If": "Fn::If",
    "Equals": "Fn::Equals",
    "Not": "Fn::Not",
    "Select": "Fn::Select",
    "Split": "Fn::Split",
    "FindInMap": "Fn::FindInMap",
    "ImportValue": "Fn::ImportValue",
}.items():
    _CfnLoader.add_constructor(f"!{_short}", _tag(_long))


def load_yaml(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


_PARSED: dict[tuple[Path, int, int], dict[str, Any]] = {}


def _load_template(path: Path) -> dict[str, Any]:
    """``load_yaml`` once per file version in a process; each caller gets its own copy."""
    stat = path.stat()
    key = (path.resolve(), stat.st_mtime_ns, stat.st_size)
    if key not in _PARSED:
        _PARSED[key] = load_yaml(path)
    return copy.deepcopy(_PARSED[key])


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    physical_name: str
    arn: str
    code_uri: Path
    handler: str
    environment: dict[str, str]


@dataclass(frozen=True)
class RuleSpec:
    name: str
    pattern: dict[str, Any]
    target_logical_id: str


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    expression: str
    target_logical_id: str
    input: Any


@dataclass(frozen=True)
class StateMachineSpec:
    logical_id: str
    name: str
    arn: str
    definition_path: Path
    definition: str
    rules: list[RuleSpec] = field(default_factory=list)
    schedules: list[ScheduleSpec] = field(default_factory=list)


class Template:
    """The SAM template with its intrinsics resolved for one local account and region."""

    def __init__(
        self,
        path: Path = TEMPLATE_PATH,
        *,
        region: str = "us-east-1",
        account: str = "123456789012",
        stack_name: str = "smdeploy",
        parameter_overrides: dict[str, str] | None = None,
    ) -> None:
        self.path = path
        self.root = path.parent
        self.region = region
        self.account = account
        self.stack_name = stack_name
        self.doc = _load_template(path)
        self.resources: dict[str, dict[str, Any]] = self.doc.get("Resources", {})
        self.parameters = {
            name: str(spec.get("Default", "")) for name, spec in self.doc.get("Parameters", {}).items()
        }
        self.parameters.update(parameter_overrides or {})

    # --- physical names ----------------------------------------------------------------
    def physical_name(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        props = resource.get("Properties", {})
        rtype = resource["Type"]
        if rtype == "AWS::Serverless::StateMachine" and "Name" in props:
            return str(self.resolve(props["Name"]))
        if rtype == "AWS::Logs::LogGroup" and "LogGroupName" in props:
            return str(self.resolve(props["LogGroupName"]))
        return f"{self.stack_name}-{logical_id}"

    def arn(self, logical_id: str) -> str:
        rtype = self.resources[logical_id]["Type"]
        name = self.physical_name(logical_id)
        r, a = self.region, self.account
        if rtype == "AWS::Serverless::Function":
            return f"arn:aws:lambda:{r}:{a}:function:{name}"
        if rtype == "AWS::Serverless::StateMachine":
            return f"arn:aws:states:{r}:{a}:stateMachine:{name}"
        if rtype == "AWS::SNS::Topic":
            return f"arn:aws:sns:{r}:{a}:{name}"
        if rtype == "AWS::DynamoDB::Table":
            return f"arn:aws:dynamodb:{r}:{a}:table/{name}"
        if rtype == "AWS::IAM::Role":
            return f"arn:aws:iam::{a}:role/{name}"
        if rtype == "AWS::Logs::LogGroup":
            return f"arn:aws:logs:{r}:{a}:log-group:{name}"
        if rtype == "AWS::Serverless::LayerVersion":
            return f"arn:aws:lambda:{r}:{a}:layer:{name}:1"
        raise KeyError(f"no local ARN for {logical_id} ({rtype})")

    # --- intrinsics --------------------------------------------------------------------
    def _ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::StackName": self.stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        rtype = self.resources[name]["Type"]
        if rtype in {"AWS::SNS::Topic", "AWS::Serverless::StateMachine", "AWS::Serverless::LayerVersion"}:
            return self.arn(name)
        return self.physical_name(name)

    def _get_att(self, logical_id: str, attribute: str) -> str:
        if attribute == "Arn":
            return self.arn(logical_id)
        if attribute == "TopicName":
            return self.physical_name(logical_id)
        if attribute == "Name":
            return self.physical_name(logical_id)
        raise KeyError(f"unsupported attribute {logical_id}.{attribute}")

    def resolve(self, value: Any) -> Any:
        """Resolve ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` and ``Fn::Join`` recursively."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
                return self._get_att(logical_id, attribute)
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                resolved_vars = {k: self.resolve(v) for k, v in variables.items()}

                def substitute(match: re.Match[str]) -> str:
                    token = match.group(1)
                    if token in resolved_vars:
                        return str(resolved_vars[token])
                    if "." in token:
                        logical_id, attribute = token.split(".", 1)
                        return self._get_att(logical_id, attribute)
                    return self._ref(token)

                return re.sub(r"\$\{([^}!]+)\}", substitute, text)
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(self.resolve(item)) for item in items)
        return {k: self.resolve(v) for k, v in value.items()}

    # --- what the local cloud runs -----------------------------------------------------
    def _of_type(self, rtype: str) -> dict[str, dict[str, Any]]:
        return {lid: res for lid, res in self.resources.items() if res.get("Type") == rtype}

    def functions(self) -> dict[str, FunctionSpec]:
        globals_fn = self.doc.get("Globals", {}).get("Function", {})
        global_env = globals_fn.get("Environment", {}).get("Variables", {})
        specs = {}
        for lid, res in self._of_type("AWS::Serverless::Function").items():
            props = res.get("Properties", {})
            env = {**global_env, **props.get("Environment", {}).get("Variables", {})}
            specs[lid] = FunctionSpec(
                logical_id=lid,
                physical_name=self.physical_name(lid),
                arn=self.arn(lid),
                code_uri=(self.root / props.get("CodeUri", globals_fn.get("CodeUri", "."))).resolve(),
                handler=props.get("Handler", globals_fn.get("Handler", "")),
                environment={k: str(self.resolve(v)) for k, v in env.items()},
            )
        return specs

    def state_machines(self) -> dict[str, StateMachineSpec]:
        specs = {}
        for lid, res in self._of_type("AWS::Serverless::StateMachine").items():
            props = res.get("Properties", {})
            path = (self.root / props["DefinitionUri"]).resolve()
            definition = path.read_text()
            for key, value in props.get("DefinitionSubstitutions", {}).items():
                definition = definition.replace("${" + key + "}", str(self.resolve(value)))
            rules, schedules = [], []
            for event_id, event in props.get("Events", {}).items():
                eprops = event.get("Properties", {})
                if event.get("Type") == "EventBridgeRule":
                    rules.append(RuleSpec(f"{lid}{event_id}", self.resolve(eprops["Pattern"]), lid))
                elif event.get("Type") in {"Schedule", "ScheduleV2"}:
                    raw_input = eprops.get("Input")
                    schedules.append(
                        ScheduleSpec(
                            event_id,
                            str(
                                self.resolve(
                                    eprops[
                                        "Schedule" if event["Type"] == "Schedule" else "ScheduleExpression"
                                    ]
                                )
                            ),
                            lid,
                            json.loads(self.resolve(raw_input))
                            if isinstance(raw_input, str | dict) and raw_input
                            else None,
                        )
                    )
            specs[lid] = StateMachineSpec(
                logical_id=lid,
                name=self.physical_name(lid),
                arn=self.arn(lid),
                definition_path=path,
                definition=definition,
                rules=rules,
                schedules=schedules,
            )
        return specs

    def state_machine_by_alias(self, alias: str) -> StateMachineSpec:
        """Find a state machine by logical id, physical name or a short alias (``deploy``)."""
        machines = self.state_machines()
        for spec in machines.values():
            short = spec.logical_id.removesuffix("StateMachine").lower()
            if alias in {spec.logical_id, spec.name, spec.arn, short}:
                return spec
        known = ", ".join(
            sorted(s.logical_id.removesuffix("StateMachine").lower() for s in machines.values())
        )
        raise KeyError(f"no state machine {alias!r} in template.yaml (known: {known})")

    def tables(self) -> dict[str, dict[str, Any]]:
        return {
            self.physical_name(lid): self.resolve(res["Properties"])
            for lid, res in self._of_type("AWS::DynamoDB::Table").items()
        }

    def topics(self) -> list[str]:
        return [self.physical_name(lid) for lid in self._of_type("AWS::SNS::Topic")]

    def roles(self) -> list[str]:
        return [self.physical_name(lid) for lid in self._of_type("AWS::IAM::Role")]
