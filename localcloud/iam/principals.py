"""The principals of ``template.yaml`` and their identity-based policies, as deployed.

``sam deploy`` turns each function's and state machine's ``Policies`` (SAM policy templates such as
``DynamoDBCrudPolicy``, inline statements) into an ``AWS::IAM::Role``, and gives each EventBridge
rule or schedule that starts a state machine a role of its own. The local cloud runs the same
translation (aws-sam-translator, offline) and resolves the intrinsics of the result with its own
names, so the policies checked here are the ones AWS would hold.

AWS managed policies attached to the roles (``AWSLambdaBasicExecutionRole``, X-Ray write access)
grant logging and tracing only, which the local cloud does not serve; they grant nothing here.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud.engine.template import Template, _load_template

# What `sam package` would put in place of local code paths: the translator only accepts S3 URIs.
_PLACEHOLDER = "s3://smdeploy-local-translation/"


@dataclass(frozen=True)
class Principal:
    """Who makes a call: a function, a state machine, a rule or schedule, or a service role."""

    name: str  # the logical id of the function, state machine, rule or schedule (or the role)
    kind: str  # function | stateMachine | rule | schedule | role
    role_name: str
    role_arn: str
    statements: tuple[tuple[str, dict[str, Any]], ...]  # (label, statement)
    # services the role's trust policy lets assume it (AssumeRolePolicyDocument; roles only)
    trusted_services: tuple[str, ...] = ()
    # AWS principals it names (account roots, role ARNs, "*"; roles only)
    trusted_aws: tuple[str, ...] = ()

    @property
    def account(self) -> str:
        return self.role_arn.split(":")[4] if self.role_arn else ""

    def trusts(self, caller: Principal) -> bool:
        """Whether the trust policy lets ``caller`` (a role of some account) assume this role: it
        names the caller's account (``:root``: the account's own policies decide), its role, or "*"."""
        root = f"arn:aws:iam::{caller.account}:root"
        return bool({"*", root, caller.account, caller.role_arn} & set(self.trusted_aws))

    @property
    def session_arn(self) -> str:
        """The caller AWS names in an access-denied message (an assumed-role session)."""
        if not self.role_arn:
            return self.name
        account = self.role_arn.split(":")[4]
        return f"arn:aws:sts::{account}:assumed-role/{self.role_name}/{self.name}"


class _OfflinePolicies:
    """The translator asks for managed policy ARNs only for names missing from its bundled list."""

    def load(self) -> dict[str, str]:
        raise RuntimeError("a Policies entry names an AWS managed policy unknown offline; write its ARN")


_TRANSLATED: dict[tuple[Path, int, int], dict[str, Any]] = {}


def translate(path: Path) -> dict[str, Any]:
    """The CloudFormation template ``sam deploy`` would create from ``path`` (once per file version)."""
    stat = path.stat()
    key = (path.resolve(), stat.st_mtime_ns, stat.st_size)
    if key not in _TRANSLATED:
        from samtranslator.translator.transform import transform

        doc = _load_template(path)
        for resource in (doc.get("Resources") or {}).values():
            props = resource.get("Properties") or {}
            for code_key in ("CodeUri", "ContentUri", "DefinitionUri"):
                if isinstance(props.get(code_key), str) and not props[code_key].startswith("s3://"):
                    props[code_key] = _PLACEHOLDER + props[code_key].lstrip("./")
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the translator wants one, no account
        _TRANSLATED[key] = transform(doc, {}, _OfflinePolicies())
    return copy.deepcopy(_TRANSLATED[key])


class _Resolver(Template):
    """The template's resolver over the translated resources (generated roles included)."""

    def __init__(self, template: Template, resources: dict[str, dict[str, Any]]) -> None:
        self.__dict__.update(template.__dict__)
        self.resources = {**resources, **template.resources}


