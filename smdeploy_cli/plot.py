"""``smdeploy loadtest --plot FILE.png``: latency against offered load, the requirement, the knee.

Drawn with matplotlib's Agg backend (``Figure`` and ``FigureCanvasAgg``, no pyplot: no global state,
no display needed), imported only when a plot is asked for.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING

from smdeploy_cli.loadtest import MAX_FAILURE_SHARE, LoadTestResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PERCENTILES = (("p50", 50.0, "#4c72b0"), ("p90", 90.0, "#dd8452"), ("p99", 99.0, "#c44e52"))


def figure(result: LoadTestResult) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    fig = Figure(figsize=(9, 5.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    rates = [s.offered_rps for s in result.steps]
    latencies: list[float] = []
    for label, percentile, color in PERCENTILES:
        values = [s.percentile_ms(percentile) for s in result.steps]
        points = [(r, v) for r, v in zip(rates, values, strict=True) if v is not None]
        if points:
            latencies += [v for _, v in points]
            ax.plot(*zip(*points, strict=True), marker="o", label=label, color=color)
    maxima = [(r, s.max_ms()) for r, s in zip(rates, result.steps, strict=True) if s.max_ms() is not None]
    if maxima:
        ax.plot(*zip(*maxima, strict=True), linestyle=":", marker=".", color="#8c8c8c", label="max")
        latencies += [v for _, v in maxima if v is not None]
    ax.axhline(result.p99_ms, color="#c44e52", linestyle="--", linewidth=1)
    ax.annotate(
        f"requirement: p99 <= {result.p99_ms:g} ms",
        xy=(0.01, result.p99_ms),
        xycoords=("axes fraction", "data"),
        xytext=(0, 4),
        textcoords="offset points",
        color="#c44e52",
        fontsize=9,
    )
    positive = [v for v in latencies if v > 0] + [result.p99_ms]
    if max(positive) / min(positive) > 50:
        ax.set_yscale("log")
    knee = result.knee
    if knee.rps is not None:
        ax.axvline(knee.rps, color="black", linewidth=1.2)
        right_half = knee.rps > (rates[0] + rates[-1]) / 2  # label on the side with room
        ax.annotate(
            f"knee ~ {knee.rps:.1f} req/s",
            xy=(knee.rps, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(-4 if right_half else 4, -14),
            ha="right" if right_half else "left",
            textcoords="offset points",
            fontsize=9,
        )
    handles, labels = ax.get_legend_handles_labels()
    failures = [s.failure_share for s in result.steps]
    if any(failures):
        share = ax.twinx()
        width = min((b - a for a, b in itertools.pairwise(rates)), default=rates[0]) * 0.35
        bars = share.bar(rates, failures, width=width, color="#c44e52", alpha=0.2)
        share.axhline(MAX_FAILURE_SHARE, color="#c44e52", linestyle=":", linewidth=1)
        share.yaxis.set_major_formatter(PercentFormatter(1.0))
        share.set_ylim(0, max(4 * MAX_FAILURE_SHARE, max(failures) * 3))  # bars in the lower third
        share.set_ylabel("failed requests (errors, throttles, timeouts)")
        handles.append(bars.patches[0])
        labels.append("failed share (1 % limit dotted)")
    ax.set_xlabel("offered load (requests per second)")
    ax.set_ylabel("latency of successful answers (ms)")
    ax.set_title(f"{result.endpoint}: latency against load ({result.plan.step_seconds:g} s per step)")
    ax.grid(True, alpha=0.3)
    ax.legend(handles, labels, loc="upper left", fontsize=9)
    return fig


def write_load_plot(result: LoadTestResult, path: Path) -> None:
    figure(result).savefig(path, format="png", dpi=100)
