"""CloudWatch alarm evaluation in the local cloud: thresholds, M of N, missing data, percentiles, math."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from localcloud.engine.cloud import LocalCloud
from localcloud.services.cloudwatch.alarms import Unsupported, parse_expression
from localcloud.services.cloudwatch.metrics import MinuteStat
from tests.integration.test_simulator_support import (
    ENDPOINT,
    canary_endpoint,
    cloud_with_models,
    dims,
    settings,
)


def _alarm(cloud: LocalCloud, name: str = "candidate-5xx", **overrides: Any) -> None:
    kwargs: dict[str, Any] = {
        "AlarmName": name,
        "Namespace": "AWS/SageMaker",
        "MetricName": "Invocation5XXErrors",
        "Dimensions": dims("candidate"),
        "Statistic": "Average",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 0.05,
        "ComparisonOperator": "GreaterThanThreshold",
        **overrides,
    }
    cloud.client("cloudwatch").put_metric_alarm(**{k: v for k, v in kwargs.items() if v is not None})


def _state(cloud: LocalCloud, name: str = "candidate-5xx") -> dict[str, Any]:
    alarms = cloud.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return dict(alarms[0])


def _alarm_events(cloud: LocalCloud) -> list[dict[str, Any]]:
    return [
        d.event for d in cloud.bus.deliveries if d.event["detail-type"] == "CloudWatch Alarm State Change"
    ]


# --- missing data, M of N: synthetic datapoints -------------------------------------------------
def _feed(cloud: LocalCloud, values: list[float | None]) -> None:
    """Error rates for minutes 0.. (oldest first; None = no datapoint), all published, then one
    evaluation."""
    for minute, value in enumerate(values):
        if value is not None:
            stat = MinuteStat(100, value * 100, 0.0, 1.0 if value else 0.0, "binary")
            cloud.traffic.series.put(("Invocation5XXErrors", ENDPOINT, "candidate"), minute, stat)
    cloud.traffic.series.publish_through(len(values))
    cloud.alarms.evaluate_all(len(values))


_ = None
X, G = 0.2, 0.0  # breaching, good (threshold 0.05)
RETAIN = "retain"
TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")
INITIAL_STATES = ("INSUFFICIENT_DATA", "OK", "ALARM")


def _row(text: str) -> list[float | None]:
    """A row of the published tables: ``0`` non-breaching, ``X`` breaching, ``-`` missing; newest last."""
    return [{"0": G, "X": X, "-": _}[c] for c in text.split()]


# "Configuring how CloudWatch alarms treat missing data", section "How alarm state is evaluated
# when data is missing":
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-evaluating-missing-data
# (now https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html;
# its last published source: doc_source/AlarmThatSendsEmail.md of
# github.com/awsdocs/amazon-cloudwatch-user-guide, May 2023). Evaluation range 5, newest on the
# right; the columns are MISSING, IGNORE, BREACHING, NOT BREACHING.
TABLE_3_OF_3 = [  # Datapoints to Alarm 3, Evaluation Periods 3
    ("0 - X - X", "OK", "OK", "OK", "OK"),
    ("0 - - - -", "OK", "OK", "OK", "OK"),
    ("- - - - -", "INSUFFICIENT_DATA", RETAIN, "ALARM", "OK"),
    ("0 X X - X", "ALARM", "ALARM", "ALARM", "ALARM"),
    ("- - X - -", "ALARM", RETAIN, "ALARM", "OK"),  # "premature alarm state"
]
TABLE_2_OF_3 = [  # Datapoints to Alarm 2, Evaluation Periods 3: "a 2 out of 3, M out of N alarm"
    ("0 - X - X", "ALARM", "ALARM", "ALARM", "ALARM"),
    ("0 0 X 0 X", "ALARM", "ALARM", "ALARM", "ALARM"),
    ("0 - X - -", "OK", "OK", "ALARM", "OK"),
    ("- - - - 0", "OK", "OK", "ALARM", "OK"),
    ("- - - X -", "ALARM", RETAIN, "ALARM", "OK"),  # "premature alarm state"
]
# Rows of earlier editions of the same tables (same source, 2018 and 2019), which the May 2023
# edition dropped but whose behaviour its text still describes: "the alarm does not go immediately
# into ALARM state when the data is either - - - - X or - - - X - and Datapoints to Alarm is 3",
# and a breach at least M periods old with nothing but missing data since does alarm.
EARLIER_3_OF_3 = [
    ("- - - - X", "INSUFFICIENT_DATA", RETAIN, "ALARM", "OK"),
    ("X - - - -", "ALARM", RETAIN, "ALARM", "OK"),
    ("- - - X -", "INSUFFICIENT_DATA", RETAIN, "ALARM", "OK"),  # the text's second example
]
EARLIER_2_OF_3 = [
    ("- - - - X", "INSUFFICIENT_DATA", RETAIN, "ALARM", "OK"),
]


def _table_cases() -> list[Any]:
    cases = []
    for name, m, table in (
        ("3 of 3", 3, TABLE_3_OF_3),
        ("2 of 3", 2, TABLE_2_OF_3),
        ("3 of 3, earlier edition", 3, EARLIER_3_OF_3),
        ("2 of 3, earlier edition", 2, EARLIER_2_OF_3),
    ):
        for text, *expected in table:
            cases.append(
                pytest.param(m, text, dict(zip(TREATMENTS, expected, strict=True)), id=f"{name}: {text}")
            )
    return cases


@pytest.mark.parametrize(("m", "row", "expected"), _table_cases())
def test_the_published_missing_data_tables_row_by_row(m: int, row: str, expected: dict[str, str]) -> None:
    """Each row, for each TreatMissingData, from each state an alarm can be in before."""
    with cloud_with_models(versions=0) as cloud:
        for treat in TREATMENTS:
            _alarm(cloud, treat, EvaluationPeriods=3, DatapointsToAlarm=m, TreatMissingData=treat)
        for initial in INITIAL_STATES:
            for treat in TREATMENTS:
                cloud.client("cloudwatch").set_alarm_state(
                    AlarmName=treat, StateValue=initial, StateReason="test"
                )
            _feed(cloud, _row(row))
            for treat in TREATMENTS:
                wanted = initial if expected[treat] == RETAIN else expected[treat]
                assert (treat, initial, _state(cloud, treat)["StateValue"]) == (treat, initial, wanted)


@pytest.mark.parametrize(
    ("treat", "n", "m", "values", "initial", "expected"),
    [
        # M = 1: one breaching datapoint is enough, even at the newest end of missing data (the
        # oldest breach is at least M = 1 period old)
        ("missing", 3, 1, [_, _, _, _, X], None, "ALARM"),
        ("ignore", 3, 1, [_, _, _, _, X], "OK", "ALARM"),
        ("ignore", 3, 1, [_, _, _, X, _], "OK", "ALARM"),
        # M real breaches among fewer than N real datapoints: ALARM under missing and ignore alike
        ("missing", 3, 2, [_, _, _, X, X], None, "ALARM"),
        ("ignore", 3, 2, [_, _, _, X, X], "OK", "ALARM"),
        # a non-breaching datapoint among fewer than N: the real datapoints decide
        ("ignore", 3, 3, [_, _, _, _, G], "ALARM", "OK"),
        ("missing", 3, 2, [_, X, _, _, G], "ALARM", "OK"),
        # breaching / notBreaching fill the gap to N
        ("notBreaching", 3, 2, [_, _, _, _, X], None, "OK"),
        ("notBreaching", 3, 2, [_, _, _, X, X], "OK", "ALARM"),
        ("breaching", 3, 2, [_, _, _, _, G], None, "ALARM"),
        # N real datapoints in the range: the newest N decide, whatever the setting
        ("breaching", 3, 2, [X, _, G, X, G], None, "OK"),
        ("notBreaching", 3, 2, [X, X, _, G, _], None, "ALARM"),
        ("missing", 1, 1, [_, _, X], None, "ALARM"),
    ],
)
def test_missing_data_and_m_out_of_n(
    treat: str, n: int, m: int, values: list[float | None], initial: str | None, expected: str
) -> None:
    assert len(values) == n + 2  # the evaluation range
    with cloud_with_models(versions=0) as cloud:
        _alarm(cloud, EvaluationPeriods=n, DatapointsToAlarm=m, TreatMissingData=treat)
        if initial is not None:
            cloud.client("cloudwatch").set_alarm_state(
                AlarmName="candidate-5xx", StateValue=initial, StateReason="test"
            )
        _feed(cloud, values)
        assert _state(cloud)["StateValue"] == expected


def test_a_lone_breach_with_missing_data_alarms_only_once_it_is_m_periods_old() -> None:
    """AlarmThatSendsEmail.html#CloudWatch-alarms-avoiding-premature-transition: "- - - - X" and
    "- - - X -" do not alarm with Datapoints to Alarm 3 (the next datapoint may be non-breaching);
    "- - X - -" does. Evaluated minute after minute as the breach ages."""
    with cloud_with_models(versions=0) as cloud:
        _alarm(cloud, EvaluationPeriods=3, DatapointsToAlarm=3)  # TreatMissingData: missing
        states = []
        for minutes in (5, 6, 7):  # the breach at minute 4, then nothing: "- - - - X", "- - - X -", ...
            _feed(cloud, [_, _, _, _, X, *([_] * (minutes - 5))])
            states.append(_state(cloud)["StateValue"])
        assert states == ["INSUFFICIENT_DATA", "INSUFFICIENT_DATA", "ALARM"]
        reason = _state(cloud)["StateReason"]
        assert reason.startswith("Threshold Crossed: 1 out of the last 1 datapoints [0.2 (")


def test_a_new_alarm_is_insufficient_data_and_a_put_keeps_the_state() -> None:
    with cloud_with_models(versions=0) as cloud:
        _alarm(cloud)
        first = _state(cloud)
        assert (first["StateValue"], first["StateReason"]) == (
            "INSUFFICIENT_DATA",
            "Unchecked: Initial alarm creation",
        )
        assert first["StateUpdatedTimestamp"].year == 2026  # virtual time
        _feed(cloud, [X, X, X])
        assert _state(cloud)["StateValue"] == "ALARM"
        _alarm(cloud, Threshold=0.5)  # PutMetricAlarm replaces the configuration only
        assert _state(cloud)["StateValue"] == "ALARM"
        assert _state(cloud)["Threshold"] == 0.5


# --- driven by traffic ---------------------------------------------------------------------
def _candidate_alarm_run(error_rate: float, minutes: int = 12) -> tuple[LocalCloud, float]:
    simulation = settings(v1={"error_rate": 0.001}, v2={"error_rate": error_rate})
    with cloud_with_models(simulation) as cloud:
        _alarm(cloud, EvaluationPeriods=3, DatapointsToAlarm=2, TreatMissingData="notBreaching")
        shifted = canary_endpoint(cloud, candidate_weight=0.1)
        cloud.run(until=shifted + minutes * 60)
        return cloud, shifted


def test_candidate_error_alarm_goes_ok_to_alarm_within_the_evaluation_periods() -> None:
    cloud, shifted = _candidate_alarm_run(0.2)
    changes = [(c.at, c.old, c.new) for c in cloud.alarms.transitions]
    # no candidate traffic yet: OK (missing data is not breaching); then ALARM once 2 of 3 breach
    assert [(old, new) for _, old, new in changes] == [("INSUFFICIENT_DATA", "OK"), ("OK", "ALARM")]
    alarm_at = changes[1][0]
    first_full_minute_end = (shifted // 60 + 2) * 60
    assert shifted < alarm_at <= first_full_minute_end + 2 * 60
    (event,) = [e for e in _alarm_events(cloud) if e["detail"]["state"]["value"] == "ALARM"]
    detail = event["detail"]
    assert event["source"] == "aws.cloudwatch"
    assert event["resources"] == ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:candidate-5xx"]
    assert detail["alarmName"] == "candidate-5xx" and detail["previousState"]["value"] == "OK"
    assert detail["state"]["reason"].startswith("Threshold Crossed: ")
    assert (
        "was greater than the threshold (0.05)" in detail["state"]["reason"]
        or "were greater" in (detail["state"]["reason"])
    )
    reason_data = json.loads(detail["state"]["reasonData"])
    assert reason_data["threshold"] == 0.05 and reason_data["statistic"] == "Average"
    assert all(v > 0.05 for v in reason_data["recentDatapoints"][-2:])
    metric = detail["configuration"]["metrics"][0]["metricStat"]
    assert metric["metric"] == {
        "dimensions": {"EndpointName": ENDPOINT, "VariantName": "candidate"},
        "name": "Invocation5XXErrors",
        "namespace": "AWS/SageMaker",
    }
    assert (metric["period"], metric["stat"]) == (60, "Average")


def test_candidate_error_alarm_stays_ok_for_a_healthy_model() -> None:
    cloud, _ = _candidate_alarm_run(0.001, minutes=20)
    assert [(c.old, c.new) for c in cloud.alarms.transitions] == [("INSUFFICIENT_DATA", "OK")]


def test_alarm_state_fields_are_set_in_virtual_time() -> None:
    simulation = settings(v2={"error_rate": 0.5})
    with cloud_with_models(simulation) as cloud:
        _alarm(cloud)
        shifted = canary_endpoint(cloud, candidate_weight=0.5)
        cloud.run(until=shifted + 240)
        state = _state(cloud)
        assert state["StateValue"] == "ALARM"
        transition = cloud.alarms.transitions[-1]
        assert state["StateUpdatedTimestamp"] == cloud.scheduler.epoch + timedelta(seconds=transition.at)
        assert state["StateReason"].startswith("Threshold Crossed: 1 out of the last 1 datapoints [0.")
        assert "(minimum 1 datapoint for " in state["StateReason"]
        assert json.loads(state["StateReasonData"])["period"] == 60


@pytest.mark.parametrize(("latency_ms", "expected"), [(200.0, "ALARM"), (40.0, "OK")])
def test_p99_latency_alarm(latency_ms: float, expected: str) -> None:
    simulation = settings(v1={"latency_ms": 40.0}, v2={"latency_ms": latency_ms})
    with cloud_with_models(simulation) as cloud:
        _alarm(
            cloud,
            "candidate-p99",
            MetricName="ModelLatency",
            Statistic=None,
            ExtendedStatistic="p99",
            Threshold=150_000.0,  # microseconds
            EvaluationPeriods=2,
        )
        shifted = canary_endpoint(cloud, candidate_weight=0.5)
        cloud.run(until=shifted + 6 * 60)
        assert _state(cloud, "candidate-p99")["StateValue"] == expected
        data = json.loads(_state(cloud, "candidate-p99")["StateReasonData"])
        assert data["extendedStatistic"] == "p99"


def test_metric_math_error_rate_alarm() -> None:
    def stat(metric_id: str, metric: str) -> dict[str, Any]:
        return {
            "Id": metric_id,
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/SageMaker",
                    "MetricName": metric,
                    "Dimensions": dims("candidate"),
                },
                "Period": 60,
                "Stat": "Sum",
            },
            "ReturnData": False,
        }

    simulation = settings(v2={"error_rate": 0.2})
    with cloud_with_models(simulation) as cloud:
        cloud.client("cloudwatch").put_metric_alarm(
            AlarmName="candidate-rate",
            Metrics=[
                {"Id": "rate", "Expression": "100 * m1 / m2", "ReturnData": True},
                stat("m1", "Invocation5XXErrors"),
                stat("m2", "Invocations"),
            ],
            EvaluationPeriods=1,
            Threshold=5.0,
            ComparisonOperator="GreaterThanThreshold",
        )
        shifted = canary_endpoint(cloud, candidate_weight=0.5)
        cloud.run(until=shifted + 180)
        assert _state(cloud, "candidate-rate")["StateValue"] == "ALARM"
        value = json.loads(_state(cloud, "candidate-rate")["StateReasonData"])["recentDatapoints"][-1]
        assert 10 < value < 30  # percent


def test_unsupported_math_leaves_the_alarm_alone() -> None:
    with cloud_with_models(versions=0) as cloud:
        cloud.client("cloudwatch").put_metric_alarm(
            AlarmName="filled",
            Metrics=[
                {"Id": "e1", "Expression": "FILL(m1, 0)", "ReturnData": True},
                {
                    "Id": "m1",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/SageMaker",
                            "MetricName": "Invocations",
                            "Dimensions": dims("x"),
                        },
                        "Period": 60,
                        "Stat": "Sum",
                    },
                    "ReturnData": False,
                },
            ],
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanThreshold",
        )
        cloud.run(until=180)
        assert _state(cloud, "filled")["StateValue"] == "INSUFFICIENT_DATA"
        assert "FILL" in cloud.alarms.skipped["filled"]


def test_parse_expression() -> None:
    assert parse_expression("m1/m2")({"m1": 1.0, "m2": 4.0}) == 0.25
    assert parse_expression("100*(m1 - m2)/m3")({"m1": 3.0, "m2": 1.0, "m3": 4.0}) == 50.0
    assert parse_expression("m1/m2")({"m1": 1.0}) is None  # m2 missing counts as 0: no point
    assert parse_expression("-m1 + 2")({"m1": 1.0}) == 1.0
    for bad in ("SUM(METRICS())", "m1 ^ 2", "(m1", "m1 m2"):
        with pytest.raises(Unsupported):
            parse_expression(bad)


def test_alarms_on_other_namespaces_keep_the_state_they_are_set_to() -> None:
    with cloud_with_models(versions=0) as cloud:
        cw = cloud.client("cloudwatch")
        cw.put_metric_alarm(
            AlarmName="queue-depth",
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": "work"}],
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=100,
            ComparisonOperator="GreaterThanThreshold",
        )
        cloud.run(until=120)
        assert _state(cloud, "queue-depth")["StateValue"] == "INSUFFICIENT_DATA"
        cw.set_alarm_state(AlarmName="queue-depth", StateValue="ALARM", StateReason="drill")
        cloud.run(until=600)
        state = _state(cloud, "queue-depth")
        assert (state["StateValue"], state["StateReason"]) == ("ALARM", "drill")
        assert [(c.alarm, c.old, c.new) for c in cloud.alarms.transitions] == [
            ("queue-depth", "INSUFFICIENT_DATA", "ALARM")
        ]
        assert _alarm_events(cloud)[-1]["detail"]["state"]["value"] == "ALARM"


def test_set_alarm_state_lasts_until_the_next_evaluation() -> None:
    with cloud_with_models(versions=0) as cloud:
        _alarm(cloud, TreatMissingData="notBreaching")
        cloud.run(until=60)
        assert _state(cloud)["StateValue"] == "OK"
        cloud.client("cloudwatch").set_alarm_state(
            AlarmName="candidate-5xx", StateValue="ALARM", StateReason="x"
        )
        assert _state(cloud)["StateValue"] == "ALARM"
        cloud.run(until=120)
        assert _state(cloud)["StateValue"] == "OK"
        assert [(c.old, c.new) for c in cloud.alarms.transitions] == [
            ("INSUFFICIENT_DATA", "OK"),
            ("OK", "ALARM"),
            ("ALARM", "OK"),
        ]
