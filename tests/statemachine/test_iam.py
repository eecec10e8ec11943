"""IAM enforced from template.yaml in the local cloud: a permission taken out of a copy of the
template makes the rehearsal that needs it fail as AWS would, and the report names the denial."""

from __future__ import annotations

from pathlib import Path

from localcloud.engine.template import REPO_ROOT
from localcloud.scenario.contract import load_scenario
from localcloud.scenario.runner import Runner
from tests.statemachine.helpers import repository_rehearsal, same_scenario

CANARY = REPO_ROOT / "scenarios" / "canary-promote.yaml"


def template_without(tmp_path: Path, function: str, sid: str, action: str) -> Path:
    """A copy of template.yaml (beside links to the code it names) with ``action`` removed from the
    statement ``sid`` of ``function``'s policies."""
    for folder in ("functions", "layers", "statemachines"):
        (tmp_path / folder).symlink_to(REPO_ROOT / folder)
    text = (REPO_ROOT / "template.yaml").read_text()
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(f"  {function}:"))
    sid_line = next(i for i in range(start, len(lines)) if lines[i].strip() == f"- Sid: {sid}")
    action_line = next(i for i in range(sid_line, len(lines)) if lines[i].strip().startswith("Action:"))
    before = lines[action_line]
    assert action in before, f"{function}/{sid} does not name {action} on one line"
    actions = [a.strip() for a in before.split("[", 1)[1].rsplit("]", 1)[0].split(",")]
    remaining = [a for a in actions if a != action]
    lines[action_line] = before.split("[", 1)[0] + "[" + ", ".join(remaining) + "]\n"
    copy = tmp_path / "template.yaml"
    copy.write_text("".join(lines))
    return copy


@same_scenario("canary-promote")
def test_the_repository_template_allows_every_call_of_the_canary() -> None:
    rehearsal = repository_rehearsal("canary-promote")
    assert rehearsal.ok
    assert rehearsal.report["iamChecks"] > 50
    assert rehearsal.report["accessDenied"] == []


def test_removing_the_weight_shift_permission_fails_the_canary_that_needs_it(tmp_path: Path) -> None:
    template = template_without(
        tmp_path, "ShiftTrafficFunction", "ShiftWeights", "sagemaker:UpdateEndpointWeightsAndCapacities"
    )
    rehearsal = Runner(load_scenario(CANARY), CANARY, template_path=template).run()
    report = rehearsal.report
    assert not rehearsal.ok
    denials = report["accessDenied"]
    assert denials, "the weight shift must be denied"
    assert {(d["principal"], d["action"]) for d in denials} == {
        ("ShiftTrafficFunction", "sagemaker:UpdateEndpointWeightsAndCapacities")
    }
    assert denials[0]["resource"] == "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-prod"
    assert "no identity-based policy allows" in denials[0]["why"]
    # The handler saw the error AWS answers with, and the candidate never took traffic.
    second = report["executions"][1]
    assert second["status"] == "FAILED"
    assert "AccessDeniedException" in (second["cause"] or "")
    assert not [c for c in report.get("weightChanges", []) if c["weights"].get("churn-v2", 0) > 0]


def test_a_model_role_that_cannot_read_the_artifact_fails_the_endpoint(tmp_path: Path) -> None:
    """SageMaker downloads the artifact with the role passed to CreateModel; without s3:GetObject
    the endpoint fails ("Failed to download model data"), and the denial is reported."""
    template = template_without(tmp_path, "ModelExecutionRole", "ReadArtifacts", "s3:GetObject")
    first = REPO_ROOT / "scenarios" / "first-deploy.yaml"
    rehearsal = Runner(load_scenario(first), first, template_path=template).run()
    report = rehearsal.report
    assert not rehearsal.ok
    denials = report["accessDenied"]
    assert denials and {(d["principal"], d["kind"], d["action"]) for d in denials} == {
        ("ModelExecutionRole", "role", "s3:GetObject")
    }
    assert denials[0]["resource"].startswith("arn:aws:s3:::sagemaker-us-east-1-123456789012/")
    assert report["executions"][0]["outcome"] != "DEPLOYED"
