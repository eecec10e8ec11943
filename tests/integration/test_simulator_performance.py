"""Performance profiles: one physics for traffic, autoscaling and invocations under load."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud.engine.cloud import LocalCloud
from localcloud.services.cloudwatch.metrics import aggregate
from localcloud.services.sagemaker.endpoints import ModelBehaviour, SimulationSettings
from localcloud.services.sagemaker.invocations import LATENCY_HEADER
from localcloud.services.sagemaker.performance import (
    DEFAULT_CONCURRENCY,
    TIMEOUT_MS,
    PerformanceProfile,
    erlang_c,
    knee_rps,
    latency_factor,
    load_point,
    max_rps_within,
    sample,
)
from smdeploy.adapters.autoscaling import ScalingGateway
from tests.integration.test_simulator_support import (
    ENDPOINT,
    baseline_config,
    cloud_with_models,
    live_endpoint,
    variant,
)

M5 = PerformanceProfile(max_rps=40, latency_ms=35)


# --- the physics ------------------------------------------------------------------------------
def test_erlang_c_has_its_textbook_values() -> None:
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: an arrival waits with probability rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)  # c = 2, a = 1 Erlang
    assert erlang_c(4, 0.0) == 0.0 and erlang_c(4, 4.0) == 1.0


def test_the_knee_is_where_the_profile_says_within_ten_percent() -> None:
    knee = knee_rps(M5)
    assert DEFAULT_CONCURRENCY == 16
    assert 0.9 * M5.max_rps <= knee <= M5.max_rps  # the mean latency doubles at ~95% of maxRps
    assert latency_factor(M5, 0.5 * M5.max_rps) < 1.01  # flat at half the capacity
    assert latency_factor(M5, 0.8 * M5.max_rps) < 1.12  # still nearly flat at 80%
    assert latency_factor(M5, 0.99 * M5.max_rps) > 5  # and steep right before the capacity


def test_a_single_server_has_the_soft_mm1_knee() -> None:
    serial = PerformanceProfile(max_rps=40, latency_ms=35, concurrency=1)
    assert knee_rps(serial) == pytest.approx(20, rel=0.01)  # 1 / (1 - rho) doubles at rho = 0.5
    assert latency_factor(serial, 30) == pytest.approx(4, rel=0.01)


def test_low_load_latency_is_the_profiles() -> None:
    point = load_point(M5, 1.0)
    assert point.quantile_ms(0.5) == pytest.approx(35, rel=0.01)
    assert point.quantile_ms(0.99) == pytest.approx(35 * math.exp(0.25 * 2.3263), rel=0.01)
    tail = PerformanceProfile(max_rps=40, latency_ms=35, latency_p99_ms=90)
    assert load_point(tail, 1.0).quantile_ms(0.99) == pytest.approx(90, rel=0.01)


def test_past_capacity_the_excess_times_out() -> None:
    assert load_point(M5, 30).failed_share == 0.0
    assert load_point(M5, 50).failed_share == pytest.approx(1 - 40 / 50, abs=1e-3)
    assert load_point(M5, 80).failed_share == pytest.approx(0.5, abs=1e-3)
    rng = random.Random(3)
    outcomes = [sample(M5, 80, rng) for _ in range(4000)]
    timeouts = [o for o in outcomes if o.error == "timeout"]
    assert len(timeouts) / len(outcomes) == pytest.approx(0.5, abs=0.03)
    assert {o.latency_ms for o in timeouts} == {TIMEOUT_MS}


def test_samples_follow_the_distribution_the_minutes_are_written_with() -> None:
    rng = random.Random(11)
    for rps in (10.0, 36.0, 39.0):
        latencies = sorted(sample(M5, rps, rng).latency_ms for _ in range(20000))
        point = load_point(M5, rps)
        for q in (0.5, 0.9, 0.99):
            assert latencies[int(q * len(latencies))] == pytest.approx(point.quantile_ms(q), rel=0.06)


def test_max_rps_within_a_threshold_is_below_the_knee_for_a_tight_one() -> None:
    loose = max_rps_within(M5, 0.99, 200)
    tight = max_rps_within(M5, 0.99, 80)
    assert tight < loose < M5.max_rps
    assert load_point(M5, loose).quantile_ms(0.99) == pytest.approx(200, rel=0.01)
    assert max_rps_within(M5, 0.99, 50) == 0.0  # the idle p99 (~63 ms) is already above 50 ms


# --- traffic and autoscaling ----------------------------------------------------------------------
def _profiled(**kwargs: Any) -> SimulationSettings:
    """churn/1 with a profile on ml.m5.large (the test configs' type)."""
    profile = PerformanceProfile(**{"max_rps": 4.0, "latency_ms": 40.0, **kwargs})
    return SimulationSettings(
        registry_events=False,
        behaviours={
            "churn/1": ModelBehaviour(error_rate=0.0, latency_ms=40.0, profiles={"ml.m5.large": profile})
        },
    )


def _minutes(cloud: LocalCloud, metric: str, first: int, last: int) -> list[Any]:
    series = cloud.traffic.series.get((metric, ENDPOINT, "baseline")) or {}
    return [series[m] for m in range(first, last) if m in series]


def test_without_a_profile_for_the_serving_type_the_minutes_are_exactly_todays() -> None:
    plain = SimulationSettings(registry_events=False, behaviours={"churn/1": ModelBehaviour(error_rate=0.01)})
    other_type = SimulationSettings(
        registry_events=False,
        behaviours={
            "churn/1": ModelBehaviour(
                error_rate=0.01, profiles={"ml.c5.xlarge": PerformanceProfile(1.0, 40.0)}
            )
        },
    )
    written = []
    for simulation in (plain, other_type):
        with cloud_with_models(simulation) as cloud:
            baseline_config(cloud)
            live_endpoint(cloud)
            cloud.run(until=cloud.scheduler.now + 20 * 60)
            written.append({key: dict(minutes) for key, minutes in cloud.traffic.series.data.items()})
    assert written[0] == written[1]


def test_overload_shows_in_errors_and_latency_and_scaling_out_brings_them_back() -> None:
    # 600 requests a minute on 2 instances: 5 per second per instance against a capacity of 4
    with cloud_with_models(_profiled()) as cloud:
        baseline_config(cloud)
        live_endpoint(cloud)
        start = int(cloud.scheduler.now // 60) + 1
        cloud.run(until=(start + 5) * 60)
        errors = _minutes(cloud, "Invocation5XXErrors", start, start + 4)
        rate = sum(s.total for s in errors) / sum(s.count for s in errors)
        assert rate == pytest.approx(1 - 4 / 5, abs=0.03)  # the excess fifth times out
        latency = _minutes(cloud, "ModelLatency", start, start + 4)
        p99 = aggregate(latency, "p99")
        assert p99 is not None and p99 == pytest.approx(TIMEOUT_MS * 1000, rel=0.01)  # microseconds
        p50 = aggregate(latency, "p50")
        assert p50 is not None and p50 > 2 * 40_000  # the answered ones queued

        gateway = ScalingGateway(cloud.client("application-autoscaling"))
        gateway.register(ENDPOINT, "baseline", minimum=1, maximum=4)
        gateway.put_policy(
            ENDPOINT,
            "baseline",
            {
                "PolicyName": "t",
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": 150.0,
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                    },
                },
            },
        )
        cloud.run(until=cloud.scheduler.now + 12 * 60)
        [activity] = cloud.scaling.activities
        assert (activity.before, activity.after) == (2, 4)  # 2.5 per second per instance now
        after = int(cloud.scheduler.now // 60) - 4
        errors = _minutes(cloud, "Invocation5XXErrors", after, after + 4)
        assert sum(s.total for s in errors) == 0
        p99 = aggregate(_minutes(cloud, "ModelLatency", after, after + 4), "p99")
        assert p99 is not None and p99 < 2 * 40_000 * math.exp(0.25 * 2.33)  # back near the profile's


# --- invocations under load --------------------------------------------------------------------------
@contextmanager
def _one_instance(
    profile: PerformanceProfile, rpm: float = 0.0, *, error_rate: float = 0.0
) -> Iterator[LocalCloud]:
    simulation = SimulationSettings(
        registry_events=False,
        requests_per_minute=rpm,
        behaviours={
            "churn/1": ModelBehaviour(
                error_rate=error_rate, latency_ms=35.0, profiles={"ml.m5.large": profile}
            )
        },
    )
    with cloud_with_models(simulation) as cloud:
        cloud.client("sagemaker").create_endpoint_config(
            EndpointConfigName="single", ProductionVariants=[variant("baseline", "m1", count=1)]
        )
        live_endpoint(cloud, "single")
        yield cloud


def _invoke(cloud: LocalCloud, **extra: Any) -> tuple[str, float, dict[str, Any]]:
    runtime = cloud.client("sagemaker-runtime")
    try:
        answer = runtime.invoke_endpoint(EndpointName=ENDPOINT, Body=b"1,2", ContentType="text/csv", **extra)
        headers = answer["ResponseMetadata"]["HTTPHeaders"]
        return "ok", float(headers[LATENCY_HEADER]), answer
    except ClientError as error:
        headers = error.response["ResponseMetadata"]["HTTPHeaders"]
        return error.response["Error"]["Code"], float(headers[LATENCY_HEADER]), error.response


def _step(cloud: LocalCloud, rps: float, seconds: float) -> list[tuple[str, float, dict[str, Any]]]:
    """An open-loop step: ``rps`` requests a second for ``seconds``, the clock advanced between them."""
    start = cloud.scheduler.now
    out = []
    for i in range(int(rps * seconds)):
        cloud.advance_to(start + i / rps)
        out.append(_invoke(cloud))
    cloud.advance_to(start + seconds)
    return out


def test_each_answer_carries_the_simulated_latency_and_the_variant() -> None:
    with _one_instance(M5) as cloud:
        answers = _step(cloud, 5, 20)
        assert {code for code, _, _ in answers} == {"ok"}
        latencies = sorted(latency for _, latency, _ in answers)
        assert latencies[len(latencies) // 2] == pytest.approx(35, rel=0.15)
        assert {answer["InvokedProductionVariant"] for _, _, answer in answers} == {"baseline"}


def test_a_stepped_load_test_finds_the_knee_the_profile_defines() -> None:
    threshold = 100.0  # ms, p95
    with _one_instance(M5) as cloud:
        passing = []
        for rps in range(28, 44, 2):
            answers = _step(cloud, rps, 15)
            latencies = sorted(latency for code, latency, _ in answers)
            failed = sum(code != "ok" for code, _, _ in answers)
            if failed == 0 and latencies[int(0.95 * len(latencies))] <= threshold:
                passing.append(rps)
        found = max(passing)
        expected = max_rps_within(M5, 0.95, threshold)
        assert found == pytest.approx(expected, rel=0.1)


def test_past_capacity_invocations_time_out_as_sagemaker_reports_it() -> None:
    with _one_instance(M5) as cloud:
        answers = _step(cloud, 80, 10)
        failures = [(latency, response) for code, latency, response in answers if code == "ModelError"]
        assert len(failures) / len(answers) == pytest.approx(0.5, abs=0.06)
        latency, response = failures[-1]
        assert latency == TIMEOUT_MS
        assert response["OriginalStatusCode"] == 0
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
        assert (
            "Your invocation timed out while waiting for a response from container"
            in response["Error"]["Message"]
        )


def test_background_traffic_counts_in_the_load() -> None:
    # 2,100 requests a minute of background: 35 a second on the one instance; 5 more arrive a second
    with _one_instance(M5, rpm=2100) as cloud:
        [serving] = cloud.sagemaker_sim.serving_now(ENDPOINT)
        snapshot = cloud.sagemaker_sim.serving_now(ENDPOINT)
        assert cloud.invocations.rate_per_instance(ENDPOINT, serving, snapshot) == pytest.approx(35)
        answers = _step(cloud, 5, 30)
        latencies = sorted(latency for _, latency, _ in answers)
        assert latencies[len(latencies) // 2] > load_point(M5, 10).quantile_ms(0.5) * 1.05


def test_the_versions_own_error_rate_answers_a_500_model_error() -> None:
    with _one_instance(M5, error_rate=0.5) as cloud:
        answers = _step(cloud, 5, 40)
        errors = [response for code, _, response in answers if code == "ModelError"]
        assert len(errors) / len(answers) == pytest.approx(0.5, abs=0.12)
        assert {e["OriginalStatusCode"] for e in errors} == {500}


def test_an_unknown_target_variant_is_refused() -> None:
    with _one_instance(M5) as cloud:
        runtime = cloud.client("sagemaker-runtime")
        with pytest.raises(ClientError) as refused:
            runtime.invoke_endpoint(
                EndpointName=ENDPOINT, Body=b"1", ContentType="text/csv", TargetVariant="nope"
            )
        assert refused.value.response["Error"]["Code"] == "ValidationError"
        assert "nope" in refused.value.response["Error"]["Message"]
        assert _invoke(cloud, TargetVariant="baseline")[0] == "ok"


def test_without_a_profile_the_header_holds_the_versions_latency_and_the_answer_is_mocked_as_before() -> None:
    simulation = SimulationSettings(
        registry_events=False, behaviours={"churn/1": ModelBehaviour(latency_ms=200.0)}
    )
    with cloud_with_models(simulation) as cloud:
        baseline_config(cloud)
        live_endpoint(cloud)
        answers = [_invoke(cloud) for _ in range(50)]
        assert {code for code, _, _ in answers} == {"ok"}
        assert sorted(latency for _, latency, _ in answers)[25] == pytest.approx(200, rel=0.2)
        assert {a["InvokedProductionVariant"] for _, _, a in answers} == {"invoked_production_variant"}


def test_the_clock_hook_moves_forward_only_and_not_from_inside() -> None:
    with _one_instance(M5) as cloud:
        now = cloud.scheduler.now
        cloud.advance(0.25)
        assert cloud.scheduler.now == now + 0.25
        cloud.advance_to(now + 90)
        assert cloud.scheduler.now == now + 90
        with pytest.raises(ValueError, match="only moves forward"):
            cloud.advance_to(now)
        caught: list[BaseException] = []

        def inside() -> None:
            try:
                cloud.advance_to(cloud.scheduler.now + 1)
            except RuntimeError as exc:
                caught.append(exc)

        cloud.scheduler.after(1, inside)
        cloud.advance(2)
        assert caught and "outside the simulation" in str(caught[0])


# --- the scenario keys ------------------------------------------------------------------------------
SCENARIO = """
name: profiles
models:
  churn/1: {latencyMs: 40, latencyP99Ms: 90, profiles: {ml.m5.large: {maxRps: 40}}}
  churn/2:
    latencyMs: 40
    profiles:
      ml.c5.xlarge: {maxRps: 90, latencyMs: 30}
      ml.g4dn.xlarge: {maxRps: 300, latencyMs: 15, latencyP99Ms: 40, concurrency: 4}
simulation: {recommenderDefaultSeconds: 600, recommenderAdvancedSeconds: 1800}
timeline:
  - {at: 0, approve: {group: churn, version: 1}}
"""


def test_scenario_profiles_become_the_simulations(tmp_path: Any) -> None:
    from localcloud.scenario.contract import ScenarioError, load_scenario
    from localcloud.scenario.runner import simulation_settings

    path = tmp_path / "profiles.yaml"
    path.write_text(SCENARIO)
    settings = simulation_settings(load_scenario(path))
    # a profile without its own latency takes the version's, p99 included
    assert settings.behaviour("churn/1").profiles == {"ml.m5.large": PerformanceProfile(40, 40, 90)}
    assert settings.behaviour("churn/2").profiles == {
        "ml.c5.xlarge": PerformanceProfile(90, 30),
        "ml.g4dn.xlarge": PerformanceProfile(300, 15, 40, concurrency=4),
    }
    assert (settings.recommender_default_seconds, settings.recommender_advanced_seconds) == (600, 1800)
    path.write_text(SCENARIO.replace("ml.c5.xlarge", "ml.t3.medium"))
    with pytest.raises(ScenarioError) as refused:
        load_scenario(path)
    assert refused.value.key == "models.churn/2.profiles"
    assert "not an instance type SageMaker offers for real-time inference" in refused.value.problem
    path.write_text(SCENARIO.replace("maxRps: 90", "maxRps: 0"))
    with pytest.raises(ScenarioError) as refused:
        load_scenario(path)
    assert refused.value.key == "models.churn/2.profiles.ml.c5.xlarge.maxRps"
