"""Model Monitor in the local cloud: schedules, executions in virtual time, verdicts from behaviours."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from localcloud.engine.cloud import LocalCloud
from localcloud.services.sagemaker.monitor import NO_DATA, parse_schedule
from tests.integration.test_simulator_support import (
    ACCOUNT,
    ENDPOINT,
    REGION,
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


# --- the schedules the product creates: inline data-quality definitions, updates, job definitions ---
BASELINE = "s3://artifacts/baselines/churn/{version}"


def _product_config(version: int = 1, expression: str = "cron(0 * ? * * *)") -> dict[str, Any]:
    """What the product's ``ensure_data_quality_schedule`` sends: an inline DataQuality definition
    with the version's baselines."""
    return {
        "ScheduleConfig": {"ScheduleExpression": expression},
        "MonitoringJobDefinition": {
            "BaselineConfig": {
                "ConstraintsResource": {"S3Uri": BASELINE.format(version=version) + "/constraints.json"},
                "StatisticsResource": {"S3Uri": BASELINE.format(version=version) + "/statistics.json"},
            },
            "MonitoringInputs": [
                {
                    "EndpointInput": {
                        "EndpointName": ENDPOINT,
                        "LocalPath": "/opt/ml/processing/input/endpoint",
                        "S3InputMode": "File",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                }
            ],
            "MonitoringOutputConfig": {
                "MonitoringOutputs": [
                    {
                        "S3Output": {
                            "S3Uri": "s3://bucket/monitor",
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        }
                    }
                ]
            },
            "MonitoringResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}
            },
            "MonitoringAppSpecification": {
                "ImageUri": "156813124566.dkr.ecr.us-east-1.amazonaws.com/monitor"
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "RoleArn": ROLE,
        },
        "MonitoringType": "DataQuality",
    }


def _job_definition_args(name: str, kind: str = "Data") -> dict[str, Any]:
    """CreateDataQualityJobDefinition / CreateModelQualityJobDefinition arguments for the endpoint."""
    prefix = f"{kind}Quality"
    job_input: dict[str, Any] = {
        "EndpointInput": {"EndpointName": ENDPOINT, "LocalPath": "/opt/ml/processing/input/endpoint"}
    }
    if kind == "Model":
        job_input["GroundTruthS3Input"] = {"S3Uri": "s3://bucket/ground-truth"}
    return {
        "JobDefinitionName": name,
        f"{prefix}AppSpecification": {"ImageUri": "156813124566.dkr.ecr.us-east-1.amazonaws.com/monitor"},
        f"{prefix}JobInput": job_input,
        f"{prefix}JobOutputConfig": {
            "MonitoringOutputs": [
                {"S3Output": {"S3Uri": "s3://bucket/monitor", "LocalPath": "/opt/ml/processing/output"}}
            ]
        },
        "JobResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}
        },
        "RoleArn": ROLE,
    }


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_a_schedule_keeps_its_inline_definition_and_tags_and_is_pending_at_first() -> None:
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud)
        live_endpoint(cloud)
        arn = sm.create_monitoring_schedule(
            MonitoringScheduleName="smdeploy-churn-prod-dq-v1",
            MonitoringScheduleConfig=_product_config(),
            Tags=[{"Key": "smdeploy:endpoint", "Value": ENDPOINT}],
        )["MonitoringScheduleArn"]
        described = sm.describe_monitoring_schedule(MonitoringScheduleName="smdeploy-churn-prod-dq-v1")
        # DescribeMonitoringSchedule returns the config as given: a test can see which baseline it uses
        assert described["MonitoringScheduleConfig"] == _product_config()
        assert (described["MonitoringType"], described["EndpointName"]) == ("DataQuality", ENDPOINT)
        assert described["MonitoringScheduleStatus"] == "Pending"
        summaries = sm.list_monitoring_schedules(EndpointName=ENDPOINT)["MonitoringScheduleSummaries"]
        assert [(s["MonitoringScheduleName"], s["MonitoringScheduleStatus"]) for s in summaries] == [
            ("smdeploy-churn-prod-dq-v1", "Pending")
        ]
        assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "smdeploy:endpoint", "Value": ENDPOINT}]
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "smdeploy:version", "Value": "1"}])
        assert len(sm.list_tags(ResourceArn=arn)["Tags"]) == 2
        cloud.run(until=cloud.scheduler.now + 60)
        described = sm.describe_monitoring_schedule(MonitoringScheduleName="smdeploy-churn-prod-dq-v1")
        assert described["MonitoringScheduleStatus"] == "Scheduled"
        # without data capture the executions still fail, as on AWS
        cloud.run(until=2 * 3600 + 600)
        latest = sm.describe_monitoring_schedule(MonitoringScheduleName="smdeploy-churn-prod-dq-v1")
        summary = latest["LastMonitoringExecutionSummary"]
        assert (summary["MonitoringExecutionStatus"], summary["FailureReason"]) == ("Failed", NO_DATA)


