"""Figures of a rehearsal's judged rollouts: ``smdeploy simulate SCENARIO --plot FILE``.

For each deploy execution whose candidate was judged (the ``Judge candidate`` task ran), one
figure:

- top: the primary metric per variant over virtual time. An A/B test: the per-minute rate
  (Sum / SampleCount) or per-minute value of its metric, and each variant's cumulative estimate
  at every look (what the test saw). A canary: each variant's per-minute 5XX error rate and its
  cumulative rate since the first shift. The candidate's share of the traffic is a step line on a
  second axis.
- bottom (A/B tests): the relative effect at every look with its confidence-sequence band, zero and
  +-MDE lines.
- a vertical line where the rollout was decided, labelled ``CANDIDATE_WINS -> PROMOTE at 01:42:00``.

Two halves. :func:`judged_series` runs inside the rehearsal (the local cloud is gone once it ends)
and puts what a figure needs that the report lacks, the per-minute series, into the report
(``judgedSeries``). :func:`plots` turns a report into :class:`ExecutionPlot` objects, plain data
that says what is drawn (tests read them), and :func:`write_plot` draws them with matplotlib's Agg
backend into a PNG, or an HTML page with the PNG embedded and a table of the looks.

matplotlib is imported only when something is drawn: a rehearsal without ``--plot`` never pays for it.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, FigureBase

    from localcloud.engine.cloud import LocalCloud

PLOT_SUFFIXES = (".png", ".html")
JUDGE_STATE = "Judge candidate"
DECISIONS = ("PROMOTE", "ROLLBACK")
# A canary without a test is drawn on the candidate's own 5XX alarm metric.
CANARY_METRIC = {
    "label": "5XX error rate",
    "namespace": "AWS/SageMaker",
    "metricName": "Invocation5XXErrors",
    "statistic": "rate",
    "kind": "rate",
    "goal": "minimize",
}
MAX_POINTS = 720  # per-minute series longer than this are drawn in buckets of several minutes
BASELINE_COLOR, CANDIDATE_COLOR, SHARE_COLOR, DECISION_COLOR = "#1f77b4", "#ff7f0e", "#7f7f7f", "#2ca02c"
ROLLBACK_COLOR = "#d62728"


# --- what the plot reads from the rehearsal ------------------------------------------------------


def _virtual(cloud: LocalCloud, value: Any) -> float:
    stamp = (
        value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    )
    return (stamp - cloud.scheduler.epoch).total_seconds()


def judged_series(cloud: LocalCloud, executions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each execution that judged a candidate: its endpoint, variants, metric, test settings,
    the start of its first judged step (``shiftedAt``, virtual seconds) and the per-minute series of
    the metric for both variants over the execution (``[minute start, samples, total, value]``;
    ``value`` as the judge reads a minute: Sum / SampleCount for a rate, the statistic for a mean)."""
    from localcloud.services.cloudwatch.metrics import aggregate

    out: list[dict[str, Any]] = []
    for ex in executions:
        if not any(state["name"] == JUDGE_STATE for state in ex.get("states", [])):
            continue
        judged = []
        for event in cloud.execution_history(ex["arn"]):
            details = event.get("stateExitedEventDetails") or {}
            if details.get("name") == JUDGE_STATE and details.get("output"):
                judged.append(json.loads(details["output"]))
        if not judged:
            continue
        state = judged[0]
        plan = state.get("plan") or {}
        rollout = plan.get("rollout") or {}
        experiment = rollout.get("experiment")
        metric = (
            {key: experiment[key] for key in CANARY_METRIC if key in experiment}
            if experiment
            else CANARY_METRIC
        )
        endpoint = str(plan.get("endpointName"))
        variants = {
            "baseline": plan.get("baselineVariantName")
            or (state.get("canary") or {}).get("baselineVariantName"),
            "candidate": plan.get("variantName"),
        }
        shifts = [j["judgement"]["shiftedAt"] for j in judged if (j.get("judgement") or {}).get("shiftedAt")]
        start = float(ex["startedAt"] or 0.0)
        end = float(ex["stoppedAt"] if ex["stoppedAt"] is not None else cloud.scheduler.now)
        statistic = "Average" if metric["statistic"] in ("mean", "rate") else str(metric["statistic"])
        scale = 1 / 1000.0 if metric["metricName"] == "ModelLatency" else 1.0  # microseconds -> ms
        minutes: dict[str, list[list[float | None]]] = {}
        for role, variant in variants.items():
            stats = cloud.traffic.series.get((str(metric["metricName"]), endpoint, str(variant))) or {}
            rows: list[list[float | None]] = []
            for minute in sorted(stats):
                if 60 * minute + 60 <= start or 60 * minute >= end:
                    continue
                stat = stats[minute]
                if metric["kind"] == "rate":
                    value = stat.total / stat.count if stat.count else None
                else:
                    found = aggregate([stat], statistic)
                    value = None if found is None else found * scale
                rows.append([60.0 * minute, stat.count, stat.total, value])
            minutes[role] = rows
        out.append(
            {
                "execution": ex["name"],
                "endpoint": endpoint,
                "strategy": rollout.get("type"),
                "steps": rollout.get("steps"),
                "baselineVariant": variants["baseline"],
                "candidateVariant": variants["candidate"],
                "candidatePackage": plan.get("modelPackageArn"),
                "metric": metric,
                "experiment": (
                    {
                        key: experiment.get(key)
                        for key in ("split", "minimumDetectableEffect", "confidence", "onWinner")
                    }
                    if experiment
                    else None
                ),
                "shiftedAt": min(_virtual(cloud, s) for s in shifts) if shifts else None,
                "window": [start, end],
                "minutes": minutes,
            }
        )
    return out


