"""``smdeploy loadtest``: an open-loop load generator for a SageMaker real-time endpoint.

It offers a rising load, step by step (``--ramp FROM:TO:STEP`` or ``--steps 10,20,40,80`` requests
per second, ``--step-seconds`` each), and finds the throughput at which the latency requirement
(``--p99-ms``) breaks.

Open loop: requests leave at their due times (evenly spaced within a step) whatever the endpoint
does; a slow answer never delays the next request. With the real clock the sends come from one
thread and the answers are awaited on a pool of threads; an answer that could not even start on time
(every thread of the pool busy) is charged the wait, so its latency counts from its due time and a
saturated generator cannot hide a slow endpoint ("coordinated omission"). In a rehearsal the clock
is the local cloud's virtual one and each request is answered at once, at its send time.

Per step: an HDR histogram of the latencies of successful answers (p50/p90/p99/max), the counts of
errors (5XX, ``ModelError``), throttles (429, ``ThrottlingException``) and timeouts, the achieved
throughput (successful answers per second of the step). A step meets the requirement when its p99 is
within ``--p99-ms`` and at most 1 % of its requests failed (error, throttle or timeout). Between two
steps the generator waits for the last answers of the first, so that each step is judged on its own;
by default it stops after the first step that breaks the requirement (``--keep-going`` runs them all).

The knee: the offered load at which the requirement breaks, interpolated linearly between the last
step that meets it and the first that does not, on the measure that broke (p99 against ``--p99-ms``,
or the failure share against 1 %); when both broke, the lower of the two crossings.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol

Outcome = Literal["ok", "error", "throttled", "timeout"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "error", "throttled", "timeout")

MAX_FAILURE_SHARE = 0.01  # a step with more failed requests than this breaks the requirement
# The histogram's range and precision: 1 us to 1 h, 3 significant digits (0.1 % of any value).
LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS = 1, 3_600_000_000, 3
DEFAULT_STEP_SECONDS = 30.0
DEFAULT_WORKERS = 256
# SageMaker answers a real-time request within 60 s or fails it (ModelError, "Your invocation timed
# out while waiting for a response from container"); the client waits a little longer than that.
DEFAULT_TIMEOUT_SECONDS = 65.0
# Error codes SageMaker Runtime answers when it sheds load (ModelNotReadyException is its 429).
THROTTLE_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "ModelNotReadyException"}
)


@dataclass(frozen=True)
class Answer:
    """One request's answer: its latency and what came back (``code``: the error code, if any)."""

    latency_ms: float
    outcome: Outcome
    code: str | None = None


class Invoker(Protocol):
    """Sends one request to the endpoint and says how it went."""

    def invoke(self) -> Answer: ...


class LoadTestAborted(Exception):
    """The endpoint refuses the requests themselves (no such endpoint, access denied, a request it
    cannot accept): sending more would measure nothing."""


# --- the plan ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadPlan:
    """Offered load per step (requests per second), each step ``step_seconds`` long."""

    rates: tuple[float, ...]
    step_seconds: float = DEFAULT_STEP_SECONDS

    def __post_init__(self) -> None:
        if not self.rates:
            raise ValueError("the plan has no step")
        if not math.isfinite(self.step_seconds) or self.step_seconds <= 0:
            raise ValueError(f"step seconds must be a positive number, not {self.step_seconds:g}")
        for rate in self.rates:
            if not math.isfinite(rate) or rate <= 0:
                raise ValueError(f"requests per second must be positive numbers, not {rate:g}")
            if rate * self.step_seconds < 1:
                raise ValueError(
                    f"{rate:g} requests/s for {self.step_seconds:g} s is less than one request: "
                    "raise --step-seconds"
                )
        for low, high in zip(self.rates, self.rates[1:], strict=False):
            if high <= low:
                raise ValueError(
                    f"the steps must rise ({low:g} then {high:g} requests/s): "
                    "the knee is read off a rising load"
                )

    def requests(self, index: int) -> int:
        """How many requests step ``index`` sends."""
        return max(1, round(self.rates[index] * self.step_seconds))

    def offsets(self, index: int) -> list[float]:
        """When step ``index`` sends its requests: seconds from the step's start, evenly spaced."""
        rate = self.rates[index]
        return [k / rate for k in range(self.requests(index))]

    @property
    def total_requests(self) -> int:
        return sum(self.requests(i) for i in range(len(self.rates)))


