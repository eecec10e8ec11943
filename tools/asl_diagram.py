"""Write docs/state-machines.md: a Mermaid flowchart of each statemachines/*.asl.json (``make diagrams``).

The page is generated, never edited by hand: ``tests/template/test_diagrams.py`` fails when the
committed file differs from what the ASL produces. ``--check`` exits 1 instead of writing.

One node per state (a rectangle for a Task, a diamond for a Choice, a stadium for a Wait, a
parallelogram for a Pass, a circle for Succeed and Fail, a subgraph for Parallel and Map), one edge
per ``Next``, ``Default``, Choice rule and ``Catch``, in the order of the file. ``Retry`` is not drawn.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
ASL_DIR = REPO / "statemachines"
DOC_PATH = REPO / "docs" / "state-machines.md"
ASL_SUFFIX = ".asl.json"

# A Choice rule longer than this is cut with an ellipsis: the ASL, not the diagram, is the reference.
MAX_RULE_LENGTH = 100

# The node's text between these: "[" + label + "]" and so on.
SHAPES = {
    "Task": ("[", "]"),
    "Choice": ("{", "}"),
    "Wait": ("([", "])"),
    "Pass": ("[/", "/]"),
    "Succeed": ("((", "))"),
    "Fail": ("((", "))"),
}
NODE_CLASS = {"Succeed": "succeed", "Fail": "fail"}
CLASS_DEFS = {
    "start": "fill:#444,stroke:#444,color:#fff",
    "succeed": "fill:#d4edda,stroke:#2e7d32,color:#1b5e20",
    "fail": "fill:#f8d7da,stroke:#c62828,color:#b71c1c",
}
START_ID = "start_node"

# Characters that end or confuse a quoted Mermaid label, written as Mermaid entity codes instead.
ENTITIES = {'"': "#quot;", "#": "#35;", ";": "#59;", "<": "#60;", ">": "#62;", "|": "#124;", "`": "#96;"}

# Comparison operators of a Choice rule (the ``...Path`` variants compare with another path).
OPERATORS = {
    "Equals": "==",
    "LessThan": "<",
    "GreaterThan": ">",
    "LessThanEquals": "<=",
    "GreaterThanEquals": ">=",
    "Matches": "matches",
}
EQUALITY = ("StringEquals", "NumericEquals", "BooleanEquals", "TimestampEquals")
TYPE_TESTS = {
    "IsPresent": ("is present", "is absent"),
    "IsNull": ("is null", "is not null"),
    "IsString": ("is a string", "is not a string"),
    "IsNumeric": ("is a number", "is not a number"),
    "IsBoolean": ("is a boolean", "is not a boolean"),
    "IsTimestamp": ("is a timestamp", "is not a timestamp"),
}


class AslError(ValueError):
    """The ASL cannot be drawn: a transition names a state that does not exist."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


def escape(text: str) -> str:
    """``text`` safe inside a double-quoted Mermaid label."""
    return "".join(ENTITIES.get(char, char) for char in text)


def quoted(text: str) -> str:
    return f'"{escape(text)}"'


def slug(name: str) -> str:
    """A Mermaid node id from a state name: ``st_`` and the lowercase words joined by underscores."""
    words = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return f"st_{words or 'state'}"


def machine_title(path: Path) -> str:
    """``deploy_model.asl.json`` -> ``Deploy model``."""
    words = path.name.removesuffix(ASL_SUFFIX).replace("-", " ").replace("_", " ")
    return words[:1].upper() + words[1:]


