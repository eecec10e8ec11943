"""``smdeploy drift ENDPOINT``: the drift report of an endpoint's monitor, checked now.

The monitor is the endpoint's drift schedule (EventBridge Scheduler, ``smdeploy-drift-<endpoint>``,
made by a deployment: :func:`smdeploy.monitoring.follow`); its input names the version it watches,
the variant, the baselines and the thresholds. The report is the scheduled check itself
(:func:`smdeploy.monitoring.check`) run for the window that ends now, publishing nothing: per
feature the baseline's and the window's distributions over the same bins, PSI, the test's p-value,
the violations; the model quality when labels arrived; the alarms that watch them and their states.
``--plot FILE.png`` draws the distributions feature by feature.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from smdeploy import monitoring
from smdeploy.adapters.cloudwatch import CloudWatchGateway
from smdeploy.adapters.s3 import S3Gateway
from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.adapters.scheduler import SchedulerGateway


class DriftError(Exception):
    """No report can be made: no monitor on the endpoint, or its baselines cannot be read."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("endpoint", help="the endpoint whose monitor to check")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON document")
    parser.add_argument("--plot", metavar="FILE.png", help="also draw each feature's distributions")
    parser.add_argument("--region", help="AWS Region (default: the usual AWS configuration)")
    parser.add_argument("--profile", help="AWS profile (default: the usual AWS configuration)")


def report(endpoint: str, *, session: Any, now: datetime) -> dict[str, Any]:
    """The drift report of ``endpoint``'s monitor for the window ending at ``now``."""
    scheduler = SchedulerGateway(session.client("scheduler"))
    cloudwatch = CloudWatchGateway(session.client("cloudwatch"))
    schedule = scheduler.find(monitoring.names(endpoint)["schedule"])
    spec = ((schedule or {}).get("input") or {}).get("monitor")
    if not spec:
        raise DriftError(
            f"no drift monitor on endpoint {endpoint!r} "
            f"(no schedule {monitoring.names(endpoint)['schedule']}): "
            "monitors are made by a deployment of a group whose config has monitoring"
        )
    found = monitoring.check(
        spec,
        now + monitoring.CAPTURE_DELIVERY,  # the window that ended now
        s3=S3Gateway(session.client("s3")),
        cloudwatch=cloudwatch,
        sagemaker=SageMakerGateway(session.client("sagemaker")),
        records=None,
        publish=False,
    )
    alarms = list((spec.get("alarms") or {}).values())
    found["alarmStates"] = cloudwatch.alarm_states(alarms) if alarms else []
    found["monitors"] = spec.get("monitors") or []
    return found


def _share_line(labels: list[str], baseline: list[float], current: list[float]) -> list[str]:
    width = max((len(label) for label in labels), default=4)
    lines = []
    for label, b, c in zip(labels, baseline, current, strict=False):
        bar = "#" * round(c * 40)
        lines.append(f"      {label:<{width}}  baseline {b:6.1%}  now {c:6.1%}  {bar}")
    return lines


def text(found: dict[str, Any]) -> str:
    """The report as the terminal shows it."""
    window = found.get("window") or ["?", "?"]
    lines = [
        f"{found.get('endpointName')}: {found.get('version')} ({found.get('variantName')}), "
        f"engine {found.get('engine')}, window {window[0]} to {window[1]}"
    ]
    dq = found.get("dataQuality") or {}
    if dq.get("modelMonitorExecution") is not None or "modelMonitorExecution" in dq:
        execution = dq.get("modelMonitorExecution") or {}
        lines.append(
            "  data quality: Model Monitor's latest execution "
            f"{execution.get('ScheduledTime', '-')} {execution.get('MonitoringExecutionStatus', 'none yet')}"
        )
    elif dq:
        state = "enough" if dq.get("sufficient") else "too few to judge"
        lines.append(
            f"  data quality: {dq.get('samples')} captured rows ({state}); drifted: "
            + (", ".join(dq.get("drifted") or []) or "none")
        )
        for feature in dq.get("features") or []:
            psi = feature.get("psi")
            p = feature.get("p_value")
            verdict = "DRIFTED" if feature.get("drifted") else "ok"
            psi_value = psi if psi is not None else float("nan")
            lines.append(
                f"    {feature['name']:<16} {verdict:<8} PSI {psi_value:6.3f}  "
                f"{feature.get('test', '-')} p {p if p is not None else float('nan'):.2e}  "
                f"missing {feature.get('missing', 0):.1%}"
            )
            lines += _share_line(
                list(feature.get("bins") or []),
                list(feature.get("baseline_hist") or []),
                list(feature.get("current_hist") or []),
            )
            for violation in feature.get("violations") or []:
                kind = violation.get("constraint_check_type")
                lines.append(f"      violation {kind}: {violation.get('description')}")
    mq = found.get("modelQuality") or {}
    if mq:
        if mq.get("current") is None:
            lines.append(f"  model quality: {mq.get('samples', 0)} labelled requests (too few to judge)")
        else:
            lines.append(
                f"  model quality: {mq.get('metric')} {mq['current']:.3f} against the baseline's "
                f"{mq.get('baseline'):.3f} over {mq.get('samples')} labelled requests"
                + (" DEGRADED" if mq.get("degraded") else "")
            )
    for alarm in found.get("alarmStates") or []:
        lines.append(f"  alarm {alarm['name']}: {alarm['state']}")
    for monitor in found.get("monitors") or []:
        lines.append(f"  watched by {monitor.get('kind')} {monitor.get('name')}")
    return "\n".join(lines)


def plot(found: dict[str, Any], path: str) -> None:
    """Each feature's baseline and current shares per bin, side by side (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    features = (found.get("dataQuality") or {}).get("features") or []
    if not features:
        raise DriftError("nothing to plot: the monitor judged no feature in this window")
    fig, axes = plt.subplots(len(features), 1, figsize=(8, 2.6 * len(features)), squeeze=False)
    for ax, feature in zip(axes[:, 0], features, strict=False):
        labels = list(feature.get("bins") or [])
        positions = range(len(labels))
        ax.bar([x - 0.2 for x in positions], feature.get("baseline_hist") or [], width=0.4, label="baseline")
        ax.bar([x + 0.2 for x in positions], feature.get("current_hist") or [], width=0.4, label="window")
        ax.set_xticks(list(positions), labels, rotation=30, ha="right", fontsize=7)
        psi = feature.get("psi")
        ax.set_title(
            f"{feature['name']}: PSI {psi if psi is not None else float('nan'):.3f}"
            + (" (drifted)" if feature.get("drifted") else ""),
            fontsize=9,
        )
        ax.set_ylabel("share")
        ax.legend(fontsize=7)
    fig.suptitle(f"{found.get('endpointName')} {found.get('version')}: drift report", fontsize=10)
    fig.tight_layout()
    fig.savefig(Path(path))
    plt.close(fig)


def show(args: argparse.Namespace, *, session: Any, now: datetime, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # looked up now: a caller may have redirected it
    try:
        found = report(args.endpoint, session=session, now=now)
        if args.plot:
            plot(found, args.plot)
    except DriftError as exc:
        print(f"smdeploy drift: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(found, indent=2, sort_keys=True, default=str), file=out)
    else:
        print(text(found), file=out)
        if args.plot:
            print(f"plot: {args.plot}", file=out)
    return 0


def main(args: argparse.Namespace) -> int:
    import boto3

    session = boto3.Session(region_name=args.region, profile_name=args.profile)
    return show(args, session=session, now=datetime.now(UTC))
