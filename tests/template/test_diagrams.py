"""docs/state-machines.md: generated from the ASL, current, and a Mermaid flowchart of every state
and transition. The Mermaid is checked by reading it here (no renderer)."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.template.helpers import REPO

ASL_FILES = sorted((REPO / "statemachines").glob("*.asl.json"))
DOC = REPO / "docs" / "state-machines.md"


def _load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("asl_diagram", REPO / "tools" / "asl_diagram.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = _load_tool()

# Lines of a flowchart as the tool writes them; anything else is a syntax error here.
ID = r"[A-Za-z_][A-Za-z0-9_]*"
LABEL = r'"(?P<label>[^"]*)"'
SHAPES = {"[": "]", "{": "}", "([": "])", "[/": "/]", "((": "))"}
OPEN = r"(?P<open>\(\(|\(\[|\[/|\[|\{)"
CLOSE = r"(?P<close>\)\)|\]\)|/\]|\]|\})"
NODE = re.compile(rf"(?P<id>{ID}){OPEN}{LABEL}{CLOSE}(?::::(?P<cls>{ID}))?")
EDGE = re.compile(rf"(?P<src>{ID}) (?P<arrow>-->|-\.->)(?:\|{LABEL}\|)? (?P<dst>{ID})")
SUBGRAPH = re.compile(rf"subgraph (?P<id>{ID})\[{LABEL}\]")
CLASSDEF = re.compile(rf"classDef (?P<name>{ID}) (?P<style>\S+)")
# Words Mermaid reads as keywords where a node id is expected.
RESERVED = {
    "end",
    "subgraph",
    "graph",
    "flowchart",
    "class",
    "classDef",
    "click",
    "style",
    "linkStyle",
    "direction",
}
ENTITY = re.compile(r"#(quot|\d+);")


def unescape(label: str) -> str:
    return ENTITY.sub(lambda m: '"' if m[1] == "quot" else chr(int(m[1])), label)


@dataclass
class Flowchart:
    """What a ```mermaid block defines: nodes (id -> label, shape, class), edges, subgraphs."""

    nodes: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)
    subgraphs: dict[str, str] = field(default_factory=dict)
    edges: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    class_defs: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def id_of(self, name: str) -> str:
        ids = [node_id for node_id, (label, _, _) in self.nodes.items() if label == name]
        ids += [node_id for node_id, title in self.subgraphs.items() if title.rsplit(" (", 1)[0] == name]
        assert len(ids) == 1, f"state {name!r} is drawn {len(ids)} times"
        return ids[0]


def parse_flowchart(block: str) -> Flowchart:
    """Read a block line by line; every line the reader does not know is a problem."""
    chart = Flowchart()
    lines = block.splitlines()
    if not lines or lines[0] != "flowchart TD":
        chart.problems.append(f"the block does not start with 'flowchart TD': {lines[:1]}")
    depth = 0
    for number, raw in enumerate(lines[1:], 2):
        line = raw.strip()
        where = f"line {number}: {line!r}"
        if line.count('"') % 2:
            chart.problems.append(f"{where}: unbalanced quotes")
        for entity in re.findall(r"#\w*;?", " ".join(re.findall(r'"[^"]*"', line))):
            if not ENTITY.fullmatch(entity):
                chart.problems.append(f"{where}: '#' outside an entity code: {entity!r}")
        if match := NODE.fullmatch(line):
            if SHAPES[match["open"]] != match["close"]:
                chart.problems.append(
                    f"{where}: shape opened with {match['open']} closed with {match['close']}"
                )
            if match["id"] in chart.nodes or match["id"] in chart.subgraphs:
                chart.problems.append(f"{where}: node id defined twice")
            chart.nodes[match["id"]] = (unescape(match["label"]), match["open"], match["cls"])
        elif match := EDGE.fullmatch(line):
            label = unescape(match["label"]) if match["label"] is not None else None
            chart.edges.append((match["src"], match["arrow"], match["dst"], label))
        elif match := SUBGRAPH.fullmatch(line):
            chart.subgraphs[match["id"]] = unescape(match["label"])
            depth += 1
        elif line == "end":
            depth -= 1
            if depth < 0:
                chart.problems.append(f"{where}: 'end' without a subgraph")
        elif match := CLASSDEF.fullmatch(line):
            chart.class_defs[match["name"]] = match["style"]
        elif not (line.startswith("direction ") or line.startswith("%%") or not line):
            chart.problems.append(f"{where}: not a node, an edge, a subgraph or a classDef")
    if depth:
        chart.problems.append(f"{depth} subgraph(s) not closed")
    defined = set(chart.nodes) | set(chart.subgraphs)
    for node_id in defined & RESERVED:
        chart.problems.append(f"node id {node_id!r} is a Mermaid keyword")
    for src, _, dst, _ in chart.edges:
        chart.problems += [
            f"edge {src} -> {dst}: {end} is not defined" for end in (src, dst) if end not in defined
        ]
    for node_id, (_, _, css) in chart.nodes.items():
        if css is not None and css not in chart.class_defs:
            chart.problems.append(f"node {node_id} uses class {css!r}, which has no classDef")
    return chart


def sections(text: str) -> dict[str, str]:
    """ASL file name -> its section's Mermaid block, found by the file's path in the section."""
    found: dict[str, str] = {}
    for part in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        (path,) = re.findall(r"`statemachines/([^`]+\.asl\.json)`", part)
        (block,) = re.findall(r"```mermaid\n(.*?)```", part, flags=re.DOTALL)
        found[path] = block
    return found


def nested_machines(machine: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The branches of every Parallel and the item processor of every Map, at any depth."""
    for state in machine["States"].values():
        for nested in [*state.get("Branches", []), state.get("ItemProcessor") or state.get("Iterator")]:
            if nested:
                yield nested
                yield from nested_machines(nested)


def all_states(machine: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, nested ones included."""
    yield from machine["States"].items()
    for nested in nested_machines(machine):
        yield from nested["States"].items()


@pytest.fixture(scope="module")
def charts() -> dict[str, Flowchart]:
    assert DOC.exists(), "docs/state-machines.md is missing: run `make diagrams`"
    return {name: parse_flowchart(block) for name, block in sections(DOC.read_text()).items()}


def test_committed_page_is_what_the_asl_generates_now() -> None:
    assert DOC.exists(), "docs/state-machines.md is missing: run `make diagrams`"
    assert DOC.read_text() == tool.render(tool.asl_files(tool.ASL_DIR)), (
        "docs/state-machines.md differs from statemachines/*.asl.json: run `make diagrams` and commit it"
    )


def test_check_mode_reports_up_to_date_and_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    before = DOC.stat().st_mtime_ns

    assert tool.main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert DOC.stat().st_mtime_ns == before


def test_check_mode_fails_after_an_asl_change_until_regenerated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asl_dir = tmp_path / "statemachines"
    asl_dir.mkdir()
    for path in ASL_FILES:
        (asl_dir / path.name).write_text(path.read_text())
    doc = tmp_path / "docs" / "state-machines.md"
    monkeypatch.setattr(tool, "ASL_DIR", asl_dir)
    monkeypatch.setattr(tool, "DOC_PATH", doc)
    assert tool.main([]) == 0
    assert tool.main(["--check"]) == 0
    deploy = asl_dir / "deploy_model.asl.json"
    machine = json.loads(deploy.read_text())
    machine["States"]["A new state"] = {"Type": "Succeed"}
    deploy.write_text(json.dumps(machine))
    capsys.readouterr()

    assert tool.main(["--check"]) == 1
    assert "run `make diagrams`" in capsys.readouterr().err
    assert tool.main([]) == 0
    assert '"A new state"' in doc.read_text()


def test_page_has_one_diagram_per_asl_file_and_an_index_of_state_counts() -> None:
    text = DOC.read_text()

    assert sorted(sections(text)) == [path.name for path in ASL_FILES]
    for path in ASL_FILES:
        count = len(list(all_states(json.loads(path.read_text()))))
        assert re.search(
            rf"^\| \[[^]]+\]\(#[\w-]+\) \| `{re.escape(path.name)}` \| {count} \|$", text, re.M
        ), f"the index has no row for {path.name} with {count} states"


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda path: path.name)
def test_mermaid_block_is_well_formed(path: Path, charts: dict[str, Flowchart]) -> None:
    assert charts[path.name].problems == []


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda path: path.name)
def test_every_state_is_a_node_shaped_by_its_type(path: Path, charts: dict[str, Flowchart]) -> None:
    chart = charts[path.name]
    shape = {"Task": "[", "Choice": "{", "Wait": "([", "Pass": "[/", "Succeed": "((", "Fail": "(("}

    for name, state in all_states(json.loads(path.read_text())):
        node_id = chart.id_of(name)
        if state["Type"] in ("Parallel", "Map"):
            assert node_id in chart.subgraphs, name
            continue
        _, opening, css = chart.nodes[node_id]
        assert opening == shape[state["Type"]], name
        assert css == {"Succeed": "succeed", "Fail": "fail"}.get(state["Type"]), name


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda path: path.name)
def test_fail_states_are_red_and_succeed_states_green(path: Path, charts: dict[str, Flowchart]) -> None:
    chart = charts[path.name]

    assert "fill:#f8d7da" in chart.class_defs["fail"]
    assert "fill:#d4edda" in chart.class_defs["succeed"]


