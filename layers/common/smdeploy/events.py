"""Turn whatever started an execution into one :class:`DeployRequest`.

Accepted shapes (see ``shared`` notes and ``tests/unit/test_events.py``): the EventBridge envelope
of a "SageMaker Model Package State Change" event (``detail`` as an object or a JSON string,
``source`` as a string or a list), an SNS-wrapped event (``Records[0].Sns.Message``), a batch
(a JSON array) of such events for one package, the manual input of
:class:`~smdeploy.models.ManualDeployInput`, and the withdrawal input (:class:`WithdrawalInput`)
the withdrawn-approval function starts when a version that may serve an endpoint is Rejected.

An approval carries its **transition**: which change to ``Approved`` it reports, the package's
``LastModifiedTime`` in the event (else the event ``id``). SageMaker may send several events for
one change (each with its own ``id``, the same ``LastModifiedTime``); a re-approval after a
rejection is a new change with a new ``LastModifiedTime``. Duplicates are told apart by it
(``smdeploy.locking``).
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from smdeploy.errors import InvalidRequest
from smdeploy.models import (
    MODEL_PACKAGE_ARN_RE,
    DeployRequest,
    EndpointName,
    ManualDeployInput,
    ModelPackageStateChange,
    parse_timestamp,
)

MODEL_PACKAGE_DETAIL_TYPE = "SageMaker Model Package State Change"


class WithdrawalInput(BaseModel):
    """The input of a withdrawal: stop serving ``withdrawn`` on ``endpointName``.

    What replaces it is chosen under the endpoint's lock (``smdeploy.withdrawal``).
    ``modelPackageArn``, when given, is the withdrawn package too (records and logs name it).
    """

    model_config = ConfigDict(extra="forbid")

    withdrawn: str
    endpointName: EndpointName
    modelPackageArn: str | None = None
    reason: str | None = Field(default=None, max_length=512)
    # rejected: its approval was withdrawn; drift: a drift monitor's alarm (``onDrift: rollback``)
    cause: Literal["rejected", "drift"] = "rejected"

    @field_validator("withdrawn")
    @classmethod
    def _arn_shape(cls, value: str) -> str:
        if not MODEL_PACKAGE_ARN_RE.fullmatch(value):
            raise ValueError(
                "expected arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/VERSION (a versioned package)"
            )
        return value

    @model_validator(mode="after")
    def _one_package(self) -> WithdrawalInput:
        if self.modelPackageArn is not None and self.modelPackageArn != self.withdrawn:
            raise ValueError("modelPackageArn of a withdrawal is the withdrawn package")
        return self


def first_error(exc: ValidationError, where: str = "", empty: str = "input") -> InvalidRequest:
    """The first pydantic error as an :class:`InvalidRequest` naming the field.

    The field is ``where.location``; an error of the whole object (no location) names ``empty``
    under ``where``, or ``where`` itself when ``empty`` is "".
    """
    err = exc.errors()[0]
    location = ".".join(str(part) for part in err["loc"]) or empty
    field = f"{where}.{location}" if where and location else (where or location)
    return InvalidRequest(field, err["msg"].removeprefix("Value error, "))


def _loads(text: str, field: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(field, f"not valid JSON ({exc.msg})") from exc
    except ValueError as exc:  # valid JSON Python will not read: an integer of more than 4300 digits
        raise InvalidRequest(field, f"not readable JSON ({exc})") from exc
    except RecursionError as exc:
        raise InvalidRequest(field, "JSON nested too deeply") from exc


def normalize(raw: Any) -> DeployRequest:
    """Normalize the execution input; raise :class:`InvalidRequest` naming the field otherwise."""
    if isinstance(raw, str):
        raw = _loads(raw, "input")
    if isinstance(raw, list):
        return _normalize_batch(raw)
    if not isinstance(raw, dict):
        raise InvalidRequest("input", f"expected a JSON object, got {type(raw).__name__}")
    records = raw.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict) and "Sns" in records[0]:
        sns = records[0]["Sns"]
        message = sns.get("Message") if isinstance(sns, dict) else None
        if not isinstance(message, str):
            raise InvalidRequest("Records[0].Sns.Message", "expected the event as a JSON string")
        return normalize(_loads(message, "Records[0].Sns.Message"))
    if "detail-type" in raw or "detail" in raw:
        return _normalize_event(raw)
    if "withdrawn" in raw:
        return _normalize_withdrawal(raw)
    return _normalize_manual(raw)


def _normalize_batch(events: list[Any]) -> DeployRequest:
    if not events:
        raise InvalidRequest("input", "an empty batch of events")
    for index, item in enumerate(events):
        if isinstance(item, list):
            raise InvalidRequest(f"input[{index}]", "a batch inside a batch; expected an event object")
    requests = [normalize(item) for item in events]
    arns = {request.modelPackageArn for request in requests}
    if len(arns) > 1:
        raise InvalidRequest(
            "input", f"a batch names {len(arns)} model packages; deliver one event per execution"
        )
    return requests[-1]


def _normalize_event(event: dict[str, Any]) -> DeployRequest:
    detail_type = event.get("detail-type")
    if detail_type != MODEL_PACKAGE_DETAIL_TYPE:
        raise InvalidRequest("detail-type", f"expected {MODEL_PACKAGE_DETAIL_TYPE!r}, got {detail_type!r}")
    source = event.get("source")
    sources = source if isinstance(source, list) else [source]
    if "aws.sagemaker" not in sources:
        raise InvalidRequest("source", f"expected 'aws.sagemaker', got {source!r}")
    detail = event.get("detail")
    if isinstance(detail, str):
        detail = _loads(detail, "detail")
    if not isinstance(detail, dict):
        raise InvalidRequest("detail", "expected an object")
    try:
        change = ModelPackageStateChange.model_validate(detail)
    except ValidationError as exc:
        raise first_error(exc, "detail") from exc
    if change.ModelApprovalStatus != "Approved":
        raise InvalidRequest(
            "detail.ModelApprovalStatus",
            f"is {change.ModelApprovalStatus!r}; only a change to 'Approved' deploys",
        )
    try:
        event_time = parse_timestamp(event.get("time"))
    except ValueError:
        event_time = None  # the envelope time is informative only
    event_id = str(event["id"]) if event.get("id") is not None else None
    return DeployRequest(
        source="approval",
        modelPackageArn=change.ModelPackageArn,
        eventId=event_id,
        eventTime=event_time,
        transition=approval_transition(change, event_id),
    )


def approval_transition(change: ModelPackageStateChange, event_id: str | None) -> str | None:
    """Which change to ``Approved`` an event reports: ``modified:<LastModifiedTime>`` (every event
    SageMaker sends for one change carries it), else ``event:<id>`` (a repeated delivery of one
    event keeps its id), else ``None``."""
    if change.LastModifiedTime is not None:
        return "modified:" + change.LastModifiedTime.astimezone(UTC).isoformat(timespec="microseconds")
    return f"event:{event_id}" if event_id else None


def _normalize_withdrawal(data: dict[str, Any]) -> DeployRequest:
    try:
        withdrawal = WithdrawalInput.model_validate(data)
    except ValidationError as exc:
        raise first_error(exc) from exc
    return DeployRequest(
        source="manual",
        modelPackageArn=withdrawal.withdrawn,
        withdrawn=withdrawal.withdrawn,
        cause=withdrawal.cause,
        overrides={"endpointName": withdrawal.endpointName},
        reason=withdrawal.reason,
    )


def _normalize_manual(data: dict[str, Any]) -> DeployRequest:
    try:
        manual = ManualDeployInput.model_validate(data)
    except ValidationError as exc:
        raise first_error(exc) from exc
    overrides = manual.model_dump(
        exclude_none=True, exclude={"modelPackageArn", "reason", "strategy", "createEndpoint"}
    )
    if manual.createEndpoint:
        overrides["createEndpoint"] = True
    if manual.strategy is not None:
        overrides["strategy"] = manual.strategy.model_dump(exclude_unset=True)
    return DeployRequest(
        source="manual", modelPackageArn=manual.modelPackageArn, overrides=overrides, reason=manual.reason
    )
