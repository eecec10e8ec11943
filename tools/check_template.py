"""Check template.yaml and statemachines/*.asl.json beyond what `sam validate --lint` sees.

Prints each problem and exits 1 if there is any; otherwise prints a one-line summary and exits 0.
Run by `make validate`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from localcloud.template_checks import run_checks

# The template beside this tool, wherever the command is run from.
DEFAULT_TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE, help="default: %(default)s")
    args = parser.parse_args(argv)
    template: Path = args.template
    if not template.is_file():
        print(f"check_template: {template} does not exist", file=sys.stderr)
        return 2

    results = run_checks(template.resolve())
    problems = [(name, problem) for name, found in results.items() for problem in found]
    for name, problem in problems:
        print(f"[{name}] {problem}")
    if problems:
        print(f"check_template: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"check_template: {template.name} and its state machines pass {len(results)} checks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
