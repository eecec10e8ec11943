"""smdeploy.instances: the shipped real-time instance types and prices (no network)."""

from __future__ import annotations

import json
import re

import botocore
import botocore.session
import pytest

from smdeploy import instances


def test_the_realtime_types_are_the_service_models_production_variant_types() -> None:
    model = botocore.session.get_session().get_service_model("sagemaker")
    enum = set(model.shape_for("ProductionVariantInstanceType").enum)
    # A botocore upgrade that adds or drops a type shows here: refresh data/instance_prices.json.
    assert enum == instances.REALTIME_INSTANCE_TYPES
    source = json.loads(instances.DATA_FILE.read_text())["realtimeInstanceTypes"]["source"]
    assert botocore.__version__ in source


@pytest.mark.parametrize("instance_type", ["ml.m5.large", "ml.c5.xlarge", "ml.g4dn.xlarge", "ml.p3.2xlarge"])
def test_common_types_are_realtime_and_priced(instance_type: str) -> None:
    assert instances.is_realtime_instance(instance_type)
    price = instances.price_per_hour(instance_type)
    assert price is not None and 0.01 < price < 100


def test_types_not_offered_for_realtime_inference_are_refused() -> None:
    for instance_type in ("ml.t3.medium", "ml.m5.huge", "m5.large", ""):
        assert not instances.is_realtime_instance(instance_type)
        assert instances.price_per_hour(instance_type) is None


def test_known_prices_per_hour() -> None:
    assert instances.price_per_hour("ml.m5.large") == 0.115
    assert instances.price_per_hour("ml.c5.xlarge") == 0.204
    assert instances.price_per_hour("ml.g4dn.xlarge") == 0.7364


def test_a_type_without_a_sourced_figure_has_no_price_rather_than_a_guess() -> None:
    data = json.loads(instances.DATA_FILE.read_text())
    assert instances.is_realtime_instance("ml.inf1.xlarge")
    assert instances.price_per_hour("ml.inf1.xlarge") is None
    assert "ml.inf1.*" in data["leftOut"]


def test_every_price_has_a_source_and_belongs_to_a_realtime_type() -> None:
    data = json.loads(instances.DATA_FILE.read_text())
    assert instances.PRICES_SOURCE == "https://aws.amazon.com/sagemaker/pricing/"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", instances.PRICES_DATE)
    assert instances.PRICES_REGION == "us-east-1"
    assert set(instances.REALTIME_PRICES) == set(data["prices"])
    for instance_type, entry in data["prices"].items():
        assert instances.is_realtime_instance(instance_type), instance_type
        assert entry["seenIn"], instance_type
        assert entry["usd"] > 0
    families = {t.split(".")[1] for t in instances.REALTIME_PRICES}
    assert {"m5", "c5", "g4dn", "g5", "p3"} <= families


def test_the_data_file_sits_in_the_layer_next_to_the_module() -> None:
    # The layer directory (layers/common) is shipped as it is: the file must live under it.
    assert instances.DATA_FILE.parent.parent.name == "smdeploy"
    assert "layers/common/smdeploy/data" in instances.DATA_FILE.as_posix()