def expected_edges(machine: dict[str, Any]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(from, kind, to, the ASL object) of each transition, by state name: kind is next, rule,
    default or catch."""
    for name, state in all_states(machine):
        if "Next" in state:
            yield name, "next", state["Next"], state
        for rule in state.get("Choices", []):
            yield name, "rule", rule["Next"], rule
        if "Default" in state:
            yield name, "default", state["Default"], state
        for catcher in state.get("Catch", []):
            yield name, "catch", catcher["Next"], catcher


def drawn_as(kind: str, source: dict[str, Any], arrow: str, label: str | None) -> bool:
    """Whether an edge with this arrow and label draws this transition."""
    if kind == "catch":
        return arrow == "-.->" and label == "catch: " + ", ".join(source["ErrorEquals"])
    if arrow != "-->":
        return False
    if kind == "next":
        return label is None
    if kind == "default":
        return label == "default"
    variable = first_variable(source)
    return label not in (None, "default") and (variable is None or variable in str(label))


def first_variable(rule: Any) -> str | None:
    """The first ``Variable`` of a Choice rule, nested in And, Or and Not included."""
    if isinstance(rule, list):
        return next((found for item in rule if (found := first_variable(item))), None)
    if isinstance(rule, dict):
        if "Variable" in rule:
            return str(rule["Variable"])
        return first_variable([rule.get(key) for key in ("And", "Or", "Not")])
    return None


def transition_problems(chart: Flowchart, machine: dict[str, Any]) -> list[str]:
    """Transitions of the ASL without their edge, and edges that draw no transition."""
    remaining = list(chart.edges)
    problems = []
    for src, kind, dst, source in expected_edges(machine):
        ends = (chart.id_of(src), chart.id_of(dst))
        match = next(
            (
                edge
                for edge in remaining
                if (edge[0], edge[2]) == ends and drawn_as(kind, source, edge[1], edge[3])
            ),
            None,
        )
        if match is None:
            problems.append(f"no edge for {src} -> {dst} ({kind})")
        else:
            remaining.remove(match)
    entries = [chart.id_of(machine["StartAt"])] + [
        chart.id_of(nested["StartAt"]) for nested in nested_machines(machine)
    ]
    for edge in remaining:
        from_start = chart.nodes.get(edge[0], ("", "", None))[2] == "start"
        if from_start and edge[1:] == ("-->", edge[2], None) and edge[2] in entries:
            entries.remove(edge[2])
            continue
        problems.append(f"edge {edge} draws no transition of the ASL")
    problems += [f"no edge from a start dot to {entry}" for entry in entries]
    return problems


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda path: path.name)
def test_every_transition_is_an_edge_and_every_edge_a_transition(
    path: Path, charts: dict[str, Flowchart]
) -> None:
    assert transition_problems(charts[path.name], json.loads(path.read_text())) == []


@pytest.mark.parametrize(
    ("rule", "reading"),
    [
        ({"Variable": "$.plan.action", "StringEquals": "UPDATE"}, "$.plan.action == UPDATE"),
        ({"Variable": "$.lock.acquired", "BooleanEquals": True}, "$.lock.acquired == true"),
        ({"Variable": "$.n", "NumericGreaterThanEquals": 3}, "$.n >= 3"),
        ({"Variable": "$.n", "NumericLessThanPath": "$.max"}, "$.n < $.max"),
        (
            {"Variable": "$.plan.rollout.type", "StringMatches": "guardrails-*"},
            "$.plan.rollout.type matches guardrails-*",
        ),
        ({"Variable": "$.plan.loadTestJobName", "IsString": True}, "$.plan.loadTestJobName is a string"),
        ({"Not": {"Variable": "$.error", "IsPresent": True}}, "$.error is absent"),
        ({"Not": {"Variable": "$.a", "StringEquals": "x"}}, "not ($.a == x)"),
        (
            {
                "And": [
                    {"Not": {"Variable": "$.error", "IsPresent": True}},
                    {
                        "Or": [
                            {"Variable": "$.v", "StringEquals": "A"},
                            {"Variable": "$.v", "StringEquals": "B"},
                        ]
                    },
                ]
            },
            "$.error is absent and $.v in (A, B)",
        ),
        (
            {"Or": [{"Variable": "$.a", "BooleanEquals": True}, {"Variable": "$.b", "NumericLessThan": 1}]},
            "$.a == true or $.b < 1",
        ),
        ({"Condition": "{% $states.input.n > 3 %}"}, "$states.input.n > 3"),
    ],
)
def test_choice_rules_read_as_variable_and_comparison(rule: dict[str, Any], reading: str) -> None:
    assert tool.describe_rule(rule) == reading


NASTY = 'Say "hi" (now) #1; a|b <x> `y` [z] {w}'


def nasty_machine() -> dict[str, Any]:
    return {
        "StartAt": NASTY,
        "States": {
            NASTY: {"Type": "Pass", "Next": "end"},
            "end": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.a", "StringEquals": 'x"y|z;#(1)', "Next": "Fan out"}],
                "Default": "Done",
            },
            "Fan out": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "A1", "States": {"A1": {"Type": "Task", "Resource": "x", "End": True}}},
                    {"StartAt": "B1", "States": {"B1": {"Type": "Wait", "Seconds": 1, "End": True}}},
                ],
                "Next": "Each",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
            },
            "Each": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Item",
                    "States": {"Item": {"Type": "Task", "Resource": "x", "End": True}},
                },
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
            "Failed": {"Type": "Fail"},
        },
    }


def test_names_and_rules_mermaid_chokes_on_are_escaped_and_nested_states_drawn() -> None:
    machine = nasty_machine()
    chart = parse_flowchart(tool.mermaid(machine))

    assert chart.problems == []
    assert transition_problems(chart, machine) == []
    assert chart.nodes[chart.id_of(NASTY)][0] == NASTY
    assert (chart.id_of("end"), "-->", chart.id_of("Fan out"), '$.a == x"y|z;#(1)') in chart.edges
    assert {chart.id_of("Fan out"), chart.id_of("Each")} <= set(chart.subgraphs)
    assert {"A1", "B1", "Item"} <= {label for label, _, _ in chart.nodes.values()}
    assert [edge for edge in chart.edges if edge[0] == chart.id_of("Fan out")] == [
        (chart.id_of("Fan out"), "-->", chart.id_of("Each"), None),
        (chart.id_of("Fan out"), "-.->", chart.id_of("Failed"), "catch: States.ALL"),
    ]


def test_the_sanity_check_catches_a_raw_quote_an_undefined_node_and_a_keyword_id() -> None:
    block = tool.mermaid(nasty_machine())
    broken = {
        "raw quote": block.replace("#quot;", '"', 1),
        "undefined node": block + "    st_done --> st_nowhere\n",
        "keyword id": block.replace("st_end", "end"),
        "stray hash": block.replace("#35;", "#", 1),
    }

    for case, text in broken.items():
        assert parse_flowchart(text).problems, case


def test_a_transition_to_a_missing_state_is_refused() -> None:
    machine = copy.deepcopy(nasty_machine())
    machine["States"]["Done"] = {"Type": "Pass", "Next": "Nowhere"}

    with pytest.raises(tool.AslError, match="Nowhere"):
        tool.mermaid(machine)
