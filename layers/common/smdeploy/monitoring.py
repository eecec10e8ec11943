"""Monitoring follows the model: drift and quality monitors built from the serving version's baselines.

A group's ``monitoring`` (:class:`smdeploy.models.MonitoringConfig`) is checked when the plan is
resolved (:func:`check_config`: the package must carry the baselines the config asks for, the
endpoint must capture what the monitors read, every location must be readable) and acted on at the
end of every deployment, under the endpoint's lock (:func:`follow`): whatever serves then is what
the monitors watch, with that version's own baselines from its package's ``DriftCheckBaselines``
(``ModelDataQuality``, ``ModelQuality``; produced by a pipeline's QualityCheck steps). A version
without them leaves the endpoint unmonitored, and the record says so.

What watches an endpoint (names from :func:`names`):

- **The drift schedule** (EventBridge Scheduler, ``smdeploy-drift-<endpoint>``): every
  ``dataQuality.everyMinutes`` it runs the check function with the monitor's spec as input (the
  version, its variant, baselines, thresholds). Retargeting a monitor is one ``UpdateSchedule``.
- **The check** (:func:`check`): the captured inputs of the window (JSON Lines under
  ``<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/``) against the baseline statistics, feature by
  feature (:mod:`smdeploy.drift`: PSI and Kolmogorov-Smirnov or chi-square, constraints); the
  captured predictions of the last ``windowHours`` joined by event id with the ground-truth labels
  that arrived, against the baseline's metric. It publishes ``DriftedFeatures``,
  ``CapturedSamples``, per-feature ``FeaturePSI``, ``ModelQuality`` and ``ModelQualityDegraded`` to
  the ``smdeploy/Monitoring`` namespace and keeps the latest report in the deployments table.
- **The alarms** ``smdeploy-drift-<endpoint>`` (``DriftedFeatures`` >= 1) and
  ``smdeploy-quality-<endpoint>`` (``ModelQualityDegraded`` >= 1). Recreated when the version
  changes, so that a new version starts without the old one's state. Their "CloudWatch Alarm State
  Change" to ``ALARM`` reaches :func:`on_alarm`: ``onDrift: notify`` publishes the report;
  ``rollback`` also starts a drift rollback of the deploy state machine (a withdrawal with cause
  ``drift``: the last good version, under the endpoint's lock, reason ``DRIFT``).
- With ``engine: model-monitor`` (accounts that still have Model Monitor): a data-quality
  monitoring schedule per version, ``smdeploy-<endpoint>-dq-v<version>``, with the package's
  baselines; the previous version's are deleted. The drift schedule then reads that schedule's
  latest execution (``CompletedWithViolations`` counts as drift) instead of analysing the capture
  itself; model quality stays with the built-in check (its ground-truth join is this module's).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from smdeploy import capture
from smdeploy.adapters.executions import start_once
from smdeploy.alarm_names import DRIFT_ALARM_PREFIX, QUALITY_ALARM_PREFIX, alarm_endpoint
from smdeploy.buckets import RoleBuckets, bucket_of, check_location
from smdeploy.errors import InvalidRequest
from smdeploy.models import GroupConfig, MonitoringConfig, package_label

NAMESPACE = "smdeploy/Monitoring"
SCHEDULE_PREFIX = "smdeploy-drift-"
# "The delivery of captured data to Amazon S3 can require a couple of minutes" (SageMaker
# developer guide, "Capture data from real-time endpoint"): a check judges the window that ended
# this long before it runs, so that the window's objects are there.
CAPTURE_DELIVERY = timedelta(minutes=5)
MAX_GROUND_TRUTH_OBJECTS = 2000
NAME_LIMIT = 64  # Scheduler schedule names: 1-64 characters
MONITOR_SCHEDULE_LIMIT = 63  # MonitoringScheduleName: 1-63
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"  # an EventBridge Scheduler context attribute


def _short(prefix: str, endpoint: str, limit: int, suffix: str = "") -> str:
    name = f"{prefix}{endpoint}{suffix}"
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(endpoint.encode()).hexdigest()[:8]
    keep = limit - len(prefix) - len(suffix) - 9
    return f"{prefix}{endpoint[:keep]}-{digest}{suffix}"


def names(endpoint: str) -> dict[str, str]:
    """The schedule and alarms smdeploy keeps for ``endpoint``'s monitors."""
    return {
        "schedule": _short(SCHEDULE_PREFIX, endpoint, NAME_LIMIT),
        "driftAlarm": _short(DRIFT_ALARM_PREFIX, endpoint, 255),
        "qualityAlarm": _short(QUALITY_ALARM_PREFIX, endpoint, 255),
    }


