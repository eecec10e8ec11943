"""A stage in another account: its endpoint deploys through the stage role, with IAM enforced in both
accounts (template.yaml here, stage-account.yaml there) and sessions that expire in virtual time.

``scenarios/staged-promotion-cross-account.yaml`` runs with every scenario; here: where its
resources are, who made the calls, and the ways a stage account refuses the hub.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from localcloud.scenario.contract import load_scenario
from localcloud.scenario.runner import Rehearsal, Runner
from tests.statemachine.helpers import (
    execution,
    rehearse,
    repository_rehearsal,
    same_scenario,
)
from tests.statemachine.test_iam import template_without

SCENARIO = "staged-promotion-cross-account"
PROD_ACCOUNT = "210987654321"
STAGE_ROLE = f"arn:aws:iam::{PROD_ACCOUNT}:role/smdeploy-stage"
ARTIFACTS = {"ModelArtifactBuckets": "sagemaker-us-east-1-123456789012"}
MODELS = {"churn/1": {"errorRate": 0.001}, "churn/2": {"errorRate": 0.001}}
ARTIFACT_BUCKET = "sagemaker-us-east-1-123456789012"
READ_ARTIFACTS = {
    ARTIFACT_BUCKET: {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{PROD_ACCOUNT}:role/smdeploy-stage-model"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{ARTIFACT_BUCKET}/*",
            }
        ],
    }
}
SIMULATION = {"endpointCreateSeconds": 480, "endpointUpdateSeconds": 300, "requestsPerMinute": 600}


def two_accounts(
    tmp_path: Path,
    timeline: list[dict[str, Any]],
    *,
    prod: dict[str, Any] | None = None,
    accounts: dict[str, Any] | None = None,
    strategy: dict[str, Any] | None = None,
    faults: list[dict[str, Any]] | None = None,
    bucket_policies: dict[str, Any] | None = None,
    template: Path | None = None,
) -> Rehearsal:
    """churn-staging here, churn-prod in the production account behind an automatic gate (a copy of
    template.yaml instead of the repository's: ``template``)."""
    scenario = {
        "name": "two accounts",
        "groups": {
            "churn": {
                "stages": [
                    {"endpoint": "churn-staging"},
                    {"endpoint": "churn-prod", "roleArn": STAGE_ROLE, **(prod or {})},
                ],
                **({"strategy": strategy} if strategy else {}),
            }
        },
        "accounts": accounts if accounts is not None else {PROD_ACCOUNT: ARTIFACTS},
        "bucketPolicies": READ_ARTIFACTS if bucket_policies is None else bucket_policies,
        "models": MODELS,
        "simulation": SIMULATION,
        "timeline": timeline,
        **({"faults": faults} if faults else {}),
    }
    if template is None:
        return rehearse(tmp_path, scenario)
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    return Runner(load_scenario(path), path, template_path=template).run()


@same_scenario(SCENARIO)
def test_the_production_stage_is_created_and_rolled_out_in_its_own_account() -> None:
    rehearsal = repository_rehearsal(SCENARIO)

    endpoints = rehearsal.report["endpoints"]
    assert endpoints["churn-prod"]["account"] == PROD_ACCOUNT
    assert "account" not in endpoints["churn-staging"]  # the stack's own account
    # the canary's alarms were created and judged in the production account
    prod_alarms = [a for a in rehearsal.report["alarmStateChanges"] if "churn-prod" in a["alarm"]]
    assert prod_alarms and all(a["to"] in {"OK", "INSUFFICIENT_DATA"} for a in prod_alarms)
    assert rehearsal.report["accessDenied"] == []
    assert rehearsal.ok


@same_scenario(SCENARIO)
def test_a_bake_longer_than_a_session_renews_the_stage_role_before_it_expires() -> None:
    # churn/2 bakes 70 minutes on churn-prod; a session lasts one hour of virtual time
    prod = execution(repository_rehearsal(SCENARIO), 4)
    assert (prod["status"], prod["outcome"]) == ("SUCCEEDED", "PROMOTED")
    assert prod["stoppedAt"] - prod["startedAt"] > 70 * 60  # the bake alone outlasts a session


@same_scenario(SCENARIO)
def test_a_rejected_version_is_withdrawn_from_the_stage_in_the_other_account_too() -> None:
    rehearsal = repository_rehearsal(SCENARIO)
    withdrawals = [execution(rehearsal, n) for n in (5, 6)]
    assert {(w["status"], str(w["modelPackageArn"]).rsplit("/", 1)[-1]) for w in withdrawals} == {
        ("SUCCEEDED", "1")
    }
    endpoints = rehearsal.report["endpoints"]
    for name in ("churn-staging", "churn-prod"):
        served = [(v["modelPackageArn"].rsplit("/", 1)[-1], v["weight"]) for v in endpoints[name]["variants"]]
        assert served == [("1", 1.0)], name


@same_scenario(SCENARIO)
def test_a_new_rehearsal_assumes_the_role_again(tmp_path: Path) -> None:
    # the handlers stay warm across rehearsals in one process; another rehearsal's sessions mean nothing
    assert repository_rehearsal(SCENARIO).ok  # rehearsed in this process, before or now
    again = two_accounts(tmp_path, [{"at": 0, "approve": {"group": "churn", "version": 1}}])
    assert again.report["accessDenied"] == []
    assert execution(again, 2)["outcome"] == "DEPLOYED"


@same_scenario(SCENARIO)
def test_the_production_accounts_events_stay_on_its_own_bus() -> None:
    rehearsal = repository_rehearsal(SCENARIO)

    elsewhere = rehearsal.report["eventsElsewhere"]
    assert elsewhere and {e["account"] for e in elsewhere} == {PROD_ACCOUNT}
    assert any("churn-prod" in r for e in elsewhere for r in e["resources"])
    # the stage's plan polls (waits: events in the config) and says why
    prod = execution(rehearsal, 4)
    assert any("its events stay on account 210987654321's bus" in n for n in prod["notes"])


def test_a_stage_role_that_does_not_trust_this_account_fails_the_stage_and_changes_nothing_there(
    tmp_path: Path,
) -> None:
    # the production account's stack trusts another hub
    rehearsal = two_accounts(
        tmp_path,
        [{"at": 0, "approve": {"group": "churn", "version": 1}}],
        accounts={PROD_ACCOUNT: {**ARTIFACTS, "HubAccountId": "111111111111"}},
    )

    staging, prod = execution(rehearsal, 1), execution(rehearsal, 2)
    assert (staging["status"], staging["outcome"]) == ("SUCCEEDED", "DEPLOYED")
    assert (prod["status"], prod["outcome"]) == ("FAILED", "FAILED")
    assert "AssumeRole" in prod["cause"] and "AccessDenied" in prod["cause"]
    denied = rehearsal.report["accessDenied"]
    assert {(d["call"], d["resource"]) for d in denied} == {("sts:AssumeRole", STAGE_ROLE)}
    assert "trust policy" in denied[0]["why"]
    assert "churn-prod" not in rehearsal.report["endpoints"]  # nothing was created in either account
    assert not [lock for lock in rehearsal.report["locks"] if str(lock.get("pk", "")).startswith("LOCK#")]


def test_a_rollout_stopped_in_the_other_account_is_recovered_there(tmp_path: Path) -> None:
    # churn/2 bakes at 50 % on churn-prod (from 01:27:30) when an operator stops its execution
    rehearsal = two_accounts(
        tmp_path,
        [
            {"at": 0, "approve": {"group": "churn", "version": 1}},
            {"at": 3600, "approve": {"group": "churn", "version": 2}},
            {"at": 5520, "stop": {"execution": 4}},
        ],
        strategy={"type": "canary", "steps": [50], "bakeMinutes": 10, "checkIntervalSeconds": 120},
    )
    stopped, recovery = execution(rehearsal, 4), execution(rehearsal, 5)
    assert (stopped["status"], stopped["outcome"]) == ("ABORTED", "ABORTED")
    assert (recovery["status"], recovery["outcome"]) == ("SUCCEEDED", "ABORTED")
    prod = rehearsal.report["endpoints"]["churn-prod"]
    assert prod["account"] == PROD_ACCOUNT and prod["status"] == "InService"
    assert [(v["modelPackageArn"].rsplit("/", 1)[-1], v["weight"]) for v in prod["variants"]] == [("1", 1.0)]
    assert not [lock for lock in rehearsal.report["locks"] if str(lock.get("pk", "")).startswith("LOCK#")]
    assert rehearsal.report["accessDenied"] == []


def test_without_a_bucket_policy_the_stage_accounts_models_cannot_read_the_hubs_artifacts(
    tmp_path: Path,
) -> None:
    # the model role's own policy allows the read; the bucket, in the hub, does not let it
    rehearsal = two_accounts(
        tmp_path, [{"at": 0, "approve": {"group": "churn", "version": 1}}], bucket_policies={}
    )
    prod = execution(rehearsal, 2)
    assert (prod["status"], prod["outcome"], prod["error"]) == (
        "FAILED",
        "FAILED",
        "EndpointDeploymentFailed",
    )
    assert "Failed to download model data" in prod["cause"]
    denied = rehearsal.report["accessDenied"]
    assert [(d["role"], d["action"]) for d in denied] == [("smdeploy-stage-model", "s3:GetObject")]
    assert "resource's policy does not allow" in denied[0]["why"]
    assert "churn-prod" not in rehearsal.report["endpoints"]  # the failed endpoint was removed


def test_faults_in_the_stage_account_are_retried_and_the_rollout_converges(tmp_path: Path) -> None:
    # AssumeRole throttled at first; from 4900 s (churn/2's rollout to churn-prod) calls there answer
    # errors after acting
    after_effect = [
        "sts:AssumeRole",
        "sagemaker:UpdateEndpoint",
        "sagemaker:UpdateEndpointWeightsAndCapacities",
    ]
    rehearsal = two_accounts(
        tmp_path,
        [
            {"at": 0, "approve": {"group": "churn", "version": 1}},
            {"at": 3600, "approve": {"group": "churn", "version": 2}},
        ],
        faults=[
            {"call": "sts:AssumeRole", "error": "Throttling", "times": 2},
            *(
                {"call": c, "error": "InternalFailure", "mode": "lost-response", "after": 4900}
                for c in after_effect
            ),
        ],
    )
    injected = [(f["call"], f["error"], f["at"] >= 4900) for f in rehearsal.report["faultsInjected"]]
    assert injected[:2] == [("sts:AssumeRole", "Throttling", False)] * 2
    assert sorted(injected[2:]) == sorted((c, "InternalFailure", True) for c in after_effect)
    assert [(execution(rehearsal, n)["status"], execution(rehearsal, n)["outcome"]) for n in (2, 4)] == [
        ("SUCCEEDED", "DEPLOYED"),
        ("SUCCEEDED", "PROMOTED"),
    ]
    prod = rehearsal.report["endpoints"]["churn-prod"]
    assert prod["account"] == PROD_ACCOUNT
    assert [(v["modelPackageArn"].rsplit("/", 1)[-1], v["weight"]) for v in prod["variants"]] == [("2", 1.0)]


def test_each_function_assumes_the_stage_role_with_its_own_grant(tmp_path: Path) -> None:
    # on Lambda every function has its containers: no function uses a session another one assumed
    template = template_without(tmp_path, "CheckEndpointFunction", "AssumeStageRoles", "sts:AssumeRole")
    rehearsal = two_accounts(
        tmp_path, [{"at": 0, "approve": {"group": "churn", "version": 1}}], template=template
    )
    denied = {(d["principal"], d["action"], d["resource"]) for d in rehearsal.report["accessDenied"]}
    assert ("CheckEndpointFunction", "sts:AssumeRole", STAGE_ROLE) in denied
    assert {principal for principal, _, _ in denied} == {"CheckEndpointFunction"}
    assert execution(rehearsal, 2)["status"] == "FAILED"  # churn-prod's deployment cannot be checked
