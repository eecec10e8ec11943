"""Monitors follow the serving version: the config's checks, what a deployment leaves watching, alarms."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from smdeploy import monitoring, withdrawal
from smdeploy.buckets import RoleBuckets
from smdeploy.errors import AwsRequestRejected, InvalidRequest
from smdeploy.models import GroupConfig, MonitoringConfig

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/{}"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BUCKETS = RoleBuckets(read=("artifacts",), write=("capture",))


def package(version: int, *, data: bool = True, quality: bool = False) -> dict[str, Any]:
    checks: dict[str, Any] = {}
    base = f"s3://artifacts/baselines/churn/{version}"
    if data:
        checks["ModelDataQuality"] = {
            "Statistics": {
                "ContentType": "application/json",
                "S3Uri": f"{base}/data-quality/statistics.json",
            },
            "Constraints": {
                "ContentType": "application/json",
                "S3Uri": f"{base}/data-quality/constraints.json",
            },
        }
    if quality:
        checks["ModelQuality"] = {
            "Statistics": {
                "ContentType": "application/json",
                "S3Uri": f"{base}/model-quality/statistics.json",
            },
        }
    return {"ModelPackageArn": ARN.format(version), "DriftCheckBaselines": checks}


def group(**monitoring_config: Any) -> GroupConfig:
    config = {"dataQuality": {"everyMinutes": 60}, **monitoring_config}
    return GroupConfig.model_validate(
        {
            "endpoint": "churn-prod",
            "dataCapture": {"samplingPercentage": 50, "destination": "s3://capture/churn"},
            "monitoring": config,
        }
    )


def checked(
    config: GroupConfig, pkg: dict[str, Any], buckets: RoleBuckets | None = BUCKETS
) -> dict[str, Any]:
    assert config.monitoring is not None
    return monitoring.check_config(
        config.monitoring,
        group_config=config,
        package=pkg,
        label="churn/2",
        source="ssm:/g/churn",
        role_buckets=buckets,
    )


# --- the config ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"engine": "builtin"}, "dataQuality, modelQuality or both"),
        ({"dataQuality": {"psiThreshold": 0}}, "psiThreshold"),
        ({"dataQuality": {"ksAlpha": 0.5}}, "ksAlpha"),
        ({"dataQuality": {"everyMinutes": 1}}, "everyMinutes"),
        ({"engine": "model-monitor", "dataQuality": {"everyMinutes": 30}}, "hourly at most"),
        ({"modelQuality": {"groundTruth": "s3://b/l/", "metric": "logloss", "minDrop": 0.1}}, "metric"),
        ({"onDrift": "page"}, "onDrift"),
    ],
)
def test_a_monitoring_config_out_of_range_is_refused_naming_the_key(config: dict[str, Any], key: str) -> None:
    with pytest.raises(ValidationError) as caught:
        MonitoringConfig.model_validate(config)
    assert key in str(caught.value)


def test_monitoring_on_a_serverless_group_is_refused() -> None:
    with pytest.raises(ValidationError, match="serverless endpoints capture none"):
        GroupConfig.model_validate({"serverless": {}, "monitoring": {"dataQuality": {}}})


def test_a_usable_config_is_carried_by_the_plan_with_the_capture_destination() -> None:
    carried = checked(group(), package(2))
    assert carried["captureDestination"] == "s3://capture/churn"
    assert carried["dataQuality"]["psiThreshold"] == 0.2
    assert carried["onDrift"] == "notify"


def test_monitoring_without_data_capture_is_an_invalid_request() -> None:
    config = group()
    config = config.model_copy(update={"dataCapture": None})
    with pytest.raises(InvalidRequest) as caught:
        checked(config, package(2))
    assert caught.value.field == "monitoring"
    assert "dataCapture" in caught.value.message


def test_data_quality_needs_the_captured_inputs() -> None:
    config = GroupConfig.model_validate(
        {
            "dataCapture": {"samplingPercentage": 50, "destination": "s3://capture/c", "capture": ["Output"]},
            "monitoring": {"dataQuality": {}},
        }
    )
    with pytest.raises(InvalidRequest) as caught:
        checked(config, package(2))
    assert caught.value.field == "dataCapture.capture"
    assert "inputs" in caught.value.message


def test_a_package_without_the_baselines_asked_for_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest) as caught:
        checked(group(), package(2, data=False))
    assert caught.value.field == "monitoring.dataQuality"
    assert "DriftCheckBaselines.ModelDataQuality" in caught.value.message
    with pytest.raises(InvalidRequest) as caught:
        checked(group(modelQuality={"groundTruth": "s3://capture/labels/", "minDrop": 0.05}), package(2))
    assert caught.value.field == "monitoring.modelQuality"


def test_a_ground_truth_location_the_stack_cannot_read_is_an_invalid_request() -> None:
    config = group(modelQuality={"groundTruth": "s3://elsewhere/labels/", "minDrop": 0.05})
    with pytest.raises(InvalidRequest) as caught:
        checked(config, package(2, quality=True))
    assert caught.value.field == "monitoring.modelQuality.groundTruth"
    assert "elsewhere" in caught.value.message


def test_baselines_outside_the_readable_buckets_are_an_invalid_request() -> None:
    pkg = package(2)
    pkg["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]["S3Uri"] = "s3://other/stats.json"
    with pytest.raises(InvalidRequest) as caught:
        checked(group(), pkg)
    assert caught.value.field == "DriftCheckBaselines.ModelDataQuality.Statistics.S3Uri"


def test_a_multi_model_group_cannot_be_monitored() -> None:
    config = group().model_copy(update={"multiModel": object()})
    with pytest.raises(InvalidRequest, match="multi-model"):
        checked(config, package(2))


# --- follow: what watches the endpoint after a deployment ----------------------------------------------
class FakeSageMaker:
    def __init__(self, serving: int, packages: dict[int, dict[str, Any]]) -> None:
        self.serving = serving
        self.packages = packages
        self.schedules: dict[str, dict[str, Any]] = {}
        self.status = "InService"

    def find_endpoint(self, name: str) -> dict[str, Any] | None:
        return {"EndpointName": name, "EndpointStatus": self.status, "EndpointConfigName": "c"}

    def variants_serving(self, live: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "VariantName": f"churn-v{self.serving}",
                "ModelPackageArn": ARN.format(self.serving),
                "CurrentWeight": 1.0,
            }
        ]

    def find_model_package(self, arn: str) -> dict[str, Any] | None:
        return self.packages.get(int(arn.rsplit("/", 1)[1]))

    def ensure_data_quality_schedule(self, **request: Any) -> bool:
        created = request["name"] not in self.schedules
        self.schedules.setdefault(request["name"], request)
        return created

    def monitoring_schedules_of(self, endpoint: str) -> list[str]:
        return [n for n, s in self.schedules.items() if s["endpoint"] == endpoint]

    def delete_monitoring_schedule(self, name: str) -> bool:
        return self.schedules.pop(name, None) is not None


class FakeScheduler:
    def __init__(self) -> None:
        self.schedules: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []

    def find(self, name: str) -> dict[str, Any] | None:
        return self.schedules.get(name)

    def put(self, *, name: str, payload: dict[str, Any], exists: bool, **rest: Any) -> None:
        self.calls.append("update" if exists else "create")
        self.schedules[name] = {"Name": name, "input": payload, **rest}

    def delete(self, name: str) -> bool:
        return self.schedules.pop(name, None) is not None


class FakeCloudWatch:
    def __init__(self) -> None:
        self.alarms: dict[str, dict[str, Any]] = {}
        self.deleted: list[str] = []

    def find_alarms(self, names: list[str]) -> list[dict[str, Any]]:
        return [self.alarms[n] for n in names if n in self.alarms]

    def put_alarm(self, definition: dict[str, Any]) -> None:
        self.alarms[definition["AlarmName"]] = definition

    def delete_alarms(self, names: list[str]) -> None:
        for name in names:
            self.deleted.append(name)
            self.alarms.pop(name, None)


def follow(plan: dict[str, Any], sm: FakeSageMaker, sch: FakeScheduler, cw: FakeCloudWatch) -> dict[str, Any]:
    return monitoring.follow(
        plan,
        sagemaker=sm,
        scheduler=sch,
        cloudwatch=cw,
        check_function_arn="arn:aws:lambda:us-east-1:123456789012:function:check",
        scheduler_role_arn="arn:aws:iam::123456789012:role/scheduler",
        monitor_role_arn="arn:aws:iam::123456789012:role/model",
        monitor_image_uri="image",
        execution_arn="arn:exec",
        now=NOW,
    )


def plan_with(config: dict[str, Any] | None) -> dict[str, Any]:
    return {"endpointName": "churn-prod", "monitoring": config}


CONFIG = {
    "engine": "builtin",
    "dataQuality": {
        "everyMinutes": 60,
        "psiThreshold": 0.2,
        "ksAlpha": 0.01,
        "features": "all",
        "minSamples": 100,
    },
    "onDrift": "notify",
    "captureDestination": "s3://capture/churn",
}


def test_after_a_promotion_the_monitors_use_the_new_versions_baselines_and_none_of_the_old() -> None:
    sm, sch, cw = FakeSageMaker(1, {1: package(1), 2: package(2)}), FakeScheduler(), FakeCloudWatch()
    first = follow(plan_with(CONFIG), sm, sch, cw)
    assert first["version"] == "churn/1"
    sm.serving = 2
    second = follow(plan_with(CONFIG), sm, sch, cw)
    spec = sch.schedules["smdeploy-drift-churn-prod"]["input"]["monitor"]
    assert spec["version"] == "churn/2"
    assert spec["dataQuality"]["statistics"].startswith("s3://artifacts/baselines/churn/2/")
    assert sch.calls == ["create", "update"]
    assert second["retargeted"] is True and second["previousVersion"] == "churn/1"
    # the alarm was recreated for churn/2 (a new version starts without the old one's state)
    assert "smdeploy-drift-churn-prod" in cw.deleted
    assert "churn/2" in cw.alarms["smdeploy-drift-churn-prod"]["AlarmDescription"]
    assert "churn/1" not in json_text(sch.schedules)


def json_text(value: Any) -> str:
    import json

    return json.dumps(value, default=str)


def test_the_schedule_runs_the_check_at_the_configured_rate_with_the_scheduled_time() -> None:
    sm, sch, cw = FakeSageMaker(1, {1: package(1)}), FakeScheduler(), FakeCloudWatch()
    follow(plan_with({**CONFIG, "dataQuality": {**CONFIG["dataQuality"], "everyMinutes": 30}}), sm, sch, cw)
    schedule = sch.schedules["smdeploy-drift-churn-prod"]
    assert schedule["expression"] == "rate(30 minutes)"
    assert schedule["input"]["scheduledTime"] == "<aws.scheduler.scheduled-time>"
    assert cw.alarms["smdeploy-drift-churn-prod"]["Period"] == 1800


def test_a_group_without_monitoring_has_its_monitors_removed() -> None:
    sm, sch, cw = FakeSageMaker(1, {1: package(1)}), FakeScheduler(), FakeCloudWatch()
    follow(plan_with(CONFIG), sm, sch, cw)
    result = follow(plan_with(None), sm, sch, cw)
    assert sch.schedules == {} and cw.alarms == {}
    assert "smdeploy-drift-churn-prod" in result["removed"]


def test_a_serving_version_without_baselines_leaves_the_endpoint_unmonitored_and_says_so() -> None:
    sm, sch, cw = (
        FakeSageMaker(2, {1: package(1, data=False), 2: package(2)}),
        FakeScheduler(),
        FakeCloudWatch(),
    )
    follow(plan_with(CONFIG), sm, sch, cw)
    sm.serving = 1  # rolled back to a version registered before baselines existed
    result = follow(plan_with(CONFIG), sm, sch, cw)
    assert result["monitors"] == []
    assert "churn/1" in result["note"] and "unmonitored" in result["note"]
    assert sch.schedules == {}


def test_an_endpoint_not_in_service_keeps_its_monitors_unchanged() -> None:
    sm, sch, cw = FakeSageMaker(1, {1: package(1)}), FakeScheduler(), FakeCloudWatch()
    follow(plan_with(CONFIG), sm, sch, cw)
    sm.status = "Updating"
    result = follow(plan_with(CONFIG), sm, sch, cw)
    assert result["note"].startswith("unchanged")
    assert "smdeploy-drift-churn-prod" in sch.schedules


def test_with_model_monitor_a_schedule_per_version_is_made_and_the_old_one_deleted() -> None:
    sm, sch, cw = FakeSageMaker(1, {1: package(1), 2: package(2)}), FakeScheduler(), FakeCloudWatch()
    config = {**CONFIG, "engine": "model-monitor"}
    follow(plan_with(config), sm, sch, cw)
    assert list(sm.schedules) == ["smdeploy-churn-prod-dq-v1"]
    sm.serving = 2
    result = follow(plan_with(config), sm, sch, cw)
    assert list(sm.schedules) == ["smdeploy-churn-prod-dq-v2"]
    assert sm.schedules["smdeploy-churn-prod-dq-v2"]["statistics"].endswith(
        "churn/2/data-quality/statistics.json"
    )
    assert "smdeploy-churn-prod-dq-v1" in result["removed"]


def test_long_endpoint_names_give_names_within_the_apis_limits() -> None:
    endpoint = "e" * 63
    named = monitoring.names(endpoint)
    assert len(named["schedule"]) <= 64
    assert len(monitoring.model_monitor_schedule(endpoint, 12)) <= 63
    assert named["schedule"] != monitoring.names("e" * 62 + "f")["schedule"]


# --- a drift alarm -----------------------------------------------------------------------------------
class FakeStarter:
    def __init__(self, fail: str | None = None) -> None:
        self.started: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail

    def start(self, name: str, execution_input: dict[str, Any]) -> str:
        if self.fail:
            raise AwsRequestRejected(self.fail)
        self.started.append((name, execution_input))
        return f"arn:aws:states:us-east-1:123456789012:execution:deploy:{name}"


class FakeNotifier:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def publish(self, subject: str, message: dict[str, Any]) -> str:
        self.sent.append((subject, message))
        return "m-1"


class FakeRecords:
    def monitor_report(self, endpoint: str) -> dict[str, Any]:
        return {
            "endpointName": endpoint,
            "version": "churn/2",
            "window": ["a", "b"],
            "dataQuality": {
                "features": [{"name": "age", "drifted": True, "psi": 0.61, "p_value": 1e-9, "test": "ks"}]
            },
        }


def alarm_event(state: str = "ALARM", name: str = "smdeploy-drift-churn-prod") -> dict[str, Any]:
    return {
        "id": "e-1",
        "detail-type": "CloudWatch Alarm State Change",
        "detail": {
            "alarmName": name,
            "state": {"value": state, "timestamp": "2026-03-01T12:00:00.000+0000"},
            "configuration": {
                "metrics": [{"metricStat": {"metric": {"dimensions": {"EndpointName": "churn-prod"}}}}]
            },
        },
    }


def on_alarm(
    sm: FakeSageMaker, sch: FakeScheduler, starter: FakeStarter, notifier: FakeNotifier, **event: Any
) -> dict[str, Any]:
    return monitoring.on_alarm(
        alarm_event(**event),
        scheduler=sch,
        sagemaker=sm,
        records=FakeRecords(),
        notifier=notifier,
        starter=starter,
    )


def monitored(on_drift: str) -> tuple[FakeSageMaker, FakeScheduler]:
    sm, sch = FakeSageMaker(2, {1: package(1), 2: package(2)}), FakeScheduler()
    follow(plan_with({**CONFIG, "onDrift": on_drift}), sm, sch, FakeCloudWatch())
    return sm, sch


def test_a_drift_alarm_notifies_with_what_drifted() -> None:
    sm, sch = monitored("notify")
    starter, notifier = FakeStarter(), FakeNotifier()
    result = on_alarm(sm, sch, starter, notifier)
    assert result["action"] == "notify" and starter.started == []
    subject, message = notifier.sent[0]
    assert "DRIFT" in subject and "churn/2" in subject
    assert "age (PSI 0.61" in message["summary"]


def test_with_rollback_a_drift_alarm_starts_a_drift_rollback_of_the_watched_version() -> None:
    sm, sch = monitored("rollback")
    starter, notifier = FakeStarter(), FakeNotifier()
    result = on_alarm(sm, sch, starter, notifier)
    assert result["action"] == "rollback"
    name, execution_input = starter.started[0]
    assert name.startswith("drift-")
    assert execution_input["cause"] == "drift"
    assert execution_input["withdrawn"] == ARN.format(2)
    assert "age" in execution_input["reason"]
    again = on_alarm(sm, sch, FakeStarter(fail="StartExecution: ExecutionAlreadyExists: x"), FakeNotifier())
    assert again["alreadyStarted"] is True


def test_an_alarm_of_a_version_that_no_longer_serves_is_ignored() -> None:
    sm, sch = monitored("rollback")
    sm.serving = 1
    starter = FakeStarter()
    result = on_alarm(sm, sch, starter, FakeNotifier())
    assert result["action"] == "ignored" and starter.started == []


def test_an_alarm_back_to_ok_does_nothing() -> None:
    sm, sch = monitored("rollback")
    result = on_alarm(sm, sch, FakeStarter(), FakeNotifier(), state="OK")
    assert result["action"] == "ignored"


# --- the drift rollback under the lock --------------------------------------------------------------
class Registry:
    def __init__(self, approved: list[int]) -> None:
        self.approved = approved

    def latest_approved_package(self, group: str) -> dict[str, Any]:
        return {"ModelPackageArn": ARN.format(max(self.approved))}

    def find_model_package(self, arn: str) -> dict[str, Any]:
        version = int(arn.rsplit("/", 1)[1])
        return {
            "ModelPackageArn": arn,
            "ModelApprovalStatus": "Approved" if version in self.approved else "Rejected",
            "ModelPackageStatus": "Completed",
            "LastModifiedTime": "2026-03-01T00:00:00Z",
        }


def test_a_drift_rollback_returns_to_the_newest_version_below_the_drifting_one() -> None:
    found = withdrawal.newest_deployable(
        "churn", sagemaker=Registry([1, 2, 3]), history=[], below=2, exclude={ARN.format(2)}
    )  # type: ignore[arg-type]
    assert found is not None and found[0] == ARN.format(1)


def test_a_version_taken_off_by_a_drift_rollback_does_not_deploy_again_until_approved_again() -> None:
    record = {
        "modelPackageArn": ARN.format(1),
        "outcome": "PROMOTED",
        "withdrawn": ARN.format(2),
        "withdrawalCause": "drift",
        "recordedAt": "2026-03-02T00:00:00+00:00",
    }
    pkg = Registry([1, 2]).find_model_package(ARN.format(2))
    assert withdrawal.disqualifying_record(ARN.format(2), pkg, [record]) == record
    later = {**pkg, "LastModifiedTime": "2026-03-03T00:00:00Z"}  # approved again after the rollback
    assert withdrawal.disqualifying_record(ARN.format(2), later, [record]) is None


def test_restoring_a_version_without_baselines_is_not_refused_for_want_of_monitoring() -> None:
    config = group()
    assert config.monitoring is not None
    carried = monitoring.check_config(
        config.monitoring,
        group_config=config,
        package=package(1, data=False),
        label="churn/1",
        source="ssm:/g/churn",
        role_buckets=BUCKETS,
        require_baselines=False,
    )
    assert carried["dataQuality"] is not None


def test_labels_in_a_bucket_the_drift_check_may_not_read_are_refused() -> None:
    """The model role writes to the batch bucket too, but CheckDrift reads only DataCaptureBucket."""
    buckets = RoleBuckets(read=("artifacts",), write=("capture", "batch"), capture="capture")
    config = group(modelQuality={"groundTruth": "s3://batch/labels/", "minDrop": 0.05})
    with pytest.raises(InvalidRequest) as caught:
        checked(config, package(2, quality=True), buckets)
    assert caught.value.field == "monitoring.modelQuality.groundTruth"
    capture_elsewhere = GroupConfig.model_validate(
        {
            "dataCapture": {"samplingPercentage": 50, "destination": "s3://batch/c"},
            "monitoring": {"dataQuality": {}},
        }
    )
    with pytest.raises(InvalidRequest) as caught:
        checked(capture_elsewhere, package(2), buckets)
    assert caught.value.field == "dataCapture.destination"