def model_monitor_schedule(endpoint: str, version: int) -> str:
    return _short("smdeploy-", endpoint, MONITOR_SCHEDULE_LIMIT, f"-dq-v{version}")


# --- baselines of a package ------------------------------------------------------------------------
def _uri(node: Any) -> str | None:
    if isinstance(node, dict) and isinstance(node.get("S3Uri"), str) and node["S3Uri"]:
        return str(node["S3Uri"])
    return None


def baselines_of(package: dict[str, Any]) -> dict[str, dict[str, str | None]]:
    """``{dataQuality|modelQuality: {statistics, constraints}}`` from a DescribeModelPackage answer:
    ``DriftCheckBaselines.ModelDataQuality`` / ``ModelQuality`` (the quality statistics also from
    ``ModelMetrics.ModelQuality.Statistics``). Only the kinds with statistics are present."""
    checks = package.get("DriftCheckBaselines") or {}
    metrics = package.get("ModelMetrics") or {}
    found: dict[str, dict[str, str | None]] = {}
    data = checks.get("ModelDataQuality") or {}
    if _uri(data.get("Statistics")):
        found["dataQuality"] = {
            "statistics": _uri(data.get("Statistics")),
            "constraints": _uri(data.get("Constraints")),
        }
    quality = checks.get("ModelQuality") or {}
    statistics = _uri(quality.get("Statistics")) or _uri(
        (metrics.get("ModelQuality") or {}).get("Statistics")
    )
    if statistics:
        found["modelQuality"] = {
            "statistics": statistics,
            "constraints": _uri(quality.get("Constraints"))
            or _uri((metrics.get("ModelQuality") or {}).get("Constraints")),
        }
    return found


# --- the plan: is the config usable for this package and endpoint? -------------------------------------
def check_config(
    config: MonitoringConfig,
    *,
    group_config: GroupConfig,
    package: dict[str, Any],
    label: str,
    source: str,
    role_buckets: RoleBuckets | None,
    require_baselines: bool = True,
) -> dict[str, Any]:
    """The monitoring config as the plan carries it; :class:`InvalidRequest` naming the key when
    the monitors could not work: no data capture (or not of what they read), a multi-model or
    several-variant endpoint, a package without the baselines asked for, a baseline or ground-truth
    location outside the buckets the stack may read.

    ``require_baselines=False`` (a withdrawal or drift rollback restoring an older version): a
    version without baselines still deploys, and :func:`follow` leaves the endpoint unmonitored
    with a note; taking a version off is never refused for want of monitoring."""
    if group_config.multiModel is not None:
        raise InvalidRequest(
            "monitoring", f"{source}: a multi-model endpoint captures every model's requests together"
        )
    if group_config.variants is not None:
        raise InvalidRequest("monitoring", f"{source}: monitors watch endpoints that serve one variant")
    capture_config = group_config.dataCapture
    if capture_config is None:
        raise InvalidRequest(
            "monitoring",
            f"{source}: monitoring reads what the endpoint captures; set dataCapture (destination and "
            "samplingPercentage)",
        )
    modes = set(capture_config.capture)
    needs = []
    if config.dataQuality is not None or config.duringRollout.inputs:
        needs.append("Input")
    if config.modelQuality is not None or config.duringRollout.predictions:
        needs.append("Output")
    missing = [mode for mode in needs if mode not in modes]
    if missing:
        raise InvalidRequest(
            "dataCapture.capture",
            f"{source}: monitoring needs the captured {' and '.join(m.lower() + 's' for m in missing)}; "
            f"capture {sorted(set(needs) | modes)}",
        )
    found = baselines_of(package)
    wanted = [("dataQuality", "ModelDataQuality")] if config.dataQuality is not None else []
    if config.modelQuality is not None:
        wanted.append(("modelQuality", "ModelQuality"))
    for key, field in wanted:
        if key not in found and require_baselines:
            raise InvalidRequest(
                f"monitoring.{key}",
                f"model package {label} has no DriftCheckBaselines.{field}.Statistics: register it with "
                "the baselines of its pipeline's quality check",
            )
    if role_buckets is not None:
        # What CheckDrift and JudgeCanary may read (template.yaml): the artifact buckets and
        # DataCaptureBucket, not the other buckets the model role writes to.
        extra = (role_buckets.capture,) if role_buckets.capture else tuple(role_buckets.write)
        readable = tuple(role_buckets.read) + extra
        check_location(
            "dataCapture.destination",
            capture_config.destination,
            readable,
            parameter="DataCaptureBucket",
            source=source,
            access="read",
        )
        for key, field in wanted:
            for part in ("statistics", "constraints"):
                check_location(
                    f"DriftCheckBaselines.{field}.{part.title()}.S3Uri",
                    found.get(key, {}).get(part),
                    readable,
                    parameter="ModelArtifactBuckets or DataCaptureBucket",
                    source=f"package {label}",
                    access="read",
                )
        if config.modelQuality is not None:
            check_location(
                "monitoring.modelQuality.groundTruth",
                config.modelQuality.groundTruth,
                readable,
                parameter="ModelArtifactBuckets or DataCaptureBucket",
                source=source,
                access="read",
            )
    if config.modelQuality is not None and bucket_of(config.modelQuality.groundTruth) is None:
        raise InvalidRequest("monitoring.modelQuality.groundTruth", "not an s3:// location")
    return {**config.model_dump(mode="json"), "captureDestination": capture_config.destination}


