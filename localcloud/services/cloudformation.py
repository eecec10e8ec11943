"""CloudFormation in the local cloud: the rehearsed stack answers ``DescribeStacks``.

The local cloud creates what ``template.yaml`` declares itself (``LocalCloud._create_resources``),
never through CloudFormation, so moto's CloudFormation backend holds no stack. A client that finds
its resources by a stack's outputs, as the operator CLI does (``smdeploy_cli/operator.py``:
``DeployStateMachineArn``, ``DeploymentsTableName``), would find nothing. Here ``DescribeStacks``
answers for the template's stack (``Template.stack_name``, ``smdeploy``) in the cloud's account and
Region as CloudFormation answers for a stack that ``sam deploy`` created:

- ``StackName``, ``StackId`` (``arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/<uuid>``, the uuid
  derived from account, Region and name so that reports repeat), ``StackStatus``
  ``CREATE_COMPLETE``, ``CreationTime`` the virtual epoch, the template's ``Description``;
- ``Parameters``: every template parameter with the value in force (default or the scenario's
  override), ``****`` for a ``NoEcho`` one;
- ``Outputs``: every ``Outputs`` entry whose ``Condition`` holds, its ``Value`` resolved against the
  local resources by the template engine (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``...:
  ``localcloud/engine/template.py``), with its ``Description`` and ``ExportName``.

Asked by that name or by its ``StackId``; without ``StackName``, this stack first, then any stack
moto holds. Any other name gets moto's answer, which is CloudFormation's:
``ValidationError: Stack with id NAME does not exist`` (the error AWS returns, boto/boto3#2807).

Sources: CloudFormation API reference, DescribeStacks and the Stack, Output and Parameter data
types (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html);
CloudFormation User Guide, "Outputs" (an output's ``Condition``, ``Export``) and "Parameters"
(``NoEcho`` values are shown as asterisks).
"""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from unittest import mock

from localcloud.engine import moto_hooks
from localcloud.engine.template import NO_VALUE, Template

CREATE_COMPLETE = "CREATE_COMPLETE"
NO_ECHO_MASK = "****"


@dataclass(frozen=True)
class DeployedStack:
    """One stack as DescribeStacks answers it (attributes named as moto's serializer reads them)."""

    stack_name: str
    stack_id: str
    creation_time: datetime
    stack_status: str = CREATE_COMPLETE
    description: str | None = None
    parameters: list[dict[str, str]] = field(default_factory=list)
    outputs: list[dict[str, str]] = field(default_factory=list)
    disable_rollback: bool = False
    enable_termination_protection: bool = False
    notification_arns: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)  # moto's serializer lists them as Key/Value


def stack_id(template: Template) -> str:
    """The stack's ARN, the same for the same account, Region and name."""
    name, region, account = template.stack_name, template.region, template.account
    unique = uuid.uuid5(uuid.NAMESPACE_URL, f"cloudformation:{account}:{region}:{name}")
    return f"arn:aws:cloudformation:{region}:{account}:stack/{name}/{unique}"


def _text(value: Any) -> str:
    """An output or parameter value as CloudFormation shows it (a list joined with commas)."""
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


def outputs(template: Template) -> list[dict[str, str]]:
    """The template's ``Outputs`` resolved against the local resources, in template order."""
    found = []
    for key, output in (template.doc.get("Outputs") or {}).items():
        condition = output.get("Condition")
        if condition is not None and not template.condition(str(condition)):
            continue
        value = template.resolve(output["Value"])
        if value is NO_VALUE:
            continue
        entry = {"OutputKey": key, "OutputValue": _text(value)}
        if output.get("Description") is not None:
            entry["Description"] = str(template.resolve(output["Description"]))
        export = (output.get("Export") or {}).get("Name")
        if export is not None:
            entry["ExportName"] = _text(template.resolve(export))
        found.append(entry)
    return found


def parameters(template: Template) -> list[dict[str, str]]:
    """The template's parameters with the values in force (``NoEcho`` ones masked)."""
    declared = template.doc.get("Parameters") or {}
    return [
        {
            "ParameterKey": name,
            "ParameterValue": NO_ECHO_MASK
            if str(spec.get("NoEcho", "")).lower() == "true"
            else template.parameters[name],
        }
        for name, spec in declared.items()
    ]


class CloudFormationStacks:
    """Serves DescribeStacks for the rehearsed stack on top of moto's CloudFormation backend."""

    def __init__(self, template: Template, created: datetime) -> None:
        self.template = template
        self.created = created
        self.stack_id = stack_id(template)
        self._stack: DeployedStack | None = None
        self._patches = ExitStack()

    @property
    def stack(self) -> DeployedStack:
        """The stack, its outputs resolved at the first question (an output the engine cannot
        resolve fails DescribeStacks, not every rehearsal)."""
        if self._stack is None:
            description = self.template.doc.get("Description")
            self._stack = DeployedStack(
                stack_name=self.template.stack_name,
                stack_id=self.stack_id,
                creation_time=self.created,
                description=str(description) if description is not None else None,
                parameters=parameters(self.template),
                outputs=outputs(self.template),
            )
        return self._stack

    def names(self, name_or_id: str) -> bool:
        return name_or_id in (self.template.stack_name, self.stack_id)

    def install(self) -> None:
        backend_cls = moto_hooks.resolve("moto.cloudformation.models", "CloudFormationBackend")
        original = backend_cls.describe_stacks
        stacks = self

        def describe_stacks(backend: Any, name_or_stack_id: str | None) -> list[Any]:
            here = (str(backend.account_id), str(backend.region_name)) == (
                stacks.template.account,
                stacks.template.region,
            )
            if here and name_or_stack_id and stacks.names(name_or_stack_id):
                return [stacks.stack]
            found = list(original(backend, name_or_stack_id))
            return [stacks.stack, *found] if here and not name_or_stack_id else found

        self._patches.enter_context(mock.patch.object(backend_cls, "describe_stacks", describe_stacks))

    def uninstall(self) -> None:
        self._patches.close()
