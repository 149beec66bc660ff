"""Least privilege, read straight from the synthesized policies."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cdk.conftest import Synth
from tests.cdk.helpers import (
    actions,
    as_list,
    logical_id,
    policy_statements,
    role_statements,
    text,
)

pytestmark = pytest.mark.cdk

PREFIX = "auto-lambda"
FUNCTIONS = f"arn:aws:lambda:*:*:function:{PREFIX}-*"
QUALIFIED = f"arn:aws:lambda:*:*:function:{PREFIX}-*:*"
# What a deleted app's removal needs (infra/cdk/auto_lambda_infra/lifecycle.py), checked
# on its own below; the other tests look at what deploying needs.
LIFECYCLE_SIDS = frozenset({
    "RemoveOnlyTaggedFunctions", "ListTriggersOnNoResource", "RemoveEventSourceMappings",
    "ReadSchedules", "RemoveOwnSchedules", "ReadHttpApis", "RemoveOnlyTaggedHttpApis"})


def deploying(synth: Synth) -> list[dict[str, Any]]:
    """The worker's statements but the lifecycle's and the triggers' (each has tests of
    its own: below, and tests/cdk/test_cdk_triggers.py)."""
    triggers = {s.get("Sid") for s in policy_statements(synth, synth.stack.triggers.worker_policy)}
    return [s for s in role_statements(synth, synth.stack.worker_role)
            if s.get("Sid") not in LIFECYCLE_SIDS | triggers]


def test_worker_manages_only_prefixed_functions(synth: Synth) -> None:
    lambda_statements = [
        s for s in deploying(synth)
        if any(a.startswith("lambda:") for a in actions(s)) and s.get("Sid") != "UseLayers"
    ]
    assert lambda_statements
    for statement in lambda_statements:
        assert statement["Effect"] == "Allow"
        assert sorted(as_list(statement["Resource"])) == sorted([FUNCTIONS, QUALIFIED])
        assert all(a.startswith("lambda:") and "*" not in a for a in actions(statement))
    granted = {a for s in lambda_statements for a in actions(s)}
    assert {"lambda:CreateFunction", "lambda:PublishVersion", "lambda:UpdateAlias"} <= granted


def test_worker_touches_only_this_stacks_data(synth: Synth) -> None:
    stack = synth.stack
    allowed = {
        "s3": {
            logical_id(synth, stack.buckets.incoming),
            logical_id(synth, stack.buckets.artifacts),
            logical_id(synth, stack.feedback.results),
        },
        "sqs": {logical_id(synth, stack.queues.jobs), logical_id(synth, stack.queues.dlq),
                logical_id(synth, stack.feedback.webhooks),
                logical_id(synth, stack.feedback.webhooks_dlq)},
        "events": {logical_id(synth, stack.feedback.bus)},
        "logs": {logical_id(synth, stack.feedback.log_group), f"/{PREFIX}/instances"},
        "dynamodb": {logical_id(synth, stack.table), logical_id(synth, stack.history_table)},
    }
    for statement in deploying(synth):
        services = {a.split(":")[0] for a in actions(statement)}
        for service in services & set(allowed):
            assert len(services) == 1, statement
            for resource in as_list(statement["Resource"]):
                assert any(key in text(resource) for key in allowed[service]), resource
        if "*" in as_list(statement["Resource"]) and services == {"cloudwatch"}:
            # the outage signal: CloudWatch has no resource ARNs, only a namespace
            assert actions(statement) == ["cloudwatch:PutMetricData"], statement
            assert statement["Condition"] == {
                "StringEquals": {"cloudwatch:namespace": "AutoLambda"}}
        elif "*" in as_list(statement["Resource"]):
            # X-Ray and EC2's Describe calls have no resource-level permissions
            assert services in ({"xray"}, {"ec2"}), statement
            assert all(a.startswith(("xray:", "ec2:Describe")) for a in actions(statement))
    writes_incoming = [
        s for s in role_statements(synth, stack.worker_role)
        if "s3:PutObject" in actions(s)
        and logical_id(synth, stack.buckets.incoming) in text(s["Resource"])
    ]
    assert not writes_incoming


def test_worker_drains_and_protects_only_its_own_group(synth: Synth) -> None:
    statements = [
        s for s in role_statements(synth, synth.stack.worker_role)
        if any(a.startswith("autoscaling:") for a in actions(s))
    ]
    granted = {a for s in statements for a in actions(s)}
    assert granted == {
        "autoscaling:SetInstanceProtection",
        "autoscaling:CompleteLifecycleAction",
        "autoscaling:RecordLifecycleActionHeartbeat",
    }
    for statement in statements:
        assert text(statement["Resource"]).endswith(
            f':autoScalingGroup:*:autoScalingGroupName/{PREFIX}-workers"]]}}'
        )


def test_worker_manages_only_prefixed_alarms_for_rollouts(synth: Synth) -> None:
    statements = [
        s for s in role_statements(synth, synth.stack.worker_role)
        if any(a.startswith("cloudwatch:") for a in actions(s))
        and actions(s) != ["cloudwatch:PutMetricData"]  # the outage signal (above)
    ]
    granted = {a for s in statements for a in actions(s)}
    assert granted == {"cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms",
                       "cloudwatch:DeleteAlarms", "cloudwatch:TagResource"}
    for statement in statements:
        assert as_list(statement["Resource"]) == [f"arn:aws:cloudwatch:*:*:alarm:{PREFIX}-*"]


def test_checker_reads_queues_and_groups_and_publishes_only_its_namespace(synth: Synth) -> None:
    statements = role_statements(synth, synth.stack.checker_role)
    granted = {a for s in statements for a in actions(s)}
    assert {a for a in granted if a.startswith("sqs:")} == {
        "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
    }
    # Direct control (the default) adds SetDesiredCapacity on the worker group only
    # (test_cdk_scaling.py reads that statement).
    assert {a for a in granted if a.startswith("autoscaling:")} == {
        "autoscaling:DescribeAutoScalingGroups", "autoscaling:SetDesiredCapacity",
    }
    dynamodb = {a for a in granted if a.startswith("dynamodb:")}
    assert dynamodb and not dynamodb & {
        "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
    }
    assert not {a for a in granted if a.split(":")[0] in {"lambda", "iam", "s3"}}
    (metrics,) = [s for s in statements if "cloudwatch:PutMetricData" in actions(s)]
    assert actions(metrics) == ["cloudwatch:PutMetricData"]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "AutoLambda"}}


def test_instances_get_session_manager_not_ssh(synth: Synth) -> None:
    for role in (synth.stack.worker_role, synth.stack.checker_role):
        props = synth.resources[logical_id(synth, role)]["Properties"]
        assert "AmazonSSMManagedInstanceCore" in text(props["ManagedPolicyArns"])
        granted = {a for s in role_statements(synth, role) for a in actions(s)}
        assert "xray:PutTraceSegments" in granted and "ssm:GetParametersByPath" in granted


def test_worker_touches_only_functions_tagged_as_managed(synth: Synth) -> None:
    statements = {s.get("Sid"): s for s in deploying(synth)}
    create = statements["CreateOnlyTaggedFunctions"]
    assert sorted(actions(create)) == ["lambda:CreateFunction", "lambda:TagResource"]
    assert create["Condition"] == {
        "StringEquals": {"aws:RequestTag/auto-lambda:managed": "true"}}
    manage = statements["ManageOnlyTaggedFunctions"]
    assert manage["Condition"] == {
        "StringEquals": {"aws:ResourceTag/auto-lambda:managed": "true"}}
    assert {"lambda:UpdateFunctionCode", "lambda:UpdateAlias"} <= set(actions(manage))
    lambda_statements = [s for s in statements.values()
                         if any(a.startswith("lambda:") for a in actions(s))]
    assert {s["Sid"] for s in lambda_statements} == {"CreateOnlyTaggedFunctions",
                                                     "ManageOnlyTaggedFunctions", "UseLayers"}
    assert actions(statements["UseLayers"]) == ["lambda:GetLayerVersion"]
    granted = {a for s in lambda_statements for a in actions(s)}
    assert "lambda:UntagResource" not in granted


def test_a_deleted_apps_removal_touches_only_what_auto_lambda_made(synth: Synth) -> None:
    statements = {s.get("Sid"): s for s in role_statements(synth, synth.stack.worker_role)}
    assert set(statements) >= LIFECYCLE_SIDS
    managed = {"StringEquals": {"aws:ResourceTag/auto-lambda:managed": "true"}}
    for sid in ("RemoveOnlyTaggedFunctions", "RemoveOnlyTaggedHttpApis"):
        assert statements[sid]["Condition"] == managed, sid
    functions = statements["RemoveOnlyTaggedFunctions"]
    assert sorted(as_list(functions["Resource"])) == sorted([FUNCTIONS, QUALIFIED])
    assert "lambda:DeleteFunction" in actions(functions)
    # an app's role goes with the rights deploy has over app roles: tagged ones only
    roles = statements["RetireOwnAppRoles"]
    assert f":role/{PREFIX}/apps/{PREFIX}-*" in text(roles["Resource"])
    assert roles["Condition"] == {"StringEquals": {"iam:ResourceTag/auto-lambda:managed": "true"}}
    assert "iam:PassRole" not in actions(roles) and "iam:DeleteRole" in actions(roles)
    assert f"/{PREFIX}-*" in text(statements["RemoveOwnSchedules"]["Resource"])
    # the only '*' resources of the removal: two lists no service scopes to a resource
    wildcard = [s for s in statements.values() if s.get("Sid") in LIFECYCLE_SIDS
                and "*" in as_list(s["Resource"])]
    assert [sorted(actions(s)) for s in wildcard] == [
        ["lambda:ListEventSourceMappings", "scheduler:ListSchedules"]]
    every = {a for sid in LIFECYCLE_SIDS for a in actions(statements[sid])}
    assert not any(a.endswith("*") for a in every)
    assert not {"lambda:UpdateFunctionCode", "iam:CreateRole", "s3:DeleteObject"} & every


def _bucket_policy(synth: Synth) -> list[dict[str, Any]]:
    incoming = logical_id(synth, synth.stack.buckets.incoming)
    (policy,) = [p for p in synth.of_type("AWS::S3::BucketPolicy").values()
                 if p["Properties"]["Bucket"] == {"Ref": incoming}]
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def test_each_team_uploads_only_under_its_own_prefix(synth: Synth) -> None:
    roles = synth.stack.upload_roles
    assert sorted(roles) == ["default", "payments", "search"]
    for team in ("payments", "search"):
        props = synth.resources[logical_id(synth, roles[team])]["Properties"]
        assert props["RoleName"] == f"{PREFIX}-upload-{team}"
        # (and GetObject on its own results: tests/cdk/test_cdk_feedback.py)
        (statement,) = [s for s in role_statements(synth, roles[team])
                        if "s3:PutObject" in actions(s)]
        assert sorted(actions(statement)) == ["s3:DeleteObject", "s3:PutObject"]
        assert text(statement["Resource"]).endswith(f'/{team}/*"]]}}')
    default = {s["Sid"]: s for s in role_statements(synth, roles["default"])}
    assert text(default["UploadAtTheRoot"]["Resource"]).endswith('/*.zip"]]}')
    assert default["NotIntoAnyFolder"]["Effect"] == "Deny"
    # The bucket itself keeps each team's prefix for that team's role alone.
    denies = {s["Sid"]: s for s in _bucket_policy(synth) if s["Effect"] == "Deny"
              and "s3:PutObject" in as_list(s["Action"])
              and "s3:DeleteObject" in as_list(s["Action"])}
    for team, sid in (("payments", "OnlyTeamPaymentsWritesItsPrefix"),
                      ("search", "OnlyTeamSearchWritesItsPrefix")):
        statement = denies[sid]
        assert statement["Principal"] == {"AWS": "*"}
        assert text(statement["Resource"]).endswith(f'/{team}/*"]]}}')
        assert logical_id(synth, roles[team]) in text(statement["Condition"]["ArnNotEquals"])
    elsewhere = denies["OnlyTheDefaultTeamWritesElsewhere"]
    assert len(elsewhere["NotResource"]) == 2
    assert logical_id(synth, roles["default"]) in text(elsewhere["Condition"])


def test_instances_write_only_their_own_log_group(synth: Synth) -> None:
    for role in (synth.stack.worker_role, synth.stack.checker_role):
        writing = [s for s in role_statements(synth, role)
                   if any(a.startswith("logs:") and a != "logs:DescribeLogStreams"
                          and ("Put" in a or "Create" in a) for a in actions(s))]
        assert len(writing) == 1
        (statement,) = writing
        assert sorted(actions(statement)) == [
            "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
        assert f":log-group:/{PREFIX}/instances:*" in text(statement["Resource"])
