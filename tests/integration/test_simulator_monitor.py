"""Model Monitor in the local cloud: schedules, executions in virtual time, verdicts from behaviours."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud.engine.cloud import LocalCloud
from localcloud.services.sagemaker.monitor import parse_schedule
from tests.integration.test_simulator_support import (
    ENDPOINT,
    ROLE,
    baseline_config,
    canary_endpoint,
    cloud_with_models,
    live_endpoint,
    settings,
)


def _schedule_config(expression: str = "cron(0 * ? * * *)", endpoint: str = ENDPOINT) -> dict[str, Any]:
    return {
        "ScheduleConfig": {"ScheduleExpression": expression},
        "MonitoringJobDefinition": {
            "MonitoringInputs": [
                {
                    "EndpointInput": {
                        "EndpointName": endpoint,
                        "LocalPath": "/opt/ml/processing/input/endpoint",
                    }
                }
            ],
            "MonitoringOutputConfig": {
                "MonitoringOutputs": [
                    {"S3Output": {"S3Uri": "s3://bucket/monitor", "LocalPath": "/opt/ml/processing/output"}}
                ]
            },
            "MonitoringResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}
            },
            "MonitoringAppSpecification": {
                "ImageUri": "156813124566.dkr.ecr.us-east-1.amazonaws.com/monitor"
            },
            "RoleArn": ROLE,
        },
        "MonitoringType": "DataQuality",
    }


def _executions(cloud: LocalCloud, **filters: Any) -> list[dict[str, Any]]:
    answer = cloud.client("sagemaker").list_monitoring_executions(**filters)
    return list(answer["MonitoringExecutionSummaries"])


def test_hourly_executions_end_with_violations_when_a_violating_version_had_traffic() -> None:
    simulation = settings(v1={"monitor": "ok"}, v2={"monitor": "violations"})
    with cloud_with_models(simulation) as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud, capture=True)
        live_endpoint(cloud)
        arn = sm.create_monitoring_schedule(
            MonitoringScheduleName="churn-dq", MonitoringScheduleConfig=_schedule_config()
        )["MonitoringScheduleArn"]
        assert arn.endswith(":monitoring-schedule/churn-dq")
        # 01:00 covers 00:00-01:00 (churn/1 only): Completed, 5 minutes of delay + 5 of run later
        cloud.run(until=3600 + 599)
        (first,) = _executions(cloud)
        assert first["MonitoringExecutionStatus"] == "InProgress"
        cloud.run(until=3600 + 600)
        (first,) = _executions(cloud)
        assert first["MonitoringExecutionStatus"] == "Completed"
        assert first["ScheduledTime"] == cloud.scheduler.epoch + timedelta(hours=1)
        assert (first["EndpointName"], first["MonitoringScheduleName"]) == (ENDPOINT, "churn-dq")
        assert first["ProcessingJobArn"].startswith(
            "arn:aws:sagemaker:us-east-1:123456789012:processing-job/"
        )
        # the candidate gets traffic in the second hour: violations
        canary = {"VariantName": "candidate", "ModelName": "m2", "InstanceType": "ml.m5.large"}
        sm.create_endpoint_config(
            EndpointConfigName="canary",
            ProductionVariants=[
                {**canary, "VariantName": "baseline", "ModelName": "m1", "InitialInstanceCount": 2},
                {**canary, "InitialInstanceCount": 1, "InitialVariantWeight": 0.1},
            ],
        )
        sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="canary")
        cloud.run(until=2 * 3600 + 600)
        latest = sm.describe_monitoring_schedule(MonitoringScheduleName="churn-dq")
        summary = latest["LastMonitoringExecutionSummary"]
        assert summary["MonitoringExecutionStatus"] == "CompletedWithViolations"
        assert summary["ScheduledTime"] == cloud.scheduler.epoch + timedelta(hours=2)
        assert latest["MonitoringScheduleStatus"] == "Scheduled"
        assert latest["EndpointName"] == ENDPOINT
        report = cloud.monitor.executions[-1]
        assert set(report.packages) == {"churn/1", "churn/2"}


def test_list_monitoring_executions_filters_and_sorts() -> None:
    simulation = settings(v1={"monitor": "violations"})
    with cloud_with_models(simulation) as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud, capture=True)
        live_endpoint(cloud)
        sm.create_monitoring_schedule(
            MonitoringScheduleName="churn-dq", MonitoringScheduleConfig=_schedule_config()
        )
        cloud.run(until=4 * 3600 + 30 * 60)
        newest_first = _executions(
            cloud, EndpointName=ENDPOINT, SortBy="ScheduledTime", SortOrder="Descending"
        )
        assert [e["ScheduledTime"].hour for e in newest_first] == [4, 3, 2, 1]
        oldest_first = _executions(
            cloud, MonitoringScheduleName="churn-dq", SortBy="ScheduledTime", SortOrder="Ascending"
        )
        assert [e["ScheduledTime"].hour for e in oldest_first] == [1, 2, 3, 4]
        after = cloud.scheduler.epoch + timedelta(hours=2, minutes=30)
        assert [e["ScheduledTime"].hour for e in _executions(cloud, ScheduledTimeAfter=after)] == [4, 3]
        before = cloud.scheduler.epoch + timedelta(hours=2)
        assert [e["ScheduledTime"].hour for e in _executions(cloud, ScheduledTimeBefore=before)] == [1]
        violations = _executions(cloud, StatusEquals="CompletedWithViolations")
        assert len(violations) == 4
        assert _executions(cloud, StatusEquals="Failed") == []
        assert _executions(cloud, EndpointName="other") == []
        page = sm.list_monitoring_executions(MaxResults=3, SortBy="ScheduledTime")
        assert len(page["MonitoringExecutionSummaries"]) == 3 and page["NextToken"]
        rest = sm.list_monitoring_executions(
            MaxResults=3, SortBy="ScheduledTime", NextToken=page["NextToken"]
        )
        assert len(rest["MonitoringExecutionSummaries"]) == 1 and "NextToken" not in rest
        schedules = sm.list_monitoring_schedules(EndpointName=ENDPOINT)["MonitoringScheduleSummaries"]
        assert [s["MonitoringScheduleName"] for s in schedules] == ["churn-dq"]


def test_no_traffic_in_the_window_fails_and_a_failing_version_fails() -> None:
    simulation = settings(v2={"monitor": "failed"})
    with cloud_with_models(simulation) as cloud:
        sm = cloud.client("sagemaker")
        shifted = canary_endpoint(cloud, candidate_weight=0.5, capture=True)
        cloud.run(until=shifted + 600)  # the last hour now holds ten minutes of candidate traffic
        sm.create_monitoring_schedule(
            MonitoringScheduleName="now",
            MonitoringScheduleConfig={
                **_schedule_config("NOW"),
                "ScheduleConfig": {
                    "ScheduleExpression": "NOW",
                    "DataAnalysisStartTime": "-PT1H",
                    "DataAnalysisEndTime": "-PT0H",
                },
            },
        )
        cloud.run(until=shifted + 3600)
        (execution,) = _executions(cloud, MonitoringScheduleName="now")
        assert execution["MonitoringExecutionStatus"] == "Failed"
        assert execution["FailureReason"].startswith("AlgorithmError")
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud, capture=True)
        live_endpoint(cloud)
        sm.update_endpoint_weights_and_capacities(
            EndpointName=ENDPOINT,
            DesiredWeightsAndCapacities=[{"VariantName": "baseline", "DesiredWeight": 0}],
        )
        cloud.run()
        sm.create_monitoring_schedule(
            MonitoringScheduleName="churn-dq", MonitoringScheduleConfig=_schedule_config()
        )
        cloud.run(until=2 * 3600 + 600)
        latest = _executions(cloud, SortBy="ScheduledTime", SortOrder="Descending")[0]
        assert (latest["MonitoringExecutionStatus"], latest["FailureReason"]) == (
            "Failed",
            "Job inputs had no data",
        )


def test_an_endpoint_that_captures_nothing_gives_executions_no_data() -> None:
    """Model Monitor analyses the data an endpoint captures: without a ``DataCaptureConfig`` the
    executions fail with "Job inputs had no data" whatever the traffic (aws/sagemaker-python-sdk#2634).
    Capture turned on by an update counts from then on."""
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud)  # serving, but capturing nothing
        baseline_config(cloud, "captured", capture=True)
        live_endpoint(cloud)
        sm.create_monitoring_schedule(
            MonitoringScheduleName="churn-dq", MonitoringScheduleConfig=_schedule_config()
        )
        cloud.run(until=3600 + 600)
        (first,) = _executions(cloud)
        assert (first["MonitoringExecutionStatus"], first["FailureReason"]) == (
            "Failed",
            "Job inputs had no data",
        )
        sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="captured")
        cloud.run(until=3 * 3600 + 600)
        latest = _executions(cloud, SortBy="ScheduledTime", SortOrder="Descending")[0]
        assert latest["MonitoringExecutionStatus"] == "Completed"


def test_deleted_or_stopped_schedules_stop_running() -> None:
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud, capture=True)
        live_endpoint(cloud)
        sm.create_monitoring_schedule(MonitoringScheduleName="a", MonitoringScheduleConfig=_schedule_config())
        sm.create_monitoring_schedule(MonitoringScheduleName="b", MonitoringScheduleConfig=_schedule_config())
        cloud.run(until=3600 + 900)
        sm.delete_monitoring_schedule(MonitoringScheduleName="a")
        sm.stop_monitoring_schedule(MonitoringScheduleName="b")
        assert (
            sm.describe_monitoring_schedule(MonitoringScheduleName="b")["MonitoringScheduleStatus"]
            == "Stopped"
        )
        cloud.run(until=3 * 3600 + 900)
        assert len(_executions(cloud)) == 2
        with pytest.raises(ClientError) as gone:
            sm.describe_monitoring_schedule(MonitoringScheduleName="a")
        assert gone.value.response["Error"]["Code"] == "ResourceNotFound"
        sm.start_monitoring_schedule(MonitoringScheduleName="b")
        cloud.run(until=4 * 3600 + 900)
        assert len(_executions(cloud, MonitoringScheduleName="b")) == 2


def test_invalid_schedules_are_rejected() -> None:
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        with pytest.raises(ClientError) as no_endpoint:
            sm.create_monitoring_schedule(
                MonitoringScheduleName="x", MonitoringScheduleConfig=_schedule_config()
            )
        assert "Could not find endpoint" in no_endpoint.value.response["Error"]["Message"]
        baseline_config(cloud, capture=True)
        live_endpoint(cloud)
        with pytest.raises(ClientError) as bad_cron:
            sm.create_monitoring_schedule(
                MonitoringScheduleName="x", MonitoringScheduleConfig=_schedule_config("rate(5 minutes)")
            )
        assert bad_cron.value.response["Error"]["Code"] == "ValidationException"
        sm.create_monitoring_schedule(MonitoringScheduleName="x", MonitoringScheduleConfig=_schedule_config())
        with pytest.raises(ClientError) as twice:
            sm.create_monitoring_schedule(
                MonitoringScheduleName="x", MonitoringScheduleConfig=_schedule_config()
            )
        assert twice.value.response["Error"]["Code"] == "ResourceInUse"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("cron(0 * ? * * *)", (3600.0, 0.0)),
        ("cron(15 * ? * * *)", (3600.0, 900.0)),
        ("cron(0 */6 ? * * *)", (21600.0, 0.0)),
        ("cron(30 2 ? * * *)", (86400.0, 9000.0)),
        ("NOW", (None, 0.0)),
    ],
)
def test_parse_schedule(expression: str, expected: tuple[float | None, float]) -> None:
    assert parse_schedule(expression) == expected