# --- after a deployment: point the monitors at what serves ------------------------------------------
def _serving_package(sagemaker: Any, endpoint: str) -> tuple[dict[str, Any] | None, str]:
    """(the one variant serving, why not) of an InService endpoint."""
    live = sagemaker.find_endpoint(endpoint)
    if live is None:
        return None, f"endpoint {endpoint} does not exist"
    if live.get("EndpointStatus") != "InService":
        return None, f"endpoint {endpoint} is {live.get('EndpointStatus')}"
    serving = [
        v
        for v in sagemaker.variants_serving(live)
        if max(float(v.get("CurrentWeight") or 0), float(v.get("DesiredWeight") or 0)) > 0
    ]
    packages = {str(v.get("ModelPackageArn")) for v in serving}
    if len(serving) != 1 or len(packages) != 1 or "None" in packages:
        return None, f"endpoint {endpoint} serves {len(serving)} variants"
    return serving[0], ""


def dimensions(endpoint: str, version: str) -> list[dict[str, str]]:
    """A monitor's metrics are per endpoint and version: a new version's alarm never sees the
    datapoints its predecessor's checks published (they stay in CloudWatch for their period)."""
    return [{"Name": "EndpointName", "Value": endpoint}, {"Name": "ModelVersion", "Value": version}]


def _alarm(
    name: str, metric: str, endpoint: str, version: str, description: str, period: int
) -> dict[str, Any]:
    return {
        "AlarmName": name,
        "AlarmDescription": description[:1024],
        "Namespace": NAMESPACE,
        "MetricName": metric,
        "Dimensions": dimensions(endpoint, version),
        "Statistic": "Maximum",
        "Period": period,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        # a check that had too few samples publishes no verdict: no news is not drift
        "TreatMissingData": "notBreaching",
    }


def _period(minutes: int) -> int:
    """The alarm's period: the check's interval (a multiple of 60 s), at most a day."""
    return max(60, min(86400, minutes * 60))