# --- what is drawn ---------------------------------------------------------------------------------


@dataclass
class Line:
    """One line of a panel: x in virtual seconds, y as drawn (None: a gap)."""

    label: str
    x: list[float] = field(default_factory=list)
    y: list[float | None] = field(default_factory=list)


@dataclass
class LookRow:
    """One look of an A/B test (a row of the HTML table, a point of the effect panel)."""

    at: float
    look: int
    verdict: str
    decision: str
    experiment: dict[str, Any]


@dataclass
class ExecutionPlot:
    execution: str
    endpoint: str
    title: str
    window: tuple[float, float]
    ab_test: bool
    kind: str  # rate | mean
    goal: str
    metric_label: str  # the y axis of the top panel
    per_minute: dict[str, Line]  # baseline / candidate
    cumulative: dict[str, Line]
    share: Line  # the candidate's share of the traffic, percent (a step line)
    looks: list[LookRow]
    verdicts: list[dict[str, Any]]  # the canary's decisions (the HTML table without a test)
    mde: float | None = None  # relative, A/B tests
    confidence: float | None = None
    effect: Line | None = None  # relative effect at each look
    band: tuple[list[float | None], list[float | None]] | None = None  # confidence sequence, relative
    decision_at: float | None = None
    decision_label: str | None = None
    decision: str | None = None  # PROMOTE | ROLLBACK
    bucket_minutes: int = 1


