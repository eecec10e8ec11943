"""``smdeploy``: rehearse deployments in the local cloud, and choose a deployment option.

``smdeploy simulate SCENARIO.yaml [--json] [--report FILE] [--plot FILE.png|FILE.html]``: exit 0
when every expectation holds, 1 when one does not, 2 when the scenario itself (or an option) is
invalid. ``--plot`` draws each judged rollout: the metric per variant, an A/B test's effect at every
look, the decision point (``localcloud.scenario.plot``).

``smdeploy loadtest ENDPOINT (--ramp FROM:TO:STEP | --steps RPS,...) --p99-ms MS [--scenario S.yaml
--at SECONDS]`` and ``smdeploy recommend [JOB_NAME] [--scenario S.yaml]``: the operator's commands of
:mod:`smdeploy_cli`, on AWS, or with ``--scenario`` against a rehearsal (``localcloud.loadtest``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import sys
import time
from pathlib import Path

from localcloud.scenario.contract import ScenarioError, load_scenario
from localcloud.scenario.plot import PLOT_SUFFIXES
from smdeploy_cli import drift as cli_drift
from smdeploy_cli import loadtest as cli_loadtest
from smdeploy_cli import operator as cli_operator
from smdeploy_cli import recommend as cli_recommend


def simulate(args: argparse.Namespace) -> int:
    path = Path(args.scenario)
    try:
        scenario = load_scenario(path)
    except ScenarioError as exc:
        print(f"smdeploy: invalid scenario: {exc}", file=sys.stderr)
        return 2
    from localcloud.scenario.runner import Runner  # heavy imports only once the scenario is valid

    # Whatever a handler might print goes to stderr: with --json, stdout holds the document alone.
    try:
        with contextlib.redirect_stdout(sys.stderr):
            rehearsal = Runner(scenario, path).run()
    except ScenarioError as exc:  # found while rehearsing, e.g. a stop of an execution never started
        print(f"smdeploy: invalid scenario: {exc}", file=sys.stderr)
        return 2
    report = {k: v for k, v in rehearsal.report.items()}
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2, default=str) + "\n")
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        from localcloud.scenario.report import render

        print(render(rehearsal))
    if args.plot:
        from localcloud.scenario.plot import write_plot

        started = time.perf_counter()
        try:
            drawn = write_plot(report, args.plot)
        except OSError as exc:
            print(f"smdeploy: --plot {args.plot}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        what = f"{len(drawn)} judged execution{'' if len(drawn) == 1 else 's'}" if drawn else "nothing judged"
        # with --json, stdout holds the document alone
        print(
            f"Plot: {args.plot} ({what}, {time.perf_counter() - started:.1f} s)",
            file=sys.stderr if args.json else sys.stdout,
        )
    return 0 if rehearsal.ok else 1


def plot_file(value: str) -> Path:
    """``--plot FILE``: PNG or HTML by its extension, in a directory that exists (checked before the
    rehearsal, so that a typo does not cost one)."""
    path = Path(value)
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise argparse.ArgumentTypeError(
            f"{value!r}: the plot is a PNG image or an HTML page: FILE must end in .png or .html"
        )
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{value!r}: no directory {str(path.parent)!r} to write it in")
    if importlib.util.find_spec("matplotlib") is None:
        raise argparse.ArgumentTypeError("plots need matplotlib: pip install -r requirements/dev.txt")
    return path


def advise(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from smdeploy.advice import Workload, starter
    from smdeploy.advice import advise as recommend

    try:
        work = Workload(
            live=args.live,
            payloadMB=args.payload_mb,
            processingSeconds=args.processing_seconds,
            traffic=args.traffic,
            coldStartOk=args.cold_start_ok,
            models=args.models,
            containers=args.containers,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        print(f"smdeploy advise: {'.'.join(map(str, err['loc']))}: {err['msg']}", file=sys.stderr)
        return 2
    advice = starter(recommend(work), work)
    if args.json:
        print(json.dumps(advice.model_dump(), indent=2))
        return 0
    print(f"Recommended: {advice.option}")
    for reason in advice.reasons:
        print(f"  - {reason}")
    for other in advice.alsoConsider:
        print(f"  also consider: {other}")
    if advice.groupConfig is not None:
        print("Start from this group config (the SSM parameter of the model package group):")
        print("  " + json.dumps(advice.groupConfig))
    if advice.templateParameters is not None:
        print("Start from these template parameters (sam deploy --parameter-overrides):")
        print("  " + " ".join(f"{key}={value}" for key, value in advice.templateParameters.items()))
    print(f"Rehearse it: smdeploy simulate {advice.rehearse}")
    return 0


def rehearsal_options(parser: argparse.ArgumentParser, what: str) -> None:
    group = parser.add_argument_group("rehearsal (the local cloud)")
    group.add_argument(
        "--scenario", metavar="S.yaml", help=f"{what} in a rehearsal of this scenario instead of on AWS"
    )
    group.add_argument(
        "--at",
        type=float,
        metavar="SECONDS",
        help="virtual seconds to rehearse first (default: the scenario's until, else until it falls quiet)",
    )


def operator_command(args: argparse.Namespace) -> int:
    """``loadtest`` or ``recommend``: rehearsed with ``--scenario`` (``localcloud.loadtest``), else on
    AWS (``smdeploy_cli``)."""
    if args.scenario:
        from localcloud import loadtest as rehearsed

        if args.command == "drift":
            return rehearsed.drift(args)
        return rehearsed.loadtest(args) if args.command == "loadtest" else rehearsed.recommend(args)
    if args.at is not None:
        print(f"smdeploy {args.command}: --at needs --scenario (a rehearsal's virtual time)", file=sys.stderr)
        return 2
    if args.command == "drift":
        return cli_drift.main(args)
    return cli_loadtest.main(args) if args.command == "loadtest" else cli_recommend.main(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="smdeploy", description=__doc__.splitlines()[0] if __doc__ else None
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("simulate", help="rehearse a scenario in the local cloud")
    sim.add_argument("scenario", help="path to a scenario YAML file")
    sim.add_argument("--json", action="store_true", help="print one JSON document on stdout and nothing else")
    sim.add_argument("--report", metavar="FILE", help="also write the JSON report to FILE")
    sim.add_argument(
        "--plot",
        metavar="FILE",
        type=plot_file,
        help="also draw each judged rollout (metric per variant, A/B test effect, decision) "
        "into FILE: a .png image or an .html page with the image and a table of the looks",
    )
    adv = sub.add_parser("advise", help="recommend a SageMaker deployment option for a workload")
    live = adv.add_mutually_exclusive_group(required=True)
    live.add_argument("--live", action="store_true", help="predictions are needed as requests arrive")
    live.add_argument("--offline", action="store_true", help="a whole dataset is scored at once")
    adv.add_argument("--payload-mb", type=float, default=1.0, help="largest request payload (MB)")
    adv.add_argument(
        "--processing-seconds", type=float, default=1.0, help="longest processing of one request"
    )
    adv.add_argument("--traffic", choices=["steady", "spiky", "intermittent"], default="steady")
    adv.add_argument(
        "--cold-start-ok", action="store_true", help="cold starts after idle time are acceptable"
    )
    adv.add_argument("--models", type=int, default=1, help="models served behind one endpoint")
    adv.add_argument("--containers", type=int, default=1, help="containers per inference")
    adv.add_argument("--json", action="store_true", help="print the advice as JSON")
    load = sub.add_parser(
        "loadtest",
        help="load-test an endpoint (on AWS, or rehearsed with --scenario): latency against load, the knee",
        description="An open-loop load generator for a SageMaker real-time endpoint: latency per step of "
        "offered load, and the throughput at which the latency requirement breaks.",
    )
    cli_loadtest.add_arguments(load)
    rehearsal_options(load, "load-test the endpoint")
    rec = sub.add_parser(
        "recommend",
        help="an Inference Recommender job's recommendations, cheapest fitting configuration first",
        description="The recommendations of a finished Inference Recommender job, the cheapest "
        "configuration that meets the job's latency threshold first.",
    )
    cli_recommend.add_arguments(rec)
    rehearsal_options(rec, "read the job")
    dri = sub.add_parser(
        "drift",
        help="an endpoint's drift report: per feature the baseline and current distributions, PSI, "
        "KS, and the alarms that watch them",
        description="The drift check of the endpoint's monitor for the window that ends now, published "
        "nowhere: per feature the baseline's and the window's distributions, PSI and the test's p-value; "
        "model quality when labels arrived; the alarms that watch them.",
    )
    cli_drift.add_arguments(dri)
    rehearsal_options(dri, "check the endpoint")
    # the operator's verbs against a deployed stack (rehearsed by a scenario's cli: steps)
    cli_operator.add_arguments(sub)
    args = parser.parse_args(argv)
    if args.command == "simulate":
        return simulate(args)
    if args.command == "advise":
        return advise(args)
    if args.command in ("loadtest", "recommend", "drift"):
        return operator_command(args)
    if args.command in cli_operator.VERBS:
        return cli_operator.main(args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