def follow(
    plan: dict[str, Any],
    *,
    sagemaker: Any,
    scheduler: Any,
    cloudwatch: Any,
    check_function_arn: str,
    scheduler_role_arn: str,
    monitor_role_arn: str,
    monitor_image_uri: str,
    execution_arn: str,
    now: datetime,
) -> dict[str, Any]:
    """Point ``plan``'s endpoint's monitors at the version that serves it now; remove them when
    monitoring is not configured or that version has no baselines. Idempotent: a retry converges
    to the same monitors. Returns what watches what (the record keeps it)."""
    endpoint = str(plan.get("endpointName") or "")
    config = plan.get("monitoring")
    named = names(endpoint)
    existing = scheduler.find(named["schedule"])
    previous = ((existing or {}).get("input") or {}).get("monitor") or {}

    def remove(why: str) -> dict[str, Any]:
        removed = []
        if existing is not None and scheduler.delete(named["schedule"]):
            removed.append(named["schedule"])
        alarms = [
            a["AlarmName"] for a in cloudwatch.find_alarms([named["driftAlarm"], named["qualityAlarm"]])
        ]
        cloudwatch.delete_alarms(alarms)
        removed += alarms
        removed += _remove_model_monitor(sagemaker, endpoint, keep=None)
        return {"monitors": [], "removed": removed, "note": why}

    if not config:
        if existing is None:
            return {"monitors": [], "removed": [], "note": "no monitoring configured"}
        return remove("monitoring is no longer configured for the endpoint's group")
    variant, why_not = _serving_package(sagemaker, endpoint)
    if variant is None:
        # Every path ends with one configuration serving; if not, the monitors stay as they were.
        return {"monitors": previous.get("monitors") or [], "removed": [], "note": f"unchanged: {why_not}"}
    arn = str(variant["ModelPackageArn"])
    label = package_label(arn)
    package = sagemaker.find_model_package(arn) or {}
    found = baselines_of(package)
    data_cfg = config.get("dataQuality")
    quality_cfg = config.get("modelQuality")
    if data_cfg and "dataQuality" not in found and not (quality_cfg and "modelQuality" in found):
        return remove(
            f"{label} serves without DriftCheckBaselines.ModelDataQuality: the endpoint is unmonitored"
        )
    engine = str(config.get("engine") or "builtin")
    every = int((data_cfg or {}).get("everyMinutes") or 60)
    spec: dict[str, Any] = {
        "endpointName": endpoint,
        "modelPackageArn": arn,
        "version": label,
        "variantName": variant["VariantName"],
        "engine": engine,
        "everyMinutes": every,
        "captureDestination": config.get("captureDestination"),
        "onDrift": config.get("onDrift", "notify"),
        "alarms": {},
        "configuredBy": execution_arn,
        "configuredAt": now.astimezone(UTC).isoformat(),
    }
    monitors: list[dict[str, str]] = []
    changed = previous.get("modelPackageArn") != arn
    if data_cfg and "dataQuality" in found:
        spec["dataQuality"] = {**data_cfg, **found["dataQuality"]}
        spec["alarms"]["dataQuality"] = named["driftAlarm"]
    if quality_cfg and "modelQuality" in found:
        spec["modelQuality"] = {**quality_cfg, **found["modelQuality"]}
        spec["alarms"]["modelQuality"] = named["qualityAlarm"]
    removed: list[str] = []
    if engine == "model-monitor" and "dataQuality" in spec:
        schedule = model_monitor_schedule(endpoint, int(arn.rsplit("/", 1)[1]))
        sagemaker.ensure_data_quality_schedule(
            name=schedule,
            endpoint=endpoint,
            statistics=str(spec["dataQuality"]["statistics"]),
            constraints=spec["dataQuality"].get("constraints"),
            output=f"{str(spec['captureDestination']).rstrip('/')}/monitoring/{endpoint}/{label}",
            role_arn=monitor_role_arn,
            image_uri=monitor_image_uri,
            tags={"smdeploy:endpoint": endpoint, "smdeploy:model-package": arn},
        )
        spec["modelMonitorSchedule"] = schedule
        removed += _remove_model_monitor(sagemaker, endpoint, keep=schedule)
        monitors.append(
            {
                "name": schedule,
                "kind": "Model Monitor schedule (DataQuality, hourly)",
                "watches": f"{label} data quality: {spec['dataQuality']['statistics']}",
            }
        )
    else:
        removed += _remove_model_monitor(sagemaker, endpoint, keep=None)
    for kind, metric, what in (
        ("dataQuality", "DriftedFeatures", "features drifting from"),
        ("modelQuality", "ModelQualityDegraded", "model quality against"),
    ):
        alarm = named["driftAlarm" if kind == "dataQuality" else "qualityAlarm"]
        if kind not in spec:
            if cloudwatch.find_alarms([alarm]):
                cloudwatch.delete_alarms([alarm])
                removed.append(alarm)
            continue
        if changed:
            # a new version starts without the old one's alarm state (PutMetricAlarm would keep it)
            cloudwatch.delete_alarms([a["AlarmName"] for a in cloudwatch.find_alarms([alarm])])
        description = f"smdeploy: {label} on {endpoint}, {what} {spec[kind]['statistics']}"
        cloudwatch.put_alarm(_alarm(alarm, metric, endpoint, label, description, _period(every)))
        monitors.append({"name": alarm, "kind": f"CloudWatch alarm ({metric} >= 1)", "watches": description})
    if "dataQuality" not in spec and "modelQuality" not in spec:
        return remove(
            f"{label} serves without the baselines monitoring asks for: the endpoint is unmonitored"
        )
    monitors.insert(
        0,
        {
            "name": named["schedule"],
            "kind": f"EventBridge Scheduler schedule (every {every} min)",
            "watches": f"{label} ({variant['VariantName']}) on {endpoint}",
        },
    )
    spec["monitors"] = monitors
    scheduler.put(
        name=named["schedule"],
        expression=f"rate({every} minutes)",
        target_arn=check_function_arn,
        role_arn=scheduler_role_arn,
        # Scheduler replaces the context attribute with the time of each firing
        payload={"monitor": spec, "scheduledTime": SCHEDULED_TIME},
        description=f"smdeploy drift checks of {endpoint} ({label})",
        exists=existing is not None,
    )
    return {
        "version": label,
        "engine": engine,
        "monitors": monitors,
        "removed": removed,
        "retargeted": bool(existing) and changed,
        "previousVersion": previous.get("version"),
    }