def test_update_replaces_the_config_and_re_times_the_executions() -> None:
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud, capture=True)
        live_endpoint(cloud)
        name = "smdeploy-churn-prod-dq"
        sm.create_monitoring_schedule(MonitoringScheduleName=name, MonitoringScheduleConfig=_product_config())
        # Pending right after the create: SageMaker refuses to delete (or update) it yet
        with pytest.raises(ClientError) as pending:
            sm.delete_monitoring_schedule(MonitoringScheduleName=name)
        assert (_code(pending), pending.value.response["Error"]["Message"]) == (
            "ValidationException",
            "Monitoring schedule in status Pending",
        )
        with pytest.raises(ClientError) as pending_update:
            sm.update_monitoring_schedule(
                MonitoringScheduleName=name, MonitoringScheduleConfig=_product_config(2)
            )
        assert _code(pending_update) == "ValidationException"
        cloud.run(until=3600 + 600)  # the 01:00 execution
        arn = sm.update_monitoring_schedule(
            MonitoringScheduleName=name, MonitoringScheduleConfig=_product_config(2, "cron(0 */3 ? * * *)")
        )["MonitoringScheduleArn"]
        assert arn.endswith(f":monitoring-schedule/{name}")
        described = sm.describe_monitoring_schedule(MonitoringScheduleName=name)
        baselines = described["MonitoringScheduleConfig"]["MonitoringJobDefinition"]["BaselineConfig"]
        assert baselines["StatisticsResource"]["S3Uri"] == BASELINE.format(version=2) + "/statistics.json"
        assert described["MonitoringScheduleStatus"] == "Pending"
        assert described["LastModifiedTime"] > described["CreationTime"]
        cloud.run(until=7 * 3600)
        hours = [
            e["ScheduledTime"].hour for e in _executions(cloud, SortBy="ScheduledTime", SortOrder="Ascending")
        ]
        assert hours == [1, 3, 6]  # hourly until the update, then every three hours
        with pytest.raises(ClientError) as missing:
            sm.update_monitoring_schedule(
                MonitoringScheduleName="nope", MonitoringScheduleConfig=_product_config()
            )
        assert _code(missing) == "ResourceNotFound"
        sm.stop_monitoring_schedule(MonitoringScheduleName=name)
        sm.update_monitoring_schedule(
            MonitoringScheduleName=name, MonitoringScheduleConfig=_product_config(3)
        )
        cloud.run(until=12 * 3600)
        assert len(_executions(cloud)) == 3  # a stopped schedule stays stopped after an update
        assert (
            sm.describe_monitoring_schedule(MonitoringScheduleName=name)["MonitoringScheduleStatus"]
            == "Stopped"
        )
        sm.delete_monitoring_schedule(MonitoringScheduleName=name)


def _without(config: dict[str, Any], key: str) -> dict[str, Any]:
    out = dict(config)
    out.pop(key)
    return out


def _definition_with(**changes: Any) -> dict[str, Any]:
    config = _product_config()
    config["MonitoringJobDefinition"] = config["MonitoringJobDefinition"] | changes
    return config


@pytest.mark.parametrize(
    ("name", "config", "message"),
    [
        ("x" * 64, _product_config(), "Member must have length less than or equal to 63"),
        ("bad_name", _product_config(), "Member must satisfy regular expression pattern"),
        ("both", _product_config() | {"MonitoringJobDefinitionName": "dq"}, "not both and not neither"),
        ("neither", _without(_product_config(), "MonitoringJobDefinition"), "not both and not neither"),
        ("inline-mq", _product_config() | {"MonitoringType": "ModelQuality"}, "only a DataQuality job"),
        (
            "unknown-definition",
            _without(_product_config(), "MonitoringJobDefinition") | {"MonitoringJobDefinitionName": "nope"},
            'Could not find job definition "arn:aws:sagemaker:us-east-1:123456789012:data-quality-job',
        ),
        (
            "two-inputs",
            _definition_with(
                MonitoringInputs=_product_config()["MonitoringJobDefinition"]["MonitoringInputs"] * 2
            ),
            "Member must have length less than or equal to 1",
        ),
        ("bad-role", _definition_with(RoleArn="arn:aws:iam::123456789012:user/someone"), "roleArn"),
        (
            "bad-instance",
            _definition_with(
                MonitoringResources={
                    "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.nope", "VolumeSizeInGB": 20}
                }
            ),
            "Member must satisfy enum value set",
        ),
        (
            "too-long-run",
            _definition_with(StoppingCondition={"MaxRuntimeInSeconds": 86401}),
            "less than or equal to 86400",
        ),
        ("bad-type", _product_config() | {"MonitoringType": "Drift"}, "Member must satisfy enum value set"),
    ],
)
def test_requests_sagemaker_refuses_are_validation_exceptions(
    name: str, config: dict[str, Any], message: str
) -> None:
    with cloud_with_models() as cloud:
        baseline_config(cloud)
        live_endpoint(cloud)
        with pytest.raises(ClientError) as refused:
            cloud.client("sagemaker").create_monitoring_schedule(
                MonitoringScheduleName=name, MonitoringScheduleConfig=config
            )
        assert _code(refused) == "ValidationException"
        assert message in refused.value.response["Error"]["Message"]
        assert cloud.monitor.executions == [] and not cloud.monitor._store(ACCOUNT, REGION).schedules


