"""Static checks over ``template.yaml`` and ``statemachines/*.asl.json``.

``sam validate --lint`` (cfn-lint) does not look inside ``AWS::Serverless::StateMachine``
definitions, does not notice a missing ``DefinitionUri`` file and knows nothing of this project's
contracts. These checks fill that gap. They read files only: nothing is imported from
``functions/`` (handlers are parsed with :mod:`ast`), nothing touches AWS.

Every check returns a list of problem strings; an empty list means the check passed.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from localcloud.engine.template import TEMPLATE_PATH, load_yaml
from localcloud.iam import catalog

RUNTIME = "python3.13"
DEPLOY_STATE_MACHINE = "DeployStateMachine"

FUNCTION_TYPE = "AWS::Serverless::Function"
LAYER_TYPE = "AWS::Serverless::LayerVersion"
STATE_MACHINE_TYPE = "AWS::Serverless::StateMachine"


def takes_only_star(action: str) -> bool:
    """Whether ``Resource: "*"`` is the only way to grant ``action``: the Service Authorization
    Reference lists no resource type for the action, or it is a List action that requires none
    (``List*``, ``GetMetricStatistics``,
    ``PutMetricData``, Application Auto Scaling's ``Describe*``...). Unknown actions are not."""
    try:
        entry = catalog.action(action)
    except catalog.UnknownAction:
        return False
    if not entry.resource_types:
        return True
    # A List action whose resource types are all optional lists what no request names (SageMaker
    # ListModelPackages: "model-package" optional); other actions name their resource.
    return entry.access_level == "List" and not any(r.required for r in entry.resource_types)


# AWS managed policies that grant far more than any function here needs.
BROAD_MANAGED_POLICY = re.compile(r"(FullAccess|AdministratorAccess|PowerUserAccess)$")

PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
LAMBDA_FUNCTION_ARN = re.compile(r"^arn:[^:]+:lambda:[^:]*:[^:]*:function:")
LAMBDA_INVOKE_INTEGRATION = re.compile(r"^arn:[^:]+:states:::lambda:invoke")

STATE_TYPES = frozenset({"Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"})
NO_TRANSITION_TYPES = frozenset({"Choice", "Succeed", "Fail"})
ERROR_PREFIXES_OUTSIDE_CONTRACT = ("States.", "Lambda.", "Sandbox.")
BLANKET_RETRY_ERRORS = frozenset({"States.ALL", "States.TaskFailed"})

SAGEMAKER_SOURCE = "aws.sagemaker"
MODEL_PACKAGE_DETAIL_TYPE = "SageMaker Model Package State Change"


# --- reading -----------------------------------------------------------------------------------
def _resources(doc: Mapping[str, Any], *types: str) -> dict[str, dict[str, Any]]:
    resources = doc.get("Resources") or {}
    return {
        lid: res
        for lid, res in resources.items()
        if isinstance(res, dict) and (not types or res.get("Type") in types)
    }


def _properties(resource: Mapping[str, Any]) -> dict[str, Any]:
    props = resource.get("Properties")
    return props if isinstance(props, dict) else {}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


class DuplicateKeyError(ValueError):
    """A JSON object names the same key twice (``json`` would silently keep the last one)."""


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKeyError(f"duplicate key {key!r}")
        result[key] = value
    return result


def load_asl(path: Path) -> Any:
    """Parse an ASL file, refusing duplicate keys (two states with one name would collapse)."""
    return json.loads(path.read_text(), object_pairs_hook=_reject_duplicates)


def asl_paths(doc: Mapping[str, Any], root: Path) -> list[Path]:
    """``statemachines/*.asl.json`` plus every existing local ``DefinitionUri`` file, sorted."""
    paths = {path.resolve() for path in (root / "statemachines").glob("*.asl.json")}
    for res in _resources(doc, STATE_MACHINE_TYPE).values():
        uri = _properties(res).get("DefinitionUri")
        if isinstance(uri, str) and (root / uri).is_file():
            paths.add((root / uri).resolve())
    return sorted(paths)


def load_asl_files(doc: Mapping[str, Any], root: Path) -> tuple[dict[str, Any], list[str]]:
    """Every ASL file by its path relative to ``root``, and a problem for each that does not parse."""
    definitions: dict[str, Any] = {}
    problems: list[str] = []
    for path in asl_paths(doc, root):
        source = _rel(path, root)
        try:
            definitions[source] = load_asl(path)
        except (ValueError, OSError) as exc:
            problems.append(f"{source}: not valid JSON: {exc}")
    return definitions, problems


# --- state machines: DefinitionUri and DefinitionSubstitutions ----------------------------------
def check_definition_files(doc: Mapping[str, Any], root: Path) -> list[str]:
    """Each state machine's ``DefinitionUri`` exists; placeholders and substitutions match 1:1."""
    problems: list[str] = []
    for lid, res in _resources(doc, STATE_MACHINE_TYPE).items():
        props = _properties(res)
        uri = props.get("DefinitionUri")
        if uri is None:
            if "Definition" in props:
                text = json.dumps(props["Definition"])
            else:
                problems.append(f"{lid}: neither DefinitionUri nor Definition is set")
                continue
        elif not isinstance(uri, str):
            problems.append(f"{lid}: DefinitionUri must be a local file path, got {uri!r}")
            continue
        else:
            path = root / uri
            if not path.is_file():
                problems.append(f"{lid}: DefinitionUri {uri} does not exist")
                continue
            text = path.read_text()
        used = set(PLACEHOLDER.findall(text))
        substitutions = props.get("DefinitionSubstitutions") or {}
        if not isinstance(substitutions, dict):
            problems.append(f"{lid}: DefinitionSubstitutions must be a mapping")
            continue
        where = uri if isinstance(uri, str) else "Definition"
        for name in sorted(used - set(substitutions)):
            problems.append(f"{lid}: {where} uses ${{{name}}} but DefinitionSubstitutions has no {name}")
        for name in sorted(set(substitutions) - used):
            problems.append(f"{lid}: DefinitionSubstitutions.{name} is not used in {where}")
    return problems


def lambda_placeholders(doc: Mapping[str, Any]) -> frozenset[str]:
    """Substitution names whose value is a Lambda function's ARN (``!GetAtt Fn.Arn`` or a ``!Sub``)."""
    functions = set(_resources(doc, FUNCTION_TYPE, "AWS::Lambda::Function"))
    names: set[str] = set()
    for res in _resources(doc, STATE_MACHINE_TYPE).values():
        substitutions = _properties(res).get("DefinitionSubstitutions") or {}
        if not isinstance(substitutions, dict):
            continue
        for name, value in substitutions.items():
            if not isinstance(value, dict):
                continue
            get_att = value.get("Fn::GetAtt")
            if isinstance(get_att, list) and get_att[1:] == ["Arn"] and get_att[0] in functions:
                names.add(name)
            sub = value.get("Fn::Sub")
            if isinstance(sub, str) and any(f"${{{fn}.Arn}}" in sub for fn in functions):
                names.add(name)
    return frozenset(names)


# --- ASL structure ------------------------------------------------------------------------------
def _transitions(state: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(where, target) for every transition a state can take."""
    if "Next" in state:
        yield "Next", state["Next"]
    if "Default" in state:
        yield "Default", state["Default"]
    for i, rule in enumerate(_as_list(state.get("Choices"))):
        if isinstance(rule, dict):
            yield f"Choices[{i}].Next", rule.get("Next")
    for i, catcher in enumerate(_as_list(state.get("Catch"))):
        if isinstance(catcher, dict):
            yield f"Catch[{i}].Next", catcher.get("Next")


def _is_lambda_task(state: Mapping[str, Any], placeholders: frozenset[str]) -> bool:
    resource = state.get("Resource")
    if not isinstance(resource, str):
        return False
    if LAMBDA_FUNCTION_ARN.match(resource) or LAMBDA_INVOKE_INTEGRATION.match(resource):
        return True
    return any(name in placeholders for name in PLACEHOLDER.findall(resource))


def _check_error_lists(field: str, entries: Any, where: str) -> list[str]:
    """``States.ALL`` stands alone in the last entry, as the ASL specification requires."""
    problems: list[str] = []
    entries = _as_list(entries)
    for i, entry in enumerate(entries):
        names = _as_list(entry.get("ErrorEquals")) if isinstance(entry, dict) else []
        if not names:
            problems.append(f"{where}: {field}[{i}] has no ErrorEquals")
        if "States.ALL" in names and (len(names) > 1 or i != len(entries) - 1):
            problems.append(f"{where}: {field}[{i}]: States.ALL must be alone and in the last {field}")
        if field == "Retry":
            for name in sorted(BLANKET_RETRY_ERRORS.intersection(names)):
                problems.append(
                    f"{where}: Retry[{i}] retries {name}, which retries terminal errors too; "
                    "retry the transient error names instead"
                )
    return problems


def _check_states(
    container: Mapping[str, Any], source: str, scope: str, placeholders: frozenset[str]
) -> list[str]:
    problems: list[str] = []
    states = container.get("States")
    if not isinstance(states, dict) or not states:
        return [f"{source}: {scope}States is missing or empty"]
    start = container.get("StartAt")
    if start not in states:
        problems.append(f"{source}: {scope}StartAt {start!r} is not a state")

    for name, state in states.items():
        where = f"{source}: {scope}state {name!r}"
        if not isinstance(state, dict):
            problems.append(f"{where} is not an object")
            continue
        stype = state.get("Type")
        if stype not in STATE_TYPES:
            problems.append(f"{where} has unknown Type {stype!r}")
        for field, target in _transitions(state):
            if target not in states:
                problems.append(f"{where}: {field} {target!r} is not a state")
        if stype == "Choice" and not _as_list(state.get("Choices")):
            problems.append(f"{where}: Choice state has no Choices")
        if stype not in NO_TRANSITION_TYPES:
            has_next, ends = "Next" in state, state.get("End") is True
            if not has_next and not ends:
                problems.append(f"{where} has neither Next nor End: true")
            elif has_next and ends:
                problems.append(f"{where} has both Next and End")
        if stype == "Task" and _is_lambda_task(state, placeholders) and not state.get("Retry"):
            problems.append(f"{where}: Lambda task has no Retry")
        problems += _check_error_lists("Retry", state.get("Retry"), where)
        problems += _check_error_lists("Catch", state.get("Catch"), where)
        if stype == "Parallel":
            branches = _as_list(state.get("Branches"))
            if not branches:
                problems.append(f"{where}: Parallel state has no Branches")
            for i, branch in enumerate(branches):
                problems += _check_container(branch, source, f"{scope}{name} Branches[{i}] ", placeholders)
        if stype == "Map":
            key = "ItemProcessor" if "ItemProcessor" in state else "Iterator"
            problems += _check_container(state.get(key), source, f"{scope}{name} {key} ", placeholders)

    if isinstance(start, str) and start in states:
        reached: set[str] = set()
        todo = [start]
        while todo:
            current = todo.pop()
            if current in reached or current not in states:
                continue
            reached.add(current)
            state = states[current]
            if isinstance(state, dict):
                todo.extend(target for _, target in _transitions(state) if isinstance(target, str))
        for name in states:
            if name not in reached:
                problems.append(f"{source}: {scope}state {name!r} is unreachable from StartAt {start!r}")
    return problems


def _check_container(container: Any, source: str, scope: str, placeholders: frozenset[str]) -> list[str]:
    if not isinstance(container, dict):
        return [f"{source}: {scope}is not a state machine object"]
    return _check_states(container, source, scope, placeholders)


def check_asl_structure(
    definition: Any, source: str, placeholders: frozenset[str] = frozenset()
) -> list[str]:
    """Transitions name existing states, every state is reachable, non-terminal states go somewhere,
    Lambda tasks retry. ``placeholders`` are ``${Name}`` substitutions that stand for Lambda ARNs."""
    return _check_container(definition, source, "", placeholders)


def check_asl_files(doc: Mapping[str, Any], root: Path) -> list[str]:
    """:func:`check_asl_structure` on every ASL file of the project."""
    definitions, problems = load_asl_files(doc, root)
    placeholders = lambda_placeholders(doc)
    for source, definition in definitions.items():
        problems += check_asl_structure(definition, source, placeholders)
    return problems


# --- functions and layers -----------------------------------------------------------------------
def _module_defines(tree: ast.Module, name: str) -> bool:
    """A top-level ``def``, assignment or import binds ``name``."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return True
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            return True
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            return True
        if isinstance(node, ast.ImportFrom) and any(
            (alias.asname or alias.name) == name for alias in node.names
        ):
            return True
    return False


def check_functions(doc: Mapping[str, Any], root: Path) -> list[str]:
    """``CodeUri`` holds the ``Handler`` module defining the handler; runtimes are python3.13."""
    problems: list[str] = []
    globals_fn = (doc.get("Globals") or {}).get("Function") or {}
    for lid, res in _resources(doc, FUNCTION_TYPE).items():
        props = _properties(res)
        runtime = props.get("Runtime", globals_fn.get("Runtime"))
        if props.get("PackageType", globals_fn.get("PackageType")) == "Image":
            continue
        if runtime != RUNTIME:
            problems.append(f"{lid}: Runtime is {runtime!r}, expected {RUNTIME}")
        code_uri = props.get("CodeUri", globals_fn.get("CodeUri"))
        if not isinstance(code_uri, str):
            problems.append(f"{lid}: CodeUri must be a local directory, got {code_uri!r}")
            continue
        code_dir = root / code_uri
        if not code_dir.is_dir():
            problems.append(f"{lid}: CodeUri {code_uri} is not a directory")
            continue
        handler = props.get("Handler", globals_fn.get("Handler"))
        if not isinstance(handler, str) or "." not in handler:
            problems.append(f"{lid}: Handler {handler!r} is not of the form module.function")
            continue
        module, function = handler.rsplit(".", 1)
        module_path = code_dir / (module.replace(".", "/") + ".py")
        if not module_path.is_file():
            package_init = code_dir / module.replace(".", "/") / "__init__.py"
            if not package_init.is_file():
                problems.append(f"{lid}: Handler module {module} not found in {code_uri}")
                continue
            module_path = package_init
        try:
            tree = ast.parse(module_path.read_text(), filename=str(module_path))
        except SyntaxError as exc:
            problems.append(f"{lid}: {_rel(module_path, root)} does not parse: {exc}")
            continue
        if not _module_defines(tree, function):
            problems.append(f"{lid}: {_rel(module_path, root)} defines no {function} (Handler {handler})")

    for lid, res in _resources(doc, LAYER_TYPE).items():
        props = _properties(res)
        content_uri = props.get("ContentUri")
        if not isinstance(content_uri, str) or not (root / content_uri).is_dir():
            problems.append(f"{lid}: ContentUri {content_uri!r} is not a local directory")
        runtimes = _as_list(props.get("CompatibleRuntimes"))
        if runtimes and RUNTIME not in runtimes:
            problems.append(f"{lid}: CompatibleRuntimes {runtimes} does not include {RUNTIME}")
        build_method = (res.get("Metadata") or {}).get("BuildMethod")
        if isinstance(build_method, str) and build_method.startswith("python") and build_method != RUNTIME:
            problems.append(f"{lid}: Metadata.BuildMethod is {build_method}, expected {RUNTIME}")
    return problems


# --- IAM ----------------------------------------------------------------------------------------
def _policy_documents(doc: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(where, policy document) for every inline IAM policy in the template."""
    for lid, res in _resources(doc).items():
        rtype, props = res.get("Type"), _properties(res)
        if rtype in (FUNCTION_TYPE, STATE_MACHINE_TYPE):
            for i, policy in enumerate(_as_list(props.get("Policies"))):
                if isinstance(policy, dict) and "Statement" in policy:
                    yield f"{lid}.Policies[{i}]", policy
        elif rtype == "AWS::IAM::Role":
            for i, policy in enumerate(_as_list(props.get("Policies"))):
                if isinstance(policy, dict):
                    name = policy.get("PolicyName", i)
                    yield f"{lid}.Policies[{name}]", policy.get("PolicyDocument")
        elif rtype in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
            yield f"{lid}.PolicyDocument", props.get("PolicyDocument")


def _managed_policies(doc: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for lid, res in _resources(doc).items():
        rtype, props = res.get("Type"), _properties(res)
        if rtype in (FUNCTION_TYPE, STATE_MACHINE_TYPE):
            entries = _as_list(props.get("Policies"))
        elif rtype == "AWS::IAM::Role":
            entries = _as_list(props.get("ManagedPolicyArns"))
        else:
            continue
        for entry in entries:
            if isinstance(entry, str):
                yield lid, entry


def check_iam(doc: Mapping[str, Any]) -> list[str]:
    """No wildcard actions; ``Resource: "*"`` only for actions without resource-level permissions."""
    problems: list[str] = []
    for where, document in _policy_documents(doc):
        if not isinstance(document, dict):
            continue
        for i, statement in enumerate(_as_list(document.get("Statement"))):
            if not isinstance(statement, dict) or statement.get("Effect") == "Deny":
                continue
            label = f"{where} Statement[{statement.get('Sid', i)}]"
            if "NotAction" in statement:
                problems.append(f"{label}: Allow with NotAction grants every other action")
            if "NotResource" in statement:
                problems.append(f"{label}: Allow with NotResource grants every other resource")
            actions = [a for a in _as_list(statement.get("Action")) if isinstance(a, str)]
            for action in actions:
                if action == "*" or action.endswith(":*"):
                    problems.append(f"{label}: wildcard Action {action!r}")
                elif "*" not in action and "?" not in action:
                    try:
                        catalog.action(action)
                    except catalog.UnknownAction as exc:
                        problems.append(f"{label}: {exc}")
            resources = _as_list(statement.get("Resource"))
            if "*" in resources:
                scoped = sorted(a for a in actions if not takes_only_star(a))
                if scoped:
                    problems.append(
                        f"{label}: Resource '*' for actions that support resource-level permissions: "
                        + ", ".join(scoped)
                    )
    for lid, policy in _managed_policies(doc):
        if BROAD_MANAGED_POLICY.search(policy):
            problems.append(f"{lid}: managed policy {policy} grants far more than least privilege")
    return problems


# --- the error contract -------------------------------------------------------------------------
def _named_errors(node: Any) -> Iterator[tuple[str, str]]:
    """('ErrorEquals' | 'Error', name) for every error name an ASL document mentions."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "ErrorEquals":
                for name in _as_list(value):
                    if isinstance(name, str):
                        yield "ErrorEquals", name
            elif key == "Error" and isinstance(value, str):
                yield "Error", value
            else:
                yield from _named_errors(value)
    elif isinstance(node, list):
        for item in node:
            yield from _named_errors(item)


def default_error_names() -> set[str]:
    from smdeploy.errors import all_error_names

    return all_error_names()


def check_error_contract(definitions: Mapping[str, Any], error_names: Iterable[str]) -> list[str]:
    """Every ``ErrorEquals`` name is an exception class, and every class is named in some ASL file."""
    known = set(error_names)
    problems: list[str] = []
    mentioned: set[str] = set()
    for source, definition in definitions.items():
        for kind, name in _named_errors(definition):
            mentioned.add(name)
            if kind != "ErrorEquals" or name.startswith(ERROR_PREFIXES_OUTSIDE_CONTRACT):
                continue
            if name not in known:
                problems.append(f"{source}: ErrorEquals names {name!r}, which is no class in smdeploy.errors")
    for name in sorted(known - mentioned):
        problems.append(f"smdeploy.errors.{name} is named in no ASL file (no ErrorEquals and no Error)")
    return list(dict.fromkeys(problems))


# --- EventBridge --------------------------------------------------------------------------------
def _rule_patterns(doc: Mapping[str, Any], state_machine: str) -> list[tuple[str, Any]]:
    """(where, pattern) for every EventBridge rule that starts ``state_machine``."""
    patterns: list[tuple[str, Any]] = []
    resources = _resources(doc)
    events = _properties(resources.get(state_machine, {})).get("Events") or {}
    for event_id, event in events.items():
        if isinstance(event, dict) and event.get("Type") in ("EventBridgeRule", "CloudWatchEvent"):
            patterns.append((f"{state_machine}.Events.{event_id}", _properties(event).get("Pattern")))
    targets = ({"Ref": state_machine}, {"Fn::GetAtt": [state_machine, "Arn"]})
    for lid, res in _resources(doc, "AWS::Events::Rule").items():
        props = _properties(res)
        if any(isinstance(t, dict) and t.get("Arn") in targets for t in _as_list(props.get("Targets"))):
            patterns.append((lid, props.get("EventPattern")))
    return patterns


def check_deploy_rule(doc: Mapping[str, Any], state_machine: str = DEPLOY_STATE_MACHINE) -> list[str]:
    """The deploy state machine starts on approvals, and only on approvals, of model packages."""
    if state_machine not in _resources(doc, STATE_MACHINE_TYPE):
        return [f"{state_machine}: no such AWS::Serverless::StateMachine in the template"]
    problems: list[str] = []
    approval_rules = 0
    for where, pattern in _rule_patterns(doc, state_machine):
        if not isinstance(pattern, dict):
            problems.append(f"{where}: rule has no event pattern")
            continue
        detail_types = _as_list(pattern.get("detail-type"))
        if MODEL_PACKAGE_DETAIL_TYPE not in detail_types:
            continue
        raw_detail = pattern.get("detail")
        detail: dict[str, Any] = raw_detail if isinstance(raw_detail, dict) else {}
        expected: list[tuple[str, Any, list[str]]] = [
            ("source", pattern.get("source"), [SAGEMAKER_SOURCE]),
            ("detail-type", pattern.get("detail-type"), [MODEL_PACKAGE_DETAIL_TYPE]),
            ("detail.ModelApprovalStatus", detail.get("ModelApprovalStatus"), ["Approved"]),
        ]
        wrong = [
            f"{key} is {actual!r}, expected {want!r}" for key, actual, want in expected if actual != want
        ]
        if wrong:
            problems.append(f"{where}: " + "; ".join(wrong))
        else:
            approval_rules += 1
    if not approval_rules and not problems:
        problems.append(
            f"{state_machine}: no EventBridge rule with source [{SAGEMAKER_SOURCE}], "
            f"detail-type [{MODEL_PACKAGE_DETAIL_TYPE}], detail.ModelApprovalStatus [Approved]"
        )
    return problems


# --- all together -------------------------------------------------------------------------------
def run_checks(
    template_path: Path = TEMPLATE_PATH, error_names: Iterable[str] | None = None
) -> dict[str, list[str]]:
    """Every check on one template, by name, in a stable order."""
    root = template_path.parent
    doc = load_yaml(template_path)
    definitions, _ = load_asl_files(doc, root)  # unreadable files: reported by "ASL structure"
    names = default_error_names() if error_names is None else set(error_names)
    checks: dict[str, Callable[[], list[str]]] = {
        "state machine definitions": lambda: check_definition_files(doc, root),
        "ASL structure": lambda: check_asl_files(doc, root),
        "functions and layers": lambda: check_functions(doc, root),
        "IAM least privilege": lambda: check_iam(doc),
        "error contract": lambda: check_error_contract(definitions, names),
        "deploy trigger": lambda: check_deploy_rule(doc),
    }
    return {name: check() for name, check in checks.items()}