def _remove_model_monitor(sagemaker: Any, endpoint: str, *, keep: str | None) -> list[str]:
    """Delete the Model Monitor schedules smdeploy made on ``endpoint`` other than ``keep``."""
    prefix = _short("smdeploy-", endpoint, MONITOR_SCHEDULE_LIMIT, "-dq-v")
    prefix = prefix[: prefix.rindex("-dq-v") + len("-dq-v")]
    removed = []
    for name in sagemaker.monitoring_schedules_of(endpoint):
        if name.startswith(prefix) and name != keep:
            sagemaker.delete_monitoring_schedule(name)
            removed.append(name)
    return removed


# --- the scheduled check -------------------------------------------------------------------------------
def _ground_truth(s3: Any, prefix: str, start: datetime, end: datetime) -> dict[str, str]:
    """eventId -> label of every ground-truth record under ``prefix`` in the hours of ``[start, end]``
    (SageMaker's format: ``groundTruthData.data`` and ``eventMetadata.eventId``, JSON Lines under
    ``yyyy/mm/dd/hh/``)."""
    bucket = bucket_of(prefix) or ""
    labels: dict[str, str] = {}
    for hour in capture.hours(start, end):
        for key in s3.keys_under(f"{prefix.rstrip('/')}/{hour:%Y/%m/%d/%H}/", limit=MAX_GROUND_TRUTH_OBJECTS):
            for line in s3.read_text(bucket, key).splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                event = ((record or {}).get("eventMetadata") or {}).get("eventId")
                data = ((record or {}).get("groundTruthData") or {}).get("data")
                if event and data is not None:
                    labels[str(event)] = str(data).strip()
    return labels


