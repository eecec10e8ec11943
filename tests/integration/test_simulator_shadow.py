"""Shadow variants (a copy of a share of production traffic that answers nobody) and the data
capture objects SageMaker writes for production and shadow variants."""

from __future__ import annotations

import base64
import json
import re
from collections import defaultdict
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud.engine.cloud import LocalCloud
from localcloud.services.cloudwatch.metrics import aggregate, shadow_share
from localcloud.services.sagemaker.capture import request
from localcloud.services.sagemaker.endpoints import BusinessMetric
from tests.integration.test_simulator_support import (
    CAPTURE,
    ENDPOINT,
    baseline_config,
    cloud_with_models,
    live_endpoint,
    settings,
    variant,
)

BUCKET = "capture-bucket"  # CAPTURE's DestinationS3Uri is s3://capture-bucket/churn


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = exc.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def shadow_config(
    cloud: LocalCloud,
    name: str = "shadowed",
    *,
    shadow_weight: float = 1.0,
    capture: dict[str, Any] | None = None,
) -> None:
    """churn/1 in production (weight 1, 2 instances), churn/2 as shadow variant ``shadow``."""
    cloud.client("sagemaker").create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[variant("baseline", "m1", weight=1.0, count=2)],
        ShadowProductionVariants=[variant("shadow", "m2", weight=shadow_weight)],
        **({"DataCaptureConfig": capture} if capture else {}),
    )


def minutes_of(cloud: LocalCloud, metric: str, variant_name: str) -> dict[int, Any]:
    return dict(cloud.traffic.series.get((metric, ENDPOINT, variant_name)) or {})


# --- CreateEndpointConfig ------------------------------------------------------------------------
def test_a_shadow_config_takes_one_production_variant_and_one_shadow_variant() -> None:
    """CreateEndpointConfig: with ShadowProductionVariants "you can only specify one variant for
    ProductionVariants and one variant for ShadowProductionVariants" (API reference); shadow
    variants are neither serverless nor asynchronous (shadow tests page)."""
    with cloud_with_models(versions=3) as cloud:
        sm = cloud.client("sagemaker")
        refused: list[dict[str, Any]] = [
            {
                "ProductionVariants": [variant("a", "m1"), variant("b", "m2")],
                "ShadowProductionVariants": [variant("s", "m3")],
            },
            {
                "ProductionVariants": [variant("a", "m1")],
                "ShadowProductionVariants": [variant("s", "m2"), variant("t", "m3")],
            },
            {
                "ProductionVariants": [variant("a", "m1")],
                "ShadowProductionVariants": [
                    {
                        "VariantName": "s",
                        "ModelName": "m2",
                        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
                    }
                ],
            },
            {
                "ProductionVariants": [variant("a", "m1")],
                "ShadowProductionVariants": [variant("s", "m2")],
                "AsyncInferenceConfig": {"OutputConfig": {"S3OutputPath": "s3://async-bucket/out"}},
            },
        ]
        for number, request_ in enumerate(refused):
            with pytest.raises(ClientError) as no:
                sm.create_endpoint_config(EndpointConfigName=f"bad-{number}", **request_)
            code, message = _error(no)
            assert code == "ValidationException", message
            assert "shadow" in message.lower()
        assert sm.list_endpoint_configs()["EndpointConfigs"] == []
        shadow_config(cloud)  # one and one: accepted


# --- traffic and metrics -------------------------------------------------------------------------
@pytest.mark.parametrize(("shadow_weight", "copies"), [(0.25, 150.0), (1.0, 600.0), (3.0, 600.0)])
def test_the_shadow_gets_a_copy_of_its_share_and_production_traffic_is_unchanged(
    shadow_weight: float, copies: float
) -> None:
    """The shadow's share of the production traffic is its weight relative to the production
    variant's (capped at all of it); production keeps every request and its numbers."""
    simulation = settings(v2={"error_rate": 0.2, "latency_ms": 120})
    with cloud_with_models(simulation) as cloud:
        shadow_config(cloud, shadow_weight=shadow_weight)
        live_endpoint(cloud, "shadowed")
        cloud.run(until=cloud.scheduler.now + 30 * 60)
        shadow = minutes_of(cloud, "Invocations", "shadow")
        production = minutes_of(cloud, "Invocations", "baseline")
        assert len(shadow) == len(production) == 30
        assert {stat.total for stat in production.values()} == {600.0}
        assert {stat.total for stat in shadow.values()} == {copies}
        # the shadow's own version behaves: its error rate and latency, not production's
        errors = list(minutes_of(cloud, "Invocation5XXErrors", "shadow").values())
        assert aggregate(errors, "Average") == pytest.approx(0.2, abs=0.03)
        latency = list(minutes_of(cloud, "ModelLatency", "shadow").values())
        assert aggregate(latency, "p50") == pytest.approx(120_000, rel=0.05)
        per_instance = minutes_of(cloud, "InvocationsPerInstance", "baseline")
        assert {stat.total for stat in per_instance.values()} == {300.0}  # 2 instances
    with cloud_with_models(simulation) as plain:
        baseline_config(plain)
        live_endpoint(plain)
        plain.run(until=plain.scheduler.now + 30 * 60)
        for metric in ("Invocations", "Invocation5XXErrors", "ModelLatency"):
            assert minutes_of(plain, metric, "baseline") == {
                m: stat for m, stat in minutes_of(cloud, metric, "baseline").items()
            }, metric


