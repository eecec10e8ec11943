"""Evaluate identity-based policies for one request, as IAM does.

The logic of "Policy evaluation logic" (IAM User Guide,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html): an
explicit ``Deny`` that applies wins; otherwise an ``Allow`` that applies allows; otherwise the
request is implicitly denied. A statement applies when its ``Action``/``NotAction``,
``Resource``/``NotResource`` and every ``Condition`` match. Condition operators follow "IAM JSON
policy elements: Condition operators" (same guide): a key missing from the request context makes a
condition false, except for the negated operators (true), ``...IfExists`` (true) and ``Null``.

Only what identity-based policies of one account need is here: no resource-based policies,
permissions boundaries, SCPs or session policies (the template declares none).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

Context = dict[str, list[str]]  # condition key (lower case) -> values in the request


@dataclass(frozen=True)
class Request:
    action: str  # service:Action
    resource: str  # an ARN or "*"
    context: Context = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # which statement allowed or denied, or why nothing did
    statement: str | None = None  # the deciding statement's Sid or position

    def __bool__(self) -> bool:
        return self.allowed


@cache
def _wildcard(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    """IAM's wildcards: ``*`` any run of characters (``/`` and ``:`` included), ``?`` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{regex}$", 0 if case_sensitive else re.IGNORECASE)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def action_matches(patterns: Iterable[str], action: str) -> bool:
    """Action names are case-insensitive; ``*`` and ``?`` are wildcards."""
    return any(_wildcard(str(p), False).match(action) for p in patterns)


def resource_matches(patterns: Iterable[str], resource: str) -> bool:
    """Resource ARNs are matched case-sensitively. A request on no particular resource ("*") is
    matched only by a statement whose resource is ``*``: "arn:aws:sagemaker:...:*" does not grant a
    List action that takes no resource (Service Authorization Reference, resource types column)."""
    for pattern in patterns:
        text = str(pattern)
        if resource == "*":
            if text == "*":
                return True
            continue
        if _wildcard(text, True).match(resource):
            return True
    return False


# --- conditions --------------------------------------------------------------------------------


def _string_equals(a: str, b: str) -> bool:
    return a == b


def _string_equals_ignore_case(a: str, b: str) -> bool:
    return a.lower() == b.lower()


def _string_like(a: str, b: str) -> bool:
    return bool(_wildcard(b, True).match(a))