def check(
    spec: dict[str, Any],
    scheduled: datetime,
    *,
    s3: Any,
    cloudwatch: Any,
    sagemaker: Any,
    records: Any,
    publish: bool = True,
) -> dict[str, Any]:
    """One check of a monitor (the schedule's input ``spec``) for the window ending
    :data:`CAPTURE_DELIVERY` before ``scheduled``; publishes its metrics and keeps the report
    (``publish=False``: only returns it, as ``smdeploy drift`` does)."""
    from smdeploy import drift  # numpy and scipy: loaded by the functions that judge drift only

    endpoint = str(spec["endpointName"])
    variant = str(spec["variantName"])
    destination = str(spec.get("captureDestination") or "")
    end = scheduled.astimezone(UTC) - CAPTURE_DELIVERY
    start = end - timedelta(minutes=int(spec.get("everyMinutes") or 60))
    report: dict[str, Any] = {
        "endpointName": endpoint,
        "version": spec.get("version"),
        "modelPackageArn": spec.get("modelPackageArn"),
        "variantName": variant,
        "engine": spec.get("engine"),
        "window": [start.isoformat(), end.isoformat()],
        "checkedAt": scheduled.astimezone(UTC).isoformat(),
        "alarms": spec.get("alarms") or {},
    }
    metrics: list[dict[str, Any]] = []
    dims = dimensions(endpoint, str(spec.get("version")))
    data_cfg = spec.get("dataQuality")
    if data_cfg and spec.get("engine") == "model-monitor":
        execution = sagemaker.latest_monitoring_execution(endpoint, start)
        status = (execution or {}).get("MonitoringExecutionStatus")
        report["dataQuality"] = {
            "modelMonitorExecution": execution,
            "drifted": status == "CompletedWithViolations",
        }
        if status in {"Completed", "CompletedWithViolations"}:
            metrics.append(_datum("DriftedFeatures", float(status == "CompletedWithViolations"), dims, end))
    elif data_cfg:
        baseline = drift.parse_baseline(
            s3.read_json(str(data_cfg["statistics"])),
            s3.read_json(str(data_cfg["constraints"])) if data_cfg.get("constraints") else None,
        )
        lines = capture.inputs(s3, destination, endpoint, variant, start, end)
        rows = drift.parse_rows(lines, len(baseline.features))
        dq = drift.check_data_quality(
            baseline,
            rows,
            psi_threshold=float(data_cfg.get("psiThreshold", 0.2)),
            ks_alpha=float(data_cfg.get("ksAlpha", 0.01)),
            features=data_cfg.get("features") or "all",
            min_samples=int(data_cfg.get("minSamples", 100)),
        )
        report["dataQuality"] = dq.to_dict()
        metrics.append(_datum("CapturedSamples", float(dq.samples), dims, end, unit="Count"))
        if dq.sufficient:
            metrics.append(_datum("DriftedFeatures", float(len(dq.drifted)), dims, end, unit="Count"))
            for feature in dq.features:
                if feature.psi is not None:
                    feature_dims = [*dims, {"Name": "Feature", "Value": feature.name}]
                    metrics.append(_datum("FeaturePSI", float(feature.psi), feature_dims, end))
    quality_cfg = spec.get("modelQuality")
    if quality_cfg:
        window_start = end - timedelta(hours=int(quality_cfg.get("windowHours", 24)))
        predictions = capture.answers(s3, destination, endpoint, variant, window_start, end)
        labels = _ground_truth(s3, str(quality_cfg["groundTruth"]), window_start, scheduled.astimezone(UTC))
        joined = [event for event in predictions if event in labels]
        baseline_q = drift.parse_quality_baseline(
            s3.read_json(str(quality_cfg["statistics"])),
            s3.read_json(str(quality_cfg["constraints"])) if quality_cfg.get("constraints") else None,
        )
        mq = drift.check_model_quality(
            baseline_q,
            str(quality_cfg.get("metric", "auc")),
            [predictions[e] for e in joined],
            [labels[e] for e in joined],
            min_drop=float(quality_cfg["minDrop"]),
            min_samples=int(quality_cfg.get("minSamples", 100)),
        )
        report["modelQuality"] = mq.to_dict()
        if mq.sufficient and mq.current is not None:
            metrics.append(_datum("ModelQuality", float(mq.current), dims, end))
            metrics.append(_datum("ModelQualityDegraded", float(mq.degraded), dims, end))
    report["drifted"] = bool((report.get("dataQuality") or {}).get("drifted")) or bool(
        (report.get("modelQuality") or {}).get("degraded")
    )
    if publish:
        cloudwatch.put_metrics(NAMESPACE, metrics)
        records.put_monitor_report(endpoint, report)
    return report


def _datum(
    name: str, value: float, dims: list[dict[str, str]], at: datetime, unit: str = "None"
) -> dict[str, Any]:
    return {"MetricName": name, "Dimensions": dims, "Timestamp": at, "Value": value, "Unit": unit}


