"""The operator's commands rehearsed: a scenario's ``cli`` step runs ``smdeploy_cli.operator`` itself
against the local cloud at that virtual time, as a person would run it against the deployed stack.

The rollouts are ``scenarios/canary-promote.yaml``'s: churn/1 serves churn-prod, churn/2 is
approved at 3600 and baked at 10% from 3930 until 4620, then at 50%, then promoted.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError

from localcloud.engine.cloud import EPOCH, LocalCloud
from localcloud.scenario.contract import Expect, ScenarioError, load_scenario
from localcloud.scenario.report import cli_lines, render
from localcloud.scenario.runner import Rehearsal, Runner, check, serving
from smdeploy_cli.operator import VERBS
from tests.statemachine.helpers import PACKAGE, execution, rehearse

REPO = Path(__file__).resolve().parents[2]
CANARY = yaml.safe_load((REPO / "scenarios" / "canary-promote.yaml").read_text())
DURING = 4000  # in the first bake (10%), which the judge checks every 2 minutes until 4620
FIRST_BAKE_ENDS = 4620
AFTER = 7000  # churn/2 promoted, every execution ended


def canary(*steps: dict[str, Any], expect: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """canary-promote.yaml with ``steps`` added to its timeline (and its own ``expect``)."""
    scenario = json.loads(json.dumps(CANARY))
    scenario["timeline"] = [*scenario["timeline"], *steps]
    scenario["expect"] = expect if expect is not None else [{"executions": 2}]
    return scenario


def runs(rehearsal: Rehearsal) -> dict[str, dict[str, Any]]:
    """The cli runs by command."""
    return {run["command"]: run for run in rehearsal.report["cliRuns"]}


DEPLOY = f"deploy {PACKAGE.format(1)} --endpoint churn-prod --reason x --json"


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Rehearsal:
    """One canary with the reading commands during and after it, and commands that must fail."""
    return rehearse(
        tmp_path_factory.mktemp("observed"),
        canary(
            {"at": DURING, "cli": "status churn-prod --json"},
            {"at": DURING, "cli": "status churn-prod --watch --interval 600 --json"},
            {"at": DURING + 10, "cli": "status churn-prod --stack nope"},
            {"at": DURING + 20, "cli": "status churn-dev"},
            {"at": DURING + 30, "cli": "status"},
            {"at": AFTER, "cli": "status churn-prod --json"},
            {"at": AFTER + 5, "cli": "status churn-prod"},
            {"at": AFTER + 10, "cli": "history churn-prod --json"},
            {"at": AFTER + 20, "cli": "abort churn-prod"},
            {"at": AFTER + 30, "cli": DEPLOY},
            expect=[
                {"executions": 3},
                {"cli": 1},
                {"cli": 3, "exitCode": 2, "output": "no stack 'nope'"},
                {"cli": 9, "exitCode": 2, "output": "nothing running"},
            ],
        ),
    )


# --- reading ------------------------------------------------------------------------------------------
def test_status_during_the_canary_shows_the_rollout_and_both_variants(observed: Rehearsal) -> None:
    run = observed.report["cliRuns"][0]
    assert (run["command"], run["at"], run["exitCode"], run["stderr"]) == (
        "status churn-prod --json",
        DURING,
        0,
        "",
    )
    found = json.loads(run["stdout"])
    rollout = found["rollout"]
    assert (rollout["status"], rollout["name"]) == ("RUNNING", "exec-0002")
    # the state it is in now (GetExecutionHistory newest first, as AWS answers reverseOrder)
    entered = [s for s in execution(observed, 2)["states"] if s["at"] <= DURING]
    assert rollout["state"] == entered[-1]["name"] == "Bake: wait for next check"
    weights = {v["version"]: v["weight"] for v in found["variants"]}
    assert weights == {"churn/1": pytest.approx(0.9), "churn/2": pytest.approx(0.1)}


def test_status_after_the_rollout_shows_no_rollout(observed: Rehearsal) -> None:
    by_command = runs(observed)
    after = next(r for r in observed.report["cliRuns"] if r["at"] == AFTER)
    found = json.loads(after["stdout"])
    assert found["rollout"] is None
    assert [(v["version"], v["weight"]) for v in found["variants"]] == [("churn/2", 1.0)]
    assert "no rollout in progress" in by_command["status churn-prod"]["stdout"]


def test_status_watch_refreshes_in_virtual_time_until_the_rollout_ends(observed: Rehearsal) -> None:
    watch = runs(observed)["status churn-prod --watch --interval 600 --json"]
    documents = [json.loads(d) for d in re.split(r"(?m)^(?=\{)", watch["stdout"]) if d.strip()]
    promoted = execution(observed, 2)["stoppedAt"]
    assert watch["exitCode"] == 0
    # refreshed every 600 virtual seconds from 4000 until a refresh found no rollout
    assert [d["rollout"]["status"] if d["rollout"] else None for d in documents][-1] is None
    assert all(d["rollout"]["status"] == "RUNNING" for d in documents[:-1])
    assert watch["endedAt"] == DURING + 600 * (len(documents) - 1)
    assert watch["endedAt"] - 600 < promoted <= watch["endedAt"]


def test_history_lists_the_deployments_newest_first(observed: Rehearsal) -> None:
    history = runs(observed)["history churn-prod --json"]
    records = json.loads(history["stdout"])
    assert [(r["outcome"], r["executionArn"].rsplit(":", 1)[-1]) for r in records] == [
        ("PROMOTED", "exec-0002"),
        ("DEPLOYED", "exec-0001"),
    ]
    assert records[0]["recordedAt"] > records[1]["recordedAt"]


# --- acting -----------------------------------------------------------------------------------------
def test_deploy_starts_an_execution_with_the_manual_input(observed: Rehearsal) -> None:
    started = json.loads(runs(observed)[DEPLOY]["stdout"])
    assert started["input"] == {
        **started["input"],
        "modelPackageArn": PACKAGE.format(1),
        "endpointName": "churn-prod",
        "reason": "x",
    }
    assert len(observed.report["executions"]) == 3  # canary-promote.yaml's two, and this one
    third = execution(observed, 3)
    assert (third["arn"], third["startedAt"]) == (started["executionArn"], AFTER + 30)
    assert third["modelPackageArn"] == PACKAGE.format(1)


def test_an_unknown_stack_exits_2_naming_it(observed: Rehearsal) -> None:
    run = runs(observed)["status churn-prod --stack nope"]
    assert run["exitCode"] == 2
    assert "no stack 'nope'" in run["stderr"]
    assert "Stack with id nope does not exist" in run["stderr"]  # CloudFormation's own message


def test_an_unknown_endpoint_exits_2(observed: Rehearsal) -> None:
    run = runs(observed)["status churn-dev"]
    assert (run["exitCode"], run["stdout"]) == (2, "")
    assert "no endpoint 'churn-dev'" in run["stderr"]


def test_a_usage_error_is_argparses_exit_2_with_the_usage(observed: Rehearsal) -> None:
    run = runs(observed)["status"]
    assert run["exitCode"] == 2
    assert "usage: smdeploy status" in run["stderr"]
    assert "required: endpoint" in run["stderr"]


def test_abort_with_nothing_running_exits_2(observed: Rehearsal) -> None:
    run = runs(observed)["abort churn-prod"]
    assert run["exitCode"] == 2
    assert "nothing running" in run["stderr"]


# --- who calls, and what the report says -------------------------------------------------------------
def test_the_commands_are_a_persons_calls_never_checked_against_the_stacks_roles(observed: Rehearsal) -> None:
    report = observed.report
    assert report["accessDenied"] == []
    assert report["apiCalls"]["cloudformation:DescribeStacks"] == len(report["cliRuns"]) - 1  # not `status`
    assert "cloudformation:DescribeStacks" not in report["controlPlaneApiCalls"]
    assert "states:StartExecution" not in report["controlPlaneApiCalls"]  # deploy's, like a console's


def test_the_report_keeps_every_run_and_checks_cli_expectations(observed: Rehearsal) -> None:
    report = observed.report
    assert [set(run) for run in report["cliRuns"]] == [
        {"at", "command", "exitCode", "stdout", "stderr", "endedAt"}
    ] * len(report["cliRuns"])
    assert observed.ok, report["checks"]
    assert report["checks"][2]["detail"] == "$ smdeploy status churn-prod --stack nope -> exit 2"


def test_the_timeline_shows_each_command_and_its_first_lines(observed: Rehearsal) -> None:
    text = render(observed)
    assert "cli        $ smdeploy abort churn-prod -> exit 2\n" in text
    assert "             smdeploy abort: nothing running on churn-prod" in text
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if "$ smdeploy history churn-prod --json" in line)
    assert lines[first + 1].endswith("  [")
    assert "more lines in --json)" in lines[first + 8]


def test_a_command_still_watching_when_the_rehearsal_ends_says_so() -> None:
    run = {"at": 60.0, "command": "status e --watch", "exitCode": None, "endedAt": None}
    lines = [
        text
        for _, _, text in cli_lines({**run, "stdout": "".join(f"{i}\n" for i in range(20)), "stderr": ""})
    ]
    assert lines[0] == "cli        $ smdeploy status e --watch -> still running at the end"
    assert lines[1:8] == [f"           {i}" for i in range(7)]
    assert lines[8:] == ["           … (13 more lines in --json)"]
    assert check(Expect(cli=1), {"cliRuns": [{**run, "stdout": "", "stderr": ""}]}) == (
        False,
        "$ smdeploy status e --watch -> still running",
    )


def test_cli_expectations_compare_exit_code_and_output() -> None:
    report = {
        "cliRuns": [
            {"at": 1.0, "command": "abort e", "exitCode": 2, "stdout": "", "stderr": "nothing running on e"}
        ]
    }
    assert check(Expect(cli=1), report) == (False, "$ smdeploy abort e -> exit 2: nothing running on e")
    assert check(Expect(cli=1, exitCode=2, output="nothing running"), report)[0]
    assert not check(Expect(cli=1, exitCode=2, output="promoted"), report)[0]
    assert check(Expect(cli=2), report) == (False, "only 1 cli runs")


# --- the commands the rollout obeys -------------------------------------------------------------------
def test_abort_during_the_canary_rolls_it_back(tmp_path: Path) -> None:
    rehearsal = rehearse(tmp_path, canary({"at": DURING, "cli": "abort churn-prod --reason drill"}))
    (run,) = rehearsal.report["cliRuns"]
    assert run["exitCode"] == 0, run["stderr"]
    assert "abort sent to exec-0002" in run["stdout"]
    aborted = execution(rehearsal, 2)
    assert aborted["outcome"] == "ROLLED_BACK"
    assert "ABORTED by operator" in (aborted["cause"] or "")
    assert "drill" in aborted["cause"]
    assert aborted["stoppedAt"] < FIRST_BAKE_ENDS
    assert serving(rehearsal.report["endpoints"]["churn-prod"]) == "churn/1"


def test_promote_full_during_the_first_bake_promotes_at_the_next_check(tmp_path: Path) -> None:
    rehearsal = rehearse(tmp_path, canary({"at": DURING, "cli": "promote churn-prod --full"}))
    (run,) = rehearsal.report["cliRuns"]
    assert run["exitCode"] == 0, run["stderr"]
    promoted = execution(rehearsal, 2)
    shifts = [s["at"] for s in promoted["states"] if s["name"] == "Shift traffic to candidate"]
    promotion = next(s["at"] for s in promoted["states"] if s["name"] == "Promote: candidate-only config")
    assert promoted["outcome"] == "PROMOTED"
    assert len(shifts) == 1  # 10%, never 50%
    assert promotion <= DURING + 2 * 120 < FIRST_BAKE_ENDS  # at the next check, not at the bake's end


# --- the scenario contract ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("step", "problem"),
    [
        ("frobnicate churn-prod", f"unknown command 'frobnicate': expected one of {', '.join(VERBS)}"),
        ("", "an empty command"),
        ("abort 'churn-prod", "cannot split"),
    ],
)
def test_a_cli_step_names_an_operator_verb(tmp_path: Path, step: str, problem: str) -> None:
    with pytest.raises(ScenarioError) as invalid:
        rehearse(tmp_path, canary({"at": 10, "cli": step}))
    assert invalid.value.key == f"timeline[{len(CANARY['timeline'])}].cli"
    assert problem in invalid.value.problem


@pytest.mark.parametrize(
    ("expect", "key", "problem"),
    [
        ({"executions": 2, "exitCode": 2}, "expect[0]", "exitCode and output belong to a cli expectation"),
        ({"cli": 2}, "expect[0].cli", "the timeline has 1 cli step"),
    ],
)
def test_cli_expectations_are_checked_when_the_scenario_loads(
    tmp_path: Path, expect: dict[str, Any], key: str, problem: str
) -> None:
    with pytest.raises(ScenarioError) as invalid:
        rehearse(tmp_path, canary({"at": 10, "cli": "status churn-prod"}, expect=[expect]))
    assert invalid.value.key == key
    assert problem in invalid.value.problem


# --- the local cloud as the CLI meets it ------------------------------------------------------------
def test_the_rehearsed_stack_answers_describe_stacks_with_its_resolved_outputs() -> None:
    with LocalCloud(parameters={"GroupConfigPrefix": "/rehearsal/groups/"}) as cloud:
        cfn = cloud.client("cloudformation")
        (stack,) = cfn.describe_stacks(StackName="smdeploy")["Stacks"]
        assert re.fullmatch(
            r"arn:aws:cloudformation:us-east-1:123456789012:stack/smdeploy/[0-9a-f-]{36}", stack["StackId"]
        )
        assert (stack["StackName"], stack["StackStatus"], stack["CreationTime"]) == (
            "smdeploy",
            "CREATE_COMPLETE",
            EPOCH,
        )
        outputs = {o["OutputKey"]: o for o in stack["Outputs"]}
        declared = cloud.template.doc["Outputs"]
        assert set(outputs) == set(declared)
        deploy = cloud.template.state_machine_by_alias("deploy")
        assert outputs["DeployStateMachineArn"]["OutputValue"] == deploy.arn
        assert outputs["DeploymentsTableName"]["OutputValue"] in cloud.template.tables()
        assert outputs["GroupConfigPrefix"]["OutputValue"] == "/rehearsal/groups/"
        assert (
            outputs["DeployStateMachineArn"]["Description"]
            == declared["DeployStateMachineArn"]["Description"]
        )
        parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
        assert parameters == cloud.template.parameters
        # by its id too; a name it does not have is CloudFormation's ValidationError
        assert cfn.describe_stacks(StackName=stack["StackId"])["Stacks"] == [stack]
        with pytest.raises(ClientError) as missing:
            cfn.describe_stacks(StackName="nope")
        assert missing.value.response["Error"] == {
            "Type": "Sender",
            "Code": "ValidationError",
            "Message": "Stack with id nope does not exist",
        }


def test_execution_history_comes_in_pages_newest_first_on_request(tmp_path: Path) -> None:
    path = tmp_path / "first.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "first deploy",
                "groups": CANARY["groups"],
                "models": {"churn/1": CANARY["models"]["churn/1"]},
                "timeline": [{"at": 0, "approve": {"group": "churn", "version": 1}}],
            }
        )
    )
    with Runner(load_scenario(path), path).open(None) as cloud:
        arn = cloud.executions[0]
        events = cloud.execution_history(arn)
        assert len(events) > 100
        sfn = cloud.client("stepfunctions")
        first = sfn.get_execution_history(executionArn=arn)
        assert [e["id"] for e in first["events"]] == list(range(1, 101))  # 100 by default, oldest first
        rest = sfn.get_execution_history(executionArn=arn, nextToken=first["nextToken"], maxResults=1000)
        assert [e["id"] for e in rest["events"]] == list(range(101, len(events) + 1))
        assert "nextToken" not in rest
        newest = sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=3)["events"]
        assert [e["id"] for e in newest] == [len(events), len(events) - 1, len(events) - 2]
        assert newest[0]["type"] == "ExecutionSucceeded"
        bare = sfn.get_execution_history(executionArn=arn, maxResults=1, includeExecutionData=False)
        assert "input" not in bare["events"][0]["executionStartedEventDetails"]
        with pytest.raises(ClientError) as reversed_token:
            sfn.get_execution_history(executionArn=arn, reverseOrder=True, nextToken=first["nextToken"])
        assert reversed_token.value.response["Error"]["Code"] == "InvalidToken"
        with pytest.raises(ClientError) as too_many:
            sfn.get_execution_history(executionArn=arn, maxResults=1001)
        assert too_many.value.response["Error"]["Code"] == "ValidationException"


def test_plan_shows_the_deployment_beside_the_live_config_and_changes_nothing_and_rollback_restores(
    tmp_path: Path,
) -> None:
    rehearsal = rehearse(
        tmp_path,
        canary(
            {"at": AFTER, "cli": f"plan {PACKAGE.format(1)} --json"},
            {"at": AFTER + 1, "cli": f"plan {PACKAGE.format(9)}"},
            {"at": AFTER + 2, "cli": "rollback churn-prod --to 3"},
            {"at": AFTER + 3, "cli": "rollback churn-prod --reason back"},
            expect=[{"executions": 4}],
        ),
    )
    found = runs(rehearsal)
    planned = json.loads(found[f"plan {PACKAGE.format(1)} --json"]["stdout"])
    assert planned["plan"]["action"] == "UPDATE"
    assert {"setting": "version", "live": "churn/2", "planned": "churn/1"} in planned["diff"]
    refused = found[f"plan {PACKAGE.format(9)}"]
    assert refused["exitCode"] == 2
    assert (
        "INVALID_REQUEST modelPackageArn" in refused["stdout"] and "nothing was changed" in refused["stdout"]
    )
    assert found["rollback churn-prod --to 3"]["exitCode"] == 0  # starts; the plan refuses an unknown version
    rollback = found["rollback churn-prod --reason back"]
    assert rollback["exitCode"] == 0 and "to churn/1" in rollback["stdout"]
    # plan read only: the only executions are the two rollbacks and the scenario's own
    outcomes = [ex["outcome"] for ex in rehearsal.report["executions"]]
    assert outcomes[:2] == ["DEPLOYED", "PROMOTED"] and len(outcomes) == 4
    assert outcomes[2] == "INVALID_REQUEST"  # churn/3 is not in the registry: refused, nothing touched
    assert serving(rehearsal.report["endpoints"]["churn-prod"]) == "churn/1"


def test_rollback_goes_back_to_the_retained_config_in_one_update_creating_nothing(tmp_path: Path) -> None:
    rehearsal = rehearse(
        tmp_path, canary({"at": AFTER, "cli": "rollback churn-prod"}, expect=[{"executions": 3}])
    )
    rollback = rehearsal.report["executions"][2]

    assert rollback["status"] == "SUCCEEDED"
    endpoint = rehearsal.report["endpoints"]["churn-prod"]
    assert serving(endpoint) == "churn/1"
    # the config churn/1 was first deployed with, kept by retainConfigs, serves again
    (note,) = [note for note in rollback["notes"] if "retained endpoint config" in note]
    assert endpoint["endpointConfigName"].startswith("churn-prod-v1-")
    assert f"retained endpoint config {endpoint['endpointConfigName']} " in note
    states = [state["name"] for state in rollback["states"]]
    assert states.count("Promote: candidate-only config") == 1  # one blue/green UpdateEndpoint
    assert "Update endpoint to canary config" not in states and "Shift traffic to candidate" not in states
    updates = [c for c in rehearsal.report["weightChanges"] if c["at"] >= AFTER]
    assert all(sorted(c["packages"].values()) == ["churn/1"] for c in updates)  # no split on the way