def parse_ramp(text: str) -> tuple[float, ...]:
    """``FROM:TO:STEP`` requests per second, ``TO`` included: ``10:50:10`` is 10, 20, 30, 40, 50."""
    parts = text.split(":")
    if len(parts) != 3:
        raise ValueError(f"{text!r}: a ramp is FROM:TO:STEP requests per second, e.g. 10:100:10")
    try:
        low, high, step = (float(p) for p in parts)
    except ValueError:
        raise ValueError(f"{text!r}: FROM, TO and STEP must be numbers") from None
    if not all(math.isfinite(v) for v in (low, high, step)) or low <= 0 or step <= 0 or high < low:
        raise ValueError(f"{text!r}: needs 0 < FROM <= TO and STEP > 0")
    count = math.floor((high - low) / step + 1e-9) + 1
    if count > 1000:
        raise ValueError(f"{text!r}: {count} steps; at most 1000")
    return tuple(round(low + i * step, 9) for i in range(count))


def parse_steps(text: str) -> tuple[float, ...]:
    """``10,20,40,80``: requests per second of each step."""
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(
            f"{text!r}: steps are requests per second separated by commas, e.g. 10,20,40"
        ) from None


# --- clocks --------------------------------------------------------------------------------------


class Clock(Protocol):
    """When requests leave and where their answers are awaited."""

    def now(self) -> float: ...

    def wait_until(self, when: float) -> None: ...

    def dispatch(self, call: Callable[[], Answer], due: float) -> Future[Answer]: ...

    def close(self) -> None: ...


class RealClock:
    """Wall time (``time.monotonic``): sends from the caller's thread at their due times, answers
    awaited on a pool of ``workers`` threads. A request that starts after its due time (the pool was
    busy) has the delay added to its latency."""

    def __init__(
        self,
        workers: int = DEFAULT_WORKERS,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._monotonic, self._sleep = monotonic, sleep
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="loadtest")

    def now(self) -> float:
        return self._monotonic()

    def wait_until(self, when: float) -> None:
        delay = when - self._monotonic()
        if delay > 0:
            self._sleep(delay)

    def dispatch(self, call: Callable[[], Answer], due: float) -> Future[Answer]:
        def timed() -> Answer:
            late_ms = max(0.0, self._monotonic() - due) * 1000.0
            answer = call()
            return replace(answer, latency_ms=answer.latency_ms + late_ms)

        return self._pool.submit(timed)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class VirtualClock:
    """Virtual time: each request is answered at once, at its send time. ``advance`` (a rehearsal's)
    moves the simulated world to a send time before the request leaves."""

    def __init__(self, start: float = 0.0, advance: Callable[[float], None] | None = None) -> None:
        self._now = start
        self._advance = advance

    def now(self) -> float:
        return self._now

    def wait_until(self, when: float) -> None:
        if when > self._now:
            if self._advance is not None:
                self._advance(when)
            self._now = when

    def dispatch(self, call: Callable[[], Answer], due: float) -> Future[Answer]:
        future: Future[Answer] = Future()
        try:
            future.set_result(call())
        except BaseException as exc:  # handed to whoever reads the future, as a pool would
            future.set_exception(exc)
        return future

    def close(self) -> None:
        pass


# --- what a step measured ------------------------------------------------------------------------


def _histogram() -> Any:
    from hdrh.histogram import HdrHistogram

    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


