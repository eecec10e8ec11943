"""Rehearsed operator commands: ``smdeploy loadtest ENDPOINT --scenario S.yaml --at SECONDS``,
``smdeploy recommend [JOB_NAME] --scenario S.yaml`` and ``smdeploy drift ENDPOINT --scenario S.yaml``.

The scenario is rehearsed as ``smdeploy simulate`` rehearses it, up to ``--at`` virtual seconds
(default: the scenario's ``until``, else until only background work is left); then, with the local
cloud still open, the operator's command runs against it through boto3, exactly as
:mod:`smdeploy_cli` runs it against AWS:

- ``loadtest`` drives :func:`smdeploy_cli.loadtest.run_load` with a virtual clock: before each
  request the local cloud's clock is run to the request's send time (the scenario's timeline goes on
  meanwhile: an approval due during the test starts its rollout), then the request is an
  ``InvokeEndpoint`` call of the local SageMaker Runtime, so endpoint states, validation and injected
  faults apply. The simulated model latency comes back in the response header
  ``x-localcloud-model-latency-ms``; failures come back as SageMaker's errors.
- ``recommend`` reads the job with ``DescribeInferenceRecommendationsJob`` from the rehearsal.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from localcloud.engine.cloud import LocalCloud
from localcloud.scenario.contract import Scenario, ScenarioError, load_scenario
from localcloud.scenario.runner import Runner
from localcloud.services.sagemaker.endpoints import SERVING
from localcloud.services.sagemaker.invocations import LATENCY_HEADER
from smdeploy_cli import drift as cli_drift
from smdeploy_cli import loadtest as cli_loadtest
from smdeploy_cli import recommend as cli_recommend
from smdeploy_cli.invoke import SageMakerInvoker, runtime_client

DEFAULT_PAYLOAD = b"0.5,1.5,2.5,3.5\n"  # text/csv: what the rehearsed sklearn container takes


class RehearsalRunner(Runner):
    """A :class:`Runner` whose local cloud stays open after the rehearsal, for an operator command."""

    def open_at(self, at: float | None) -> contextlib.AbstractContextManager[LocalCloud]:
        """Rehearse up to ``at`` (None: the scenario's ``until``, else until only background work is
        left) and yield the local cloud, still running (:meth:`Runner.open`)."""
        return self.open(at if at is not None else self.scenario.until)


class RehearsedInvoker(SageMakerInvoker):
    """The CLI's invoker, reading the latency the local cloud simulated (virtual time has no wall
    time to measure). ``missing_latency`` counts answers that came without it."""

    missing_latency = 0

    def latency_ms(self, headers: Mapping[str, str], wall_ms: float) -> float:
        value = headers.get(LATENCY_HEADER)
        if value is None:
            self.missing_latency += 1
            return wall_ms
        return float(value)


def _rehearse(
    args: argparse.Namespace, command: str, at: float | None
) -> tuple[Scenario, RehearsalRunner] | None:
    path = Path(args.scenario)
    try:
        scenario = load_scenario(path)
    except ScenarioError as exc:
        print(f"smdeploy {command}: invalid scenario: {exc}", file=sys.stderr)
        return None
    if at is not None and at < 0:
        print(f"smdeploy {command}: --at must be 0 or more virtual seconds", file=sys.stderr)
        return None
    return scenario, RehearsalRunner(scenario, path)


def _serving_problem(cloud: LocalCloud, endpoint: str) -> str | None:
    """Why the endpoint cannot take requests now, or None."""
    with cloud.quietly():
        names = sorted(e["EndpointName"] for e in cloud.client("sagemaker").list_endpoints()["Endpoints"])
    when = f"t={cloud.scheduler.now:g} s"
    if endpoint not in names:
        known = ", ".join(names) or "none"
        return f"no endpoint {endpoint!r} at {when} (endpoints then: {known})"
    status = cloud.sagemaker_backend().endpoints[endpoint].endpoint_status
    if status not in SERVING:
        return f"endpoint {endpoint} is {status} at {when}: it takes requests once InService (see --at)"
    return None


def loadtest(args: argparse.Namespace) -> int:
    """``smdeploy loadtest ENDPOINT --scenario S.yaml [--at SECONDS]``."""
    rehearsal = _rehearse(args, "loadtest", args.at)
    if rehearsal is None:
        return 2
    scenario, runner = rehearsal
    try:
        payload = cli_loadtest.payload_of(args, default=DEFAULT_PAYLOAD)
        cli_loadtest.plan_of(args)
    except ValueError as exc:
        print(f"smdeploy loadtest: {exc}", file=sys.stderr)
        return 2
    # Whatever a handler might print goes to stderr: with --json, stdout holds the document alone.
    out = sys.stdout
    try:
        with contextlib.redirect_stdout(sys.stderr), runner.open_at(args.at) as cloud:
            problem = _serving_problem(cloud, args.endpoint)
            if problem:
                print(f"smdeploy loadtest: {problem}", file=sys.stderr)
                return 2
            started = cloud.scheduler.now
            invoker = RehearsedInvoker(
                runtime_client(region=cloud.region, profile=None, timeout_seconds=60.0, workers=1),
                args.endpoint,
                payload,
                content_type=args.content_type,
                accept=args.accept,
                target_variant=args.variant,
            )
            clock = cli_loadtest.VirtualClock(start=started, advance=cloud.advance_to)

            def extra() -> dict[str, Any]:
                return {
                    "scenario": {"name": scenario.name, "file": str(args.scenario)},
                    "rehearsal": {"startedAt": started, "simulatedLatency": invoker.missing_latency == 0},
                }

            code = cli_loadtest.execute(args, invoker, clock, extra=extra, out=out)
            if invoker.missing_latency:
                print(
                    f"smdeploy loadtest: {invoker.missing_latency} answers came without a simulated "
                    f"latency ({LATENCY_HEADER}): their wall time was recorded instead",
                    file=sys.stderr,
                )
            return code
    except ScenarioError as exc:  # found while rehearsing
        print(f"smdeploy loadtest: invalid scenario: {exc}", file=sys.stderr)
        return 2


def recommend(args: argparse.Namespace) -> int:
    """``smdeploy recommend [JOB_NAME] --scenario S.yaml [--at SECONDS]``."""
    rehearsal = _rehearse(args, "recommend", args.at)
    if rehearsal is None:
        return 2
    _, runner = rehearsal
    out = sys.stdout
    try:
        with contextlib.redirect_stdout(sys.stderr), runner.open_at(args.at) as cloud, cloud.quietly():
            return cli_recommend.show(args, cloud.client("sagemaker"), out=out)
    except NotImplementedError as exc:  # moto's answer for an action nobody simulates
        print(f"smdeploy recommend: the local cloud cannot answer this: {exc}", file=sys.stderr)
        return 2
    except ScenarioError as exc:
        print(f"smdeploy recommend: invalid scenario: {exc}", file=sys.stderr)
        return 2


def drift(args: argparse.Namespace) -> int:
    """``smdeploy drift ENDPOINT --scenario S.yaml [--at SECONDS]``: the report at that virtual time."""
    rehearsal = _rehearse(args, "drift", args.at)
    if rehearsal is None:
        return 2
    _, runner = rehearsal
    out = sys.stdout  # the report; whatever handlers print goes to stderr
    try:
        with contextlib.redirect_stdout(sys.stderr), runner.open_at(args.at) as cloud, cloud.quietly():
            return cli_drift.show(args, session=cloud, now=cloud.scheduler.datetime(), out=out)
    except ScenarioError as exc:
        print(f"smdeploy drift: invalid scenario: {exc}", file=sys.stderr)
        return 2
