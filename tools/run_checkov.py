"""Run checkov on template.yaml and on its plain CloudFormation translation; exit 1 on any finding.

checkov's IAM checks (CKV_AWS_107-111, CKV_AWS_60-63) only look at ``AWS::IAM::*`` resources, which
SAM generates from a function's ``Policies``: so the SAM template is also translated offline with
aws-sam-translator and the result (``.aws-sam/translated.json``) is checked too. The translator
copies each SAM resource's ``Metadata`` (and so its ``checkov: skip:`` entries with their reasons)
to every resource it generates from it (``passthrough_metadata``): a suppression is written once,
on the SAM resource, and holds in both runs.

Runs with the SAM CLI's interpreter (``.tools/sam/bin/python``: it has aws-sam-translator and the
SAM CLI's YAML loader); checkov runs from its own environment (``.tools/checkov``). Run by
``make validate``; no network, no AWS account.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = REPO / "template.yaml"
DEFAULT_OUT = REPO / ".aws-sam" / "translated.json"
DEFAULT_CHECKOV = REPO / ".tools" / "checkov" / "bin" / "checkov"
# What `sam package` would put in place of local code paths: the translator only accepts S3 URIs.
PLACEHOLDER_BUCKET = "s3://smdeploy-checkov-placeholder/"
CODE_KEYS = ("CodeUri", "ContentUri")


class OfflinePolicyLoader:
    """The translator asks for this only for managed policies missing from its bundled list."""

    def load(self) -> dict[str, str]:
        raise RuntimeError(
            "a Policies entry names an AWS managed policy the translator does not know offline; "
            "write its full ARN instead"
        )


def prepare(template: dict[str, Any], base: Path) -> dict[str, Any]:
    """Make a SAM template translatable offline, as `sam package` would (in place; returned)."""
    for logical_id, resource in (template.get("Resources") or {}).items():
        properties = resource.get("Properties") or {}
        for key in CODE_KEYS:
            value = properties.get(key)
            if isinstance(value, str) and not value.startswith("s3://"):
                properties[key] = PLACEHOLDER_BUCKET + value.lstrip("./")
        definition_uri = properties.get("DefinitionUri")
        if resource.get("Type") == "AWS::Serverless::StateMachine" and isinstance(definition_uri, str):
            path = base / definition_uri
            if not path.is_file():
                raise SystemExit(f"run_checkov: {logical_id}.DefinitionUri: {definition_uri} does not exist")
            properties["Definition"] = json.loads(path.read_text())
            del properties["DefinitionUri"]
    return template


def translate(template_path: Path) -> dict[str, Any]:
    """The plain CloudFormation template SAM would deploy, with each SAM resource's Metadata kept."""
    from samcli.yamlhelper import yaml_parse  # the SAM CLI's loader knows !Ref, !Sub, !GetAtt ...
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the translator wants a region, no account
    template = prepare(yaml_parse(template_path.read_text()), template_path.parent)
    try:
        translated: dict[str, Any] = transform(template, {}, OfflinePolicyLoader(), passthrough_metadata=True)
    except InvalidDocumentException as exc:
        problems = "\n".join(f"  {cause.message}" for cause in exc.causes)
        raise SystemExit(f"run_checkov: {template_path.name} does not translate:\n{problems}") from exc
    return translated


def run_checkov(checkov: Path, target: Path, label: str, report: Path) -> bool:
    """checkov on one template: its compact report on stdout, then one summary line; True if clean."""
    report.unlink(missing_ok=True)
    command = [
        str(checkov),
        "--file",
        str(target),
        "--framework",
        "cloudformation",
        "--skip-download",  # without it checkov goes to the network
        "--quiet",
        "--compact",
        "--output",
        "cli",
        "--output",
        "json",
        "--output-file-path",
        f"console,{report}",
    ]
    print("+", " ".join(_shown(part) for part in command), flush=True)
    done = subprocess.run(command, check=False)  # noqa: S603 - fixed arguments, our own paths
    try:
        results = json.loads(report.read_text())
    except (OSError, json.JSONDecodeError):
        print(f"run_checkov: checkov wrote no readable report for {label} (exit {done.returncode})")
        return False
    results = results[0] if isinstance(results, list) else results
    summary = results.get("summary", results)  # with nothing scanned, checkov writes the summary alone
    summary = {
        key: summary.get(key, 0)
        for key in ("resource_count", "passed", "failed", "skipped", "parsing_errors")
    }
    clean = (
        done.returncode == 0
        and summary["failed"] == 0
        and summary["parsing_errors"] == 0
        and summary["resource_count"] > 0
    )
    print(
        f"checkov {label}: {summary['resource_count']} resources; checks passed {summary['passed']}, "
        f"failed {summary['failed']}, suppressed on the resource {summary['skipped']}, "
        f"parsing errors {summary['parsing_errors']}" + ("" if clean else "  <- FAILED")
    )
    return bool(clean)


def _shown(part: str) -> str:
    """A path inside the repository as a relative one, to keep the log short."""
    return part.replace(f"{REPO}{os.sep}", "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE, help="default: %(default)s")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="translated template; %(default)s")
    parser.add_argument("--checkov", type=Path, default=DEFAULT_CHECKOV, help="default: %(default)s")
    args = parser.parse_args(argv)
    template: Path = args.template.resolve()
    out: Path = args.out.resolve()
    if not template.is_file():
        print(f"run_checkov: {template} does not exist", file=sys.stderr)
        return 2
    if not args.checkov.is_file():
        print(
            f"run_checkov: no checkov at {args.checkov} (make installs it in .tools/checkov)", file=sys.stderr
        )
        return 2

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(translate(template), indent=1))
    sam_ok = run_checkov(args.checkov, template, template.name, out.with_suffix(".sam-checkov.json"))
    plain_ok = run_checkov(
        args.checkov, out, f"{template.name} translated ({out.name})", out.with_suffix(".checkov.json")
    )
    if not (sam_ok and plain_ok):
        print(
            "run_checkov: fix the finding, or suppress it on the resource with a reason: "
            "Metadata: {checkov: {skip: [{id: CKV_..., comment: why}]}}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
