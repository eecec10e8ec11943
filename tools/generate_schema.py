"""Write schemas/manual-input.schema.json from smdeploy.models.ManualDeployInput (``make schema``).

The schema is generated, never edited by hand: ``tests/unit/test_schema.py`` fails when the
committed file differs from what the model produces. ``--check`` exits 1 instead of writing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from smdeploy.models import ManualDeployInput

REPO = Path(__file__).resolve().parent.parent
SCHEMA_PATH = REPO / "schemas" / "manual-input.schema.json"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "manual-input.schema.json"


def build_schema() -> dict[str, Any]:
    """The JSON Schema of the manual deploy input, with its dialect and a relative ``$id``."""
    schema = ManualDeployInput.model_json_schema()
    schema["$schema"] = SCHEMA_DIALECT
    schema["$id"] = SCHEMA_ID
    return schema


def render() -> str:
    """The file's exact text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(build_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    args = parser.parse_args(argv)
    text = render()
    relative = SCHEMA_PATH.relative_to(REPO)
    if args.check:
        current = SCHEMA_PATH.read_text() if SCHEMA_PATH.exists() else None
        if current != text:
            print(f"{relative} is out of date; run `make schema`", file=sys.stderr)
            return 1
        print(f"{relative} is up to date")
        return 0
    SCHEMA_PATH.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA_PATH.write_text(text)
    print(f"wrote {relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
