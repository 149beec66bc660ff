"""Per-app roles in the stack: one permission boundary per team, the same document the
worker writes locally, and a worker that can only create or change roles that carry one
of them (``iam:PermissionsBoundary``), only under the app path, and pass only those."""

from __future__ import annotations

import json
from typing import Any

import pytest
from auto_lambda_infra.params import ContextError, Params

from orchestrator.policy import TeamPolicy
from orchestrator.steps.deploy.boundary import boundary_document
from tests.cdk.conftest import TEAM_POLICY, Synth
from tests.cdk.helpers import actions, as_list, logical_id, role_statements, text

pytestmark = pytest.mark.cdk

PREFIX = "auto-lambda"
APP_ROLES = ("arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"},
             f":role/{PREFIX}/apps/{PREFIX}-*")


def _rendered(value: Any) -> Any:
    """A CloudFormation value with the partition rendered as 'aws' (Fn::Join flattened)."""
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(_rendered(p) for p in parts)
    if value == {"Ref": "AWS::Partition"}:
        return "aws"
    if isinstance(value, dict):
        return {k: _rendered(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rendered(v) for v in value]
    return value


def _normal(document: dict[str, Any]) -> dict[str, Any]:
    """Statements by Sid with actions and resources as sorted lists (CDK writes a list of
    one as its only element)."""
    return {s["Sid"]: {**s, "Action": sorted(as_list(s["Action"])),
                       "Resource": sorted(as_list(s["Resource"]))}
            for s in document["Statement"]}


def _services(team: str) -> tuple[str, ...]:
    entry = TEAM_POLICY["teams"].get(team, TEAM_POLICY["default"])  # type: ignore[attr-defined]
    return tuple(entry["services"])


def test_one_boundary_per_team_as_the_worker_writes_it(synth: Synth) -> None:
    boundaries = synth.stack.boundaries
    assert set(boundaries) == {"default", "payments", "search"}
    for team, policy in boundaries.items():
        props = synth.resources[logical_id(synth, policy)]["Properties"]
        assert props["ManagedPolicyName"] == f"{PREFIX}-boundary-{team}"
        assert props["Path"] == f"/{PREFIX}/"
        expected = boundary_document(TeamPolicy(team=team, prefix=PREFIX,
                                                services=_services(team)), "aws")
        assert _normal(_rendered(props["PolicyDocument"])) == _normal(expected), team
    # the services come from the operator's file: payments' boundary reaches its tables,
    # search's (the default entry) only S3
    assert "dynamodb:*" in text(synth.resources[logical_id(synth, boundaries["payments"])])
    assert "dynamodb:*" not in text(synth.resources[logical_id(synth, boundaries["search"])])


def _iam(synth: Synth) -> list[dict[str, Any]]:
    """The worker's IAM statements over app roles (the scheduler role it passes to
    Scheduler only is tests/cdk/test_cdk_triggers.py's)."""
    return [s for s in role_statements(synth, synth.stack.worker_role)
            if any(a.startswith("iam:") for a in actions(s))
            and "scheduler.amazonaws.com" not in text(s.get("Condition", {}))]


def test_the_worker_can_only_create_roles_that_carry_a_teams_boundary(synth: Synth) -> None:
    boundaries = sorted(({"Ref": logical_id(synth, p)} for p in
                         synth.stack.boundaries.values()), key=json.dumps)
    statements = _iam(synth)
    granted = {a for s in statements for a in actions(s)}
    assert "iam:CreateRole" in granted and "iam:PassRole" in granted
    # never an action that would take a boundary off or attach someone else's policy
    assert not granted & {"iam:DeleteRolePermissionsBoundary", "iam:AttachRolePolicy",
                          "iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:UntagRole"}
    assert not any("*" in a for a in granted)
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert statement["Resource"] == {"Fn::Join": ["", list(APP_ROLES)]}, statement
        changes = set(actions(statement)) & {"iam:CreateRole", "iam:PutRolePolicy",
                                             "iam:DeleteRolePolicy",
                                             "iam:PutRolePermissionsBoundary"}
        if changes:
            held = statement["Condition"]["StringEquals"]["iam:PermissionsBoundary"]
            assert sorted(as_list(held), key=json.dumps) == boundaries, statement
    (create,) = [s for s in statements if "iam:CreateRole" in actions(s)]
    assert actions(create) == ["iam:CreateRole"]
    assert create["Condition"]["StringEquals"]["aws:RequestTag/auto-lambda:managed"] == "true"
    (passing,) = [s for s in statements if "iam:PassRole" in actions(s)]
    assert actions(passing) == ["iam:PassRole"]
    assert passing["Condition"] == {
        "StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}
    (retire,) = [s for s in statements if "iam:DeleteRole" in actions(s)]
    assert retire["Condition"] == {
        "StringEquals": {"iam:ResourceTag/auto-lambda:managed": "true"}}


def test_there_is_no_shared_function_role(synth: Synth) -> None:
    names = {r["Properties"].get("RoleName") for r in synth.of_type("AWS::IAM::Role").values()}
    assert f"{PREFIX}-function-role" not in names
    assert "log-group:/aws/lambda/" not in text(role_statements(synth,
                                                               synth.stack.worker_role))


@pytest.mark.parametrize(("policy", "message"), [
    ({"default": {"services": ["iam"]}}, "never"),
    ({"teams": {"payments": {"services": "s3"}}}, "list of IAM service prefixes"),
])
def test_a_team_policy_the_stack_cannot_use_is_refused(tmp_path: Any, policy: Any,
                                                       message: str) -> None:
    path = tmp_path / "teams.json"
    path.write_text(json.dumps(policy))
    context = {"teams": "payments", "team_policy_file": str(path),
               "worker_concurrency": 2}
    with pytest.raises(ContextError, match=message):
        Params.from_context(context.get)