def hms(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def hmm(seconds: float, _position: Any = None) -> str:
    """Virtual time as h:mm on the x axes."""
    minutes = math.floor(seconds / 60 + 1e-9)
    return f"{minutes // 60}:{minutes % 60:02d}"


def _share_line(report: dict[str, Any], endpoint: str, candidate: str, window: tuple[float, float]) -> Line:
    start, end = window
    line = Line("candidate traffic share")
    current = 0.0
    for change in report.get("weightChanges", []):
        if change["endpoint"] != endpoint:
            continue
        weights = change["weights"]
        total = sum(weights.values())
        share = 100.0 * weights.get(candidate, 0.0) / total if total else 0.0
        if change["at"] <= start:
            current = share
        elif change["at"] < end:
            line.x.append(float(change["at"]))
            line.y.append(share)
    line.x.insert(0, start)
    line.y.insert(0, current)
    line.x.append(end)
    line.y.append(line.y[-1])
    return line


def _bucketed(rows: list[list[Any]], kind: str, size: int) -> list[tuple[float, float | None]]:
    """(start, value) per bucket of ``size`` minutes: a rate pools the minutes, a mean averages them."""
    buckets: dict[int, list[list[Any]]] = {}
    for row in rows:
        buckets.setdefault(int(row[0] // (60 * size)), []).append(row)
    out: list[tuple[float, float | None]] = []
    for index in sorted(buckets):
        group = buckets[index]
        if kind == "rate":
            samples = sum(r[1] for r in group)
            value = sum(r[2] for r in group) / samples if samples else None
        else:
            values = [r[3] for r in group if r[3] is not None]
            value = sum(values) / len(values) if values else None
        out.append((index * 60.0 * size + 30.0 * size, value))  # drawn at the middle of the bucket
    return out


def _cumulative_from_minutes(rows: list[list[Any]], kind: str, since: float) -> Line:
    line = Line("")
    samples = total = 0.0
    values: list[float] = []
    for start, count, summed, value in rows:
        if start < since - 59:  # minutes that began before the first shift are not the test's
            continue
        if kind == "rate":
            samples += count
            total += summed
            estimate = total / samples if samples else None
        else:
            if value is not None:
                values.append(value)
            estimate = sum(values) / len(values) if values else None
        line.x.append(start + 60.0)  # known once the minute closed
        line.y.append(estimate)
    return line


def _package(arn: str | None) -> str:
    return "/".join(str(arn).split("/")[-2:]) if arn else "?"


def _title(report: dict[str, Any], judged: dict[str, Any], decision_label: str | None, status: str) -> str:
    packages: dict[str, str] = {}
    for change in report.get("weightChanges", []):
        if change["endpoint"] == judged["endpoint"]:
            packages.update(change.get("packages") or {})
    baseline = packages.get(str(judged["baselineVariant"])) or "?"
    candidate = packages.get(str(judged["candidateVariant"])) or _package(judged.get("candidatePackage"))
    if judged.get("experiment"):
        split = judged["experiment"].get("split")
        how = f"A/B test on {judged['metric'].get('label')}, {split:g}% to the candidate"
    else:
        steps = judged.get("steps") or []
        how = f"{judged.get('strategy') or 'canary'} " + " -> ".join(f"{s:g}%" for s in steps)
    ending = decision_label or f"no decision (execution {status})"
    return (
        f"{judged['endpoint']}: {baseline} (baseline) vs {candidate} (candidate)\n"
        f"{judged['execution']}, {how}: {ending}"
    )


def plots(report: dict[str, Any]) -> list[ExecutionPlot]:
    """What the figure of each judged execution shows (one :class:`ExecutionPlot` each)."""
    executions = {ex["name"]: ex for ex in report.get("executions", [])}
    out = []
    for judged in report.get("judgedSeries", []):
        ex = executions.get(judged["execution"], {})
        verdicts = list(ex.get("verdicts", []))
        window = (float(judged["window"][0]), float(judged["window"][1]))
        metric = judged["metric"]
        kind, ab_test = str(metric.get("kind", "rate")), bool(judged.get("experiment"))
        longest = max((len(rows) for rows in judged["minutes"].values()), default=0)
        size = max(1, math.ceil(longest / MAX_POINTS))
        per_minute = {}
        for role in ("baseline", "candidate"):
            points = _bucketed(judged["minutes"].get(role, []), kind, size)
            per_minute[role] = Line(
                f"{role} {'per minute' if size == 1 else f'per {size} minutes'}",
                [x for x, _ in points],
                [y for _, y in points],
            )
        looks = [
            LookRow(v["at"], int(v["look"]), str(v["verdict"]), str(v["decision"]), v["experiment"])
            for v in verdicts
            if "look" in v and v.get("experiment")
        ]
        cumulative: dict[str, Line] = {}
        if ab_test:
            for role in ("baseline", "candidate"):
                cumulative[role] = Line(
                    f"{role} estimate at each look",
                    [row.at for row in looks],
                    [row.experiment.get(f"{role}Estimate") for row in looks],
                )
        else:
            since = judged.get("shiftedAt")
            since = window[0] if since is None else float(since)
            for role in ("baseline", "candidate"):
                line = _cumulative_from_minutes(judged["minutes"].get(role, []), kind, since)
                line.label = f"{role} cumulative since {hmm(since)}"
                cumulative[role] = line
        decided = [v for v in verdicts if v.get("decision") in DECISIONS]
        final = decided[-1] if decided else None
        decision_label = (
            f"{final['verdict']} \u2192 {final['decision']} at {hms(final['at'])}" if final else None
        )
        if metric.get("kind") == "rate":
            metric_label = (
                f"{metric.get('label')} ({'Sum / SampleCount' if ab_test else 'errors / requests'})"
            )
        else:
            unit = ", ms" if metric.get("metricName") == "ModelLatency" else ""
            metric_label = f"{metric.get('label')} ({metric.get('statistic')} per minute{unit})"
        plot = ExecutionPlot(
            execution=judged["execution"],
            endpoint=judged["endpoint"],
            title=_title(report, judged, decision_label, str(ex.get("status", "?"))),
            window=window,
            ab_test=ab_test,
            kind=kind,
            goal=str(metric.get("goal", "maximize")),
            metric_label=metric_label,
            per_minute=per_minute,
            cumulative=cumulative,
            share=_share_line(report, judged["endpoint"], str(judged["candidateVariant"]), window),
            looks=looks,
            verdicts=verdicts,
            decision_at=float(final["at"]) if final else None,
            decision_label=decision_label,
            decision=final["decision"] if final else None,
            bucket_minutes=size,
        )
        if ab_test:
            settings = judged["experiment"]
            plot.mde = settings.get("minimumDetectableEffect")
            plot.confidence = settings.get("confidence")
            plot.effect = Line(
                "relative effect (candidate vs baseline)",
                [row.at for row in looks],
                [row.experiment.get("relativeEffect") for row in looks],
            )
            plot.band = (
                [row.experiment.get("relCiLow") for row in looks],
                [row.experiment.get("relCiHigh") for row in looks],
            )
        out.append(plot)
    return out


# --- drawing ---------------------------------------------------------------------------------------


def _nan(values: list[float | None]) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def _time_axis(ax: Axes, window: tuple[float, float]) -> None:
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    span = max(60.0, window[1] - window[0])
    step = next(
        (s for s in (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200) if span / s <= 10),
        86400 * math.ceil(span / 86400 / 10),
    )
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(FuncFormatter(hmm))
    ax.set_xlim(window[0], window[1])


def _decision_line(ax: Axes, plot: ExecutionPlot, *, label: bool) -> None:
    if plot.decision_at is None:
        return
    color = DECISION_COLOR if plot.decision == "PROMOTE" else ROLLBACK_COLOR
    ax.axvline(plot.decision_at, color=color, linewidth=1.5, gid="decision")
    if label and plot.decision_label:
        right = plot.decision_at > plot.window[0] + 0.7 * (plot.window[1] - plot.window[0])
        ax.annotate(
            plot.decision_label,
            xy=(plot.decision_at, 1.0),
            xycoords=ax.get_xaxis_transform(),
            xytext=(-4 if right else 4, -4),
            textcoords="offset points",
            ha="right" if right else "left",
            va="top",
            fontsize=9,
            color=color,
            fontweight="bold",
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": color, "alpha": 0.9},
        )


def _draw(target: FigureBase, plot: ExecutionPlot) -> None:
    from matplotlib.ticker import PercentFormatter

    if plot.ab_test:
        top, bottom = target.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    else:
        top, bottom = target.subplots(1, 1), None
    target.suptitle(plot.title, fontsize=10)
    colors = {"baseline": BASELINE_COLOR, "candidate": CANDIDATE_COLOR}
    for role, line in plot.per_minute.items():
        top.plot(
            line.x,
            _nan(line.y),
            color=colors[role],
            alpha=0.35,
            linewidth=0.8,
            marker=".",
            markersize=3,
            label=line.label,
            gid=f"per-minute-{role}",
        )
    for role, line in plot.cumulative.items():
        top.plot(
            line.x,
            _nan(line.y),
            color=colors[role],
            linewidth=2,
            marker="o" if plot.ab_test and len(line.x) <= 60 else None,
            markersize=3,
            label=line.label,
            gid=f"cumulative-{role}",
        )
    if plot.kind == "rate":
        top.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=None))
    top.set_ylabel(plot.metric_label, fontsize=9)
    if plot.kind == "rate":
        top.set_ylim(bottom=0)
    low, high = top.get_ylim()
    top.set_ylim(low, high + 0.35 * (high - low))  # room for the legend and the decision's label
    top.grid(True, alpha=0.3)
    share = top.twinx()
    share.plot(
        plot.share.x,
        plot.share.y,
        drawstyle="steps-post",
        color=SHARE_COLOR,
        linestyle=":",
        linewidth=1.2,
        label=plot.share.label,
        gid="share",
    )
    share.set_ylim(0, 105)
    share.yaxis.set_major_formatter(PercentFormatter(xmax=100, decimals=0))
    share.set_ylabel("candidate share of traffic", fontsize=9, color=SHARE_COLOR)
    handles, labels = top.get_legend_handles_labels()
    more, more_labels = share.get_legend_handles_labels()
    top.legend(handles + more, labels + more_labels, loc="upper left", fontsize=8, ncol=2, framealpha=0.8)
    _decision_line(top, plot, label=True)
    _time_axis(top, plot.window)
    if bottom is not None and plot.effect is not None and plot.band is not None:
        x, effect = plot.effect.x, _nan(plot.effect.y)
        low, high = _nan(plot.band[0]), _nan(plot.band[1])
        level = f"{(plot.confidence or 0.95) * 100:g}%"
        bottom.fill_between(
            x, low, high, color=CANDIDATE_COLOR, alpha=0.2, label=f"{level} confidence sequence"
        )
        bottom.plot(
            x,
            effect,
            color=CANDIDATE_COLOR,
            marker="o" if len(x) <= 60 else None,
            markersize=3,
            label=plot.effect.label,
            gid="effect",
        )
        bottom.axhline(0, color="black", linewidth=0.8)
        mde = plot.mde or 0.0
        if mde:
            for sign in (1, -1):
                bottom.axhline(
                    sign * mde,
                    color=SHARE_COLOR,
                    linestyle="--",
                    linewidth=1,
                    label=f"\u00b1MDE ({mde * 100:g}%)" if sign > 0 else None,
                    gid=f"mde{'+' if sign > 0 else '-'}",
                )
        finite = [abs(v) for v in effect if not math.isnan(v)]
        last_band = [abs(v) for v in (low[-1:] + high[-1:]) if not math.isnan(v)]
        limit = max([3 * mde, 0.01] + [1.5 * v for v in finite] + [1.2 * v for v in last_band])
        bottom.set_ylim(-limit, limit)
        bottom.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=None))
        better = "higher" if plot.goal == "maximize" else "lower"
        bottom.set_ylabel(f"relative effect\n(candidate {better} is better)", fontsize=9)
        bottom.grid(True, alpha=0.3)
        bottom.legend(loc="upper left", fontsize=8, ncol=3, framealpha=0.8)
        _decision_line(bottom, plot, label=False)
        _time_axis(bottom, plot.window)
        bottom.set_xlabel("virtual time (h:mm)", fontsize=9)
    else:
        top.set_xlabel("virtual time (h:mm)", fontsize=9)