def test_a_shadow_at_weight_zero_gets_no_copies() -> None:
    assert (
        shadow_share(0.0, 1.0),
        shadow_share(0.5, 2.0),
        shadow_share(2.0, 1.0),
        shadow_share(1.0, 0.0),
    ) == (
        0.0,
        0.25,
        1.0,
        0.0,
    )
    with cloud_with_models() as cloud:
        shadow_config(cloud, shadow_weight=0.0)
        live_endpoint(cloud, "shadowed")
        cloud.run(until=cloud.scheduler.now + 5 * 60)
        assert minutes_of(cloud, "Invocations", "shadow") == {}
        assert len(minutes_of(cloud, "Invocations", "baseline")) == 5


def test_a_shadow_publishes_sagemaker_metrics_readable_with_get_metric_data_but_no_business_metric() -> None:
    simulation = settings(
        v1={"business_metrics": {"Conversion": BusinessMetric(0.05)}},
        v2={"business_metrics": {"Conversion": BusinessMetric(0.05)}},
    )
    with cloud_with_models(simulation) as cloud:
        shadow_config(cloud, shadow_weight=0.5)
        live_endpoint(cloud, "shadowed")
        cloud.run(until=cloud.scheduler.now + 10 * 60)
        assert minutes_of(cloud, "Conversion", "shadow") == {}  # answers nobody: no outcome to report
        assert len(minutes_of(cloud, "Conversion", "baseline")) == 10
        now = cloud.scheduler.datetime()
        answer = cloud.client("cloudwatch").get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "shadow",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/SageMaker",
                            "MetricName": "Invocations",
                            "Dimensions": [
                                {"Name": "EndpointName", "Value": ENDPOINT},
                                {"Name": "VariantName", "Value": "shadow"},
                            ],
                        },
                        "Period": 60,
                        "Stat": "Sum",
                    },
                }
            ],
            StartTime=now.replace(minute=now.minute - 5),
            EndTime=now,
            ScanBy="TimestampAscending",
        )
        assert answer["MetricDataResults"][0]["Values"] == [300.0] * 4  # the newest minute unpublished


def test_describe_endpoint_shows_the_shadow_and_an_update_without_it_removes_it() -> None:
    with cloud_with_models() as cloud:
        sm = cloud.client("sagemaker")
        shadow_config(cloud, shadow_weight=0.5)
        baseline_config(cloud)
        live_endpoint(cloud, "shadowed")
        described = sm.describe_endpoint(EndpointName=ENDPOINT)
        assert [
            (v["VariantName"], v["CurrentWeight"], v["CurrentInstanceCount"], v["DesiredInstanceCount"])
            for v in described["ShadowProductionVariants"]
        ] == [("shadow", 0.5, 1, 1)]
        assert [v["VariantName"] for v in described["ProductionVariants"]] == ["baseline"]
        cloud.run(until=cloud.scheduler.now + 5 * 60)
        sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="baseline")
        cloud.run()
        updated_at = cloud.scheduler.now
        assert not sm.describe_endpoint(EndpointName=ENDPOINT).get("ShadowProductionVariants")
        cloud.run(until=updated_at + 5 * 60)
        shadow = minutes_of(cloud, "Invocations", "shadow")
        assert shadow and max(shadow) < updated_at // 60 + 1  # no copies once the shadow is gone
        assert len(minutes_of(cloud, "Invocations", "baseline")) >= 10


