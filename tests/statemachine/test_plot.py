"""``smdeploy simulate SCENARIO --plot FILE``: a figure per judged rollout, PNG or HTML.

The A/B panels are checked on a synthetic report (the data handed to matplotlib and the artists
drawn, not pixels); the canary figure end to end on ``scenarios/canary-promote.yaml``.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from localcloud.scenario.plot import MAX_POINTS, ExecutionPlot, figure, plots, write_plot
from tests.statemachine.helpers import run_cli

REPO = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"
SHIFT, DECIDED = 3630.0, 6120.0  # 01:00:30 and 01:42:00
LOOK_TIMES = [3720.0 + 300 * i for i in range(9)]  # every 5 minutes; the 9th (01:42:00) decides


def smdeploy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localcloud.cli", *args], capture_output=True, text=True, cwd=REPO, check=False
    )


def state(look: int, decision: str = "CONTINUE") -> dict[str, Any]:
    n = 1500.0 * look
    return {
        "looks": look,
        "pValue": max(0.01, 1.0 / look**2),
        "decision": decision,
        "baselineSamples": n,
        "candidateSamples": n + 10,
        "baselineEstimate": 0.030 + 0.001 / look,
        "candidateEstimate": 0.034,
        "effect": 0.004,
        "relativeEffect": 0.10 + 0.01 * look,
        "ciLow": None if look == 1 else -0.01 / look,
        "ciHigh": None if look == 1 else 0.02,
        "relCiLow": None if look == 1 else -0.3 / look,
        "relCiHigh": None if look == 1 else 0.6 / look + 0.1,
        "srmPValue": 0.8,
        "test": "mSPRT",
        "summary": f"look {look}: Conversion ...: {decision}",
    }


def ab_report(*, decided: bool = True, minutes: int = 60, mean: bool = False) -> dict[str, Any]:
    """The report of a 50/50 A/B test on Conversion: 9 looks, the candidate wins at the last."""
    verdicts: list[dict[str, Any]] = []
    for i, at in enumerate(LOOK_TIMES, start=1):
        last = i == len(LOOK_TIMES)
        if last and not decided:
            break
        experiment = state(i, "CANDIDATE_WINS" if last else "CONTINUE")
        verdicts.append(
            {
                "at": at,
                "step": 1,
                "percent": 50.0,
                "verdict": "CANDIDATE_WINS" if last else "TESTING",
                "decision": "PROMOTE" if last else "WAIT",
                "reasons": [experiment["summary"]],
                "look": i,
                "experiment": experiment,
            }
        )
    end = DECIDED + 300 if decided else LOOK_TIMES[-2] + 120
    rows = {
        # [minute start, samples, successes, value]: 1000 requests a minute, 30 or 36 conversions
        "baseline": [[3600.0 + 60 * m, 1000, 30.0 + m % 3, (30.0 + m % 3) / 1000] for m in range(minutes)],
        "candidate": [[3600.0 + 60 * m, 1000, 36.0, 0.036] for m in range(minutes)],
    }
    metric = {
        "label": "Conversion",
        "namespace": "churn/business",
        "metricName": "Conversion",
        "statistic": "rate",
        "kind": "rate",
        "goal": "maximize",
    }
    if mean:
        metric = {
            "label": "latencyP99",
            "namespace": "AWS/SageMaker",
            "metricName": "ModelLatency",
            "statistic": "p99",
            "kind": "mean",
            "goal": "minimize",
        }
        for role, ms in (("baseline", 80.0), ("candidate", 70.0)):
            rows[role] = [[start, 1000, 0.0, ms + (i % 5)] for i, (start, *_rest) in enumerate(rows[role])]
            for verdict in verdicts:
                verdict["experiment"][f"{role}Estimate"] = ms + 2
    return {
        "scenario": {"name": "an A/B test", "file": "scenarios/ab.yaml"},
        "executions": [
            {"name": "exec-0002", "status": "SUCCEEDED" if decided else "ABORTED", "verdicts": verdicts}
        ],
        "weightChanges": [
            {
                "at": 480.0,
                "endpoint": "churn-prod",
                "weights": {"churn-v1": 1.0},
                "packages": {"churn-v1": "churn/1"},
            },
            {
                "at": SHIFT,
                "endpoint": "churn-prod",
                "weights": {"churn-v1": 0.5, "churn-v2": 0.5},
                "packages": {"churn-v1": "churn/1", "churn-v2": "churn/2"},
            },
            {"at": DECIDED + 300, "endpoint": "churn-prod", "weights": {"churn-v2": 1.0}, "packages": {}},
        ],
        "judgedSeries": [
            {
                "execution": "exec-0002",
                "endpoint": "churn-prod",
                "strategy": "ab-test",
                "steps": [50.0],
                "baselineVariant": "churn-v1",
                "candidateVariant": "churn-v2",
                "candidatePackage": "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/2",
                "metric": metric,
                "experiment": {
                    "split": 50,
                    "minimumDetectableEffect": 0.05,
                    "confidence": 0.95,
                    "onWinner": "promote",
                },
                "shiftedAt": SHIFT,
                "window": [3600.0, end],
                "minutes": rows,
            }
        ],
    }


def artists(plot: ExecutionPlot) -> dict[str, list[Any]]:
    """gid -> the line artists drawn with it, over every axis of the figure."""
    found: dict[str, list[Any]] = {}
    for ax in figure([plot]).axes:
        for line in ax.lines:
            if line.get_gid():
                found.setdefault(str(line.get_gid()), []).append(line)
    return found


def test_an_ab_test_is_drawn_with_its_effect_band_and_the_decision_at_the_decisive_look(
    tmp_path: Path,
) -> None:
    report = ab_report()

    (plot,) = write_plot(report, tmp_path / "ab.png")

    assert (tmp_path / "ab.png").read_bytes().startswith(PNG)
    assert plot.ab_test
    assert plot.decision_at == DECIDED
    assert plot.decision_label == "CANDIDATE_WINS \u2192 PROMOTE at 01:42:00"
    assert plot.title.startswith("churn-prod: churn/1 (baseline) vs churn/2 (candidate)")
    # top: per-minute Sum / SampleCount, and the estimates the test saw at each look
    assert plot.per_minute["candidate"].y == [0.036] * 60
    assert plot.per_minute["baseline"].y[:3] == [0.030, 0.031, 0.032]
    assert plot.cumulative["baseline"].x == LOOK_TIMES
    assert plot.cumulative["candidate"].y == [0.034] * 9
    # the candidate's share: 0 until the split, 50 % during the test, 100 % once promoted
    assert list(zip(plot.share.x, plot.share.y, strict=True)) == [
        (3600.0, 0.0),
        (SHIFT, 50.0),
        (DECIDED + 300, 50.0),
    ]
    # bottom: the relative effect at every look, its confidence sequence (none at the first look), +-MDE
    assert plot.effect is not None and plot.band is not None
    assert plot.effect.x == LOOK_TIMES
    assert plot.effect.y == [state(i)["relativeEffect"] for i in range(1, 10)]
    assert plot.band[0][0] is None and plot.band[1][-1] == pytest.approx(0.6 / 9 + 0.1)
    assert plot.mde == 0.05
    drawn = artists(plot)
    assert [list(line.get_xdata()) for line in drawn["decision"]] == [[DECIDED, DECIDED]] * 2  # both panels
    assert list(drawn["mde+"][0].get_ydata()) == [0.05, 0.05]
    assert list(drawn["mde-"][0].get_ydata()) == [-0.05, -0.05]
    assert list(drawn["effect"][0].get_xdata()) == LOOK_TIMES


def test_the_html_page_embeds_the_figure_and_tables_every_look(tmp_path: Path) -> None:
    path = tmp_path / "ab.html"

    write_plot(ab_report(), path)

    page = path.read_text()
    image = re.search(r'src="data:image/png;base64,([^"]+)"', page)
    assert image is not None and base64.b64decode(image.group(1)).startswith(PNG)
    assert "<script" not in page and "http" not in page  # self-contained
    rows = re.findall(r"<tr[ >].*?</tr>", page)
    assert len(rows) == 1 + 9  # the header and one row per look
    assert "<th>n baseline</th>" in rows[0] and "<th>confidence sequence</th>" in rows[0]
    decided = rows[-1]
    assert "class=decided" in decided and "01:42:00" in decided and "CANDIDATE_WINS \u2192 PROMOTE" in decided
    # look 9: n 13500/13510, estimates, effect +19.0%, CS [-3.3%, +16.7%], p 0.0123
    for cell in ("13500", "13510", "3.01%", "3.40%", "+19.0%", "[-3.3%, +16.7%]", "0.0123"):
        assert f"<td>{cell}</td>" in decided


def test_a_test_without_a_decision_has_no_decision_line(tmp_path: Path) -> None:
    (plot,) = write_plot(ab_report(decided=False), tmp_path / "ab.png")

    assert plot.decision_at is None and plot.decision_label is None
    assert "no decision (execution ABORTED)" in plot.title
    assert "decision" not in artists(plot)
    assert len(plot.looks) == 8


def test_a_mean_metric_is_drawn_per_minute_in_its_unit(tmp_path: Path) -> None:
    (plot,) = write_plot(ab_report(mean=True), tmp_path / "ab.png")

    assert plot.kind == "mean" and plot.goal == "minimize"
    assert plot.metric_label == "latencyP99 (p99 per minute, ms)"
    assert plot.per_minute["candidate"].y[:5] == [70.0, 71.0, 72.0, 73.0, 74.0]
    assert plot.cumulative["baseline"].y == [82.0] * 9  # the look's estimate: the mean of the minutes


def test_a_long_test_is_drawn_in_buckets_of_minutes_pooled_as_rates() -> None:
    (plot,) = plots(ab_report(minutes=3 * 24 * 60))

    assert plot.bucket_minutes == 6
    assert len(plot.per_minute["baseline"].x) <= MAX_POINTS
    assert plot.per_minute["baseline"].label == "baseline per 6 minutes"
    # six minutes of 30, 31, 32, 30, 31, 32 conversions out of 6000 requests
    assert plot.per_minute["baseline"].y[0] == pytest.approx(186 / 6000)
    assert plot.per_minute["baseline"].x[0] == 3600.0 + 180.0  # the middle of the bucket


def test_a_figure_draws_every_judged_execution(tmp_path: Path) -> None:
    report = ab_report(minutes=24 * 60)
    report["executions"].append({**report["executions"][0], "name": "exec-0003"})
    report["judgedSeries"].append({**report["judgedSeries"][0], "execution": "exec-0003"})

    drawn = write_plot(report, tmp_path / "two.png")

    assert [p.execution for p in drawn] == ["exec-0002", "exec-0003"]
    assert (tmp_path / "two.png").read_bytes().startswith(PNG)


def test_nothing_judged_still_writes_a_file_that_says_so(tmp_path: Path) -> None:
    report = {"scenario": {"name": "first deploy", "file": "x.yaml"}, "executions": [], "judgedSeries": []}

    assert write_plot(report, tmp_path / "none.png") == []
    assert write_plot(report, tmp_path / "none.html") == []

    assert (tmp_path / "none.png").read_bytes().startswith(PNG)
    assert "nothing to plot" in (tmp_path / "none.html").read_text()


@pytest.mark.parametrize("name", ["out.pdf", "out", "out.svg"])
def test_the_plot_option_takes_png_or_html_only(tmp_path: Path, name: str) -> None:
    done = smdeploy("simulate", "scenarios/canary-promote.yaml", "--plot", str(tmp_path / name))

    assert done.returncode == 2
    assert "argument --plot" in done.stderr and "must end in .png or .html" in done.stderr
    assert done.stdout == ""  # refused before rehearsing
    assert not (tmp_path / name).exists()


def test_the_plot_option_needs_a_directory_that_exists(tmp_path: Path) -> None:
    done = smdeploy("simulate", "scenarios/canary-promote.yaml", "--plot", str(tmp_path / "no" / "x.png"))

    assert done.returncode == 2
    assert "argument --plot" in done.stderr and "no directory" in done.stderr


def test_canary_promote_is_plotted_end_to_end(tmp_path: Path) -> None:
    png, report_file = tmp_path / "canary.png", tmp_path / "report.json"

    done = run_cli(
        "simulate",
        "scenarios/canary-promote.yaml",
        "--json",
        "--report",
        str(report_file),
        "--plot",
        str(png),
    )

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # stdout holds the JSON document alone
    assert f"Plot: {png} (1 judged execution" in done.stderr
    assert png.read_bytes().startswith(PNG)
    (judged,) = report["judgedSeries"]  # exec-0001 was a first deploy: nothing judged
    assert judged["execution"] == "exec-0002"
    assert judged["metric"]["metricName"] == "Invocation5XXErrors" and judged["experiment"] is None
    variants = {v["name"] for v in report["endpoints"]["churn-prod"]["variants"]}
    assert variants == {judged["candidateVariant"]}  # promoted: the candidate alone serves
    # minutes: [start, requests, errors, errors / requests]; the candidate served from the shift on
    candidate = judged["minutes"]["candidate"]
    assert candidate and all(row[0] + 60 > judged["shiftedAt"] for row in candidate)
    assert all(row[3] == row[2] / row[1] for row in candidate)
    assert sum(row[1] for row in judged["minutes"]["baseline"]) > sum(row[1] for row in candidate)

    (plot,) = plots(report)
    promote = next(v for v in report["executions"][1]["verdicts"] if v["decision"] == "PROMOTE")
    assert not plot.ab_test and plot.effect is None
    assert plot.decision_at == promote["at"] == 5340.0
    assert plot.decision_label == "HEALTHY \u2192 PROMOTE at 01:29:00"
    assert "canary 10% -> 50%" in plot.title
    # 10 %, then 50 %; the candidate-only config (100 %) comes at the very end of the execution
    assert sorted({share or 0.0 for share in plot.share.y}) == [0.0, 10.0, 50.0]
    assert [list(line.get_xdata()) for line in artists(plot)["decision"]] == [[5340.0, 5340.0]]

    # the same report as a page: the figure and the canary's verdicts
    write_plot(json.loads(report_file.read_text()), tmp_path / "canary.html")
    page = (tmp_path / "canary.html").read_text()
    assert "data:image/png;base64," in page
    assert "<td>01:17:00</td><td>1</td><td>10%</td><td>HEALTHY</td><td>NEXT_STEP</td>" in page
    assert "<td>01:29:00</td><td>2</td><td>50%</td><td>HEALTHY</td><td>PROMOTE</td>" in page


AB_SCENARIO = REPO / "scenarios" / "ab-test-candidate-wins.yaml"


@pytest.mark.skipif(not AB_SCENARIO.exists(), reason="no A/B test scenario in the repository")
def test_an_ab_test_scenario_is_plotted_with_every_look(tmp_path: Path) -> None:
    from localcloud.scenario.contract import load_scenario
    from localcloud.scenario.runner import Runner

    report = Runner(load_scenario(AB_SCENARIO), AB_SCENARIO).run().report

    (plot,) = write_plot(report, tmp_path / "ab.html")
    looks = [v for v in report["executions"][1]["verdicts"] if "look" in v]
    assert plot.ab_test and looks
    assert [row.look for row in plot.looks] == list(range(1, len(looks) + 1))
    assert plot.effect is not None and plot.effect.x == [v["at"] for v in looks]
    assert plot.decision_at == next(v["at"] for v in looks if v["decision"] != "WAIT")
    assert len(re.findall(r"<tr[ >]", (tmp_path / "ab.html").read_text())) == 1 + len(looks)