@dataclass
class StepStats:
    """What one step measured. Latency percentiles are of the successful answers."""

    index: int
    offered_rps: float
    seconds: float
    sent: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    histogram: Any = field(default_factory=_histogram)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, answer: Answer) -> None:
        with self._lock:
            self.counts[answer.outcome] += 1
            if answer.code:
                self.codes[answer.code] += 1
            if answer.outcome == "ok":
                micros = min(HIGHEST_US, max(LOWEST_US, round(answer.latency_ms * 1000.0)))
                self.histogram.record_value(micros)

    @property
    def answered(self) -> int:
        return sum(self.counts[o] for o in OUTCOMES)

    @property
    def failed(self) -> int:
        return self.counts["error"] + self.counts["throttled"] + self.counts["timeout"]

    @property
    def failure_share(self) -> float:
        return self.failed / self.sent if self.sent else 0.0

    @property
    def achieved_rps(self) -> float:
        return self.counts["ok"] / self.seconds

    def percentile_ms(self, percentile: float) -> float | None:
        if self.histogram.get_total_count() == 0:
            return None
        return float(self.histogram.get_value_at_percentile(percentile)) / 1000.0

    def max_ms(self) -> float | None:
        if self.histogram.get_total_count() == 0:
            return None
        return float(self.histogram.get_max_value()) / 1000.0

    def meets(self, p99_ms: float, max_failure_share: float = MAX_FAILURE_SHARE) -> bool:
        p99 = self.percentile_ms(99)
        return p99 is not None and p99 <= p99_ms and self.failure_share <= max_failure_share

    def why_not(self, p99_ms: float, max_failure_share: float = MAX_FAILURE_SHARE) -> str | None:
        """Why the step breaks the requirement, or None when it meets it."""
        reasons = []
        p99 = self.percentile_ms(99)
        if p99 is None:
            reasons.append("no successful answer")
        elif p99 > p99_ms:
            reasons.append(f"p99 {p99:.1f} ms > {p99_ms:g} ms")
        if self.failure_share > max_failure_share:
            reasons.append(f"{self.failure_share:.1%} failed > {max_failure_share:.0%}")
        return "; ".join(reasons) or None

    def to_json(self, p99_ms: float) -> dict[str, Any]:
        def ms(value: float | None) -> float | None:
            return None if value is None else round(value, 3)

        return {
            "offeredRps": self.offered_rps,
            "seconds": self.seconds,
            "sent": self.sent,
            "ok": self.counts["ok"],
            "errors": self.counts["error"],
            "throttled": self.counts["throttled"],
            "timeouts": self.counts["timeout"],
            "failureShare": round(self.failure_share, 6),
            "achievedRps": round(self.achieved_rps, 3),
            "latencyMs": {
                "p50": ms(self.percentile_ms(50)),
                "p90": ms(self.percentile_ms(90)),
                "p99": ms(self.percentile_ms(99)),
                "max": ms(self.max_ms()),
            },
            "errorCodes": dict(sorted(self.codes.items())),
            "meetsRequirement": self.meets(p99_ms),
            "breaks": self.why_not(p99_ms),
        }


# --- the knee ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Knee:
    """Where the requirement breaks. ``rps`` is None when no step broke it (``not-reached``) or the
    first step already did (``below-first-step``)."""

    found: Literal["between", "below-first-step", "not-reached"]
    rps: float | None
    last_good_rps: float | None
    first_bad_rps: float | None
    breaks_on: str | None  # "p99", "failures" or "p99+failures"
    method: str

    def to_json(self) -> dict[str, Any]:
        return {
            "found": self.found,
            "rps": None if self.rps is None else round(self.rps, 3),
            "lastGoodRps": self.last_good_rps,
            "firstBadRps": self.first_bad_rps,
            "breaksOn": self.breaks_on,
            "method": self.method,
        }

    def sentence(self) -> str:
        if self.found == "between":
            assert self.rps is not None
            return f"The requirement breaks at about {self.rps:.1f} requests/s: {self.method}."
        return f"{self.method[0].upper()}{self.method[1:]}."


def _crossing(x0: float, y0: float, x1: float, y1: float, limit: float) -> float:
    """Where the line through (x0, y0) and (x1, y1) reaches ``limit``, kept between x0 and x1."""
    if y1 <= y0:
        return x1
    share = min(1.0, max(0.0, (limit - y0) / (y1 - y0)))
    return x0 + share * (x1 - x0)