def _statements(role_logical_id: str, role: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for policy in role.get("Properties", {}).get("Policies", []) or []:
        document = policy.get("PolicyDocument", {})
        statements = document.get("Statement", [])
        statements = statements if isinstance(statements, list) else [statements]
        for index, statement in enumerate(statements):
            sid = statement.get("Sid") or f"{policy.get('PolicyName', 'policy')}[{index}]"
            out.append((f"{role_logical_id}/{sid}", statement))
    return out


def _trusted_services(role: dict[str, Any], kind: str = "Service") -> tuple[str, ...]:
    """The principals of ``kind`` (``Service``, ``AWS``) an ``Allow`` of ``sts:AssumeRole`` in the
    role's trust policy names."""
    document = role.get("Properties", {}).get("AssumeRolePolicyDocument") or {}
    statements = document.get("Statement", [])
    services: list[str] = []
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if statement.get("Effect") != "Allow" or not {"sts:AssumeRole", "sts:*", "*"} & set(actions):
            continue
        principal = statement.get("Principal") or {}
        named = (
            principal.get(kind, []) if isinstance(principal, dict) else ([principal] if kind == "AWS" else [])
        )
        services += named if isinstance(named, list) else [named]
    return tuple(str(service) for service in services)


def _logical_id(ref: Any) -> str | None:
    """The role logical id of ``{"Fn::GetAtt": ["XRole", "Arn"]}`` (or a ``Ref``)."""
    if isinstance(ref, dict):
        if "Fn::GetAtt" in ref:
            target = ref["Fn::GetAtt"]
            return str(target[0] if isinstance(target, list) else str(target).split(".")[0])
        if "Ref" in ref:
            return str(ref["Ref"])
    return None


_PRINCIPALS: dict[tuple[Any, ...], Principals] = {}


class Principals:
    """Every principal of the template, by its kind and logical id (and by role ARN)."""

    def __init__(self, template: Template) -> None:
        translated = translate(template.path)
        resources: dict[str, dict[str, Any]] = translated.get("Resources", {})
        resolver = _Resolver(template, resources)  # knows the generated roles' names and ARNs
        self.roles: dict[str, Principal] = {
            lid: Principal(
                name=lid,
                kind="role",
                role_name=resolver.physical_name(lid),
                role_arn=resolver.arn(lid),
                statements=tuple(_statements(lid, resolver.resolve(resource))),
                trusted_services=_trusted_services(resolver.resolve(resource)),
                trusted_aws=_trusted_services(resolver.resolve(resource), "AWS"),
            )
            for lid, resource in resources.items()
            if resource.get("Type") == "AWS::IAM::Role"
        }
        self.by_key: dict[tuple[str, str], Principal] = {}
        for lid, resource in resources.items():
            props = resource.get("Properties", {})
            rtype = resource.get("Type")
            if rtype == "AWS::Lambda::Function":
                self._add("function", lid, _logical_id(props.get("Role")))
            elif rtype == "AWS::StepFunctions::StateMachine":
                self._add("stateMachine", lid, _logical_id(props.get("RoleArn")))
            elif rtype == "AWS::Events::Rule":
                for target in props.get("Targets", []):
                    if "RoleArn" in target:
                        self._add("rule", lid, _logical_id(target["RoleArn"]))
            elif rtype == "AWS::Scheduler::Schedule":
                self._add("schedule", lid, _logical_id(props.get("Target", {}).get("RoleArn")))
        self._by_role_arn = {p.role_arn: p for p in self.roles.values()}

    @classmethod
    def of(cls, template: Template) -> Principals:
        """The principals of a template version, resolved once per process for each account,
        region and set of parameters (a rehearsal does not pay for it again)."""
        stat = template.path.stat()
        key = (
            template.path.resolve(),
            stat.st_mtime_ns,
            stat.st_size,
            template.region,
            template.account,
            template.stack_name,
            tuple(sorted(template.parameters.items())),
        )
        if key not in _PRINCIPALS:
            _PRINCIPALS[key] = cls(template)
        return _PRINCIPALS[key]

    def _add(self, kind: str, lid: str, role_lid: str | None) -> None:
        if role_lid is None or role_lid not in self.roles:
            return
        role = self.roles[role_lid]
        self.by_key[(kind, lid)] = Principal(lid, kind, role.role_name, role.role_arn, role.statements)

    def get(self, kind: str, logical_id: str) -> Principal | None:
        return self.by_key.get((kind, logical_id))

    def role(self, role_arn: str) -> Principal | None:
        """A role of the template by its ARN (the model execution role SageMaker assumes)."""
        return self._by_role_arn.get(role_arn)