# --- a drift alarm ---------------------------------------------------------------------------------------
def summary(report: dict[str, Any] | None) -> str:
    """One line of what drifted, from a check's report."""
    if not report:
        return "no check report on record"
    parts = []
    dq = report.get("dataQuality") or {}
    for feature in dq.get("features") or []:
        if feature.get("drifted"):
            bits = [f"PSI {feature['psi']:.2f}" if feature.get("psi") is not None else ""]
            if feature.get("p_value") is not None:
                p = float(feature["p_value"])
                bits.append(
                    f"{feature.get('test', 'test')} p {p:.1e}"
                    if p > 0
                    else f"{feature.get('test')} p < 1e-300"
                )
            if feature.get("violations"):
                bits.append(", ".join(v.get("constraint_check_type", "") for v in feature["violations"]))
            parts.append(f"{feature['name']} ({'; '.join(b for b in bits if b)})")
    if dq.get("modelMonitorExecution"):
        execution = dq["modelMonitorExecution"]
        status = execution.get("MonitoringExecutionStatus")
        parts.append(f"Model Monitor execution {execution.get('ScheduledTime')} {status}")
    mq = report.get("modelQuality") or {}
    if mq.get("degraded"):
        parts.append(
            f"{mq.get('metric')} {mq.get('current'):.3f} against the baseline's {mq.get('baseline'):.3f} "
            f"(drop {mq.get('drop'):.3f} >= {mq.get('min_drop')}) over {mq.get('samples')} labelled requests"
        )
    window = report.get("window") or ["?", "?"]
    what = "; ".join(parts) or "no feature over its thresholds in the latest report"
    return (
        f"{report.get('version')} on {report.get('endpointName')}: {what} (window {window[0]} to {window[1]})"
    )


def on_alarm(
    event: dict[str, Any],
    *,
    scheduler: Any,
    sagemaker: Any,
    records: Any,
    notifier: Any,
    starter: Any,
) -> dict[str, Any]:
    """A drift or quality alarm went to ALARM: notify, and with ``onDrift: rollback`` start the
    drift rollback of the version the monitor watches (when it still serves)."""
    raw = event.get("detail")
    detail: dict[str, Any] = raw if isinstance(raw, dict) else {}
    alarm = str(detail.get("alarmName") or "")
    state = str((detail.get("state") or {}).get("value") or "")
    if state != "ALARM":
        return {"action": "ignored", "why": f"alarm {alarm or '?'} is {state or 'in no state'}"}
    endpoint = alarm_endpoint(detail)
    if not endpoint:
        return {"action": "ignored", "why": f"alarm {alarm!r} names no endpoint"}
    named = names(endpoint)
    schedule = scheduler.find(named["schedule"])
    spec = ((schedule or {}).get("input") or {}).get("monitor") or {}
    if alarm not in (spec.get("alarms") or {}).values():
        return {"action": "ignored", "why": f"no monitor of {endpoint} keeps alarm {alarm}"}
    arn = str(spec["modelPackageArn"])
    variant, why_not = _serving_package(sagemaker, endpoint)
    if variant is None or variant.get("ModelPackageArn") != arn:
        serving = package_label(str(variant["ModelPackageArn"])) if variant else why_not
        return {"action": "ignored", "why": f"{spec.get('version')} no longer serves {endpoint} ({serving})"}
    report = records.monitor_report(endpoint)
    what = summary(report)
    kind = "model quality" if alarm == named["qualityAlarm"] else "data drift"
    message = {
        "outcome": "DRIFT",
        "endpointName": endpoint,
        "modelPackageArn": arn,
        "alarm": alarm,
        "kind": kind,
        "summary": what,
        "report": report,
        "onDrift": spec.get("onDrift"),
    }
    result: dict[str, Any] = {"action": "notify", "alarm": alarm, "summary": what}
    if spec.get("onDrift") == "rollback":
        changed = str(((detail.get("state") or {}).get("timestamp")) or event.get("id") or "-")
        name = "drift-" + hashlib.sha256(f"{endpoint}|{arn}|{alarm}|{changed}".encode()).hexdigest()[:24]
        execution_input = {
            "withdrawn": arn,
            "modelPackageArn": arn,
            "endpointName": endpoint,
            "cause": "drift",
            "reason": f"alarm {alarm}: {what}"[:512],
        }
        result["execution"], again = start_once(starter, name, execution_input)  # again: a repeated delivery
        if again:
            result["alreadyStarted"] = True
        result["action"] = "rollback"
        message["rollback"] = result["execution"]
    result["notificationId"] = notifier.publish(
        f"smdeploy DRIFT: {endpoint} <- {spec.get('version')} ({kind})", message
    )
    return result
