"""The readable timeline printed by ``smdeploy simulate`` without ``--json``."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from localcloud.scenario.runner import Rehearsal, serving
from localcloud.services.sagemaker.endpoints import package_key


def clock(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def _collapse(states: list[dict[str, Any]], end: float | None) -> list[tuple[float, float, str]]:
    """(start, end, text) lines; a loop of states repeated 3 times or more becomes one line."""
    entries = [
        (
            s["name"],
            s["at"],
            states[i + 1]["at"] if i + 1 < len(states) else (end if end is not None else s["at"]),
        )
        for i, s in enumerate(states)
    ]
    lines: list[tuple[float, float, str]] = []
    i = 0
    while i < len(entries):
        best = (1, 1)
        for length in range(1, 6):
            cycle = [name for name, _, _ in entries[i : i + length]]
            reps = 1
            while [name for name, _, _ in entries[i + reps * length : i + (reps + 1) * length]] == cycle:
                reps += 1
            if reps >= 3 and reps * length > best[0] * best[1]:
                best = (length, reps)
        length, reps = best
        if reps >= 3:
            span = entries[i : i + length * reps]
            names = " -> ".join(name for name, _, _ in span[:length])
            lines.append((span[0][1], span[-1][2], f"{names}  (x{reps})"))
            i += length * reps
        else:
            name, start, stop = entries[i]
            lines.append((start, stop, name))
            i += 1
    return lines


def settings_lines(settings: dict[str, Any]) -> list[str]:
    """The endpoint-config settings a reader checks after an update, one line each."""
    lines = []
    capture = settings.get("DataCaptureConfig")
    if capture:
        lines.append(
            f"data capture: {capture.get('InitialSamplingPercentage')}% to {capture.get('DestinationS3Uri')}"
        )
    async_config = settings.get("AsyncInferenceConfig")
    if async_config:
        output = async_config.get("OutputConfig", {})
        topics = output.get("NotificationConfig", {})
        parts = [f"results {output.get('S3OutputPath')}"]
        if output.get("S3FailurePath"):
            parts.append(f"failures {output['S3FailurePath']}")
        parts.extend(f"{key} {arn.rsplit(':', 1)[-1]}" for key, arn in topics.items())
        limit = async_config.get("ClientConfig", {}).get("MaxConcurrentInvocationsPerInstance")
        if limit:
            parts.append(f"{limit} concurrent invocations per instance")
        lines.append("asynchronous: " + ", ".join(parts))
    return lines


# An A/B test looks at every check: a timeline shows at most this many lines of looks per execution.
LOOK_LINES = 12
FIRST_LOOKS = 3


def shown_looks(count: int, lines: int = LOOK_LINES) -> list[int]:
    """Indices of the looks a timeline shows: all of them when they fit in ``lines``; else the first
    ``FIRST_LOOKS``, the last (the decisive one) and evenly spaced ones in between, one line being
    left for the note that says how many were skipped."""
    if count <= lines:
        return list(range(count))
    between = max(0, lines - 1 - FIRST_LOOKS - 1)
    span = count - 1 - FIRST_LOOKS  # the looks after the first ones and before the last
    middle = {FIRST_LOOKS + span * (2 * i + 1) // (2 * between) for i in range(between)}
    return [*range(FIRST_LOOKS), *sorted(middle), count - 1]


def verdict_lines(ex: dict[str, Any]) -> list[tuple[float, float, str]]:
    """(t, order, text) of an execution's verdicts, and of its A/B test's looks (collapsed)."""
    verdicts = ex.get("verdicts", [])
    looks = [i for i, v in enumerate(verdicts) if "look" in v]
    shown = {looks[i] for i in shown_looks(len(looks))}
    lines: list[tuple[float, float, str]] = []
    skipped = [
        v for i, v in enumerate(verdicts) if "look" in v and i not in shown and v["decision"] == "WAIT"
    ]
    if skipped:
        lines.append(
            (
                skipped[0]["at"],
                5.19,
                f"test       {ex['name']}: {len(looks)} looks in all, {len(looks) - len(skipped)} shown "
                f"(the first {FIRST_LOOKS}, evenly spaced ones, the last); every look is in --json",
            )
        )
    for i, v in enumerate(verdicts):
        if v["decision"] == "WAIT" and "look" in v:
            if i in shown:
                summary = (v.get("experiment") or {}).get("summary") or "; ".join(v["reasons"])
                lines.append((v["at"], 5.2, f"test       {ex['name']} {summary}"))
            continue
        reasons = "; ".join(v["reasons"])
        where = "shadow" if v["step"] == 0 else f"step {v['step']} ({v['percent']:g}%)"
        lines.append(
            (v["at"], 5.2, f"verdict    {ex['name']} {where}: {v['verdict']} -> {v['decision']}: {reasons}")
        )
    return lines


# What EventBridge Scheduler calls with a schedule's role when it fires (services/scheduler.py).
SCHEDULER_CALLS = {"sts:AssumeRole", "lambda:Invoke"}


def scheduler_lines(
    schedules: dict[str, dict[str, Any]], invocations: list[dict[str, Any]]
) -> list[tuple[float, float, str]]:
    """One line per API-created EventBridge Scheduler schedule that fired, at its first firing: how
    often, over what span, and how its deliveries went (every firing is in --json)."""
    lines = []
    for label, entry in schedules.items():
        if not entry["fired"]:
            continue
        errors = sum(1 for i in invocations if i["trigger"] == label and not i["ok"])
        failed = errors - entry["denied"] - entry["undeliverable"]  # attempts whose handler failed
        outcome = [f"{entry['invoked']} invoked"]
        if failed:
            outcome.append(f"{failed} failed attempt{'s' if failed > 1 else ''}")
        if entry["denied"]:
            outcome.append(f"{entry['denied']} denied to role {entry['role']}")
        if entry["undeliverable"]:
            outcome.append(f"{entry['undeliverable']} undeliverable")
        times = "once" if entry["fired"] == 1 else f"{entry['fired']} times"
        span = clock(entry["firstAt"]) + (
            f"-{clock(entry['lastAt'])}" if entry["lastAt"] != entry["firstAt"] else ""
        )
        deleted = "; deleted since" if entry["deleted"] else ""
        lines.append(
            (
                entry["firstAt"],
                3.4,
                f"scheduler  {label} {entry['expression']} -> {entry['target']}: fired {times} ({span}), "
                + ", ".join(outcome)
                + deleted,
            )
        )
    return lines


# A cli step's output in the timeline: its first lines (the whole of it is in --json, ``cliRuns``).
CLI_LINES = 8
CLI_INDENT = " " * len("cli        ")


def cli_lines(run: dict[str, Any]) -> list[tuple[float, float, str]]:
    """(t, order, text): the command as typed, how it ended, then its first output lines."""
    ended = "still running at the end" if run["exitCode"] is None else f"exit {run['exitCode']}"
    took = (
        f" after {duration(run['endedAt'] - run['at'])}"
        if run.get("endedAt") is not None and run["endedAt"] - run["at"] >= 1
        else ""
    )
    lines = [(run["at"], 0.5, f"cli        $ smdeploy {run['command']} -> {ended}{took}")]
    printed = (run["stdout"] + run["stderr"]).rstrip("\n").splitlines()
    shown = printed if len(printed) <= CLI_LINES else printed[: CLI_LINES - 1]
    lines.extend((run["at"], 0.5, f"{CLI_INDENT}{line}") for line in shown)
    if len(shown) < len(printed):
        lines.append((run["at"], 0.5, f"{CLI_INDENT}… ({len(printed) - len(shown)} more lines in --json)"))
    return lines


def render(rehearsal: Rehearsal) -> str:
    report = rehearsal.report
    out: list[str] = [f"Scenario: {report['scenario']['name']}  ({report['scenario']['file']})", ""]
    happenings: list[tuple[float, float, str]] = [(t, 0, text) for t, text in rehearsal.timeline]
    for run in report.get("cliRuns", []):
        happenings.extend(cli_lines(run))
    for event in report["events"]:
        if not event["matchedRules"] and event["detailType"] != "SageMaker Model Package State Change":
            continue  # endpoint status changes are shown from the simulator's side
        target = ", ".join(event["matchedRules"]) or "no rule matched"
        res = ", ".join(
            package_key(r) if ":model-package/" in r else r.rsplit("/", 1)[-1] for r in event["resources"]
        )
        happenings.append((event["at"], 1, f"eventbus   {event['detailType']} [{res}] -> {target}"))
    for change in report["endpointStatusChanges"]:
        happenings.append(
            (change["at"], 5.5, f"sagemaker  endpoint {change['endpoint']} is {change['status']}")
        )
    for step in report.get("guardrails", []):
        happenings.append((step["at"], 5.6, f"guardrails {step['endpoint']}: {step['event']}"))
    for act in report.get("scalingActivities", []):
        happenings.append(
            (
                act["at"],
                5.7,
                f"scaling    {act['endpoint']} {act['variant']}: {act['from']} -> {act['to']} instances "
                f"({act['cause']})",
            )
        )
    jobs = {job["name"]: job for job in report.get("transformJobs", [])}
    for change in report.get("transformJobStatusChanges", []):
        job = jobs.get(change["transformJob"], {})
        package = package_key(job["modelPackageArn"]) if job.get("modelPackageArn") else job.get("modelName")
        if change["status"] == "InProgress":
            what = f"InProgress ({package}; {job.get('inputPrefix')} -> {job.get('outputPrefix')})"
        elif change["status"] == "Completed":
            count = len(job.get("outputObjects", []))
            what = f"Completed ({count} output object{'' if count == 1 else 's'})"
        else:
            what = f"{change['status']}: {job.get('failureReason') or 'no reason given'}"
        happenings.append((change["at"], 5.5, f"sagemaker  transform job {change['transformJob']} {what}"))
    schedules = report.get("schedulerFirings", {})
    happenings.extend(scheduler_lines(schedules, report.get("asyncInvocations", [])))
    for invocation in report.get("asyncInvocations", []):
        if invocation["trigger"] in schedules:
            continue  # an API-created schedule's firings: one summary line above
        if invocation["ok"]:
            answer = json.dumps(invocation["result"], default=str)
            outcome = "ok" + (f": {answer[:117]}..." if len(answer) > 120 else f": {answer}")
        else:
            outcome = f"{invocation['errorType']}: {invocation['errorMessage']}"
        retry = f" (attempt {invocation['attempt']})" if invocation["attempt"] > 1 else ""
        happenings.append(
            (
                invocation["at"],
                3.5,
                f"lambda     {invocation['function']} <- {invocation['trigger']}{retry}: {outcome}",
            )
        )
    scheduler_roles = {entry["role"] for entry in schedules.values()}
    for denial in report.get("accessDenied", []):
        if (
            denial["kind"] == "role"
            and denial["role"] in scheduler_roles
            and denial["call"] in SCHEDULER_CALLS
        ):
            continue  # a schedule's role refused at a firing: counted in its summary line
        happenings.append(
            (
                denial["at"],
                4.4,
                f"iam        {denial['principal']} denied {denial['action']} on {denial['resource']}: "
                f"{denial['why']}",
            )
        )
    for fault in report["faultsInjected"]:
        effect = " (after it took effect)" if fault.get("mode") == "lost-response" else ""
        happenings.append((fault["at"], 4.5, f"fault      {fault['call']} answered {fault['error']}{effect}"))
    for change in report.get("weightChanges", []):
        packages = change.get("packages", {})
        weights = ", ".join(
            f"{variant} ({package_key(packages[variant])}) {weight:g}"
            if packages.get(variant)
            else f"{variant} {weight:g}"
            for variant, weight in change["weights"].items()
        )
        happenings.append((change["at"], 5.6, f"traffic    {change['endpoint']} weights: {weights}"))
    for change in report.get("alarmStateChanges", []):
        happenings.append(
            (change["at"], 5.7, f"alarm      {change['alarm']} {change['from']} -> {change['to']}")
        )
    for monitored in report.get("monitoringExecutions", []):
        if monitored["endedAt"] is None:
            continue
        start, end = monitored["window"]
        served = ", ".join(f"{package_key(p)} {n}" for p, n in monitored["packages"].items())
        why = f" ({monitored['failureReason']})" if monitored["failureReason"] else ""
        happenings.append(
            (
                monitored["endedAt"],
                5.8,
                f"monitor    {monitored['schedule']} {clock(start)}-{clock(end)}: {monitored['status']}{why}"
                + (f"  [requests: {served}]" if served else ""),
            )
        )
    for ex in report["executions"]:
        label = f"{ex['name']} ({ex['stateMachine']})"
        if ex["startedAt"] is not None:
            happenings.append((ex["startedAt"], 4, f"execution  {label} started"))
        for start, stop, text in _collapse(ex["states"], ex["stoppedAt"]):
            took = f"  [{duration(stop - start)}]" if stop - start >= 1 else ""
            happenings.append((start, 5, f"  {ex['name']}  {text}{took}"))
        happenings.extend(verdict_lines(ex))
        if ex["stoppedAt"] is not None:
            verdict = ex["outcome"] or "-"
            error = f"  {ex['error']}: {ex['cause']}" if ex["error"] else ""
            events = f"  [{ex['historyEvents']} history events]" if ex.get("historyEvents") else ""
            happenings.append(
                (ex["stoppedAt"], 6, f"execution  {label} {ex['status']} -> {verdict}{events}{error}")
            )
            for note in ex.get("notes", []):
                happenings.append((ex["stoppedAt"], 7, f"note       {label}: {note}"))
    out.append("Timeline (virtual time)")
    for t, _, text in sorted(happenings, key=lambda h: (h[0], h[1])):
        out.append(f"  {clock(t)}  {text}")
    out.append("")
    out.append("Endpoints")
    if not report["endpoints"]:
        out.append("  (none)")
    for name, endpoint in report["endpoints"].items():
        now_serving = serving(endpoint)
        out.append(
            f"  {name}: {endpoint['status']}, config {endpoint['endpointConfigName']}"
            + (f", serving {now_serving}" if now_serving else "")
        )
        if endpoint.get("failureReason"):
            out.append(f"    failure reason: {endpoint['failureReason']}")
        traffic = report.get("invocations", {}).get(name, {})
        for v in endpoint["variants"]:
            served = traffic.get(v["name"])
            load = (
                f"; {served['requests']:.0f} requests, {served['errors']:.0f} 5XX"
                f" ({served['errors'] / served['requests']:.1%})"
                if served and served["requests"]
                else ""
            )
            scaled = v.get("autoscaling")
            scaling = (
                f"; autoscaling {scaled['minCapacity']}-{scaled['maxCapacity']}"
                f" ({', '.join(scaled['policies'])})"
                if scaled
                else ""
            )
            capacity = (
                "serverless {MemorySizeInMB} MB, up to {MaxConcurrency} concurrent".format(**v["serverless"])
                if v.get("serverless")
                else f"{v['instanceCount']} x {v['instanceType']}"
            )
            out.append(
                f"    variant {v['name']}: {package_key(v['modelPackageArn'] or '?')} "
                f"weight {v['weight']:g}, {capacity}{load}{scaling}"
            )
            if v.get("containers"):
                out.append(
                    f"      {v['containers']['count']} containers, {v['containers']['mode']} invocation"
                )
            if v.get("multiModel"):
                models = ", ".join(v["multiModel"]["targetModels"]) or "no model yet"
                out.append(f"      multi-model: {v['multiModel']['artifactPrefix']} holds {models}")
        out.extend(f"    {line}" for line in settings_lines(endpoint.get("settings") or {}))
    if report.get("transformJobs"):
        out.append("")
        out.append("Transform jobs")
        for job in report["transformJobs"]:
            package = package_key(job["modelPackageArn"]) if job["modelPackageArn"] else job["modelName"]
            where = f"{job['inputPrefix']} -> {job['outputPrefix']}"
            out.append(f"  {job['name']}: {job['status']} with {package}, {where}")
            if job["failureReason"]:
                out.append(f"    failure reason: {job['failureReason']}")
            for uri in job["outputObjects"]:
                out.append(f"    {uri}")
    held = [lock for lock in report.get("locks", []) if lock["state"] != "DONE"]
    closed = len(report.get("locks", [])) - len(held)
    if held or closed:
        out.append("")
        out.append("Locks and claims left")
        for lock in held:
            owner = str(lock["owner"]).rsplit(":", 1)[-1]
            out.append(f"  {lock['pk']}: {lock['state'] or 'held'} by {owner}")
        if closed:
            out.append(
                f"  {closed} closed claim{'s' if closed > 1 else ''} (DONE, kept to drop late duplicates)"
            )
    if report.get("alarms"):
        out.append("")
        out.append("Alarms")
        for alarm_name, alarm in report["alarms"].items():
            note = f"  (not evaluated: {alarm['notEvaluated']})" if alarm.get("notEvaluated") else ""
            out.append(f"  {alarm_name}: {alarm['state']}{note}")
    out.append("")
    calls = report["apiCalls"]
    sagemaker_calls = {k: v for k, v in calls.items() if k.startswith("sagemaker:")}
    out.append(
        f"API calls: {sum(calls.values())} in all; SageMaker: "
        + ", ".join(f"{k.split(':', 1)[1]} {v}" for k, v in sagemaker_calls.items())
    )
    for prefix, label in (
        ("sagemaker-runtime:", "SageMaker Runtime"),
        ("application-autoscaling:", "Auto Scaling"),
    ):
        these = {k.split(":", 1)[1]: v for k, v in calls.items() if k.startswith(prefix)}
        if these:
            out.append(f"  {label}: " + ", ".join(f"{name} {n}" for name, n in these.items()))
    denied = report.get("accessDenied", [])
    refusals = Counter(f"{d['principal']} may not {d['action']} on {d['resource']}" for d in denied)
    elsewhere = report.get("otherAccounts") or []
    where = "template.yaml" + (
        f" and stage-account.yaml (account {', '.join(elsewhere)})" if elsewhere else ""
    )
    out.append(
        f"IAM: {report.get('iamChecks', 0)} calls checked against the policies in {where}, "
        f"{len(denied)} denied"
        + "".join(f"\n  {line}" + (f"  (x{n})" if n > 1 else "") for line, n in refusals.items())
    )
    out.append(
        f"Notifications: {len(report['notifications'])}"
        + "".join(f"\n  {n['subject']}" for n in report["notifications"])
    )
    out.append("")
    out.append("Expectations")
    for c in report["checks"]:
        mark = "PASS" if c["ok"] else "FAIL"
        out.append(f"  {mark}  {c['expect']}  ({c['detail']})")
    if not report["checks"]:
        out.append(f"  (none: {report.get('warning') or 'nothing was checked'})")
    out.append("")
    verdict = "OK" if report["ok"] else "NOT OK"
    if not report["checks"]:
        verdict = "NOTHING CHECKED"
    out.append(
        f"{verdict}: {report['virtualSeconds']:.0f} virtual seconds "
        f"rehearsed in {report['wallSeconds']:.2f} s"
    )
    return "\n".join(out)
