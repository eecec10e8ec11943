"""``smdeploy loadtest`` and ``smdeploy recommend`` (smdeploy_cli): the open-loop generator, its
histograms and knee, the SageMaker invoker against a stubbed client, the recommendation ranking on
API-shaped answers. No network, no local cloud."""

from __future__ import annotations

import argparse
import ast
import io
import itertools
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from smdeploy_cli import loadtest, recommend
from smdeploy_cli.invoke import SageMakerInvoker, runtime_client
from smdeploy_cli.loadtest import (
    Answer,
    LoadPlan,
    LoadTestAborted,
    RealClock,
    StepStats,
    VirtualClock,
    find_knee,
    parse_ramp,
    parse_steps,
    run_load,
)

REPO = Path(__file__).resolve().parents[2]


class Scripted:
    """An invoker whose answers are a function of the virtual send time (and records the sends)."""

    def __init__(self, clock: VirtualClock, answer: Any) -> None:
        self.clock, self.answer = clock, answer
        self.sent_at: list[float] = []

    def invoke(self) -> Answer:
        self.sent_at.append(self.clock.now())
        return Answer(*self.answer(self.clock.now(), len(self.sent_at)))


class QueueModel:
    """A fake endpoint that behaves like one server queue: flat latency up to ``capacity`` requests
    per second, then latency growing with the backlog (the knee is at ``capacity``)."""

    def __init__(self, clock: VirtualClock, capacity: float, service_ms: float = 30.0) -> None:
        self.clock, self.capacity, self.service_ms = clock, capacity, service_ms
        self.free_at = 0.0

    def invoke(self) -> Answer:
        now = self.clock.now()
        start = max(now, self.free_at)
        self.free_at = start + 1.0 / self.capacity
        return Answer((start - now) * 1000.0 + self.service_ms, "ok")


def stats(rate: float, latencies: list[float], failures: int = 0) -> StepStats:
    step = StepStats(0, rate, 10.0)
    for ms in latencies:
        step.record(Answer(ms, "ok"))
    for _ in range(failures):
        step.record(Answer(1.0, "error", "ModelError"))
    step.sent = len(latencies) + failures
    return step


# --- the plan ------------------------------------------------------------------------------------


def test_a_ramp_includes_both_ends_and_steps_are_read_as_given() -> None:
    assert parse_ramp("10:50:10") == (10, 20, 30, 40, 50)
    assert parse_ramp("5:12:5") == (5, 10)
    assert parse_ramp("0.5:1.5:0.5") == (0.5, 1.0, 1.5)
    assert parse_steps("10,20,40,80") == (10, 20, 40, 80)