def find_knee(
    steps: Sequence[StepStats], p99_ms: float, max_failure_share: float = MAX_FAILURE_SHARE
) -> Knee:
    """The offered load at which the requirement breaks (see the module's docstring)."""
    if not steps:
        return Knee("not-reached", None, None, None, None, "no step was run")
    bad_index = next((i for i, s in enumerate(steps) if not s.meets(p99_ms, max_failure_share)), None)
    if bad_index is None:
        last = steps[-1]
        return Knee(
            "not-reached",
            None,
            last.offered_rps,
            None,
            None,
            f"every step met the requirement, up to {last.offered_rps:g} requests/s: the knee lies higher",
        )
    bad = steps[bad_index]
    reason = bad.why_not(p99_ms, max_failure_share)
    if bad_index == 0:
        return Knee(
            "below-first-step",
            None,
            None,
            bad.offered_rps,
            None,
            f"the first step, {bad.offered_rps:g} requests/s, already breaks the requirement ({reason}): "
            "the knee lies lower",
        )
    good = steps[bad_index - 1]
    crossings: list[tuple[float, str, str]] = []
    good_p99, bad_p99 = good.percentile_ms(99), bad.percentile_ms(99)
    if bad_p99 is not None and bad_p99 > p99_ms and good_p99 is not None:
        at = _crossing(good.offered_rps, good_p99, bad.offered_rps, bad_p99, p99_ms)
        crossings.append(
            (
                at,
                "p99",
                f"p99 crosses {p99_ms:g} ms between {good.offered_rps:g} requests/s (p99 {good_p99:.1f} ms) "
                f"and {bad.offered_rps:g} requests/s (p99 {bad_p99:.1f} ms), interpolated linearly",
            )
        )
    if bad.failure_share > max_failure_share:
        at = _crossing(
            good.offered_rps, good.failure_share, bad.offered_rps, bad.failure_share, max_failure_share
        )
        crossings.append(
            (
                at,
                "failures",
                f"the failed share crosses {max_failure_share:.0%} between {good.offered_rps:g} requests/s "
                f"({good.failure_share:.1%}) and {bad.offered_rps:g} requests/s ({bad.failure_share:.1%}), "
                "interpolated linearly",
            )
        )
    if not crossings:  # no successful answer at the bad step and no failure counted: cannot happen
        crossings.append((bad.offered_rps, "p99", f"{bad.offered_rps:g} requests/s broke it ({reason})"))
    at, on, method = min(crossings)
    both = {c[1] for c in crossings}
    return Knee(
        "between",
        at,
        good.offered_rps,
        bad.offered_rps,
        "p99+failures" if len(both) == 2 else on,
        method,
    )


# --- the run -------------------------------------------------------------------------------------


@dataclass
class LoadTestResult:
    endpoint: str
    plan: LoadPlan
    p99_ms: float
    steps: list[StepStats]
    knee: Knee
    stopped_early: bool
    wall_seconds: float
    clock_seconds: float  # on the test's clock: virtual seconds in a rehearsal

    def to_json(self) -> dict[str, Any]:
        good = [s for s in self.steps if s.meets(self.p99_ms)]
        return {
            "endpoint": self.endpoint,
            "requirement": {"p99LatencyMs": self.p99_ms, "maxFailureShare": MAX_FAILURE_SHARE},
            "plan": {"ratesRps": list(self.plan.rates), "stepSeconds": self.plan.step_seconds},
            "steps": [s.to_json(self.p99_ms) for s in self.steps],
            "knee": self.knee.to_json(),
            "maxGoodRps": round(max(s.achieved_rps for s in good), 3) if good else None,
            "stoppedEarly": self.stopped_early,
            "requests": sum(s.sent for s in self.steps),
            "clockSeconds": round(self.clock_seconds, 3),
            "wallSeconds": round(self.wall_seconds, 3),
        }


def run_load(
    invoker: Invoker,
    plan: LoadPlan,
    *,
    p99_ms: float,
    clock: Clock | None = None,
    endpoint: str = "",
    keep_going: bool = False,
    progress: bool = False,
) -> LoadTestResult:
    """Offer ``plan`` to ``invoker`` on ``clock`` (default: the real one) and measure each step.

    Raises :class:`LoadTestAborted` as soon as an answer says the requests themselves are refused.
    """
    from tqdm import tqdm

    clock = clock or RealClock()
    wall_start = time.perf_counter()
    steps: list[StepStats] = []
    aborted: list[BaseException] = []
    stopped_early = False
    bar = tqdm(total=plan.total_requests, unit="req", disable=not progress, leave=False, dynamic_ncols=True)
    start = clock.now()
    try:
        step_start = start
        for index, rate in enumerate(plan.rates):
            stats = StepStats(index, rate, plan.step_seconds)
            steps.append(stats)
            bar.set_description(f"step {index + 1}/{len(plan.rates)}: {rate:g} req/s offered")
            pending: list[Future[Answer]] = []

            def settle(future: Future[Answer], stats: StepStats = stats) -> None:
                error = future.exception()
                if error is not None:
                    aborted.append(error)
                else:
                    stats.record(future.result())

            for offset in plan.offsets(index):
                if aborted:
                    break
                due = step_start + offset
                clock.wait_until(due)
                future = clock.dispatch(invoker.invoke, due)
                stats.sent += 1
                future.add_done_callback(settle)
                pending.append(future)
                bar.update(1)
            step_start += plan.step_seconds
            clock.wait_until(step_start)
            wait_all(pending)  # the step's last answers: each step is judged on its own
            if aborted:
                raise aborted[0]
            p99 = stats.percentile_ms(99)
            bar.set_postfix_str(f"p99 {p99:.1f} ms" if p99 is not None else "no answer")
            if not keep_going and not stats.meets(p99_ms) and index < len(plan.rates) - 1:
                stopped_early = True
                break
    finally:
        bar.close()
        clock.close()
    return LoadTestResult(
        endpoint=endpoint,
        plan=plan,
        p99_ms=p99_ms,
        steps=steps,
        knee=find_knee(steps, p99_ms),
        stopped_early=stopped_early,
        wall_seconds=time.perf_counter() - wall_start,
        clock_seconds=clock.now() - start,
    )


