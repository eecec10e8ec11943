"""``smdeploy``: rehearse deployments in the local cloud.

``smdeploy simulate SCENARIO.yaml [--json] [--report FILE]``: exit 0 when every expectation
holds, 1 when one does not, 2 when the scenario itself is invalid.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from localcloud.scenario import ScenarioError, load_scenario


def simulate(args: argparse.Namespace) -> int:
    path = Path(args.scenario)
    try:
        scenario = load_scenario(path)
    except ScenarioError as exc:
        print(f"smdeploy: invalid scenario: {exc}", file=sys.stderr)
        return 2
    from localcloud.runner import Runner  # heavy imports only once the scenario is valid

    # Whatever a handler might print goes to stderr: with --json, stdout holds the document alone.
    with contextlib.redirect_stdout(sys.stderr):
        rehearsal = Runner(scenario, path).run()
    report = {k: v for k, v in rehearsal.report.items()}
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2, default=str) + "\n")
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        from localcloud.report import render

        print(render(rehearsal))
    return 0 if rehearsal.ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="smdeploy", description=__doc__.splitlines()[0] if __doc__ else None
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("simulate", help="rehearse a scenario in the local cloud")
    sim.add_argument("scenario", help="path to a scenario YAML file")
    sim.add_argument("--json", action="store_true", help="print one JSON document on stdout and nothing else")
    sim.add_argument("--report", metavar="FILE", help="also write the JSON report to FILE")
    args = parser.parse_args(argv)
    if args.command == "simulate":
        return simulate(args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