@pytest.mark.parametrize(
    ("text", "needle"),
    [("10:50", "FROM:TO:STEP"), ("a:b:c", "numbers"), ("50:10:10", "FROM <= TO"), ("0:10:1", "0 < FROM")],
)
def test_a_bad_ramp_is_refused_with_the_reason(text: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        parse_ramp(text)


def test_a_plan_must_rise_and_send_at_least_one_request_per_step() -> None:
    with pytest.raises(ValueError, match="must rise"):
        LoadPlan((20, 10), 10)
    with pytest.raises(ValueError, match="less than one request"):
        LoadPlan((0.05,), 10)
    plan = LoadPlan((2, 4), 1.5)
    assert [plan.requests(0), plan.requests(1)] == [3, 6]
    assert plan.offsets(0) == [0.0, 0.5, 1.0]
    assert plan.total_requests == 9


# --- open loop -----------------------------------------------------------------------------------


def test_requests_leave_on_schedule_in_virtual_time_whatever_the_answers_take() -> None:
    clock = VirtualClock(start=100.0)
    slow = Scripted(clock, lambda t, n: (5000.0, "ok"))  # every answer takes 5 s
    result = run_load(slow, LoadPlan((2, 4), 2), p99_ms=10_000, clock=clock)
    assert slow.sent_at == [
        100.0,
        100.5,
        101.0,
        101.5,
        102.0,
        102.25,
        102.5,
        102.75,
        103.0,
        103.25,
        103.5,
        103.75,
    ]
    assert [s.sent for s in result.steps] == [4, 8]
    assert result.clock_seconds == 4.0


def test_with_the_real_clock_a_slow_answer_never_delays_the_next_send() -> None:
    sends: list[float] = []
    lock = threading.Lock()

    class Slow:
        def invoke(self) -> Answer:
            with lock:
                sends.append(time.monotonic())
            time.sleep(0.3)
            return Answer(300.0, "ok")

    started = time.monotonic()
    result = run_load(Slow(), LoadPlan((40,), 0.5), p99_ms=1000, clock=RealClock(workers=64))
    elapsed = time.monotonic() - started
    assert result.steps[0].counts["ok"] == 20
    # closed loop would take 20 x 0.3 s; open loop: the step's 0.5 s plus the last answer's 0.3 s
    assert elapsed < 3.0
    gaps = [b - a for a, b in itertools.pairwise(sends)]
    assert max(gaps) < 0.2  # due every 25 ms; a closed loop would wait 300 ms for each answer


def test_a_request_that_waits_for_a_free_thread_is_charged_the_wait() -> None:
    class Slow:
        def invoke(self) -> Answer:
            time.sleep(0.05)
            return Answer(50.0, "ok")

    # one thread, a request due every 10 ms, each taking 50 ms: the backlog grows, and so must latency
    result = run_load(Slow(), LoadPlan((100,), 0.1), p99_ms=1000, clock=RealClock(workers=1))
    step = result.steps[0]
    assert step.counts["ok"] == 10
    assert (step.max_ms() or 0) > 300  # the 10th waited ~9 x 40 ms more
    assert (step.percentile_ms(50) or 0) > 100


# --- histograms and outcomes ---------------------------------------------------------------------


def test_percentiles_come_from_an_hdr_histogram_of_the_successful_answers() -> None:
    step = stats(10, [float(ms) for ms in range(1, 101)], failures=3)
    assert step.percentile_ms(50) == pytest.approx(50, rel=0.001)
    assert step.percentile_ms(90) == pytest.approx(90, rel=0.001)
    assert step.percentile_ms(99) == pytest.approx(99, rel=0.001)
    assert step.max_ms() == pytest.approx(100, rel=0.001)
    assert step.histogram.get_total_count() == 100  # failures have no latency here
    assert step.failure_share == pytest.approx(3 / 103)


def test_each_outcome_is_counted_and_failures_over_one_percent_break_the_step() -> None:
    clock = VirtualClock()
    outcomes = ["ok"] * 95 + ["error", "throttled", "timeout", "throttled", "ok"]
    answers = Scripted(
        clock,
        lambda t, n: (
            20.0,
            outcomes[n - 1],
            {"error": "ModelError", "throttled": "ThrottlingException"}.get(outcomes[n - 1]),
        ),
    )
    result = run_load(answers, LoadPlan((10,), 10), p99_ms=100, clock=clock)
    document = result.to_json()["steps"][0]
    assert {k: document[k] for k in ("sent", "ok", "errors", "throttled", "timeouts")} == {
        "sent": 100,
        "ok": 96,
        "errors": 1,
        "throttled": 2,
        "timeouts": 1,
    }
    assert document["errorCodes"] == {"ModelError": 1, "ThrottlingException": 2}
    assert document["achievedRps"] == 9.6
    assert document["meetsRequirement"] is False
    assert document["breaks"] == "4.0% failed > 1%"


# --- the knee ------------------------------------------------------------------------------------


def test_the_knee_is_interpolated_where_p99_crosses_the_requirement() -> None:
    steps = [stats(10, [40.0] * 100), stats(20, [50.0] * 100), stats(30, [250.0] * 100)]
    knee = find_knee(steps, p99_ms=100)
    # p99 50 ms at 20/s, 250 ms at 30/s: 100 ms is a quarter of the way
    assert knee.found == "between"
    assert knee.rps == pytest.approx(22.5, rel=0.002)
    assert (knee.last_good_rps, knee.first_bad_rps, knee.breaks_on) == (20, 30, "p99")
    assert "interpolated linearly" in knee.method


def test_the_knee_follows_the_failed_share_when_failures_break_first() -> None:
    steps = [stats(100, [40.0] * 1000), stats(200, [40.0] * 970, failures=30)]
    knee = find_knee(steps, p99_ms=100)
    # 0 % at 100/s, 3 % at 200/s: 1 % a third of the way
    assert knee.rps == pytest.approx(133.33, rel=0.001)
    assert knee.breaks_on == "failures"


def test_when_both_break_the_lower_crossing_is_the_knee() -> None:
    steps = [stats(100, [40.0] * 1000), stats(200, [400.0] * 900, failures=100)]
    knee = find_knee(steps, p99_ms=100)
    # p99: 40 -> 400 ms crosses 100 ms at 116.7/s; failures: 0 -> 10 % cross 1 % at 110/s
    assert knee.rps == pytest.approx(110.0, rel=0.001)
    assert knee.breaks_on == "p99+failures"


def test_a_knee_outside_the_steps_is_said_to_lie_below_or_above_them() -> None:
    below = find_knee([stats(10, [500.0] * 100), stats(20, [900.0] * 100)], p99_ms=100)
    assert (below.found, below.rps, below.first_bad_rps) == ("below-first-step", None, 10)
    assert "lies lower" in below.sentence()
    above = find_knee([stats(10, [5.0] * 100), stats(20, [6.0] * 100)], p99_ms=100)
    assert (above.found, above.rps, above.last_good_rps) == ("not-reached", None, 20)
    assert "lies higher" in above.sentence()


def test_the_generator_finds_the_knee_of_a_queue_within_ten_percent() -> None:
    clock = VirtualClock()
    endpoint = QueueModel(clock, capacity=40)
    result = run_load(endpoint, LoadPlan(parse_ramp("30:50:2"), 20), p99_ms=200, clock=clock)
    assert result.knee.rps is not None
    assert result.knee.rps == pytest.approx(40, rel=0.10)
    assert result.stopped_early  # it stops after the first step that breaks
    assert result.steps[-1].offered_rps > 40 >= result.steps[-2].offered_rps


def test_keep_going_runs_every_step() -> None:
    clock = VirtualClock()
    result = run_load(
        QueueModel(clock, 40), LoadPlan((30, 60, 90), 10), p99_ms=200, clock=clock, keep_going=True
    )
    assert [s.offered_rps for s in result.steps] == [30, 60, 90]
    assert not result.stopped_early
    assert result.knee.first_bad_rps == 60


def test_a_refused_request_aborts_at_once() -> None:
    clock = VirtualClock()

    class Refused:
        calls = 0

        def invoke(self) -> Answer:
            self.calls += 1
            raise LoadTestAborted("ValidationError: Endpoint churn-prod of account 123456789012 not found.")

    refused = Refused()
    with pytest.raises(LoadTestAborted, match="not found"):
        run_load(refused, LoadPlan((10, 20), 10), p99_ms=100, clock=clock)
    assert refused.calls == 1


# --- the SageMaker invoker -----------------------------------------------------------------------


def runtime() -> Any:
    return boto3.client(
        "sagemaker-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def body(text: bytes = b"0.93\n") -> StreamingBody:
    return StreamingBody(io.BytesIO(text), len(text))


EXPECTED = {
    "EndpointName": "churn-prod",
    "Body": b"1,2,3\n",
    "ContentType": "text/csv",
    "TargetVariant": "candidate",
}


def invoker(client: Any) -> SageMakerInvoker:
    ticks = iter([10.0, 10.042] * 10)
    return SageMakerInvoker(
        client, "churn-prod", b"1,2,3\n", target_variant="candidate", timer=lambda: next(ticks)
    )


def test_the_invoker_times_a_successful_call_and_sends_the_payload() -> None:
    client = runtime()
    with Stubber(client) as stub:
        stub.add_response("invoke_endpoint", {"Body": body(), "ContentType": "text/csv"}, EXPECTED)
        answer = invoker(client).invoke()
        stub.assert_no_pending_responses()
    assert answer.outcome == "ok"
    assert answer.latency_ms == pytest.approx(42.0)


@pytest.mark.parametrize(
    ("code", "status", "modeled", "outcome"),
    [
        ("ModelError", 424, {"OriginalStatusCode": 500, "OriginalMessage": "boom"}, "error"),
        ("ModelError", 424, {"OriginalStatusCode": 0}, "timeout"),  # the container never answered
        ("ThrottlingException", 400, {}, "throttled"),
        ("ModelNotReadyException", 429, {}, "throttled"),
        ("ServiceUnavailable", 503, {}, "error"),
        ("InternalFailure", 500, {}, "error"),
    ],
)
def test_sagemaker_errors_are_sorted_into_outcomes(
    code: str, status: int, modeled: dict[str, Any], outcome: str
) -> None:
    client = runtime()
    with Stubber(client) as stub:
        stub.add_client_error(
            "invoke_endpoint", code, "refused", http_status_code=status, modeled_fields=modeled or None
        )
        answer = invoker(client).invoke()
    assert (answer.outcome, answer.code) == (outcome, code)


@pytest.mark.parametrize(("code", "status"), [("ValidationError", 400), ("AccessDeniedException", 400)])
def test_a_refusal_of_the_request_itself_aborts_the_test(code: str, status: int) -> None:
    client = runtime()
    with Stubber(client) as stub:
        stub.add_client_error(
            "invoke_endpoint", code, "Endpoint churn-prod not found.", http_status_code=status
        )
        with pytest.raises(LoadTestAborted, match=f"{code}: Endpoint churn-prod not found"):
            invoker(client).invoke()


def test_a_client_timeout_is_a_timeout() -> None:
    class TimingOut:
        def invoke_endpoint(self, **params: Any) -> Any:
            raise ReadTimeoutError(endpoint_url="https://runtime.sagemaker.us-east-1.amazonaws.com")

    answer = SageMakerInvoker(TimingOut(), "churn-prod", b"x").invoke()
    assert (answer.outcome, answer.code) == ("timeout", "ReadTimeoutError")


def test_the_runtime_client_makes_one_attempt_with_a_connection_per_thread() -> None:
    client = runtime_client(region="eu-west-1", profile=None, timeout_seconds=5, workers=64)
    config = client.meta.config
    assert client.meta.region_name == "eu-west-1"
    assert config.retries["total_max_attempts"] == 1
    assert (config.read_timeout, config.max_pool_connections) == (5, 64)


# --- the command ---------------------------------------------------------------------------------


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    loadtest.add_arguments(parser)
    return parser.parse_args(list(argv))


class Out(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_json_prints_one_document_with_steps_and_the_knee(tmp_path: Path) -> None:
    clock = VirtualClock()
    args = parse("churn-prod", "--ramp", "30:50:5", "--step-seconds", "20", "--p99-ms", "200", "--json")
    out = Out()
    code = loadtest.execute(args, QueueModel(clock, 40), clock, extra=lambda: {"scenario": "s"}, out=out)
    assert code == 0
    document = json.loads(out.getvalue())
    assert document["endpoint"] == "churn-prod"
    assert document["requirement"] == {"p99LatencyMs": 200.0, "maxFailureShare": 0.01}
    assert [s["offeredRps"] for s in document["steps"]] == [30, 35, 40, 45]
    assert set(document["steps"][0]["latencyMs"]) == {"p50", "p90", "p99", "max"}
    assert document["knee"]["found"] == "between"
    assert document["maxGoodRps"] == 40.0
    assert document["scenario"] == "s"


def test_the_text_report_has_a_row_per_step_and_the_knee_and_the_plot_is_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    clock = VirtualClock()
    plot = tmp_path / "knee.png"
    args = parse(
        "churn-prod", "--steps", "20,40,60", "--step-seconds", "10", "--p99-ms", "200", "--plot", str(plot)
    )
    out = Out()
    assert loadtest.execute(args, QueueModel(clock, 50), clock, out=out) == 0
    text = out.getvalue()
    assert "offered/s" in text and "p99 ms" in text
    assert text.count(" meets") == 2
    assert "The requirement breaks at about" in text
    assert f"Plot: {plot}" in text
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_aborted_test_exits_2_naming_the_refusal(capsys: pytest.CaptureFixture[str]) -> None:
    class Refused:
        def invoke(self) -> Answer:
            raise LoadTestAborted("ValidationError: Endpoint nope of account 123456789012 not found.")

    args = parse("nope", "--steps", "10", "--p99-ms", "100")
    assert loadtest.execute(args, Refused(), VirtualClock(), out=Out()) == 2
    assert "nope refuses the requests: ValidationError" in capsys.readouterr().err


def test_the_options_are_checked_before_anything_is_sent(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        parse("e", "--ramp", "10:50", "--p99-ms", "100")
    with pytest.raises(SystemExit):
        parse("e", "--steps", "10", "--p99-ms", "100", "--plot", str(tmp_path / "x.svg"))
    with pytest.raises(SystemExit):  # --ramp or --steps, not both
        parse("e", "--steps", "10", "--ramp", "1:2:1", "--p99-ms", "100")
    args = parse("e", "--steps", "40,20", "--p99-ms", "100")
    assert loadtest.execute(args, QueueModel(VirtualClock(), 10), VirtualClock(), out=Out()) == 2
    missing = parse("e", "--steps", "10", "--p99-ms", "100", "--payload", str(tmp_path / "none.csv"))
    with pytest.raises(ValueError, match=r"none\.csv"):
        loadtest.payload_of(missing)


# --- recommend -----------------------------------------------------------------------------------


def recommendation(
    instance: str, count: int, per_minute: int, latency: int, per_hour: float, rid: str = ""
) -> dict[str, Any]:
    return {
        "RecommendationId": rid or instance,
        "Metrics": {
            "CostPerHour": per_hour,
            "CostPerInference": per_hour / (per_minute * 60),
            "MaxInvocations": per_minute,
            "ModelLatency": latency,
            "CpuUtilization": 61.0,
            "MemoryUtilization": 22.0,
        },
        "EndpointConfiguration": {
            "EndpointName": f"ir-{instance}",
            "VariantName": "AllTraffic",
            "InstanceType": instance,
            "InitialInstanceCount": count,
        },
        "ModelConfiguration": {
            "EnvironmentParameters": [{"Key": "OMP_NUM_THREADS", "ValueType": "str", "Value": "2"}]
        },
    }


ADVANCED = {
    "JobName": "churn-prod-v2-lt-1a2b",
    "JobType": "Advanced",
    "Status": "COMPLETED",
    "StoppingConditions": {
        "MaxInvocations": 6000,  # 100 requests per second
        "ModelLatencyThresholds": [{"Percentile": "P99", "ValueInMilliseconds": 200}],
    },
    "InferenceRecommendations": [
        recommendation("ml.g4dn.xlarge", 1, 18000, 15, 0.736),
        recommendation("ml.m5.large", 1, 1200, 450, 0.115),
        recommendation("ml.c5.xlarge", 2, 3600, 30, 0.204),  # per instance; 2 recommended
    ],
}


def test_the_cheapest_configuration_that_fits_comes_first_sized_to_the_throughput() -> None:
    rows = recommend.rank(ADVANCED)
    assert [(r.instanceType, r.instanceCount, r.fits) for r in rows] == [
        ("ml.c5.xlarge", 2, True),  # 3600/min per instance: 2 carry 6000/min for 0.408 USD/h
        ("ml.g4dn.xlarge", 1, True),  # 0.736 USD/h
        ("ml.m5.large", 5, False),  # 450 ms > 200 ms, however many
    ]
    best = rows[0]
    assert best.recommendedInstanceCount == 2
    assert best.costPerHour == pytest.approx(0.408)
    assert best.maxInvocationsPerMinute == 7200
    assert best.costPer1000Inferences == pytest.approx(0.204 / 216000 * 1000, rel=1e-4)
    assert best.environment == {"OMP_NUM_THREADS": "2"}
    assert rows[2].why == "latency 450 ms > 200 ms"


def test_the_table_and_the_json_name_the_cheapest_fit() -> None:
    rows = recommend.rank(ADVANCED)
    text = recommend.render(ADVANCED, rows)
    assert "requirement: p99 <= 200 ms at 6000 invocations/min" in text
    assert "Cheapest fit: 2 x ml.c5.xlarge at 0.4080 USD/hour." in text
    assert text.index("ml.c5.xlarge") < text.index("ml.g4dn.xlarge") < text.index("ml.m5.large")
    document = recommend.to_json(ADVANCED, rows)
    assert document["cheapestFit"]["instanceType"] == "ml.c5.xlarge"
    assert document["requirement"] == {
        "modelLatencyMs": 200.0,
        "percentile": "P99",
        "invocationsPerMinute": 6000.0,
    }
    assert [r["instanceType"] for r in document["recommendations"]] == [
        "ml.c5.xlarge",
        "ml.g4dn.xlarge",
        "ml.m5.large",
    ]


def test_a_default_job_has_no_threshold_and_ranks_by_cost_as_recommended() -> None:
    job = {
        "JobName": "default-1",
        "JobType": "Default",
        "Status": "COMPLETED",
        "InferenceRecommendations": [
            recommendation("ml.c5.xlarge", 3, 3600, 30, 0.204),
            recommendation("ml.m5.large", 1, 1200, 450, 0.115),
        ],
    }
    rows = recommend.rank(job)
    assert [(r.instanceType, r.instanceCount, r.fits) for r in rows] == [
        ("ml.m5.large", 1, True),
        ("ml.c5.xlarge", 3, True),  # as recommended: 3 instances of 0.204 USD/h each
    ]
    assert rows[1].costPerHour == pytest.approx(0.612)
    assert rows[1].maxInvocationsPerMinute == 10800
    assert "none stated" in recommend.render(job, rows)


def test_the_strictest_of_several_latency_thresholds_is_the_requirement() -> None:
    job = {
        "StoppingConditions": {
            "ModelLatencyThresholds": [
                {"Percentile": "P99", "ValueInMilliseconds": 300},
                {"Percentile": "P95", "ValueInMilliseconds": 100},
            ]
        }
    }
    requirement = recommend.requirement_of(job)
    assert (requirement.latency_ms, requirement.percentile, requirement.invocations_per_minute) == (
        100,
        "P95",
        None,
    )


@pytest.mark.parametrize(
    ("job", "message"),
    [
        (None, "no Inference Recommender job named 'j'"),
        (
            {"Status": "FAILED", "FailureReason": "Image pull failed: access denied"},
            "job j is FAILED, not COMPLETED: Image pull failed: access denied",
        ),
        ({"Status": "IN_PROGRESS"}, "job j is IN_PROGRESS, not COMPLETED (its recommendations come when"),
        ({"Status": "COMPLETED", "InferenceRecommendations": []}, "holds no InferenceRecommendations"),
    ],
)
def test_a_job_that_cannot_be_shown_is_refused_saying_why(job: dict[str, Any] | None, message: str) -> None:
    with pytest.raises(recommend.RecommendError) as raised:
        recommend.check_job(job, "j")
    assert message in str(raised.value)


def sagemaker() -> Any:
    return boto3.client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def recommend_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    recommend.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_recommend_reads_the_job_with_describe_and_prints_json() -> None:
    client = sagemaker()
    out = Out()
    with Stubber(client) as stub:
        stub.add_response(
            "describe_inference_recommendations_job",
            {
                **ADVANCED,
                "JobArn": "arn:aws:sagemaker:us-east-1:123456789012:inference-recommendations-job/j",
                "RoleArn": "arn:aws:iam::123456789012:role/r",
                "CreationTime": "2026-01-01T00:00:00Z",
                "LastModifiedTime": "2026-01-01T01:00:00Z",
                "InputConfig": {},
            },
            {"JobName": "churn-prod-v2-lt-1a2b"},
        )
        assert recommend.show(recommend_args("churn-prod-v2-lt-1a2b", "--json"), client, out=out) == 0
    assert json.loads(out.getvalue())["cheapestFit"]["instanceCount"] == 2


def test_recommend_names_a_missing_job_and_lists_jobs_when_none_is_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = sagemaker()
    with Stubber(client) as stub:
        stub.add_client_error("describe_inference_recommendations_job", "ResourceNotFound", "not found")
        assert recommend.show(recommend_args("gone"), client, out=Out()) == 2
        stub.add_response(
            "list_inference_recommendations_jobs",
            {
                "InferenceRecommendationsJobs": [
                    {
                        "JobName": "churn-prod-v2-lt-1a2b",
                        "JobDescription": "d",
                        "JobType": "Advanced",
                        "JobArn": "arn:aws:sagemaker:us-east-1:123456789012:inference-recommendations-job/x",
                        "Status": "COMPLETED",
                        "CreationTime": "2026-01-01T00:00:00Z",
                        "RoleArn": "arn:aws:iam::123456789012:role/r",
                        "LastModifiedTime": "2026-01-01T01:00:00Z",
                    }
                ]
            },
            {"SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": 10},
        )
        assert recommend.show(recommend_args(), client, out=Out()) == 2
    err = capsys.readouterr().err
    assert "no Inference Recommender job named 'gone'" in err
    assert "name a job; the newest are:" in err and "churn-prod-v2-lt-1a2b  Advanced  COMPLETED" in err


# --- the package runs against AWS without the local cloud ----------------------------------------


def test_smdeploy_cli_imports_no_localcloud_module() -> None:
    for source in sorted((REPO / "smdeploy_cli").glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not [n for n in names if n.split(".")[0] == "localcloud"], source.name
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, smdeploy_cli.__main__, smdeploy_cli.invoke, smdeploy_cli.plot; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('localcloud', 'moto')))",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"


def test_python_m_smdeploy_cli_offers_both_commands() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "smdeploy_cli", "loadtest", "--help"], capture_output=True, text=True, cwd=REPO
    )
    assert done.returncode == 0 and "--p99-ms" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "smdeploy_cli", "recommend", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 0 and "JOB_NAME" in done.stdout