def _number(op: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def compare(a: str, b: str) -> bool:
        try:
            return op(float(a), float(b))
        except ValueError:
            return False

    return compare


def _date(op: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def parse(text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    def compare(a: str, b: str) -> bool:
        try:
            return op(parse(a), parse(b))
        except ValueError:
            return False

    return compare


def _bool(a: str, b: str) -> bool:
    return a.lower() == str(b).lower()


def _ip(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) in ipaddress.ip_network(b, strict=False)
    except ValueError:
        return False


def _arn_like(a: str, b: str) -> bool:
    # ArnLike compares each of the six colon-delimited parts, each with wildcards.
    left, right = a.split(":", 5), b.split(":", 5)
    if len(left) != 6 or len(right) != 6:
        return False
    return all(_wildcard(r, True).match(part) for part, r in zip(left, right, strict=True))


# name -> (compare(request value, policy value), negated)
OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (_string_equals_ignore_case, False),
    "StringNotEqualsIgnoreCase": (_string_equals_ignore_case, True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "NumericEquals": (_number(lambda a, b: a == b), False),
    "NumericNotEquals": (_number(lambda a, b: a == b), True),
    "NumericLessThan": (_number(lambda a, b: a < b), False),
    "NumericLessThanEquals": (_number(lambda a, b: a <= b), False),
    "NumericGreaterThan": (_number(lambda a, b: a > b), False),
    "NumericGreaterThanEquals": (_number(lambda a, b: a >= b), False),
    "DateEquals": (_date(lambda a, b: a == b), False),
    "DateNotEquals": (_date(lambda a, b: a == b), True),
    "DateLessThan": (_date(lambda a, b: a < b), False),
    "DateLessThanEquals": (_date(lambda a, b: a <= b), False),
    "DateGreaterThan": (_date(lambda a, b: a > b), False),
    "DateGreaterThanEquals": (_date(lambda a, b: a >= b), False),
    "Bool": (_bool, False),
    "IpAddress": (_ip, False),
    "NotIpAddress": (_ip, True),
    "ArnEquals": (_arn_like, False),
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
    "BinaryEquals": (_string_equals, False),
}


class PolicyError(ValueError):
    """A policy the evaluator cannot read (an unknown condition operator...)."""


def condition_holds(operator: str, key: str, expected: Any, context: Context) -> bool:
    """One ``"Operator": {"key": expected}`` entry of a ``Condition`` block."""
    name = operator
    qualifier = None
    if ":" in name:  # ForAllValues:StringLike, ForAnyValue:StringEquals
        qualifier, name = name.split(":", 1)
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    values = context.get(key.lower())
    expected_values = [str(v).lower() if isinstance(v, bool) else str(v) for v in _as_list(expected)]
    if name == "Null":
        wanted_absent = expected_values[0].lower() == "true"
        return (values is None) == wanted_absent
    if name not in OPERATORS:
        raise PolicyError(f"unknown condition operator {operator!r}")
    compare, negated = OPERATORS[name]
    if values is None:
        if if_exists or qualifier == "ForAllValues":
            return True
        return negated
    if qualifier == "ForAllValues":
        if negated:
            return all(not any(compare(v, e) for e in expected_values) for v in values)
        return all(any(compare(v, e) for e in expected_values) for v in values)
    if qualifier == "ForAnyValue":
        if negated:
            return any(not any(compare(v, e) for e in expected_values) for v in values)
        return any(any(compare(v, e) for e in expected_values) for v in values)
    # A single-valued key: match any of the policy's values; negated operators match none of them.
    matched = any(compare(values[0] if values else "", e) for e in expected_values)
    return not matched if negated else matched


def conditions_hold(block: dict[str, Any] | None, context: Context) -> bool:
    for operator, entries in (block or {}).items():
        for key, expected in entries.items():
            if not condition_holds(operator, key, expected, context):
                return False
    return True


# --- statements --------------------------------------------------------------------------------


def statement_applies(statement: dict[str, Any], request: Request) -> bool:
    if "Action" in statement:
        if not action_matches(_as_list(statement["Action"]), request.action):
            return False
    elif "NotAction" in statement:
        if action_matches(_as_list(statement["NotAction"]), request.action):
            return False
    else:
        return False
    if "Resource" in statement:
        if not resource_matches(_as_list(statement["Resource"]), request.resource):
            return False
    elif "NotResource" in statement:
        if resource_matches(_as_list(statement["NotResource"]), request.resource):
            return False
    else:
        return False
    return conditions_hold(statement.get("Condition"), request.context)


def evaluate(statements: list[tuple[str, dict[str, Any]]], request: Request) -> Decision:
    """``statements``: (label, statement) of every identity-based policy of the principal."""
    allowed_by: str | None = None
    for label, statement in statements:
        if not statement_applies(statement, request):
            continue
        if statement.get("Effect") == "Deny":
            return Decision(False, f"explicitly denied by {label}", label)
        if statement.get("Effect") == "Allow" and allowed_by is None:
            allowed_by = label
    if allowed_by is not None:
        return Decision(True, f"allowed by {allowed_by}", allowed_by)
    return Decision(False, why_not(statements, request))


def why_not(statements: list[tuple[str, dict[str, Any]]], request: Request) -> str:
    """The reason IAM would give, made specific: which statements name the action and why they miss."""
    near = []
    for label, statement in statements:
        if statement.get("Effect") != "Allow" or "Action" not in statement:
            continue
        if not action_matches(_as_list(statement["Action"]), request.action):
            continue
        if "Resource" in statement and not resource_matches(
            _as_list(statement["Resource"]), request.resource
        ):
            near.append(f"{label} names the action but not the resource {request.resource}")
        elif not conditions_hold(statement.get("Condition"), request.context):
            keys = sorted({k for entries in statement["Condition"].values() for k in entries})
            near.append(f"{label} names the action but its condition on {', '.join(keys)} does not hold")
    if near:
        return "no identity-based policy allows it: " + "; ".join(near)
    return f"no identity-based policy allows the {request.action} action"


# --- resource-based policies (another account's caller) -------------------------------------------


def names_principal(statement: dict[str, Any], principal_arn: str) -> bool:
    """Whether a resource policy statement's ``Principal`` names the caller: ``*``, its role ARN,
    or its account (``arn:aws:iam::ACCOUNT:root`` or the bare id: the account's policies decide)."""
    principal = statement.get("Principal")
    if principal == "*":
        return True
    named = _as_list(principal.get("AWS")) if isinstance(principal, dict) else []
    account = principal_arn.split(":")[4] if principal_arn.count(":") >= 5 else ""
    return bool({"*", principal_arn, account, f"arn:aws:iam::{account}:root"} & {str(n) for n in named})


def resource_policy_decides(document: dict[str, Any], principal_arn: str, request: Request) -> Decision:
    """A resource-based policy (a bucket policy) for a caller of another account: only the statements
    that name the caller count ("Cross-account policy evaluation logic", IAM User Guide: the
    resource's account must allow the caller too)."""
    statements = [
        (str(s.get("Sid") or f"resource policy[{i}]"), s)
        for i, s in enumerate(_as_list(document.get("Statement")))
        if isinstance(s, dict) and names_principal(s, principal_arn)
    ]
    decision = evaluate(statements, request)
    if decision.allowed or decision.reason.startswith("explicitly"):
        return decision
    return Decision(False, f"the resource's policy does not allow {principal_arn} {request.action}")
