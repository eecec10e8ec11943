"""The shared layer's requirements resolve consistently with the runtime and with the tests.

Lambda puts a layer's ``/opt/python`` on ``sys.path`` before the runtime's own libraries
(``/var/runtime``; "Lambda runtimes: Python", "Packaging your layer content", Lambda Developer
Guide). A layer that ships botocore (aws-xray-sdk, the Powertools ``[tracer]`` extra, requires it)
but not boto3 makes the runtime's boto3 run on the layer's botocore, a pairing nobody tested: ship
neither or both, pinned together at the versions the test suite runs with.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.template.helpers import REPO

LAYER_REQUIREMENTS = REPO / "layers" / "common" / "requirements.txt"
DEV_REQUIREMENTS = REPO / "requirements" / "dev.txt"
# Distributions that must come from one place: boto3 only works with the botocore it was released with.
SDK = ("boto3", "botocore")

Requires = Callable[[str], Iterable[str]]


def requirement_lines(path: Path) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def dev_pins() -> dict[str, str]:
    return {
        canonicalize_name(r.name): next(iter(r.specifier)).version
        for r in requirement_lines(DEV_REQUIREMENTS)
        if len(r.specifier) == 1 and next(iter(r.specifier)).operator == "=="
    }


def installed_requires(name: str) -> list[str]:
    return list(metadata.requires(name) or [])


def closure(roots: list[Requirement], requires: Requires) -> set[str]:
    """Every distribution pip would install for ``roots`` (extras and markers followed)."""
    seen: set[str] = set()
    todo = [(r, frozenset(r.extras)) for r in roots]
    while todo:
        requirement, extras = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in seen and not extras:
            continue
        seen.add(name)
        for text in requires(name):
            dependency = Requirement(text)
            wanted = any(
                dependency.marker is None or dependency.marker.evaluate({"extra": extra})
                for extra in (extras or {""})
            )
            if wanted:
                todo.append((dependency, frozenset(dependency.extras)))
    return seen


def layer_problems(layer: list[Requirement], tested: dict[str, str], requires: Requires) -> list[str]:
    """What is wrong with the layer's requirements; an empty list when nothing is."""
    problems = []
    pins: dict[str, str] = {}
    for requirement in layer:
        specifiers = list(requirement.specifier)
        if len(specifiers) != 1 or specifiers[0].operator != "==":
            problems.append(f"{requirement}: pin one exact version (==)")
            continue
        name = canonicalize_name(requirement.name)
        pins[name] = specifiers[0].version
        if name in tested and tested[name] != pins[name]:
            problems.append(f"{requirement}: the tests run {name}=={tested[name]} (requirements/dev.txt)")
    shipped = closure(layer, requires)
    if any(name in shipped for name in SDK):
        unpinned = [name for name in SDK if name not in pins]
        if unpinned:
            problems.append(
                "the layer ships " + " and ".join(n for n in SDK if n in shipped) + " but does not pin "
                f"{', '.join(unpinned)}: ship neither or both, pinned together"
            )
    for name, version in pins.items():  # the pins satisfy one another
        for text in requires(name):
            dependency = Requirement(text)
            other = canonicalize_name(dependency.name)
            applies = dependency.marker is None or dependency.marker.evaluate({"extra": ""})
            if applies and other in pins and not dependency.specifier.contains(pins[other], prereleases=True):
                problems.append(
                    f"{name}=={version} requires {dependency}; the layer pins {other}=={pins[other]}"
                )
    return problems


def test_the_layer_ships_boto3_and_botocore_together_pinned_as_the_tests_run_them() -> None:
    layer = requirement_lines(LAYER_REQUIREMENTS)
    assert layer_problems(layer, dev_pins(), installed_requires) == []
    shipped = closure(layer, installed_requires)
    assert {"boto3", "botocore", "aws-xray-sdk"} <= shipped  # Powertools' Tracer needs aws-xray-sdk


# A small made-up dependency graph, to show the check catches each mistake.
FAKE_GRAPH = {
    "powertools": ["xray; extra == 'tracer'"],
    "xray": ["botocore>=1.11"],
    "boto3": ["botocore<1.45,>=1.44.5"],
    "botocore": [],
}


def fake_requires(name: str) -> list[str]:
    return FAKE_GRAPH.get(name, [])


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (["powertools[tracer]==3"], r"ships botocore but does not pin boto3, botocore"),
        (["powertools[tracer]==3", "botocore==1.44.8"], r"does not pin boto3"),
        (["powertools[tracer]==3", "boto3==1.44.5", "botocore==1.43.0"], r"boto3==1.44.5 requires botocore"),
        (["powertools[tracer]==3", "boto3>=1.44", "botocore==1.44.8"], r"boto3>=1.44: pin one exact version"),
        (["powertools==3", "boto3==1.44.4"], r"the tests run boto3==1.44.5"),
    ],
)
def test_the_check_names_each_inconsistency(lines: list[str], problem: str) -> None:
    problems = layer_problems([Requirement(line) for line in lines], {"boto3": "1.44.5"}, fake_requires)
    assert any(re.search(problem, p) for p in problems), problems


def test_the_check_accepts_a_layer_without_the_sdk_at_all() -> None:
    assert layer_problems([Requirement("powertools==3")], {}, fake_requires) == []