def test_a_failing_shadow_container_fails_the_endpoint() -> None:
    """A shadow variant is a fleet SageMaker provisions like any other: its container must pass the
    health check for the endpoint to go InService."""
    simulation = settings(v2={"fail_deploy": True})
    with cloud_with_models(simulation) as cloud:
        shadow_config(cloud)
        cloud.client("sagemaker").create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="shadowed")
        cloud.run()
        assert (
            cloud.client("sagemaker").describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] == "Failed"
        )


# --- data capture ----------------------------------------------------------------------------------
KEY = re.compile(
    r"^churn/churn-prod/(?P<variant>baseline|shadow)/(?P<hour>\d{4}/\d{2}/\d{2}/\d{2})/"
    r"\d{2}-\d{2}-\d{3}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.jsonl$"
)
CSV_CAPTURE = {**CAPTURE, "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]}}


def captured(cloud: LocalCloud) -> dict[str, list[tuple[str, list[dict[str, Any]]]]]:
    """variant -> [(key, records)] of every object under the capture destination."""
    s3 = cloud.client("s3")
    out: dict[str, list[tuple[str, list[dict[str, Any]]]]] = defaultdict(list)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            match = KEY.match(item["Key"])
            assert match, item["Key"]
            body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read().decode()
            out[match["variant"]].append((item["Key"], [json.loads(line) for line in body.splitlines()]))
    return out


def test_capture_objects_follow_sagemakers_layout_and_record_shape() -> None:
    """``<DestinationS3Uri>/<EndpointName>/<VariantName>/yyyy/mm/dd/hh/<file>.jsonl``, one record a
    line with captureData (endpointInput, endpointOutput), eventMetadata and eventVersion."""
    with cloud_with_models() as cloud:
        cloud.client("s3").create_bucket(Bucket=BUCKET)
        shadow_config(cloud, capture=CSV_CAPTURE)
        live_endpoint(cloud, "shadowed")
        cloud.run(until=cloud.scheduler.now + 5 * 60)
        objects = captured(cloud)
        assert set(objects) == {"baseline", "shadow"}
        assert len(objects["baseline"]) == len(objects["shadow"]) == 4  # the newest minute not delivered yet
        key, records = objects["baseline"][0]
        assert len(records) == 100  # 600 requests sampled at 100%, capped per object
        record = records[0]
        assert set(record) == {"captureData", "eventMetadata", "eventVersion"}
        assert record["eventVersion"] == "0"
        assert record["captureData"]["endpointInput"] == {
            "observedContentType": "text/csv",
            "mode": "INPUT",
            "data": record["captureData"]["endpointInput"]["data"],
            "encoding": "CSV",
        }
        assert re.fullmatch(r"\d+,\d+,\d+\.\d\d,\d", record["captureData"]["endpointInput"]["data"])
        output = record["captureData"]["endpointOutput"]
        assert (output["observedContentType"], output["mode"], output["encoding"]) == (
            "text/csv; charset=utf-8",
            "OUTPUT",
            "CSV",
        )
        assert output["data"] in {"0", "1"}
        inference = record["eventMetadata"]["inferenceTime"]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", inference)
        assert KEY.match(key)["hour"] == inference[:13].replace("-", "/").replace("T", "/")  # type: ignore[index]
        assert cloud.traffic.capture.lost == 0


def test_a_shadow_record_carries_the_event_id_of_the_production_request_it_copies() -> None:
    """The shadow's requests are copies of production requests: same eventId, same input, its own
    version's label; versions with positive rates 0.2 and 0.3 agree on about 90% of the requests."""
    simulation = settings(v1={"positive_rate": 0.2}, v2={"positive_rate": 0.3})
    simulation.capture_records_per_object = 1000
    with cloud_with_models(simulation) as cloud:
        cloud.client("s3").create_bucket(Bucket=BUCKET)
        shadow_config(cloud, shadow_weight=0.5, capture=CSV_CAPTURE)
        live_endpoint(cloud, "shadowed")
        cloud.run(until=cloud.scheduler.now + 11 * 60)
        objects = captured(cloud)
        production = {r["eventMetadata"]["eventId"]: r for _, records in objects["baseline"] for r in records}
        shadow = [r for _, records in objects["shadow"] for r in records]
        assert len(production) == 600 * 10 and len(shadow) == 300 * 10  # every copy captured at 100%
        agree = 0
        for record in shadow:
            original = production[record["eventMetadata"]["eventId"]]
            assert record["captureData"]["endpointInput"] == original["captureData"]["endpointInput"]
            assert record["eventMetadata"] == original["eventMetadata"]
            agree += (
                record["captureData"]["endpointOutput"]["data"]
                == original["captureData"]["endpointOutput"]["data"]
            )
        assert agree / len(shadow) == pytest.approx(0.9, abs=0.02)
        positives = sum(r["captureData"]["endpointOutput"]["data"] == "1" for r in production.values())
        assert positives / len(production) == pytest.approx(0.2, abs=0.02)


def test_sampling_capture_options_and_base64_without_content_type_headers() -> None:
    """``InitialSamplingPercentage`` of the requests; only the captured modes; without
    ``CaptureContentTypeHeader`` the data is base64 (DataCaptureConfig API reference)."""
    simulation = settings()
    simulation.capture_records_per_object = 1000
    config = {**CAPTURE, "InitialSamplingPercentage": 20, "CaptureOptions": [{"CaptureMode": "Input"}]}
    with cloud_with_models(simulation) as cloud:
        cloud.client("s3").create_bucket(Bucket=BUCKET)
        cloud.client("sagemaker").create_endpoint_config(
            EndpointConfigName="sampled",
            ProductionVariants=[variant("baseline", "m1", count=2)],
            DataCaptureConfig=config,
        )
        live_endpoint(cloud, "sampled")
        cloud.run(until=cloud.scheduler.now + 21 * 60)
        objects = captured(cloud)["baseline"]
        counts = [len(records) for _, records in objects]
        assert len(counts) == 20
        assert sum(counts) / (600 * 20) == pytest.approx(0.2, abs=0.02)
        record = objects[0][1][0]
        assert set(record["captureData"]) == {"endpointInput"}
        part = record["captureData"]["endpointInput"]
        assert part["encoding"] == "BASE64" and part["observedContentType"] == "text/csv"
        assert re.fullmatch(r"\d+,\d+,\d+\.\d\d,\d", base64.b64decode(part["data"]).decode())
        # the sampled requests are those whose draw is below the percentage
        ids = {r["eventMetadata"]["eventId"] for r in objects[0][1]}
        first = datetime.strptime(objects[0][1][0]["eventMetadata"]["inferenceTime"], "%Y-%m-%dT%H:%M:%SZ")
        minute = int((first - cloud.scheduler.epoch.replace(tzinfo=None)).total_seconds() // 60)
        expected = {
            r.event_id
            for r in (request(cloud.seed, ENDPOINT, "baseline", minute, i) for i in range(600))
            if r.sample_u < 0.2
        }
        assert ids == expected


def test_capture_objects_are_delivered_with_the_minute_and_only_when_sagemaker_may_write() -> None:
    with cloud_with_models() as cloud:
        cloud.client("s3").create_bucket(Bucket=BUCKET)
        shadow_config(cloud, capture=CSV_CAPTURE)
        live_endpoint(cloud, "shadowed")
        live = cloud.scheduler.now  # InService at a minute boundary
        cloud.run(until=live + 60 + 59)  # the first minute closed at +60, delivered at +120
        assert captured(cloud) == {}
        cloud.run(until=live + 120)
        assert {v: len(o) for v, o in captured(cloud).items()} == {"baseline": 1, "shadow": 1}
    # capture disabled, or a role that may not write: nothing
    with cloud_with_models() as cloud:
        cloud.client("s3").create_bucket(Bucket=BUCKET)
        shadow_config(cloud, capture={**CSV_CAPTURE, "EnableCapture": False})
        live_endpoint(cloud, "shadowed")
        cloud.run(until=cloud.scheduler.now + 5 * 60)
        assert captured(cloud) == {} and cloud.traffic.capture.objects == []
    with cloud_with_models() as cloud:
        cloud.client("s3").create_bucket(Bucket=BUCKET)
        cloud.sagemaker_sim.role_check = lambda *_: False
        shadow_config(cloud, capture=CSV_CAPTURE)
        live_endpoint(cloud, "shadowed")
        cloud.run(until=cloud.scheduler.now + 5 * 60)
        assert captured(cloud) == {}
    # no bucket: SageMaker cannot deliver, the endpoint serves on
    with cloud_with_models() as cloud:
        shadow_config(cloud, capture=CSV_CAPTURE)
        live_endpoint(cloud, "shadowed")
        cloud.run(until=cloud.scheduler.now + 5 * 60)
        assert cloud.traffic.capture.lost == 8 and cloud.traffic.capture.objects == []
        assert len(minutes_of(cloud, "Invocations", "baseline")) == 5