# --- the text report -----------------------------------------------------------------------------


def render(result: LoadTestResult) -> str:
    """A table per step, then the knee."""

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    plan = result.plan
    lines = [
        f"Load test of {result.endpoint}: {len(result.steps)} of {len(plan.rates)} steps of "
        f"{plan.step_seconds:g} s, requirement p99 <= {result.p99_ms:g} ms with at most "
        f"{MAX_FAILURE_SHARE:.0%} of requests failed",
        "",
    ]
    header = (
        f"{'offered/s':>9} {'sent':>7} {'ok':>7} {'errors':>6} {'throttled':>9} {'timeouts':>8} "
        f"{'achieved/s':>10} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}  verdict"
    )
    lines += [header, "-" * len(header)]
    for s in result.steps:
        why = s.why_not(result.p99_ms)
        lines.append(
            f"{s.offered_rps:>9g} {s.sent:>7} {s.counts['ok']:>7} {s.counts['error']:>6} "
            f"{s.counts['throttled']:>9} {s.counts['timeout']:>8} {s.achieved_rps:>10.1f} "
            f"{ms(s.percentile_ms(50)):>8} {ms(s.percentile_ms(90)):>8} {ms(s.percentile_ms(99)):>8} "
            f"{ms(s.max_ms()):>8}  {'meets' if why is None else why}"
        )
    codes: Counter[str] = Counter()
    for s in result.steps:
        codes.update(s.codes)
    lines.append("")
    if codes:
        lines.append("Failures by code: " + ", ".join(f"{code} {n}" for code, n in sorted(codes.items())))
    lines.append(result.knee.sentence())
    if result.stopped_early:
        lines.append(
            "Stopped after the first step that broke the requirement (--keep-going runs every step)."
        )
    lines.append(
        f"{sum(s.sent for s in result.steps)} requests in {result.clock_seconds:.0f} s "
        f"({result.wall_seconds:.1f} s of wall time)."
    )
    return "\n".join(lines)


# --- the command line ----------------------------------------------------------------------------


def _png_file(value: str) -> Path:
    path = Path(value)
    if path.suffix.lower() != ".png":
        raise argparse.ArgumentTypeError(f"{value!r}: the plot is a PNG image: FILE must end in .png")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{value!r}: no directory {str(path.parent)!r} to write it in")
    if importlib.util.find_spec("matplotlib") is None:
        raise argparse.ArgumentTypeError("plots need matplotlib: pip install matplotlib")
    return path


