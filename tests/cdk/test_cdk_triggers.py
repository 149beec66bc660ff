"""The triggers' permissions, read from the synthesized template: the scheduler role may
only invoke the live alias of the stack's functions; the worker attaches triggers only to
its own tagged functions' live alias and passes the scheduler role only to Scheduler."""

from __future__ import annotations

import pytest

from tests.cdk.conftest import Synth
from tests.cdk.helpers import actions, as_list, logical_id, policy_statements, role_statements

pytestmark = pytest.mark.cdk

PREFIX = "auto-lambda"
LIVE = f"arn:aws:lambda:*:*:function:{PREFIX}-*:live"


def test_the_scheduler_role_invokes_only_live_aliases(synth: Synth) -> None:
    role = synth.resources[logical_id(synth, synth.stack.triggers.scheduler)]
    assert role["Properties"]["RoleName"] == f"{PREFIX}-scheduler-role"
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    [statement] = role_statements(synth, synth.stack.triggers.scheduler)
    assert actions(statement) == ["lambda:InvokeFunction"] and statement["Resource"] == LIVE


def test_the_worker_attaches_triggers_only_to_its_own_live_aliases(synth: Synth) -> None:
    statements = {s["Sid"]: s for s in policy_statements(synth,
                                                         synth.stack.triggers.worker_policy)}
    urls = statements["TriggersOfTaggedFunctions"]
    assert urls["Condition"] == {"StringEquals": {"aws:ResourceTag/auto-lambda:managed": "true"}}
    assert "lambda:CreateFunctionUrlConfig" in actions(urls)
    mappings = statements["MappingsToLiveOnly"]
    assert mappings["Condition"] == {"StringLike": {"lambda:FunctionArn": LIVE}}
    # Resource "*" only where the action has no resource type
    for sid, statement in statements.items():
        if "*" in as_list(statement["Resource"]):
            assert sid in ("MappingsToLiveOnly", "ListMappingsAndSchedules"), sid
    assert set(actions(statements["ListMappingsAndSchedules"])) == {
        "lambda:ListEventSourceMappings", "scheduler:ListSchedules"}
    passing = statements["PassSchedulerRoleToSchedulerOnly"]
    assert passing["Resource"] == {"Fn::GetAtt": [
        logical_id(synth, synth.stack.triggers.scheduler), "Arn"]}
    assert passing["Condition"] == {
        "StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
    assert statements["SchedulesInOwnGroups"]["Resource"] == \
        f"arn:aws:scheduler:*:*:schedule/{PREFIX}-*/*"
    change = statements["ChangeOnlyTaggedHttpApis"]
    assert change["Condition"] == {
        "StringEquals": {"aws:ResourceTag/auto-lambda:managed": "true"}}
    create = statements["CreateOnlyTaggedHttpApis"]
    assert create["Condition"] == {"StringEquals": {"aws:RequestTag/auto-lambda:managed": "true"}}
    assert actions(create) == ["apigateway:POST"]
    granted = {a for s in statements.values() for a in actions(s)}
    assert not {a for a in granted if a.startswith("iam:")} - {"iam:PassRole"}