def figure(drawn: list[ExecutionPlot]) -> Figure:
    """One figure, a sub-figure per execution (or a note that nothing was judged)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    heights = [6.5 if plot.ab_test else 4.2 for plot in drawn] or [1.5]
    fig = Figure(figsize=(11, sum(heights)), layout="constrained")
    FigureCanvasAgg(fig)
    if not drawn:
        fig.text(0.5, 0.5, "No execution of this rehearsal judged a candidate: nothing to plot.", ha="center")
        return fig
    targets: list[FigureBase] = [fig]
    if len(drawn) > 1:
        grid: Any = fig.subfigures(len(drawn), 1, height_ratios=heights, squeeze=False)
        targets = list(grid.flat)
    for target, plot in zip(targets, drawn, strict=True):
        _draw(target, plot)
    return fig


def _png(drawn: list[ExecutionPlot]) -> bytes:
    buffer = io.BytesIO()
    figure(drawn).savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _estimate(plot: ExecutionPlot, value: Any) -> str:
    if value is None:
        return "-"
    return f"{value * 100:.2f}%" if plot.kind == "rate" else f"{value:.4g}"


def _signed(value: Any) -> str:
    return "-" if value is None else f"{value * 100:+.1f}%"


def _look_table(plot: ExecutionPlot) -> str:
    head = (
        "<tr><th>time</th><th>look</th><th>n baseline</th><th>n candidate</th><th>baseline</th>"
        "<th>candidate</th><th>effect</th><th>confidence sequence</th><th>p-value</th><th>decision</th></tr>"
    )
    rows = []
    for row in plot.looks:
        e = row.experiment
        interval = (
            f"[{_signed(e.get('relCiLow'))}, {_signed(e.get('relCiHigh'))}]"
            if e.get("relCiLow") is not None and e.get("relCiHigh") is not None
            else "-"
        )
        p = e.get("pValue")
        decision = str(e.get("decision") or row.verdict)
        if row.decision != "WAIT":
            decision += f" \u2192 {row.decision}"
        cells = [
            hms(row.at),
            str(row.look),
            f"{e.get('baselineSamples', 0):.0f}",
            f"{e.get('candidateSamples', 0):.0f}",
            _estimate(plot, e.get("baselineEstimate")),
            _estimate(plot, e.get("candidateEstimate")),
            _signed(e.get("relativeEffect")),
            interval,
            "-" if p is None else f"{p:.3g}",
            decision,
        ]
        rows.append(
            f"<tr{' class=decided' if row.decision != 'WAIT' else ''}>"
            + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
            + "</tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _verdict_table(plot: ExecutionPlot) -> str:
    head = (
        "<tr><th>time</th><th>step</th><th>candidate share</th><th>verdict</th><th>decision</th>"
        "<th>reasons</th></tr>"
    )
    rows = [
        "<tr>"
        + "".join(
            f"<td>{html.escape(c)}</td>"
            for c in (
                hms(v["at"]),
                str(v.get("step")),
                f"{v['percent']:g}%" if v.get("percent") is not None else "-",
                str(v.get("verdict")),
                str(v.get("decision")),
                "; ".join(v.get("reasons", [])),
            )
        )
        + "</tr>"
        for v in plot.verdicts
    ]
    return f"<table>{head}{''.join(rows)}</table>"


STYLE = (
    "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}"
    "img{max-width:100%;border:1px solid #ddd}"
    "table{border-collapse:collapse;font-size:13px;margin:0.5em 0 2em}"
    "th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "td:last-child,th:last-child{text-align:left}"
    "tr.decided{font-weight:bold;background:#f3f8ee}"
)


def _html(report: dict[str, Any], drawn: list[ExecutionPlot]) -> str:
    scenario = report.get("scenario") or {}
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(str(scenario.get('name', 'rehearsal')))}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(str(scenario.get('name', 'rehearsal')))}</h1>",
        f"<p>{html.escape(str(scenario.get('file', '')))}: "
        "virtual time (h:mm) from the start of the rehearsal.</p>",
    ]
    if not drawn:
        parts.append("<p>No execution of this rehearsal judged a candidate: nothing to plot.</p>")
    for plot in drawn:
        image = base64.b64encode(_png([plot])).decode("ascii")
        parts.append(f"<h2>{html.escape(plot.title.splitlines()[0])}</h2>")
        parts.append(f"<p>{html.escape(plot.title.splitlines()[-1])}</p>")
        parts.append(f'<img alt="{html.escape(plot.title)}" src="data:image/png;base64,{image}">')
        if plot.looks:
            parts.append(f"<h3>Looks ({len(plot.looks)})</h3>")
            parts.append(_look_table(plot))
        elif plot.verdicts:
            parts.append("<h3>Verdicts</h3>")
            parts.append(_verdict_table(plot))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_plot(report: dict[str, Any], path: Path) -> list[ExecutionPlot]:
    """Draw the judged executions of ``report`` into ``path`` (``.png`` or ``.html``); returns what
    was drawn."""
    suffix = path.suffix.lower()
    if suffix not in PLOT_SUFFIXES:
        raise ValueError(f"{path}: a plot is .png or .html")
    drawn = plots(report)
    if suffix == ".png":
        path.write_bytes(_png(drawn))
    else:
        path.write_text(_html(report, drawn), encoding="utf-8")
    return drawn
