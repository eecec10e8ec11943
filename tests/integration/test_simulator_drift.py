"""Model baselines, captured inputs drawn from them, injected drift and ground-truth labels in the
local cloud (localcloud/services/sagemaker/baselines.py, capture.py, groundtruth.py)."""

from __future__ import annotations

import base64
import json
import re
import statistics
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from localcloud.engine.cloud import LocalCloud
from localcloud.scenario.contract import ScenarioError, load_scenario
from localcloud.scenario.runner import Runner
from localcloud.services.sagemaker.baselines import Baseline, Feature, FeatureChange, Quality
from localcloud.services.sagemaker.capture import request
from localcloud.services.sagemaker.groundtruth import GroundTruthConfig
from tests.integration.test_simulator_support import (
    ACCOUNT,
    CAPTURE,
    ENDPOINT,
    cloud_with_models,
    live_endpoint,
    settings,
    variant,
)

CAPTURE_BUCKET = "capture-bucket"  # CAPTURE's DestinationS3Uri is s3://capture-bucket/churn
LABEL_BUCKET = "labels-bucket"
CSV_CAPTURE = {**CAPTURE, "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]}}
ARTIFACT_BUCKET = f"sagemaker-us-east-1-{ACCOUNT}"
MODEL_ROLE = f"arn:aws:iam::{ACCOUNT}:role/smdeploy-ModelExecutionRole"
BASELINE = Baseline(
    features=(
        Feature("age", mean=40, std=12),
        Feature("tenure", mean=36, std=20),
        Feature("plan", categories=(("a", 0.6), ("b", 0.4))),
    ),
    quality=Quality(accuracy=0.9),
)
FEATURES = {
    "age": {"mean": 40, "std": 12},
    "tenure": {"mean": 36, "std": 20},
    "charges": {"mean": 70, "std": 10},
    "plan": {"categories": {"a": 0.6, "b": 0.4}},
}


# --- helpers -----------------------------------------------------------------------------------------
def objects_under(cloud: LocalCloud, bucket: str, prefix: str = "") -> dict[str, str]:
    """key -> text of every object under ``prefix``."""
    s3 = cloud.client("s3")
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            out[item["Key"]] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode()
    return out


def captured_records(cloud: LocalCloud) -> dict[str, list[dict[str, Any]]]:
    """variant -> every captured record (``<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>``)."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for key, body in sorted(objects_under(cloud, CAPTURE_BUCKET).items()):
        variant_name = key.split("/")[2]
        out[variant_name].extend(json.loads(line) for line in body.splitlines())
    return out


def row(record: dict[str, Any]) -> list[str]:
    part = record["captureData"]["endpointInput"]
    data = base64.b64decode(part["data"]).decode() if part["encoding"] == "BASE64" else part["data"]
    return str(data).split(",")


def prediction(record: dict[str, Any]) -> str:
    part = record["captureData"]["endpointOutput"]
    return base64.b64decode(part["data"]).decode() if part["encoding"] == "BASE64" else str(part["data"])


def inference_time(record: dict[str, Any]) -> datetime:
    return datetime.strptime(record["eventMetadata"]["inferenceTime"], "%Y-%m-%dT%H:%M:%SZ")


def ages(records: list[dict[str, Any]]) -> list[float]:
    return [float(row(r)[0]) for r in records]


def two_variant_config(cloud: LocalCloud, weights: tuple[float, float] = (0.5, 0.5)) -> None:
    cloud.client("sagemaker").create_endpoint_config(
        EndpointConfigName="split",
        ProductionVariants=[
            variant("baseline", "m1", weight=weights[0]),
            variant("candidate", "m2", weight=weights[1]),
        ],
        DataCaptureConfig=CSV_CAPTURE,
    )


def one_variant_config(cloud: LocalCloud, capture: dict[str, Any] = CSV_CAPTURE) -> None:
    cloud.client("sagemaker").create_endpoint_config(
        EndpointConfigName="single", ProductionVariants=[variant("baseline", "m1")], DataCaptureConfig=capture
    )


def write_scenario(tmp_path: Path, scenario: dict[str, Any]) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    return path


# --- 1. packages registered with baselines ------------------------------------------------------------
def test_registering_a_package_with_a_baseline_writes_model_monitor_documents_and_drift_check_baselines(
    tmp_path: Path,
) -> None:
    # Given a scenario whose churn/1 has features and a model quality baseline, churn/2 features only
    path = write_scenario(
        tmp_path,
        {
            "name": "baselines",
            "models": {
                "churn/1": {
                    "baseline": {"features": FEATURES, "quality": {"problem": "binary", "accuracy": 0.9}}
                },
                "churn/2": {"baseline": {"features": {"age": {"mean": 41, "std": 11}}}},
            },
            "timeline": [{"at": 0, "register": {"group": "churn", "version": 2}}],
            "until": 60,
        },
    )
    # When both versions are registered
    with Runner(load_scenario(path), path).open(60) as cloud:
        documents = {
            key: json.loads(body) for key, body in objects_under(cloud, ARTIFACT_BUCKET, "baselines/").items()
        }
        described = {
            version: cloud.client("sagemaker").describe_model_package(
                ModelPackageName=f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/churn/{version}"
            )
            for version in (1, 2)
        }
        role_checked = cloud.iam.principals.role(MODEL_ROLE) is not None
        may_read = cloud.iam.authorize_role(
            MODEL_ROLE,
            "sagemaker:CreateModel",
            "s3:GetObject",
            f"arn:aws:s3:::{ARTIFACT_BUCKET}/baselines/churn/1/data-quality/statistics.json",
            {"aws:resourceaccount": [ACCOUNT]},
        )
        may_read_elsewhere = cloud.iam.authorize_role(
            MODEL_ROLE,
            "sagemaker:CreateModel",
            "s3:GetObject",
            "arn:aws:s3:::someone-elses-bucket/statistics.json",
            {"aws:resourceaccount": [ACCOUNT]},
        )

    # Then the data quality and model quality documents sit beside the model artifacts
    prefix = "baselines/churn/1"
    assert set(documents) == {
        f"{prefix}/data-quality/statistics.json",
        f"{prefix}/data-quality/constraints.json",
        f"{prefix}/model-quality/statistics.json",
        f"{prefix}/model-quality/constraints.json",
        "baselines/churn/2/data-quality/statistics.json",
        "baselines/churn/2/data-quality/constraints.json",
    }
    stats = documents[f"{prefix}/data-quality/statistics.json"]
    assert (stats["version"], stats["dataset"]) == (0.0, {"item_count": 10000})
    assert [f["name"] for f in stats["features"]] == ["age", "tenure", "charges", "plan"]  # CSV order
    age = stats["features"][0]
    assert age["inferred_type"] == "Fractional"
    numbers = age["numerical_statistics"]
    assert numbers["common"] == {"num_present": 10000, "num_missing": 0}
    assert (numbers["mean"], numbers["std_dev"], numbers["sum"]) == (40, 12, 400000)
    assert (numbers["min"], numbers["max"]) == (pytest.approx(-8), pytest.approx(88))  # mean -/+ 4 std
    buckets = numbers["distribution"]["kll"]["buckets"]
    assert len(buckets) == 10
    assert [b["upper_bound"] - b["lower_bound"] for b in buckets] == pytest.approx([9.6] * 10)
    assert buckets[0]["lower_bound"] == pytest.approx(-8) and buckets[-1]["upper_bound"] == pytest.approx(88)
    counts = [b["count"] for b in buckets]
    assert sum(counts) == 10000 and all(c == int(c) for c in counts)
    assert counts == counts[::-1] and counts[4] == max(counts)  # symmetric, peaked at the mean
    assert counts[4] == pytest.approx(10000 * 0.2881, abs=5)  # P(40 - 9.6 < X < 40) for N(40, 12)
    sketch = numbers["distribution"]["kll"]["sketch"]
    assert sketch["parameters"] == {"c": 0.64, "k": 2048.0}
    (level,) = sketch["data"]
    assert len(level) == 200 and level == sorted(level)
    assert statistics.median(level) == pytest.approx(40, abs=0.1)
    plan = stats["features"][3]
    assert plan["inferred_type"] == "String"
    assert plan["string_statistics"]["common"] == {"num_present": 10000, "num_missing": 0}
    assert plan["string_statistics"]["distinct_count"] == 2
    assert plan["string_statistics"]["distribution"]["categorical"]["buckets"] == [
        {"value": "a", "count": 6000},
        {"value": "b", "count": 4000},
    ]
    constraints = documents[f"{prefix}/data-quality/constraints.json"]
    assert constraints["version"] == 0.0
    numerical = {"completeness": 1.0, "inferred_type": "Fractional"}
    assert constraints["features"] == [
        {"name": "age", **numerical, "num_constraints": {"is_non_negative": False}},
        {"name": "tenure", **numerical, "num_constraints": {"is_non_negative": False}},
        {"name": "charges", **numerical, "num_constraints": {"is_non_negative": True}},  # 70 - 4 x 10 >= 0
        {
            "name": "plan",
            "completeness": 1.0,
            "inferred_type": "String",
            "string_constraints": {"domains": ["a", "b"]},
        },
    ]
    assert constraints["monitoring_config"] == {
        "evaluate_constraints": "Enabled",
        "emit_metrics": "Enabled",
        "datatype_check_threshold": 1.0,
        "domain_content_threshold": 1.0,
        "distribution_constraints": {
            "perform_comparison": "Enabled",
            "comparison_threshold": 0.1,
            "comparison_method": "Robust",
            "categorical_comparison_threshold": 0.1,
            "categorical_drift_method": "LInfinity",
        },
    }
    quality = documents[f"{prefix}/model-quality/statistics.json"]
    # positiveRate 0.2 (the default) and accuracy 0.9: TP .18, FP .02, FN .08, TN .72
    expected = {
        "accuracy": 0.9,
        "precision": 0.9,
        "recall": 0.18 / 0.26,
        "auc": (0.18 / 0.26 + 0.72 / 0.74) / 2,
    }
    expected["f1"] = (
        2 * expected["precision"] * expected["recall"] / (expected["precision"] + expected["recall"])
    )
    assert quality["binary_classification_metrics"] == {
        name: {"value": pytest.approx(value, abs=1e-6), "standard_deviation": 0.01}
        for name, value in expected.items()
    }
    quality_constraints = documents[f"{prefix}/model-quality/constraints.json"][
        "binary_classification_constraints"
    ]
    assert quality_constraints["accuracy"] == {
        "threshold": pytest.approx(0.8),
        "comparison_operator": "LessThanThreshold",
    }

    # And DescribeModelPackage returns DriftCheckBaselines (and ModelMetrics) pointing at them
    def source(version: int, kind: str) -> dict[str, Any]:
        uri = f"s3://{ARTIFACT_BUCKET}/baselines/churn/{version}/{kind}"
        return {
            "Statistics": {"ContentType": "application/json", "S3Uri": f"{uri}/statistics.json"},
            "Constraints": {"ContentType": "application/json", "S3Uri": f"{uri}/constraints.json"},
        }

    assert described[1]["DriftCheckBaselines"] == {
        "ModelDataQuality": source(1, "data-quality"),
        "ModelQuality": source(1, "model-quality"),
    }
    assert (
        described[1]["ModelMetrics"]["ModelQuality"]["Statistics"] == source(1, "model-quality")["Statistics"]
    )
    assert described[2]["DriftCheckBaselines"] == {"ModelDataQuality": source(2, "data-quality")}
    # And the model execution role may read them (as it reads the artifacts), not elsewhere
    assert role_checked and may_read is None and may_read_elsewhere is not None


# --- 2. captured inputs follow the serving version's distributions -----------------------------------
def test_captured_rows_follow_the_serving_versions_baseline() -> None:
    simulation = settings(v1={"baseline": BASELINE})
    simulation.capture_records_per_object = 1000
    with cloud_with_models(simulation) as cloud:
        cloud.client("s3").create_bucket(Bucket=CAPTURE_BUCKET)
        one_variant_config(cloud)
        live_endpoint(cloud, "single")
        cloud.run(until=cloud.scheduler.now + 11 * 60)
        records = captured_records(cloud)["baseline"]
    assert len(records) >= 500
    rows = [row(r) for r in records]
    assert all(len(r) == 3 and re.fullmatch(r"-?\d+\.\d\d", r[0]) for r in rows)  # age,tenure,plan
    age = [float(r[0]) for r in rows]
    assert statistics.fmean(age) == pytest.approx(40, abs=1.5)
    assert statistics.stdev(age) == pytest.approx(12, rel=0.1)
    assert statistics.fmean(float(r[1]) for r in rows) == pytest.approx(36, abs=2.5)
    assert {r[2] for r in rows} == {"a", "b"}
    assert sum(r[2] == "a" for r in rows) / len(rows) == pytest.approx(0.6, abs=0.03)


def test_a_version_without_baseline_still_sends_the_fixed_row() -> None:
    with cloud_with_models(settings(v1={"baseline": None})) as cloud:
        cloud.client("s3").create_bucket(Bucket=CAPTURE_BUCKET)
        one_variant_config(cloud)
        live_endpoint(cloud, "single")
        cloud.run(until=cloud.scheduler.now + 3 * 60)
        records = captured_records(cloud)["baseline"]
        epoch = cloud.scheduler.epoch.replace(tzinfo=None)
    assert records
    first_minute = int((inference_time(records[0]) - epoch).total_seconds() // 60)
    expected = [request(cloud.seed, ENDPOINT, "baseline", first_minute, i).features for i in range(100)]
    assert [",".join(row(r)) for r in records[:100]] == expected
    assert all(re.fullmatch(r"\d+,\d+,\d+\.\d\d,\d", ",".join(row(r))) for r in records)


def test_a_shadow_copy_sends_the_production_requests_row() -> None:
    simulation = settings(v1={"baseline": BASELINE})  # churn/2, the shadow, has no baseline
    with cloud_with_models(simulation) as cloud:
        cloud.client("s3").create_bucket(Bucket=CAPTURE_BUCKET)
        cloud.client("sagemaker").create_endpoint_config(
            EndpointConfigName="shadowed",
            ProductionVariants=[variant("baseline", "m1")],
            ShadowProductionVariants=[variant("shadow", "m2", weight=1.0)],
            DataCaptureConfig=CSV_CAPTURE,
        )
        live_endpoint(cloud, "shadowed")
        cloud.run(until=cloud.scheduler.now + 4 * 60)
        records = captured_records(cloud)
    production = {r["eventMetadata"]["eventId"]: row(r) for r in records["baseline"]}
    assert records["shadow"]
    for record in records["shadow"]:
        assert row(record) == production[record["eventMetadata"]["eventId"]]
        assert len(row(record)) == 3


def test_a_drift_moves_the_rows_of_the_drifted_version_only_from_its_time_on() -> None:
    simulation = settings(v1={"baseline": BASELINE}, v2={"baseline": BASELINE})
    simulation.capture_records_per_object = 1000
    with cloud_with_models(simulation) as cloud:
        cloud.client("s3").create_bucket(Bucket=CAPTURE_BUCKET)
        two_variant_config(cloud)
        live_endpoint(cloud, "split")
        cloud.run(until=cloud.scheduler.now + 10 * 60)
        drift_at = cloud.scheduler.now + 30.0  # in the middle of a minute
        cloud.run(until=drift_at)
        described = cloud.drift.apply("churn/2", drift_at, {"age": FeatureChange(mean=55)})
        later = cloud.drift.apply("churn/2", drift_at + 300, {"age": FeatureChange(std=6)})
        cloud.run(until=drift_at + 10 * 60 + 90)
        records = captured_records(cloud)
        when = cloud.scheduler.epoch.replace(tzinfo=None) + timedelta(seconds=drift_at)
    assert described == ["age mean 40 -> 55"]
    assert later == ["age std 12 -> 6"]  # the later step builds on the earlier one
    before = {v: [r for r in rs if inference_time(r) < when] for v, rs in records.items()}
    after = {v: [r for r in rs if inference_time(r) >= when] for v, rs in records.items()}
    assert all(len(group) >= 500 for part in (before, after) for group in part.values())
    assert statistics.fmean(ages(before["candidate"])) == pytest.approx(40, abs=1.5)
    assert statistics.fmean(ages(after["candidate"])) == pytest.approx(55, abs=1.5)
    assert statistics.fmean(ages(before["baseline"])) == pytest.approx(40, abs=1.5)
    assert statistics.fmean(ages(after["baseline"])) == pytest.approx(40, abs=1.5)  # not drifted
    narrowed = [r for r in after["candidate"] if inference_time(r) >= when + timedelta(seconds=300)]
    assert statistics.stdev(ages(narrowed)) == pytest.approx(6, rel=0.15)
    # the other features did not move
    plan = [row(r)[2] for r in after["candidate"]]
    assert plan.count("a") / len(plan) == pytest.approx(0.6, abs=0.05)


# --- 3. ground truth --------------------------------------------------------------------------------------
def test_ground_truth_labels_arrive_after_the_delay_and_join_the_captured_records() -> None:
    simulation = settings(v1={"baseline": BASELINE})
    simulation.capture_records_per_object = 1000
    simulation.ground_truth = GroundTruthConfig(f"s3://{LABEL_BUCKET}/labels/", delay_minutes=60, share=0.5)
    with cloud_with_models(simulation) as cloud:
        s3 = cloud.client("s3")
        s3.create_bucket(Bucket=CAPTURE_BUCKET)
        s3.create_bucket(Bucket=LABEL_BUCKET)
        one_variant_config(cloud)
        live_endpoint(cloud, "single")
        live = cloud.scheduler.now
        cloud.run(until=live + 120 + 3599)  # the first capture object is delivered at +120
        assert objects_under(cloud, LABEL_BUCKET) == {}
        assert captured_records(cloud)["baseline"]  # captured long ago, not labelled yet
        cloud.run(until=live + 120 + 3600)
        first = objects_under(cloud, LABEL_BUCKET)
        cloud.run(until=live + 120 + 3600 + 10 * 60)
        labels = objects_under(cloud, LABEL_BUCKET)
        predictions = {
            r["eventMetadata"]["eventId"]: prediction(r) for r in captured_records(cloud)["baseline"]
        }
        upload = cloud.scheduler.epoch.replace(tzinfo=None) + timedelta(seconds=live + 120 + 3600)
        assert cloud.ground_truth is not None and cloud.ground_truth.lost == 0
    # one object per delivered capture object, under <uri>/yyyy/mm/dd/hh/ of the upload hour
    assert len(first) == 1
    (key,) = first
    assert re.fullmatch(r"labels/\d{4}/\d{2}/\d{2}/\d{2}/\d{2}-\d{2}-\d{3}-[0-9a-f-]{36}\.jsonl", key)
    assert key.startswith(f"labels/{upload:%Y/%m/%d/%H}/")
    assert len(labels) == 11
    records = [json.loads(line) for body in labels.values() for line in body.splitlines()]
    assert set(records[0]) == {"groundTruthData", "eventMetadata", "eventVersion"}
    assert records[0]["eventVersion"] == "0" and records[0]["groundTruthData"]["encoding"] == "CSV"
    assert all(r["groundTruthData"]["data"] in {"0", "1"} for r in records)
    # every label joins a captured record by eventId; half the records of 11 minutes are labelled
    assert all(r["eventMetadata"]["eventId"] in predictions for r in records)
    assert len(records) / (600 * 11) == pytest.approx(0.5, abs=0.03)
    agree = sum(r["groundTruthData"]["data"] == predictions[r["eventMetadata"]["eventId"]] for r in records)
    assert agree / len(records) == pytest.approx(0.9, abs=0.02)


def test_labels_follow_a_drifted_accuracy_and_a_version_without_accuracy_gets_none() -> None:
    no_quality = Baseline(BASELINE.features)
    simulation = settings(v1={"baseline": BASELINE}, v2={"baseline": no_quality})
    simulation.capture_records_per_object = 1000
    simulation.ground_truth = GroundTruthConfig(f"s3://{LABEL_BUCKET}/labels", delay_minutes=0)
    with cloud_with_models(simulation) as cloud:
        s3 = cloud.client("s3")
        s3.create_bucket(Bucket=CAPTURE_BUCKET)
        s3.create_bucket(Bucket=LABEL_BUCKET)
        two_variant_config(cloud)
        live_endpoint(cloud, "split")
        cloud.run(until=cloud.scheduler.now + 10 * 60)
        drift_at = cloud.scheduler.now
        assert cloud.drift.apply("churn/1", drift_at, {}, accuracy=0.6) == ["accuracy 0.9 -> 0.6"]
        cloud.run(until=drift_at + 10 * 60 + 120)
        captured = captured_records(cloud)
        labels = {
            json.loads(line)["eventMetadata"]["eventId"]: json.loads(line)["groundTruthData"]["data"]
            for body in objects_under(cloud, LABEL_BUCKET).values()
            for line in body.splitlines()
        }
        when = cloud.scheduler.epoch.replace(tzinfo=None) + timedelta(seconds=drift_at)
    candidate_ids = {r["eventMetadata"]["eventId"] for r in captured["candidate"]}
    assert not candidate_ids & set(labels)  # churn/2 has no accuracy: no labels
    baseline = captured["baseline"]
    assert all(r["eventMetadata"]["eventId"] in labels for r in baseline)  # share 1.0, no delay

    def agreement(records: list[dict[str, Any]]) -> float:
        same = [labels[r["eventMetadata"]["eventId"]] == prediction(r) for r in records]
        return sum(same) / len(same)

    assert agreement([r for r in baseline if inference_time(r) < when]) == pytest.approx(0.9, abs=0.03)
    assert agreement([r for r in baseline if inference_time(r) >= when]) == pytest.approx(0.6, abs=0.04)


# --- end to end: a scenario's drift step and ground truth -------------------------------------------------
def test_a_scenario_drifts_a_deployed_version_and_labels_its_predictions(tmp_path: Path) -> None:
    path = write_scenario(
        tmp_path,
        {
            "name": "drift after deployment",
            "groups": {
                "churn": {
                    "endpoint": "churn-prod",
                    "dataCapture": {
                        "samplingPercentage": 100,
                        "destination": "s3://smdeploy-data-capture/churn",
                        "capture": ["Input", "Output"],
                    },
                }
            },
            "models": {
                "churn/1": {
                    "baseline": {
                        "features": {
                            "age": {"mean": 40, "std": 12},
                            "plan": {"categories": {"a": 0.6, "b": 0.4}},
                        },
                        "quality": {"accuracy": 0.9},
                    }
                }
            },
            "groundTruth": {"uri": "s3://labels-bucket/labels/", "delayMinutes": 10},
            "data": {"s3://smdeploy-data-capture/README": "the capture bucket exists"},
            "timeline": [
                {"at": 0, "approve": {"group": "churn", "version": 1}},
                {
                    "at": 3600,
                    "drift": {
                        "group": "churn",
                        "version": 1,
                        "features": {"age": {"mean": 55}, "plan": {"categories": {"a": 0.2, "c": 0.8}}},
                        "accuracy": 0.7,
                    },
                },
            ],
            "until": 7200,
            "expect": [{"execution": 1, "outcome": "DEPLOYED"}],
        },
    )
    runner = Runner(load_scenario(path), path)
    with runner.open(7200) as cloud:
        s3 = cloud.client("s3")
        captured: list[dict[str, Any]] = []
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket="smdeploy-data-capture", Prefix="churn/"
        ):
            for item in page.get("Contents", []):
                body = s3.get_object(Bucket="smdeploy-data-capture", Key=item["Key"])["Body"].read().decode()
                captured.extend(json.loads(line) for line in body.splitlines())
        labels = {
            json.loads(line)["eventMetadata"]["eventId"]: json.loads(line)["groundTruthData"]["data"]
            for body in objects_under(cloud, "labels-bucket", "labels/").values()
            for line in body.splitlines()
        }
        drift_time = cloud.scheduler.epoch.replace(tzinfo=None) + timedelta(seconds=3600)
    rehearsal = runner.rehearsal
    note = (
        "drift      churn/1: age mean 40 -> 55; plan categories a 0.6, b 0.4 -> a 0.2, c 0.8; "
        "accuracy 0.9 -> 0.7"
    )
    assert (3600.0, note) in rehearsal.timeline
    before = [r for r in captured if inference_time(r) < drift_time]
    after = [r for r in captured if inference_time(r) >= drift_time]
    assert len(before) >= 500 and len(after) >= 500
    assert statistics.fmean(ages(before)) == pytest.approx(40, abs=1.5)
    assert statistics.fmean(ages(after)) == pytest.approx(55, abs=1.5)
    assert {row(r)[1] for r in after} == {"a", "c"}  # a value the baseline never saw
    labelled_before = [r for r in before if r["eventMetadata"]["eventId"] in labels]
    labelled_after = [r for r in after if r["eventMetadata"]["eventId"] in labels]
    assert len(labelled_before) == len(before) and len(labelled_after) >= 500

    def agreement(records: list[dict[str, Any]]) -> float:
        same = [labels[r["eventMetadata"]["eventId"]] == prediction(r) for r in records]
        return sum(same) / len(same)

    assert agreement(labelled_before) == pytest.approx(0.9, abs=0.03)
    assert agreement(labelled_after) == pytest.approx(0.7, abs=0.04)


def test_the_report_shows_drifts_and_ground_truth(tmp_path: Path) -> None:
    path = write_scenario(
        tmp_path,
        {
            "name": "drift in the report",
            "models": {"churn/1": {"baseline": {"features": {"age": {"mean": 40, "std": 12}}}}},
            "groundTruth": {"uri": "s3://labels-bucket/labels"},
            "timeline": [
                {"at": 0, "register": {"group": "churn", "version": 1}},
                {"at": 60, "drift": {"group": "churn", "version": 1, "features": {"age": {"std": 20}}}},
            ],
            "until": 120,
        },
    )
    report = Runner(load_scenario(path), path).run().report
    assert report["drifts"] == [{"at": 60.0, "modelPackage": "churn/1", "change": "age std 12 -> 20"}]
    assert report["groundTruth"] == {"uri": "s3://labels-bucket/labels", "objects": 0, "labels": 0, "lost": 0}


# --- validation ---------------------------------------------------------------------------------------------
BASE_MODEL = {
    "baseline": {"features": {"age": {"mean": 40, "std": 12}, "plan": {"categories": {"a": 0.6, "b": 0.4}}}}
}
REGISTER = {"at": 0, "register": {"group": "churn", "version": 1}}


def _baseline(features: dict[str, Any], **more: Any) -> dict[str, Any]:
    """A scenario whose churn/1 has this baseline."""
    return {"models": {"churn/1": {"baseline": {"features": features, **more}}}, "timeline": [REGISTER]}


def _drift(model: dict[str, Any] = BASE_MODEL, **fields: Any) -> dict[str, Any]:
    """A scenario that drifts churn/1 (or what ``fields`` names) at 60."""
    drift = {"group": "churn", "version": 1, **fields}
    return {"models": {"churn/1": model}, "timeline": [REGISTER, {"at": 60, "drift": drift}]}


def _ground_truth(**spec: Any) -> dict[str, Any]:
    return {"models": {"churn/1": BASE_MODEL}, "groundTruth": spec, "timeline": [REGISTER]}


BAD = "models.churn/1.baseline"
BAD_SCENARIOS = [
    (_baseline({"age": {"mean": 40, "std": 0}}), f"{BAD}.features.age.std", "greater than 0"),
    (
        _baseline({"plan": {"categories": {"a": 0.6, "b": 0.3}}}),
        f"{BAD}.features.plan.categories",
        "sum to 1",
    ),
    (_baseline({"plan": {"categories": {"a": 1.0, "b": 0}}}), f"{BAD}.features.plan.categories", "above 0"),
    (_baseline({"age": {"mean": 40}}), f"{BAD}.features.age", "mean and std"),
    (_baseline({"1age": {"mean": 40, "std": 1}}), f"{BAD}.features", "'1age'"),
    (_baseline({}), f"{BAD}.features", "at least 1"),
    (
        _baseline({"age": {"mean": 40, "std": 1}}, quality={"problem": "regression", "accuracy": 1}),
        f"{BAD}.quality.problem",
        "binary",
    ),
    (_drift(features={"height": {"mean": 3}}), "timeline[1].drift.features.height", "no feature 'height'"),
    (
        _drift(features={"age": {"categories": {"x": 1}}}),
        "timeline[1].drift.features.age.categories",
        "numerical",
    ),
    (_drift(features={"plan": {"mean": 3}}), "timeline[1].drift.features.plan.mean", "categorical"),
    (_drift(features={"age": {"std": -1}}), "timeline[1].drift.features.age.std", "greater than 0"),
    (_drift(features={"age": {}}), "timeline[1].drift.features.age", "mean, std or categories"),
    (_drift(), "timeline[1].drift", "features, accuracy or both"),
    (_drift(accuracy=1.5), "timeline[1].drift.accuracy", "less than or equal to 1"),
    (_drift(version=2, accuracy=0.5), "timeline[1].drift.version", "no churn/2"),
    (_drift(group="fraud", accuracy=0.5), "timeline[1].drift.group", "'fraud'"),
    (_drift({}, features={"age": {"mean": 3}}), "timeline[1].drift.features", "no baseline"),
    (_ground_truth(uri="s3://labels/x", share=0), "groundTruth.share", "greater than 0"),
    (_ground_truth(uri="s3://labels/x", delayMinutes=10081), "groundTruth.delayMinutes", "10080"),
    (_ground_truth(uri="labels/x"), "groundTruth.uri", "s3://bucket/prefix"),
    (_ground_truth(delayMinutes=5), "groundTruth.uri", "required"),
]


@pytest.mark.parametrize(("scenario", "key", "problem"), BAD_SCENARIOS)
def test_a_bad_baseline_drift_or_ground_truth_names_the_key(
    tmp_path: Path, scenario: dict[str, Any], key: str, problem: str
) -> None:
    with pytest.raises(ScenarioError) as refused:
        load_scenario(write_scenario(tmp_path, {"name": "bad", **scenario}))
    assert refused.value.key == key
    assert problem in refused.value.problem


def test_a_valid_drift_and_yaml_category_keys_load(tmp_path: Path) -> None:
    model = {"baseline": {"features": {"flag": {"categories": {0: 0.7, 1: 0.3}}}}}
    scenario = {
        "name": "ok",
        **_drift(model, features={"flag": {"categories": {0: 0.2, 1: 0.8}}}, accuracy=0.8),
    }
    loaded = load_scenario(write_scenario(tmp_path, scenario))
    assert loaded.models["churn/1"].baseline is not None
    assert loaded.models["churn/1"].baseline.features["flag"].categories == {"0": 0.7, "1": 0.3}
    assert loaded.timeline[1].action == "drift"