def anchor(title: str) -> str:
    """The anchor GitHub gives a heading."""
    return "#" + re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def nested_machines(state: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The branches of a Parallel, or the item processor of a Map, with a caption for each."""
    if state["Type"] == "Parallel":
        return [(f"branch {number}", branch) for number, branch in enumerate(state["Branches"], 1)]
    if state["Type"] == "Map":
        processor = state.get("ItemProcessor") or state.get("Iterator")
        return [("each item", processor)] if processor else []
    return []


def walk_states(machine: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state of the machine, nested ones included, in the order of the file."""
    for name, state in machine["States"].items():
        yield name, state
        for _, nested in nested_machines(state):
            yield from walk_states(nested)


def node_ids(machine: dict[str, Any]) -> dict[str, str]:
    """A unique, stable id per state name (state names are unique in the whole machine)."""
    ids: dict[str, str] = {}
    taken: set[str] = {START_ID}
    for name, _ in walk_states(machine):
        base = candidate = slug(name)
        number = 1
        while candidate in taken:
            number += 1
            candidate = f"{base}_{number}"
        ids[name] = candidate
        taken.add(candidate)
    return ids


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def describe_rule(rule: dict[str, Any]) -> str:
    """A short reading of a Choice rule: ``$.plan.action == UPDATE``, ``$.error is absent and ...``."""
    if "Condition" in rule:  # JSONata
        return str(rule["Condition"]).removeprefix("{%").removesuffix("%}").strip()
    if "And" in rule:
        return " and ".join(_operand(child) for child in rule["And"])
    if "Or" in rule:
        alternatives = _one_of(rule["Or"])
        if alternatives is not None:
            return alternatives
        return " or ".join(_operand(child) for child in rule["Or"])
    if "Not" in rule:
        inner = rule["Not"]
        for test, (yes, no) in TYPE_TESTS.items():
            if test in inner and "Variable" in inner:
                return f"{inner['Variable']} {no if inner[test] else yes}"
        return f"not ({describe_rule(inner)})"
    variable = rule.get("Variable", "?")
    for test, (yes, no) in TYPE_TESTS.items():
        if test in rule:
            return f"{variable} {yes if rule[test] else no}"
    for key, value in rule.items():
        if key in ("Variable", "Next", "Comment"):
            continue
        operation = key.removesuffix("Path")
        for suffix, operator in sorted(OPERATORS.items(), key=lambda item: -len(item[0])):
            if operation.endswith(suffix):
                return f"{variable} {operator} {literal(value)}"
    return f"{variable} ?"


def _operand(rule: dict[str, Any]) -> str:
    text = describe_rule(rule)
    return f"({text})" if " and " in text or " or " in text else text


def _one_of(rules: list[dict[str, Any]]) -> str | None:
    """``$.x in (A, B)`` when every alternative tests the same variable for equality."""
    variables = {rule.get("Variable") for rule in rules}
    keys = [[key for key in rule if key in EQUALITY] for rule in rules]
    if len(variables) != 1 or None in variables or not all(len(found) == 1 for found in keys):
        return None
    values = ", ".join(literal(rule[found[0]]) for rule, found in zip(rules, keys, strict=True))
    return f"{variables.pop()} in ({values})"


def shorten(text: str, limit: int = MAX_RULE_LENGTH) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def transitions(state: dict[str, Any]) -> Iterator[tuple[str, str, str | None]]:
    """(kind, target, label) of each edge out of a state: kind is ``next``, ``choice``, ``default``
    or ``catch``; the label is ``None`` for a plain ``Next``."""
    if "Next" in state:
        yield "next", state["Next"], None
    for rule in state.get("Choices", []):
        yield "choice", rule["Next"], shorten(describe_rule(rule))
    if "Default" in state:
        yield "default", state["Default"], "default"
    for catcher in state.get("Catch", []):
        yield "catch", catcher["Next"], "catch: " + ", ".join(catcher["ErrorEquals"])


def _node(node_id: str, name: str, kind: str) -> str:
    opening, closing = SHAPES.get(kind, ("[", "]"))
    css = NODE_CLASS.get(kind)
    return f"{node_id}{opening}{quoted(name)}{closing}" + (f":::{css}" if css else "")


def _body(
    machine: dict[str, Any], ids: dict[str, str], prefix: str, indent: str
) -> tuple[list[str], list[str]]:
    """The node lines (subgraphs included) and edge lines of a machine or of a nested branch."""
    nodes: list[str] = []
    edges: list[str] = []
    if machine["StartAt"] not in machine["States"]:
        raise AslError(f"StartAt names no state: {machine['StartAt']!r}")
    start = ids[machine["StartAt"]]
    nodes.append(f'{indent}{prefix}((" ")):::start')
    edges.append(f"{prefix} --> {start}")
    for name, state in machine["States"].items():
        node_id = ids[name]
        nested = nested_machines(state)
        if nested:
            caption = quoted(f"{name} ({state['Type']})")
            nodes.append(f"{indent}subgraph {node_id}[{caption}]")
            nodes.append(f"{indent}    direction TB")
            for number, (branch_caption, branch) in enumerate(nested, 1):
                branch_id = f"{node_id}_b{number}"
                nodes.append(f"{indent}    subgraph {branch_id}[{quoted(branch_caption)}]")
                inner_nodes, inner_edges = _body(branch, ids, f"{branch_id}_start", indent + "        ")
                nodes.extend(inner_nodes)
                edges.extend(inner_edges)
                nodes.append(f"{indent}    end")
            nodes.append(f"{indent}end")
        else:
            nodes.append(indent + _node(node_id, name, state["Type"]))
        for kind, target, label in transitions(state):
            if target not in ids:
                raise AslError(f"state {name!r}: {kind} names no state: {target!r}")
            arrow = "-.->" if kind == "catch" else "-->"
            if label is not None:
                arrow += f"|{quoted(label)}|"
            edges.append(f"{node_id} {arrow} {ids[target]}")
    return nodes, edges


def mermaid(machine: dict[str, Any]) -> str:
    """The ``flowchart TD`` of one state machine, without the Markdown fence."""
    ids = node_ids(machine)
    nodes, edges = _body(machine, ids, START_ID, "    ")
    lines = ["flowchart TD", *nodes, *(f"    {edge}" for edge in edges)]
    lines += [f"    classDef {name} {style}" for name, style in CLASS_DEFS.items()]
    return "\n".join(lines) + "\n"


def count_states(machine: dict[str, Any]) -> Counter[str]:
    return Counter(state["Type"] for _, state in walk_states(machine))


def section(path: Path, machine: dict[str, Any]) -> str:
    title = machine_title(path)
    types = count_states(machine)
    by_type = ", ".join(
        f"{count} {kind}" for kind, count in sorted(types.items(), key=lambda i: (-i[1], i[0]))
    )
    lines = [
        f"## {title}",
        "",
        f"The {title[:1].lower() + title[1:]} state machine, `{path.parent.name}/{path.name}`: "
        f"{types.total()} states ({by_type}), starting at “{machine['StartAt']}”. "
        + ("Its `Comment`:" if machine.get("Comment") else "Its ASL has no `Comment`."),
        "",
    ]
    if machine.get("Comment"):
        lines += ["> " + str(machine["Comment"]).strip().replace("\n", "\n> "), ""]
    lines += ["```mermaid", mermaid(machine).rstrip("\n"), "```", ""]
    return "\n".join(lines)


def asl_files(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"*{ASL_SUFFIX}"))