def _ramp(value: str) -> tuple[float, ...]:
    try:
        return parse_ramp(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _steps(value: str) -> tuple[float, ...]:
    try:
        return parse_steps(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not math.isfinite(number) or number <= 0:
        raise argparse.ArgumentTypeError(f"{value!r}: must be more than 0")
    return number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``smdeploy loadtest``, against AWS or in a rehearsal."""
    parser.add_argument("endpoint", metavar="ENDPOINT", help="the SageMaker endpoint's name")
    load = parser.add_mutually_exclusive_group(required=True)
    load.add_argument(
        "--ramp",
        type=_ramp,
        metavar="FROM:TO:STEP",
        help="offered load in requests per second, e.g. 10:100:10",
    )
    load.add_argument(
        "--steps", type=_steps, metavar="RPS,RPS,...", help="offered load of each step, e.g. 10,20,40,80"
    )
    parser.add_argument(
        "--step-seconds", type=_positive, default=DEFAULT_STEP_SECONDS, help="how long each step lasts"
    )
    parser.add_argument(
        "--p99-ms", type=_positive, required=True, help="the latency requirement: p99 in milliseconds"
    )
    parser.add_argument("--payload", metavar="FILE", type=Path, help="the request body sent every time")
    parser.add_argument("--content-type", default="text/csv", help="the payload's content type")
    parser.add_argument("--accept", help="the Accept header (the model's default when not given)")
    parser.add_argument("--variant", help="send every request to this production variant (TargetVariant)")
    parser.add_argument(
        "--keep-going", action="store_true", help="run every step, not only up to the first that breaks"
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout and nothing else"
    )
    parser.add_argument(
        "--plot",
        metavar="FILE.png",
        type=_png_file,
        help="draw latency percentiles against offered load, the requirement and the knee",
    )
    aws = parser.add_argument_group("AWS (not used in a rehearsal)")
    aws.add_argument("--region", help="the endpoint's region (default: AWS_REGION, the profile's)")
    aws.add_argument("--profile", help="a named profile of the AWS config files")
    aws.add_argument(
        "--timeout-seconds",
        type=_positive,
        default=DEFAULT_TIMEOUT_SECONDS,
        help="how long to wait for one answer before counting a timeout",
    )
    aws.add_argument(
        "--max-concurrency",
        type=int,
        default=DEFAULT_WORKERS,
        help="requests in flight at most (threads); a request that waits for one is charged the wait",
    )


def plan_of(args: argparse.Namespace) -> LoadPlan:
    """The plan the options ask for (ValueError naming the problem)."""
    return LoadPlan(tuple(args.ramp or args.steps), float(args.step_seconds))


def execute(
    args: argparse.Namespace,
    invoker: Invoker,
    clock: Clock,
    *,
    extra: Callable[[], dict[str, Any]] | None = None,
    out: Any = None,
) -> int:
    """Run the load test the options ask for and report it; 0 once it ran, 2 when the options or the
    endpoint refuse it. ``extra()``, asked once the test ran, goes into the JSON document (a
    rehearsal's scenario and time)."""
    out = out or sys.stdout
    try:
        plan = plan_of(args)
    except ValueError as exc:
        clock.close()
        print(f"smdeploy loadtest: {exc}", file=sys.stderr)
        return 2
    try:
        result = run_load(
            invoker,
            plan,
            p99_ms=float(args.p99_ms),
            clock=clock,
            endpoint=args.endpoint,
            keep_going=bool(args.keep_going),
            progress=not args.json and out.isatty(),
        )
    except LoadTestAborted as exc:
        print(f"smdeploy loadtest: {args.endpoint} refuses the requests: {exc}", file=sys.stderr)
        return 2
    document = {**result.to_json(), **(extra() if extra else {})}
    if args.json:
        print(json.dumps(document, indent=2), file=out)
    else:
        print(render(result), file=out)
    if args.plot:
        from smdeploy_cli.plot import write_load_plot

        try:
            write_load_plot(result, args.plot)
        except OSError as exc:
            print(f"smdeploy loadtest: --plot {args.plot}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        print(f"Plot: {args.plot}", file=sys.stderr if args.json else out)
    return 0


def payload_of(args: argparse.Namespace, default: bytes | None = None) -> bytes:
    """The request body: ``--payload FILE``, else ``default`` (ValueError when neither)."""
    if args.payload is None:
        if default is None:
            raise ValueError("--payload FILE is needed: a request the model can answer")
        return default
    try:
        return Path(args.payload).read_bytes()
    except OSError as exc:
        raise ValueError(f"--payload {args.payload}: {exc.strerror or exc}") from None


def main(args: argparse.Namespace) -> int:
    """``smdeploy loadtest`` against AWS."""
    from smdeploy_cli.invoke import SageMakerInvoker, runtime_client

    try:
        payload = payload_of(args)
    except ValueError as exc:
        print(f"smdeploy loadtest: {exc}", file=sys.stderr)
        return 2
    if args.max_concurrency < 1:
        print("smdeploy loadtest: --max-concurrency must be at least 1", file=sys.stderr)
        return 2
    try:
        client = runtime_client(
            region=args.region,
            profile=args.profile,
            timeout_seconds=float(args.timeout_seconds),
            workers=int(args.max_concurrency),
        )
    except ValueError as exc:
        print(f"smdeploy loadtest: {exc}", file=sys.stderr)
        return 2
    invoker = SageMakerInvoker(
        client,
        args.endpoint,
        payload,
        content_type=args.content_type,
        accept=args.accept,
        target_variant=args.variant,
    )
    return execute(args, invoker, RealClock(int(args.max_concurrency)))