def test_a_missing_required_member_is_refused_by_the_sdk_itself() -> None:
    """botocore checks required members before sending (its ParamValidationError), as against AWS."""
    with cloud_with_models() as cloud:
        config = _product_config()
        del config["MonitoringJobDefinition"]["MonitoringAppSpecification"]
        with pytest.raises(ParamValidationError, match="MonitoringAppSpecification"):
            cloud.client("sagemaker").create_monitoring_schedule(
                MonitoringScheduleName="x", MonitoringScheduleConfig=config
            )


def test_job_definitions_are_created_once_and_scheduled_by_name_with_their_type() -> None:
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        baseline_config(cloud)
        live_endpoint(cloud)
        sm.create_data_quality_job_definition(**_job_definition_args("churn-dq"))
        with pytest.raises(ClientError) as twice:
            sm.create_data_quality_job_definition(**_job_definition_args("churn-dq"))
        assert _code(twice) == "ResourceInUse"
        with pytest.raises(ClientError) as long_name:
            sm.create_data_quality_job_definition(**_job_definition_args("d" * 64))
        assert _code(long_name) == "ValidationException"
        sm.create_model_quality_job_definition(**_job_definition_args("churn-mq", "Model"))
        with pytest.raises(ClientError) as twice_mq:
            sm.create_model_quality_job_definition(**_job_definition_args("churn-mq", "Model"))
        assert _code(twice_mq) == "ResourceInUse"
        described = sm.describe_model_quality_job_definition(JobDefinitionName="churn-mq")
        assert described["ModelQualityJobInput"]["GroundTruthS3Input"]["S3Uri"] == "s3://bucket/ground-truth"
        schedule = {"ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}}
        # a ModelQuality schedule names a ModelQuality definition; a DataQuality one of that name does not do
        with pytest.raises(ClientError) as wrong_type:
            sm.create_monitoring_schedule(
                MonitoringScheduleName="mq",
                MonitoringScheduleConfig=schedule
                | {"MonitoringJobDefinitionName": "churn-dq", "MonitoringType": "ModelQuality"},
            )
        assert _code(wrong_type) == "ValidationException"
        sm.create_monitoring_schedule(
            MonitoringScheduleName="mq",
            MonitoringScheduleConfig=schedule
            | {"MonitoringJobDefinitionName": "churn-mq", "MonitoringType": "ModelQuality"},
        )
        sm.create_monitoring_schedule(
            MonitoringScheduleName="dq",
            MonitoringScheduleConfig=schedule
            | {"MonitoringJobDefinitionName": "churn-dq", "MonitoringType": "DataQuality"},
        )
        summaries = sm.list_monitoring_schedules(EndpointName=ENDPOINT, SortBy="Name", SortOrder="Ascending")
        assert [
            (s["MonitoringScheduleName"], s["MonitoringType"], s["MonitoringJobDefinitionName"])
            for s in summaries["MonitoringScheduleSummaries"]
        ] == [("dq", "DataQuality", "churn-dq"), ("mq", "ModelQuality", "churn-mq")]
        cloud.run(until=3600 + 600)
        executions = _executions(cloud, SortBy="Status")
        assert {
            (e["MonitoringType"], e["MonitoringExecutionStatus"], e["FailureReason"]) for e in executions
        } == {
            ("DataQuality", "Failed", NO_DATA),
            ("ModelQuality", "Failed", NO_DATA),
        }
        sm.delete_monitoring_schedule(MonitoringScheduleName="mq")
        sm.delete_model_quality_job_definition(JobDefinitionName="churn-mq")
        sm.delete_data_quality_job_definition(JobDefinitionName="churn-dq")
        with pytest.raises(ClientError) as gone:
            sm.describe_model_quality_job_definition(JobDefinitionName="churn-mq")
        assert _code(gone) == "ResourceNotFound"
