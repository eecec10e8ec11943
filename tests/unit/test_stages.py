"""Stage gates (smdeploy.stages) with fakes: what opening and closing a gate does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from smdeploy import stages
from smdeploy.errors import AwsRequestRejected

NOW = datetime(2026, 1, 1, tzinfo=UTC)
EXEC = "arn:aws:states:us-east-1:123456789012:execution:smdeploy-deploy-model:exec-1"
PLAN = {
    "modelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/2",
    "modelPackageGroup": "churn",
    "modelPackageVersion": 2,
    "endpointName": "churn-staging",
    "stage": {"index": 0, "of": 2, "endpoint": "churn-staging"},
    "nextStage": {"index": 1, "endpoint": "churn-prod", "gate": "manual", "timeoutSeconds": 3600},
}


class Fakes:
    def __init__(self, *, open_gate: dict[str, str] | None = None, started: bool = False) -> None:
        self.gate = open_gate
        self.calls: list[tuple[str, Any]] = []
        self.already_started = started

    # gates
    def open(self, endpoint: str, gate: dict[str, str]) -> dict[str, str] | None:
        replaced, self.gate = self.gate, gate
        self.calls.append(("open", endpoint))
        return replaced

    def remove(self, endpoint: str, execution_arn: str) -> None:
        self.calls.append(("remove", endpoint))

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        self.calls.append(("succeed", token))
        return True

    def fail(self, token: str, error: str, cause: str) -> bool:
        self.calls.append(("fail", (token, error)))
        return True

    # notifier, records, starter
    def publish(self, subject: str, message: dict[str, Any]) -> str:
        self.calls.append(("publish", subject))
        return "m"

    def annotate(self, execution_arn: str, key: str, value: dict[str, Any]) -> None:
        self.calls.append(("annotate", value["answer"]))

    def start(self, name: str, execution_input: dict[str, Any]) -> str:
        if self.already_started:
            raise AwsRequestRejected("StartExecution: ExecutionAlreadyExists: Execution Already Exists")
        self.calls.append(("start", execution_input))
        return f"arn:...:{name}"


def request(**fields: Any) -> stages.GateRequest:
    return stages.GateRequest.model_validate({"executionArn": EXEC, "plan": PLAN, **fields})


def test_opening_a_manual_gate_keeps_the_token_notifies_and_supersedes_an_older_waiter() -> None:
    fakes = Fakes(
        open_gate={"token": "old", "executionArn": "other", "modelPackageArn": PLAN["modelPackageArn"]}
    )

    result = stages.open_gate(request(action="open", token="t"), gates=fakes, notifier=fakes, now=NOW)

    assert result == {"opened": True, "endpoint": "churn-prod", "closesAt": "2026-01-01T01:00:00+00:00"}
    assert ("fail", ("old", "GateSuperseded")) in fakes.calls
    assert ("publish", "smdeploy GATE: churn-prod <- churn/2 waits for approval") in fakes.calls


def test_an_automatic_gate_answers_itself() -> None:
    plan = {**PLAN, "nextStage": {**PLAN["nextStage"], "gate": "auto", "timeoutSeconds": 300}}
    fakes = Fakes()

    stages.open_gate(
        stages.GateRequest(action="open", executionArn=EXEC, plan=plan, token="t"),
        gates=fakes,
        notifier=fakes,
        now=NOW,
    )

    assert fakes.calls == [("succeed", "t")]


def close(state: dict[str, Any], fakes: Fakes, starter: Fakes | None = None) -> dict[str, Any]:
    return stages.close_gate(
        request(action="close", state=state),
        gates=fakes,
        records=fakes,
        notifier=fakes,
        starter=starter or fakes,
        now=NOW,
    )


def test_closing_an_approved_gate_starts_the_next_stage_once_and_records_the_answer() -> None:
    fakes = Fakes()
    state = {"plan": PLAN, "gate": {"by": "arn:aws:iam::1:user/ops", "reason": "ok"}}

    result = close(state, fakes)

    assert result["answer"] == "APPROVED" and result["by"] == "arn:aws:iam::1:user/ops"
    ((_, started),) = [c for c in fakes.calls if c[0] == "start"]
    assert started["endpointName"] == "churn-prod" and started["throughStages"] is True
    # a re-run of the state finds the execution already started: the same answer, nothing twice
    again = close(state, fakes, starter=Fakes(started=True))
    assert again["answer"] == "APPROVED"
    assert again["nextExecution"] == stages.stage_execution_name(PLAN, EXEC)


def test_closing_after_a_rejection_or_a_timeout_names_the_answer_and_starts_nothing() -> None:
    for error, answer in (("GateRejected", "REJECTED"), ("States.Timeout", "TIMED_OUT"), ("Boom", "FAILED")):
        fakes = Fakes()
        state = {"plan": PLAN, "gateError": {"Error": error, "Cause": "why"}}
        result = close(state, fakes)
        assert result["answer"] == answer
        assert not [c for c in fakes.calls if c[0] == "start"]
        assert ("annotate", answer) in fakes.calls