def render(paths: list[Path]) -> str:
    """The page's exact text for these ASL files, in the order given."""
    machines = [(path, json.loads(path.read_text())) for path in paths]
    lines = [
        "# State machines",
        "",
        "<!-- Generated from statemachines/*.asl.json by tools/asl_diagram.py (`make diagrams`). "
        "Do not edit: tests/template/test_diagrams.py fails when this page is out of date. -->",
        "",
        "Drawn from the ASL by `tools/asl_diagram.py` (`make diagrams`). A rectangle is a Task, a "
        "diamond a Choice, a stadium a Wait, a parallelogram a Pass, a green circle a Succeed and a "
        "red circle a Fail; the dark dot is the start. A Choice's arrows carry its rules, `default` "
        "its `Default`; dotted arrows are `Catch`, labelled with the errors they catch. `Retry` is not "
        "drawn: see the ASL.",
        "",
        "| State machine | File | States |",
        "| --- | --- | ---: |",
    ]
    for path, machine in machines:
        title = machine_title(path)
        lines.append(f"| [{title}]({anchor(title)}) | `{path.name}` | {count_states(machine).total()} |")
    lines.append("")
    return "\n".join(lines) + "\n" + "\n".join(section(path, machine) for path, machine in machines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    args = parser.parse_args(argv)
    try:
        text = render(asl_files(ASL_DIR))
    except AslError as error:
        print(f"asl_diagram: {error}", file=sys.stderr)
        return 2
    relative = DOC_PATH.relative_to(REPO) if DOC_PATH.is_relative_to(REPO) else DOC_PATH
    if args.check:
        current = DOC_PATH.read_text() if DOC_PATH.exists() else None
        if current != text:
            print(f"{relative} is out of date; run `make diagrams`", file=sys.stderr)
            return 1
        print(f"{relative} is up to date")
        return 0
    DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOC_PATH.write_text(text)
    print(f"wrote {relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
