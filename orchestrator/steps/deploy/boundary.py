"""A team's permission boundary: the most any app role of the team may ever do, from
the operator's policy for the team (``orchestrator.policy.TeamPolicy``).

The CDK stack creates one such managed policy per team
(``infra/cdk/auto_lambda_infra/boundaries.py``, a copy of this module: the
infrastructure does not import the runtime; ``tests/cdk`` checks both agree); the local
stack creates it on first use. Every role the worker creates carries it, and the
worker's own policy only lets it create roles that do (``iam:PermissionsBoundary``).

What it allows (docs/security.md, "Per-app roles"):

- logs only to the team's functions' log groups (``/aws/lambda/<prefix>-<team>-*``),
  X-Ray writes, and the network interfaces a function in a VPC needs;
- reading the team's secrets: SSM parameters under ``/<team>/``, Secrets Manager secrets
  named ``<team>/...``, and KMS decryption only through those two services;
- any action of the team's ``services`` on resources named ``<prefix>-<team>-...`` (or
  under the team's path ``<team>/``, except in S3, where the bucket must be the team's),
  or tagged ``auto-lambda:team = <team>``, and the few actions of those services that
  name no resource.

Pure: builds a document, calls nothing.
"""

from __future__ import annotations

from orchestrator.policy import NEVER_GRANTED, TeamPolicy
from orchestrator.steps.unpack.checkpolicy import STAR_ACTIONS
from orchestrator.tenancy import TAG_TEAM
from orchestrator.types import JsonObject

VPC_ACTIONS = ("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces",
               "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
               "ec2:UnassignPrivateIpAddresses")
XRAY_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
LOG_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")


def boundary_name(prefix: str, team: str) -> str:
    return f"{prefix}-boundary-{team}"


def boundary_path(prefix: str) -> str:
    return f"/{prefix}/"


def boundary_arn(partition: str, account: str, prefix: str, team: str) -> str:
    return (f"arn:{partition}:iam::{account}:policy{boundary_path(prefix)}"
            f"{boundary_name(prefix, team)}")


def _named(partition: str, service: str, team: TeamPolicy) -> list[str]:
    """The ARN patterns of resources named the team's, in ``service``."""
    own = team.name_prefix
    if service == "s3":  # buckets (and their objects): no region, no account
        return [f"arn:{partition}:s3:::{own}*"]
    base = f"arn:{partition}:{service}:*:*:"
    return [f"{base}{own}*", f"{base}*/{own}*", f"{base}*:{own}*",
            f"{base}{team.team}/*", f"{base}*/{team.team}/*", f"{base}*:{team.team}/*"]


def boundary_document(team: TeamPolicy, partition: str) -> JsonObject:
    """The team's boundary policy document."""
    groups = f"arn:{partition}:logs:*:*:log-group:/aws/lambda/{team.name_prefix}*"
    statements: list[JsonObject] = [
        {"Sid": "OwnLogGroups", "Effect": "Allow", "Action": list(LOG_ACTIONS),
         "Resource": [groups, f"{groups}:*"]},
        {"Sid": "Traces", "Effect": "Allow", "Action": list(XRAY_ACTIONS), "Resource": "*"},
        {"Sid": "VpcNetworkInterfaces", "Effect": "Allow", "Action": list(VPC_ACTIONS),
         "Resource": "*"},
        {"Sid": "OwnSecrets", "Effect": "Allow",
         "Action": ["ssm:GetParameter", "ssm:GetParameters", "secretsmanager:GetSecretValue"],
         "Resource": [f"arn:{partition}:ssm:*:*:parameter/{team.team}/*",
                      f"arn:{partition}:secretsmanager:*:*:secret:{team.team}/*"]},
        {"Sid": "DecryptOwnSecrets", "Effect": "Allow", "Action": "kms:Decrypt",
         "Resource": "*", "Condition": {"StringLike": {"kms:ViaService": [
             "ssm.*.amazonaws.com", "secretsmanager.*.amazonaws.com"]}}},
    ]
    services = [s for s in team.services if s not in NEVER_GRANTED]
    if services:
        actions = [f"{s}:*" for s in services]
        statements.append({"Sid": "TeamResourcesByName", "Effect": "Allow", "Action": actions,
                           "Resource": [r for s in services for r in _named(partition, s, team)]})
        statements.append({"Sid": "TeamResourcesByTag", "Effect": "Allow", "Action": actions,
                           "Resource": "*", "Condition": {
                               "StringEquals": {f"aws:ResourceTag/{TAG_TEAM}": team.team}}})
        star = sorted(a for a in STAR_ACTIONS if a.split(":", 1)[0] in services)
        if star:
            statements.append({"Sid": "ActionsWithoutResources", "Effect": "Allow",
                               "Action": star, "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}
