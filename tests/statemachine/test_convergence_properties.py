"""Property tests: any sequence of approvals, withdrawals, stops and faults on one endpoint converges.

Hypothesis draws a history for ``churn-prod`` (churn/1 deployed first, then approvals and
rejections of churn/1-4, operator stops of whatever runs, and one injected fault) and the local
cloud plays it. Afterwards:

- everything converged (:mod:`localcloud.scenario.consistency`): all executions ended and
  recorded, one version serving from one config, the lock free, nothing orphaned;
- the version serving is Approved in the registry: a withdrawn version never keeps serving while a
  version that is Approved and was not rolled back since its last approval could replace it (with
  none, it keeps serving and the withdrawal ends ``NoRestoreTarget``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localcloud.scenario import consistency
from tests.statemachine.helpers import rehearse

ENDPOINT = "churn-prod"
GAP = 1500  # seconds between two happenings: long enough for a canary, short enough to overlap some
FAULT_CALLS = (
    "sagemaker:UpdateEndpoint",
    "sagemaker:UpdateEndpointWeightsAndCapacities",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:DescribeEndpoint",
    "lambda:JudgeCanaryFunction",
    "lambda:RecordOutcomeFunction",
)

happening = st.one_of(
    st.tuples(st.just("approve"), st.integers(2, 4)),
    st.tuples(st.just("reject"), st.integers(1, 4)),
    st.tuples(st.just("stop"), st.just(0)),
)
fault = st.one_of(
    st.none(),
    st.tuples(
        st.sampled_from(FAULT_CALLS),
        st.sampled_from(("before", "lost-response")),
        st.integers(0, 6),
    ),
)


def build(history: list[tuple[str, int]], injected: tuple[str, str, int] | None) -> dict[str, Any]:
    timeline: list[dict[str, Any]] = [{"at": 0, "approve": {"group": "churn", "version": 1}}]
    for index, (kind, version) in enumerate(history):
        at = 3600 + index * GAP
        if kind == "stop":
            timeline.append({"at": at + 400, "stop": {"running": True}})
        else:
            timeline.append({"at": at, kind: {"group": "churn", "version": version}})
    faults = []
    if injected is not None:
        call, mode, slot = injected
        error = "Sandbox.Timedout" if call.startswith("lambda:") else "InternalFailure"
        faults.append({"call": call, "error": error, "times": 1, "after": 3600 + slot * 400, "mode": mode})
    return {
        "name": "convergence property",
        "groups": {
            "churn": {
                "endpoint": ENDPOINT,
                "strategy": {"type": "canary", "steps": [20], "bakeMinutes": 4, "checkIntervalSeconds": 60},
            }
        },
        "models": {f"churn/{v}": {"errorRate": 0.3 if v == 3 else 0.001} for v in (1, 2, 3, 4)},
        "simulation": {"endpointCreateSeconds": 120, "endpointUpdateSeconds": 180, "requestsPerMinute": 600},
        "faults": faults,
        "timeline": sorted(timeline, key=lambda step: step["at"]),
    }


def approved_at_end(history: list[tuple[str, int]]) -> set[int]:
    status = {1: True}
    for kind, version in history:
        if kind == "approve":
            status[version] = True
        elif kind == "reject":
            status[version] = False
    return {v for v, ok in status.items() if ok}


def deployable(report: dict[str, Any], history: list[tuple[str, int]]) -> set[int]:
    """Versions Approved at the end whose last deployment (after their last approval) did not fail
    or roll back: the ones that may replace a withdrawn version."""
    last: dict[int, str | None] = {}
    for ex in sorted(report["executions"], key=lambda e: e["startedAt"] or 0):
        arn = ex.get("modelPackageArn")
        if arn and ex["outcome"] not in (None, "SKIPPED_DUPLICATE", "SUPERSEDED"):
            last[int(str(arn).rsplit("/", 1)[-1])] = ex["outcome"]
    return {v for v in approved_at_end(history) if last.get(v) not in {"ROLLED_BACK", "FAILED", "ABORTED"}}


def check(report: dict[str, Any], history: list[tuple[str, int]]) -> list[str]:
    found = consistency.problems(report, ENDPOINT)
    endpoint = report["endpoints"].get(ENDPOINT)
    if endpoint is None:
        return [*found, "the endpoint is gone"]
    serving = {
        int(str(v["modelPackageArn"]).rsplit("/", 1)[-1]) for v in endpoint["variants"] if v["weight"] > 0
    }
    approved = approved_at_end(history)
    replacements = deployable(report, history)
    if not serving <= approved and replacements:
        found.append(
            f"serving {sorted(serving)}, approved at the end {sorted(approved)}, "
            f"deployable {sorted(replacements)}"
        )
    return found


@pytest.mark.matrix
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same histories on every run: CI is reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=st.lists(happening, min_size=1, max_size=5), injected=fault)
def test_any_history_converges_to_an_approved_version(
    tmp_path_factory: pytest.TempPathFactory, history: list[tuple[str, int]], injected: Any
) -> None:
    report = rehearse(tmp_path_factory.mktemp("property"), build(history, injected)).report
    assert not check(report, history), (history, injected, check(report, history))


@pytest.mark.matrix
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(history=st.lists(happening, min_size=2, max_size=3), injected=fault)
def test_short_histories_converge(
    tmp_path_factory: pytest.TempPathFactory, history: list[tuple[str, int]], injected: Any
) -> None:
    report = rehearse(tmp_path_factory.mktemp("property"), build(history, injected)).report
    assert not check(report, history), (history, injected, check(report, history))


def test_the_check_sees_a_withdrawn_version_serving(tmp_path: Path) -> None:
    # churn/1 serves and is rejected with nothing to put back: it keeps serving, and the check says
    # so when the history claims another version is approved.
    report = rehearse(tmp_path, build([], None)).report
    assert check(report, [("approve", 2), ("reject", 1)]) == [
        "serving [1], approved at the end [2], deployable [2]"
    ]
