"""Read ``template.yaml`` the way the local cloud needs it.

Functions (``CodeUri`` + ``Handler`` + environment), state machines (``DefinitionUri`` +
``DefinitionSubstitutions``), the EventBridge rules that target either (``EventBridgeRule`` /
``CloudWatchEvent`` events with their patterns, ``Input``/``InputPath`` and ``State``) and their
schedules (``Schedule`` / ``ScheduleV2``), with CloudFormation intrinsics resolved against local
resource names and the parameters' defaults (or overrides).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
STAGE_TEMPLATE_PATH = REPO_ROOT / "stage-account.yaml"  # what each stage account deploys


NO_VALUE: Any = object()  # what ``Ref: AWS::NoValue`` resolves to: the property is dropped


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


RULE_EVENT_TYPES = {"EventBridgeRule", "CloudWatchEvent"}
SCHEDULE_EVENT_TYPES = {"Schedule", "ScheduleV2"}
LAMBDA_ASYNC_RETRIES = 2  # Lambda retries a failed asynchronous invocation twice unless told otherwise


def template_parameters(path: Path = TEMPLATE_PATH) -> dict[str, dict[str, Any]]:
    """The ``Parameters`` section of a template (name -> declaration)."""
    return dict(_load_template(path).get("Parameters", {}))


def parameter_problem(declaration: dict[str, Any], value: str) -> str | None:
    """Why CloudFormation would refuse ``value`` for a parameter so declared, or ``None``."""
    allowed = declaration.get("AllowedValues")
    if allowed is not None and value not in [str(v) for v in allowed]:
        return f"expected one of {', '.join(str(v) for v in allowed)}, got {value!r}"
    pattern = declaration.get("AllowedPattern")
    # On a CommaDelimitedList "the pattern must match each value in the list" (CloudFormation User
    # Guide, "Parameters" section).
    values = value.split(",") if declaration.get("Type") == "CommaDelimitedList" else [value]
    for item in values:
        if pattern is not None and not re.fullmatch(str(pattern), item):
            return f"{item!r} does not match the parameter's AllowedPattern {pattern}"
    if declaration.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            return f"expected a number, got {value!r}"
        low, high = declaration.get("MinValue"), declaration.get("MaxValue")
        if (low is not None and number < float(low)) or (high is not None and number > float(high)):
            return f"{value} is outside {low}..{high}"
    return None


@dataclass(frozen=True)
class RuleSpec:
    """An EventBridge rule written as an event source of a function or a state machine."""

    name: str
    pattern: dict[str, Any]
    target_logical_id: str
    target_kind: str = "stateMachine"  # "stateMachine" | "function"
    input: Any = None  # the target's constant ``Input`` (parsed JSON), if any
    input_path: str | None = None  # ``InputPath`` (e.g. ``$.detail``), if any
    enabled: bool = True


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    expression: str
    target_logical_id: str
    input: Any
    kind: str = "ScheduleV2"  # "Schedule" (an EventBridge rule) | "ScheduleV2" (EventBridge Scheduler)
    enabled: bool = True
    schedule_name: str = ""  # the rule's or the Scheduler schedule's name
    group: str = "default"  # Scheduler schedule group
    target_kind: str = "stateMachine"


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    physical_name: str
    arn: str
    code_uri: Path
    handler: str
    environment: dict[str, str]
    rules: list[RuleSpec] = field(default_factory=list)
    schedules: list[ScheduleSpec] = field(default_factory=list)
    async_retries: int = LAMBDA_ASYNC_RETRIES  # EventInvokeConfig.MaximumRetryAttempts


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
        if rtype == "AWS::IAM::Role" and "RoleName" in props:
            return str(self.resolve(props["RoleName"]))
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
    def _ref(self, name: str) -> Any:
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
            declared = str(self.doc.get("Parameters", {}).get(name, {}).get("Type", "String"))
            if declared == "CommaDelimitedList" or declared.startswith("List<"):
                return [item.strip() for item in self.parameters[name].split(",")]
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

    def condition(self, name: str) -> bool:
        """A template ``Conditions`` entry, evaluated with the parameters in force."""
        return bool(self.resolve(self.doc.get("Conditions", {})[name]))

    def resolve(self, value: Any) -> Any:
        """Resolve ``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``Fn::Join``, ``Fn::Select``, ``Fn::Split``
        and the condition functions (``Fn::If`` with ``AWS::NoValue``, ``Fn::Equals``, ``Fn::Not``,
        ``Fn::And``, ``Fn::Or``) recursively."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                if arg == "AWS::NoValue":
                    return NO_VALUE
                return self._ref(arg)
            if key == "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.condition(name) else when_false)
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg)
            if key == "Fn::Equals":
                left, right = (self.resolve(item) for item in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(item) for item in arg)
            if key == "Fn::Or":
                return any(self.resolve(item) for item in arg)
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                sep, text = arg
                return str(self.resolve(text)).split(sep)
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
                # the list may itself be an intrinsic (``!Ref`` of a CommaDelimitedList, ``!Split``)
                return sep.join(str(item) for item in self.resolve(items))
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

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
            rules, schedules = self._event_sources(lid, props, "function")
            invoke_config = {
                **globals_fn.get("EventInvokeConfig", {}),
                **props.get("EventInvokeConfig", {}),
            }
            specs[lid] = FunctionSpec(
                logical_id=lid,
                physical_name=self.physical_name(lid),
                arn=self.arn(lid),
                code_uri=(self.root / props.get("CodeUri", globals_fn.get("CodeUri", "."))).resolve(),
                handler=props.get("Handler", globals_fn.get("Handler", "")),
                environment={k: str(self.resolve(v)) for k, v in env.items()},
                rules=rules,
                schedules=schedules,
                async_retries=int(
                    self.resolve(invoke_config.get("MaximumRetryAttempts", LAMBDA_ASYNC_RETRIES))
                ),
            )
        return specs

    def _event_sources(
        self, lid: str, props: dict[str, Any], kind: str
    ) -> tuple[list[RuleSpec], list[ScheduleSpec]]:
        """The EventBridge rules and schedules declared as ``Events`` of a function or state machine."""
        rules, schedules = [], []
        for event_id, event in props.get("Events", {}).items():
            etype = event.get("Type")
            eprops = event.get("Properties", {})
            raw_input = self.resolve(eprops.get("Input"))
            parsed_input = json.loads(raw_input) if isinstance(raw_input, str) and raw_input else raw_input
            if etype in RULE_EVENT_TYPES:
                if "InputTransformer" in eprops:
                    raise ValueError(
                        f"{lid}.Events.{event_id}: InputTransformer is not supported by the local cloud"
                    )
                rules.append(
                    RuleSpec(
                        name=f"{lid}{event_id}",
                        pattern=self.resolve(eprops["Pattern"]),
                        target_logical_id=lid,
                        target_kind=kind,
                        input=parsed_input,
                        input_path=self.resolve(eprops.get("InputPath")),
                        enabled=str(self.resolve(eprops.get("State", "ENABLED"))) != "DISABLED",
                    )
                )
            elif etype in SCHEDULE_EVENT_TYPES:
                expression = eprops["Schedule" if etype == "Schedule" else "ScheduleExpression"]
                enabled = eprops.get("Enabled", True) if etype == "Schedule" else True
                state = str(self.resolve(eprops.get("State", "ENABLED" if enabled else "DISABLED")))
                schedules.append(
                    ScheduleSpec(
                        name=event_id,
                        expression=str(self.resolve(expression)),
                        target_logical_id=lid,
                        input=parsed_input,
                        kind=str(etype),
                        enabled=state != "DISABLED",
                        schedule_name=str(self.resolve(eprops.get("Name", f"{lid}{event_id}"))),
                        group=str(self.resolve(eprops.get("GroupName", "default"))),
                        target_kind=kind,
                    )
                )
        return rules, schedules

    def rules(self) -> list[RuleSpec]:
        """Every EventBridge rule of the template: those of state machines, then those of functions."""
        return [rule for spec in self.state_machines().values() for rule in spec.rules] + [
            rule for spec in self.functions().values() for rule in spec.rules
        ]

    def schedules(self) -> list[ScheduleSpec]:
        return [s for spec in self.state_machines().values() for s in spec.schedules] + [
            s for spec in self.functions().values() for s in spec.schedules
        ]

    def state_machines(self) -> dict[str, StateMachineSpec]:
        specs = {}
        for lid, res in self._of_type("AWS::Serverless::StateMachine").items():
            props = res.get("Properties", {})
            path = (self.root / props["DefinitionUri"]).resolve()
            definition = path.read_text()
            for key, value in props.get("DefinitionSubstitutions", {}).items():
                definition = definition.replace("${" + key + "}", str(self.resolve(value)))
            rules, schedules = self._event_sources(lid, props, "stateMachine")
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
