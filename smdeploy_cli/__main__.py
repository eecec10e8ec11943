"""``python -m smdeploy_cli VERB ...``: the operator's commands against AWS alone (status, history,
deploy, promote, abort, rollback, loadtest, recommend, drift).

``smdeploy`` (``localcloud.cli``) offers the same subcommands, and rehearses them with ``--scenario``.
"""

from __future__ import annotations

import argparse
import sys

from smdeploy_cli import drift, loadtest, operator, recommend


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="smdeploy", description="smdeploy's operator commands against AWS")
    sub = top.add_subparsers(dest="command", required=True)
    loadtest.add_arguments(sub.add_parser("loadtest", help="load-test an endpoint; find its knee"))
    recommend.add_arguments(
        sub.add_parser("recommend", help="an Inference Recommender job's results, cheapest fit first")
    )
    drift.add_arguments(sub.add_parser("drift", help="an endpoint's drift report, checked now"))
    operator.add_arguments(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "loadtest":
        return loadtest.main(args)
    if args.command == "drift":
        return drift.main(args)
    if args.command in operator.VERBS:
        return operator.main(args)
    return recommend.main(args)


if __name__ == "__main__":
    sys.exit(main())
