"""smdeploy.events.normalize: every input shape the deploy state machine can be started with.

Published AWS samples live in ``tests/fixtures/aws-events/`` (sources in its SOURCES.md); the
repository's own sample inputs live in ``events/``.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from smdeploy.errors import InvalidRequest
from smdeploy.events import normalize
from smdeploy.models import DeployRequest, ModelPackageStateChange, parse_timestamp

REPO = Path(__file__).resolve().parents[2]
AWS_SAMPLES = REPO / "tests" / "fixtures" / "aws-events"
EVENTS = REPO / "events"

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3"
OTHER_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/4"

# --- what each published sample must give ------------------------------------------------------
# None: a DeployRequest from an approval. A string: InvalidRequest naming exactly that field.
APPROVED = None
SAMPLE_EXPECTATIONS: dict[str, str | None] = {
    "model-package-approved-01.json": APPROVED,
    "model-package-rejected-01.json": "detail.ModelApprovalStatus",
    "model-package-rejected-02.json": "detail.ModelApprovalStatus",
    # EventBridge envelopes of other event types
    "cloudwatch-alarm-anomaly-detection-01.json": "detail-type",
    "cloudwatch-alarm-composite-01.json": "detail-type",
    "cloudwatch-alarm-composite-02.json": "detail-type",
    "cloudwatch-alarm-config-change-01.json": "detail-type",
    "cloudwatch-alarm-contributor-01.json": "detail-type",
    "cloudwatch-alarm-hybrid-envelope-01.json": "detail-type",
    "cloudwatch-alarm-metric-math-01.json": "detail-type",
    "cloudwatch-alarm-multi-timeseries-01.json": "detail-type",
    "cloudwatch-alarm-single-metric-01.json": "detail-type",
    "cloudwatch-alarm-single-metric-02.json": "detail-type",
    "endpoint-deployment-state-change-01.json": "detail-type",
    "endpoint-deployment-state-change-02.json": "detail-type",
    "endpoint-state-change-01.json": "detail-type",
    "endpoint-state-change-02.json": "detail-type",
    "scheduled-event-01.json": "detail-type",
    "scheduled-event-02.json": "detail-type",
    "scheduled-event-03.json": "detail-type",
    "scheduler-event-01.json": "detail-type",
    "scheduler-event-02.json": "detail-type",
    "sfn-execution-status-aborted-01.json": "detail-type",
    "sfn-execution-status-failed-01.json": "detail-type",
    "sfn-execution-status-running-01.json": "detail-type",
    "sfn-execution-status-succeeded-01.json": "detail-type",
    "sfn-execution-status-timed-out-01.json": "detail-type",
    "sfn-input-from-eventbridge-rule-01.json": "detail-type",
    "sfn-input-from-eventbridge-rule-02.json": "detail-type",
    "transform-job-state-change-01.json": "detail-type",
    "transform-job-state-change-02.json": "detail-type",
    "transform-job-state-change-03.json": "detail-type",
    # No EventBridge envelope (no detail-type, no detail): read as manual input, which lacks the ARN.
    "cloudwatch-alarm-lambda-action-composite-01.json": "modelPackageArn",
    "cloudwatch-alarm-lambda-action-composite-02.json": "modelPackageArn",
    "cloudwatch-alarm-lambda-action-single-metric-01.json": "modelPackageArn",
    "cloudwatch-alarm-lambda-action-single-metric-02.json": "modelPackageArn",
    "scheduler-target-input-01.json": "modelPackageArn",
    # SNS-wrapped alarm: unwrapped, then the same as above.
    "cloudwatch-alarm-sns-single-metric-01.json": "modelPackageArn",
}


def _sample_names() -> list[str]:
    return sorted(path.name for path in AWS_SAMPLES.glob("*.json"))


def load_sample(name: str) -> Any:
    return json.loads((AWS_SAMPLES / name).read_text())


def approval_event(**detail_changes: Any) -> dict[str, Any]:
    """An approval envelope for ARN; ``detail_changes`` set (or, with value ``...``, drop) keys."""
    event: dict[str, Any] = {
        "version": "0",
        "id": "0f6e1c52-3d7a-4b9e-8a21-6c4d2b9e7f10",
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "account": "123456789012",
        "time": "2024-05-01T10:05:00Z",
        "region": "us-east-1",
        "resources": [ARN],
        "detail": {
            "ModelPackageGroupName": "churn",
            "ModelPackageVersion": 3,
            "ModelPackageArn": ARN,
            "ModelPackageStatus": "Completed",
            "ModelApprovalStatus": "Approved",
            "CreationTime": 1714557600000,
        },
    }
    for key, value in detail_changes.items():
        if value is ...:
            event["detail"].pop(key, None)
        else:
            event["detail"][key] = value
    return event


def invalid_field(raw: Any) -> str:
    """The field an InvalidRequest names (fails the test on success or on any other exception)."""
    with pytest.raises(InvalidRequest) as caught:
        normalize(raw)
    assert type(caught.value) is InvalidRequest
    assert str(caught.value).startswith(f"{caught.value.field}: ")
    return caught.value.field


# --- published AWS samples -----------------------------------------------------------------------
def test_every_published_sample_has_an_expectation() -> None:
    assert _sample_names(), f"no samples found in {AWS_SAMPLES}"
    assert sorted(SAMPLE_EXPECTATIONS) == _sample_names()


@pytest.mark.parametrize("name", _sample_names())
def test_published_sample_gives_a_request_only_for_an_approval_else_names_the_field(name: str) -> None:
    # Given a published AWS sample, as a state machine started by a rule would receive it
    raw = load_sample(name)
    expected_field = SAMPLE_EXPECTATIONS.get(name, "<no expectation: add one to SAMPLE_EXPECTATIONS>")

    if expected_field is APPROVED:
        # When it is normalized, Then an approval request for the package in detail comes out
        request = normalize(raw)
        assert request.source == "approval"
        assert request.modelPackageArn == raw["detail"]["ModelPackageArn"]
        assert request.eventId == raw["id"]
        assert request.eventTime == parse_timestamp(raw["time"])
        assert request.overrides == {}
    else:
        # When it is normalized, Then it is InvalidRequest naming exactly that field, nothing else
        assert invalid_field(raw) == expected_field


def test_approved_model_package_sample_yields_approval_request_with_envelope_time() -> None:
    request = normalize(load_sample("model-package-approved-01.json"))

    assert request == DeployRequest(
        source="approval",
        modelPackageArn="arn:aws:sagemaker:<<region>>:<<account>>:model-package/<<project_name>>/<<version>>",
        eventId="c800a495-b000-072c-7392-c683e89c96a8",
        eventTime=datetime(2021, 6, 3, 4, 45, 23, tzinfo=UTC),
        # the sample carries no LastModifiedTime: the event id names the transition
        transition="event:c800a495-b000-072c-7392-c683e89c96a8",
    )


def test_rejected_approval_event_is_invalid_naming_the_status_field() -> None:
    with pytest.raises(InvalidRequest) as caught:
        normalize(load_sample("model-package-rejected-01.json"))

    assert caught.value.field == "detail.ModelApprovalStatus"
    assert "'Rejected'" in caught.value.problem


def test_rejected_sample_with_its_published_duplicate_source_array_is_still_rejected_by_status() -> None:
    # The published text has "source" twice; json.loads keeps the last one, the array.
    event = load_sample("model-package-rejected-01.json")
    event["source"] = ["aws.sagemaker"]

    assert invalid_field(event) == "detail.ModelApprovalStatus"


# --- approval event variations -------------------------------------------------------------------
T0 = datetime(2023, 8, 4, 12, 36, 15, 490000, tzinfo=UTC)
T0_MILLIS = 1691152575490
GOOD_TIME_ENCODINGS = {
    "iso Z": ("2023-08-04T12:36:15.490Z", T0),
    "iso +00:00": ("2023-08-04T12:36:15.490+00:00", T0),
    "iso +0000 with ms": ("2023-08-04T12:36:15.490+0000", T0),
    "epoch ms int": (T0_MILLIS, T0),
    "epoch ms float": (float(T0_MILLIS), T0),
    "epoch ms digit string": (str(T0_MILLIS), T0),
}


@pytest.mark.parametrize(("encoded", "expected"), GOOD_TIME_ENCODINGS.values(), ids=GOOD_TIME_ENCODINGS)
def test_approval_creation_time_in_any_aws_encoding_is_accepted_and_read(
    encoded: Any, expected: datetime
) -> None:
    event = approval_event(CreationTime=encoded)

    assert normalize(event).modelPackageArn == ARN
    assert ModelPackageStateChange.model_validate(event["detail"]).CreationTime == expected


@pytest.mark.parametrize(("encoded", "expected"), GOOD_TIME_ENCODINGS.values(), ids=GOOD_TIME_ENCODINGS)
def test_envelope_time_in_any_aws_encoding_becomes_the_request_event_time(
    encoded: Any, expected: datetime
) -> None:
    event = approval_event()
    event["time"] = encoded

    assert normalize(event).eventTime == expected


@pytest.mark.parametrize("bad", ["2023-08-04T12: 36: 15.490+0000", "Timestamp", "9" * 30, 10**20])
def test_unreadable_envelope_time_is_ignored_because_it_is_informative_only(bad: Any) -> None:
    event = approval_event()
    event["time"] = bad

    request = normalize(event)

    assert request.modelPackageArn == ARN
    assert request.eventTime is None


@pytest.mark.parametrize("bad", ["2023-08-04T12: 36: 15.490+0000", "Timestamp", "9" * 30, 10**20, True])
def test_unreadable_creation_time_is_invalid_naming_it(bad: Any) -> None:
    assert invalid_field(approval_event(CreationTime=bad)) == "detail.CreationTime"


def test_unknown_fields_in_envelope_and_detail_are_ignored() -> None:
    event = approval_event(
        ModelLifeCycle={"Stage": "Production", "StageStatus": "Approved"},
        UpdatedModelPackageFields=["ModelApprovalStatus"],
        SomethingAwsAddsNextYear={"nested": [1, 2, 3]},
    )
    event["replay-name"] = "archive-replay"
    event["unexpected"] = 42

    assert normalize(event).modelPackageArn == ARN


@pytest.mark.parametrize(
    "tags",
    [
        {"team": "growth", "cost-center": "42"},
        [{"Key": "team", "Value": "growth"}, {"Key": "cost-center", "Value": "42"}],
    ],
    ids=["event map", "api key-value list"],
)
def test_tags_as_map_or_as_key_value_list_are_read_as_a_map(tags: Any) -> None:
    event = approval_event(Tags=tags)

    assert normalize(event).modelPackageArn == ARN
    assert ModelPackageStateChange.model_validate(event["detail"]).Tags == {
        "team": "growth",
        "cost-center": "42",
    }


def test_customer_metadata_properties_are_accepted_and_kept_in_the_detail_model() -> None:
    metadata = {"smdeploy:instanceType": "ml.m5.xlarge", "owner": "data-science"}
    event = approval_event(CustomerMetadataProperties=metadata)

    assert normalize(event).modelPackageArn == ARN
    assert ModelPackageStateChange.model_validate(event["detail"]).CustomerMetadataProperties == metadata


@pytest.mark.parametrize(
    "wrap", [json.dumps, lambda d: "\n" + json.dumps(d) + "\n"], ids=["plain", "newlines"]
)
def test_detail_delivered_as_a_json_string_is_parsed(wrap: Any) -> None:
    event = approval_event()
    event["detail"] = wrap(event["detail"])

    assert normalize(event) == normalize(approval_event())


@pytest.mark.parametrize(
    ("detail", "field"), [("{not json", "detail"), ("[]", "detail"), (None, "detail"), (7, "detail")]
)
def test_detail_that_is_not_an_object_is_invalid_naming_detail(detail: Any, field: str) -> None:
    event = approval_event()
    event["detail"] = detail

    assert invalid_field(event) == field


def test_missing_detail_is_invalid_naming_detail() -> None:
    event = approval_event()
    del event["detail"]

    assert invalid_field(event) == "detail"


def test_source_as_a_list_holding_aws_sagemaker_is_accepted() -> None:
    event = approval_event()
    event["source"] = ["aws.sagemaker"]

    assert normalize(event).modelPackageArn == ARN


@pytest.mark.parametrize("source", ["aws.events", ["aws.events"], None, "AWS.SAGEMAKER"])
def test_source_other_than_aws_sagemaker_is_invalid_naming_source(source: Any) -> None:
    event = approval_event()
    event["source"] = source

    assert invalid_field(event) == "source"


def test_missing_detail_type_is_invalid_naming_detail_type() -> None:
    event = approval_event()
    del event["detail-type"]

    assert invalid_field(event) == "detail-type"


def test_batch_of_duplicate_events_for_one_package_gives_one_request() -> None:
    first = approval_event()
    duplicate = copy.deepcopy(first)
    duplicate["id"] = "a-second-delivery"

    request = normalize([first, duplicate, first])

    assert request.source == "approval"
    assert request.modelPackageArn == ARN


def test_batch_as_a_json_string_is_read_like_the_array() -> None:
    assert normalize(json.dumps([approval_event(), approval_event()])).modelPackageArn == ARN


def test_batch_naming_two_packages_is_invalid_naming_input() -> None:
    other = approval_event(ModelPackageArn=OTHER_ARN)

    with pytest.raises(InvalidRequest) as caught:
        normalize([approval_event(), other])

    assert caught.value.field == "input"
    assert "2 model packages" in caught.value.problem


def test_empty_batch_is_invalid_naming_input() -> None:
    assert invalid_field([]) == "input"


def test_batch_holding_a_rejection_is_invalid_naming_the_status() -> None:
    assert invalid_field([approval_event(), approval_event(ModelApprovalStatus="Rejected")]) == (
        "detail.ModelApprovalStatus"
    )


def test_batch_inside_a_batch_is_invalid_naming_the_position() -> None:
    assert invalid_field([approval_event(), [approval_event()]]) == "input[1]"


def test_deeply_nested_json_text_is_invalid_naming_input_not_a_recursion_crash() -> None:
    assert invalid_field("[" * 100_000 + "]" * 100_000) == "input"


def sns_wrapped(message: Any) -> dict[str, Any]:
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "Sns": {"Type": "Notification", "MessageId": "m-1", "Message": message},
            }
        ]
    }


def test_sns_wrapped_approval_event_is_unwrapped_to_the_same_request() -> None:
    assert normalize(sns_wrapped(json.dumps(approval_event()))) == normalize(approval_event())


@pytest.mark.parametrize(
    "wrapper",
    [
        sns_wrapped({"an": "object"}),
        sns_wrapped(None),
        sns_wrapped("{not json"),
        {"Records": [{"Sns": "text"}]},
    ],
    ids=["message object", "message null", "message not json", "sns not an object"],
)
def test_sns_wrapper_without_a_json_string_message_is_invalid_naming_the_message(wrapper: Any) -> None:
    assert invalid_field(wrapper) == "Records[0].Sns.Message"


def test_pending_manual_approval_event_is_invalid_naming_the_status_field() -> None:
    with pytest.raises(InvalidRequest) as caught:
        normalize(approval_event(ModelApprovalStatus="PendingManualApproval"))

    assert caught.value.field == "detail.ModelApprovalStatus"
    assert "'PendingManualApproval'" in caught.value.problem


@pytest.mark.parametrize("status", ["approved", "APPROVED", "Deleted", None])
def test_approval_status_outside_the_enum_is_invalid_naming_the_status_field(status: Any) -> None:
    assert invalid_field(approval_event(ModelApprovalStatus=status)) == "detail.ModelApprovalStatus"


def test_missing_model_package_arn_is_invalid_naming_it() -> None:
    assert invalid_field(approval_event(ModelPackageArn=...)) == "detail.ModelPackageArn"


def test_missing_approval_status_is_invalid_naming_it() -> None:
    assert invalid_field(approval_event(ModelApprovalStatus=...)) == "detail.ModelApprovalStatus"


# --- manual input --------------------------------------------------------------------------------
def test_manual_input_gives_a_manual_request_carrying_the_overrides() -> None:
    request = normalize({"modelPackageArn": ARN, "endpointName": "churn-prod"})

    assert request == DeployRequest(
        source="manual", modelPackageArn=ARN, overrides={"endpointName": "churn-prod"}
    )


def test_manual_input_keeps_every_override_and_the_reason_apart() -> None:
    request = normalize(
        {
            "modelPackageArn": ARN,
            "endpointName": "churn-prod",
            "instanceType": "ml.m5.xlarge",
            "initialInstanceCount": 2,
            "reason": "re-deploy after incident 42",
        }
    )

    assert request.overrides == {
        "endpointName": "churn-prod",
        "instanceType": "ml.m5.xlarge",
        "initialInstanceCount": 2,
    }
    assert request.reason == "re-deploy after incident 42"


def test_manual_input_as_a_json_string_is_read_like_the_object() -> None:
    assert normalize(json.dumps({"modelPackageArn": ARN})) == normalize({"modelPackageArn": ARN})


def test_manual_input_with_only_the_arn_has_no_overrides() -> None:
    assert normalize({"modelPackageArn": ARN}).overrides == {}


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws-cn:sagemaker:cn-north-1:123456789012:model-package/churn/3",
        "arn:aws-us-gov:sagemaker:us-gov-west-1:123456789012:model-package/churn-v2--x/1234567890",
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/" + "a-" * 31 + "b/3",  # 63 chars
    ],
)
def test_manual_input_accepts_versioned_package_arns_in_other_partitions(arn: str) -> None:
    assert normalize({"modelPackageArn": arn}).modelPackageArn == arn


@pytest.mark.parametrize(
    "arn",
    [
        "not-an-arn",
        "",
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn",  # unversioned
        "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/churn",
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/0",
        "arn:aws:sagemaker:us-east-1:12345678901:model-package/churn/3",
        "arn:aws:sagemaker:us-east-1: 123456789012:model-package/churn/3",
        "arn:aws:s3:us-east-1:123456789012:model-package/churn/3",
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn_x/3",
        ARN + "\n",
        ARN + "/extra",
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/" + "g" * 64 + "/3",
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/" + "a-" * 32 + "b/3",  # 65 chars
    ],
)
def test_malformed_package_arn_is_invalid_naming_model_package_arn(arn: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        normalize({"modelPackageArn": arn})

    assert caught.value.field == "modelPackageArn"
    assert "VERSION" in caught.value.problem


def test_unversioned_package_arn_is_invalid() -> None:
    unversioned = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn"

    assert invalid_field({"modelPackageArn": unversioned}) == "modelPackageArn"


@pytest.mark.parametrize(
    "name",
    ["churn_prod", "c" * 64, "-churn", "churn-", "", "churn prod", "churn-prod\n", "a" + "-" * 10 + "b" * 62],
    ids=[
        "underscore",
        "64 chars",
        "leading hyphen",
        "trailing hyphen",
        "empty",
        "space",
        "newline",
        "72 with hyphens",
    ],
)
def test_bad_endpoint_name_is_invalid_naming_endpoint_name(name: str) -> None:
    assert invalid_field({"modelPackageArn": ARN, "endpointName": name}) == "endpointName"


@pytest.mark.parametrize("name", ["c" * 63, "a", "churn--prod-2"])
def test_endpoint_name_up_to_63_chars_with_inner_hyphens_is_accepted(name: str) -> None:
    assert normalize({"modelPackageArn": ARN, "endpointName": name}).overrides["endpointName"] == name


def test_manual_input_with_a_trailing_newline_in_the_arn_is_invalid() -> None:
    assert invalid_field({"modelPackageArn": ARN + "\n"}) == "modelPackageArn"


@pytest.mark.parametrize("key", ["endpoint", "modelPackageARN", "dryRun"])
def test_unknown_manual_key_is_invalid_naming_that_key(key: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        normalize({"modelPackageArn": ARN, key: "x"})

    assert caught.value.field == key
    assert "not permitted" in caught.value.problem


@pytest.mark.parametrize("count", [0, -1, 101, 1.5, "two"])
def test_out_of_range_or_non_integer_instance_count_is_invalid_naming_it(count: Any) -> None:
    assert invalid_field({"modelPackageArn": ARN, "initialInstanceCount": count}) == "initialInstanceCount"


def test_instance_count_zero_is_invalid_naming_it() -> None:
    with pytest.raises(InvalidRequest) as caught:
        normalize({"modelPackageArn": ARN, "initialInstanceCount": 0})

    assert caught.value.field == "initialInstanceCount"
    assert "greater than or equal to 1" in caught.value.problem


@pytest.mark.parametrize("instance_type", ["m5.large", "ml.m5", "ML.M5.LARGE", "ml.m5.large "])
def test_bad_instance_type_is_invalid_naming_it(instance_type: str) -> None:
    assert invalid_field({"modelPackageArn": ARN, "instanceType": instance_type}) == "instanceType"


def test_reason_longer_than_512_chars_is_invalid_naming_it() -> None:
    assert invalid_field({"modelPackageArn": ARN, "reason": "x" * 513}) == "reason"


def test_missing_model_package_arn_in_manual_input_is_invalid_naming_it() -> None:
    assert invalid_field({"endpointName": "churn-prod"}) == "modelPackageArn"


@pytest.mark.parametrize(
    "raw",
    [42, 4.2, "not json at all", "42", '"a string"', None, True, "null"],
    ids=["number", "float", "text not json", "json number", "json string", "none", "bool", "json null"],
)
def test_input_that_is_not_an_object_is_invalid_naming_input(raw: Any) -> None:
    assert invalid_field(raw) == "input"


# --- parse_timestamp -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *GOOD_TIME_ENCODINGS.values(),
        ("2023-08-04T12:36:15Z", datetime(2023, 8, 4, 12, 36, 15, tzinfo=UTC)),
        ("  1691152575490  ", T0),
        ("1592411992203.0", datetime(2020, 6, 17, 16, 39, 52, 203000, tzinfo=UTC)),
        (1592411992203.0, datetime(2020, 6, 17, 16, 39, 52, 203000, tzinfo=UTC)),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        ("2023-08-04T12:36:15", datetime(2023, 8, 4, 12, 36, 15, tzinfo=UTC)),
        ("2023-08-04T18:06:15.490+0530", T0.astimezone(timezone(timedelta(hours=5, minutes=30)))),
        ("2023-08-04T07:06:15.490-0530", T0),
    ],
)
def test_parse_timestamp_reads_every_encoding_aws_uses_as_an_aware_instant(
    value: Any, expected: datetime
) -> None:
    parsed = parse_timestamp(value)

    assert parsed == expected
    assert parsed is not None
    assert parsed.tzinfo is not None


def test_parse_timestamp_keeps_none_and_datetimes() -> None:
    assert parse_timestamp(None) is None
    assert parse_timestamp(T0) is T0


@pytest.mark.parametrize(
    "value",
    [
        "2023-08-04T12: 36: 15.490+0000",
        "2023-08-04T12:36:15.490+00:00 extra",
        "Timestamp",
        "",
        "   ",
        "1e12",
        "-1691152575490",
        True,
        False,
        [],
        {},
        10**20,
        -(10**18),
        "9" * 30,
        float("inf"),
        float("nan"),
    ],
    ids=lambda v: repr(v)[:24],
)
def test_parse_timestamp_rejects_anything_else_with_value_error(value: Any) -> None:
    with pytest.raises(ValueError):  # the contract: pydantic turns ValueError into a field error
        parse_timestamp(value)


def test_parse_timestamp_rejects_the_published_time_with_spaces_naming_the_value() -> None:
    with pytest.raises(ValueError, match="not an ISO-8601 time or epoch milliseconds"):
        parse_timestamp("2023-08-04T12: 36: 15.490+0000")


# --- the repository's sample inputs in events/ ---------------------------------------------------
PACKAGE_1 = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/1"
EVENT_FILE_EXPECTATIONS: dict[str, DeployRequest | str] = {
    "model_package_approved.json": DeployRequest(
        source="approval",
        modelPackageArn=PACKAGE_1,
        eventId="7d3c1f0a-4b2e-4c8d-9f61-2a5b8e0c1d01",
        eventTime=datetime(2024, 5, 1, 10, 5, tzinfo=UTC),
        transition="modified:2024-05-01T10:05:00.000000+00:00",  # detail.LastModifiedTime
    ),
    "model_package_rejected.json": "detail.ModelApprovalStatus",
    "model_package_pending.json": "detail.ModelApprovalStatus",
    "manual_deploy.json": DeployRequest(
        source="manual", modelPackageArn=PACKAGE_1, overrides={"endpointName": "churn-prod"}
    ),
    "manual_deploy_unknown_package.json": DeployRequest(
        source="manual",
        modelPackageArn="arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/99",
        overrides={"endpointName": "churn-prod"},
    ),
    # The batch-transform schedule's input is not a deploy input: read as manual, it lacks the ARN.
    "scheduled_batch_input.json": "modelPackageArn",
}


def _event_file_names() -> list[str]:
    return sorted(path.name for path in EVENTS.glob("*.json"))


def test_the_expected_sample_inputs_exist_in_events() -> None:
    assert set(EVENT_FILE_EXPECTATIONS) <= set(_event_file_names())


@pytest.mark.parametrize("name", _event_file_names())
def test_every_sample_input_in_events_normalizes_to_its_expected_result(name: str) -> None:
    assert name in EVENT_FILE_EXPECTATIONS, (
        f"events/{name}: add its expected result to EVENT_FILE_EXPECTATIONS"
    )
    raw = json.loads((EVENTS / name).read_text())
    expected = EVENT_FILE_EXPECTATIONS[name]

    if isinstance(expected, DeployRequest):
        assert normalize(raw) == expected
    else:
        assert invalid_field(raw) == expected


def test_approved_sample_event_is_the_full_envelope_aws_sends() -> None:
    event = json.loads((EVENTS / "model_package_approved.json").read_text())
    detail = event["detail"]

    assert set(event) >= {"version", "id", "detail-type", "source", "account", "time", "region", "resources"}
    assert event["resources"] == [PACKAGE_1]
    assert (event["account"], event["region"]) == ("123456789012", "us-east-1")
    assert (detail["ModelPackageGroupName"], detail["ModelPackageVersion"]) == ("churn", 1)
    assert isinstance(detail["CreationTime"], int)
    assert detail["ModelPackageStatus"] == "Completed"
    assert detail["InferenceSpecification"]["Containers"]
