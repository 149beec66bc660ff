"""One permission boundary per team: the most any app role of the team may ever do.

A copy, on purpose, of ``orchestrator/steps/deploy/boundary.py`` (the infrastructure does
not import the runtime; ``tests/cdk`` checks both write the same document). The services
each team's apps may be granted come from the operator's team policy file (context
``team_policy_file``, the JSON file the workers read as ``AUTO_LAMBDA_TEAM_POLICY``);
``iam.py`` lets the worker create only roles under ``/<prefix>/apps/`` that carry one of
these boundaries. Creates the managed policies only; grants nothing to anyone.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import Construct

from .names import TAG_TEAM, Names

VPC_ACTIONS = ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces",
               "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
               "ec2:UnassignPrivateIpAddresses"]
XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
LOG_ACTIONS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
# orchestrator/steps/unpack/checkpolicy.py STAR_ACTIONS: actions that name no resource.
STAR_ACTIONS = frozenset({
    "cloudwatch:PutMetricData",
    "xray:PutTraceSegments", "xray:PutTelemetryRecords",
    "xray:GetSamplingRules", "xray:GetSamplingTargets",
    "s3:ListAllMyBuckets", "sqs:ListQueues", "dynamodb:ListTables", "sns:ListTopics",
    "ssm:DescribeParameters", "secretsmanager:ListSecrets", "events:ListEventBuses",
    "kms:ListKeys", "kms:ListAliases",
})
NEVER_GRANTED = frozenset({"iam", "sts", "organizations", "account"})


def _named(partition: str, service: str, prefix: str, team: str) -> list[str]:
    own = f"{prefix}-{team}-"
    if service == "s3":
        return [f"arn:{partition}:s3:::{own}*"]
    base = f"arn:{partition}:{service}:*:*:"
    return [f"{base}{own}*", f"{base}*/{own}*", f"{base}*:{own}*",
            f"{base}{team}/*", f"{base}*/{team}/*", f"{base}*:{team}/*"]


def boundary_document(prefix: str, team: str, services: tuple[str, ...],
                      partition: str) -> dict[str, Any]:
    """The team's boundary document, as the worker's copy writes it."""
    own = f"{prefix}-{team}-"
    groups = f"arn:{partition}:logs:*:*:log-group:/aws/lambda/{own}*"
    statements: list[dict[str, Any]] = [
        {"Sid": "OwnLogGroups", "Effect": "Allow", "Action": list(LOG_ACTIONS),
         "Resource": [groups, f"{groups}:*"]},
        {"Sid": "Traces", "Effect": "Allow", "Action": list(XRAY_ACTIONS), "Resource": "*"},
        {"Sid": "VpcNetworkInterfaces", "Effect": "Allow", "Action": list(VPC_ACTIONS),
         "Resource": "*"},
        {"Sid": "OwnSecrets", "Effect": "Allow",
         "Action": ["ssm:GetParameter", "ssm:GetParameters", "secretsmanager:GetSecretValue"],
         "Resource": [f"arn:{partition}:ssm:*:*:parameter/{team}/*",
                      f"arn:{partition}:secretsmanager:*:*:secret:{team}/*"]},
        {"Sid": "DecryptOwnSecrets", "Effect": "Allow", "Action": "kms:Decrypt",
         "Resource": "*", "Condition": {"StringLike": {"kms:ViaService": [
             "ssm.*.amazonaws.com", "secretsmanager.*.amazonaws.com"]}}},
    ]
    granted = [s for s in services if s not in NEVER_GRANTED]
    if granted:
        actions = [f"{s}:*" for s in granted]
        statements.append({"Sid": "TeamResourcesByName", "Effect": "Allow", "Action": actions,
                           "Resource": [r for s in granted
                                        for r in _named(partition, s, prefix, team)]})
        statements.append({"Sid": "TeamResourcesByTag", "Effect": "Allow", "Action": actions,
                           "Resource": "*", "Condition": {
                               "StringEquals": {f"aws:ResourceTag/{TAG_TEAM}": team}}})
        star = sorted(a for a in STAR_ACTIONS if a.split(":", 1)[0] in granted)
        if star:
            statements.append({"Sid": "ActionsWithoutResources", "Effect": "Allow",
                               "Action": star, "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


def _construct_id(team: str) -> str:
    return "Boundary" + "".join(part.capitalize() for part in team.split("_"))


def create_boundaries(scope: Construct, names: Names, teams: tuple[str, ...],
                      services: dict[str, tuple[str, ...]]) -> dict[str, iam.ManagedPolicy]:
    """``default`` plus one boundary per declared team."""
    out: dict[str, iam.ManagedPolicy] = {}
    for team in ("default", *teams):
        document = boundary_document(names.prefix, team, services.get(team, ()), Aws.PARTITION)
        out[team] = iam.ManagedPolicy(
            scope, _construct_id(team), managed_policy_name=names.boundary(team),
            path=names.boundary_path,
            description=f"auto-lambda: permission boundary of team {team}'s app roles",
            document=iam.PolicyDocument.from_json(document))
    return out
