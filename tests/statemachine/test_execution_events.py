"""Step Functions tells EventBridge when an execution ends, however it ended: the local cloud puts
the same "Step Functions Execution Status Change" events on its bus (Step Functions user guide,
"Automating Step Functions event delivery with EventBridge")."""

from __future__ import annotations

from tests.statemachine.helpers import repository_rehearsal, same_scenario


@same_scenario("operator-stop")
def test_every_ended_execution_is_announced_with_its_status() -> None:
    report = repository_rehearsal("operator-stop").report
    announced = {
        event["resources"][0].rsplit(":", 1)[-1]: event["status"]
        for event in report["events"]
        if event["detailType"] == "Step Functions Execution Status Change"
    }
    executions = {e["name"]: e["status"] for e in report["executions"]}
    assert set(announced) == set(executions)
    assert announced == executions
    assert "ABORTED" in announced.values(), "a stop from the console is announced too"
    assert all(
        event["source"] == "aws.states"
        for event in report["events"]
        if event["id"] and "Step" in event["detailType"]
    )
