"""Each function's own IAM role, created and owned by auto-lambda (docs/security.md,
"Per-app roles").

The role is named after its function (``<prefix>-<team>-<app>``), lives under the path
``/<prefix>/apps/`` (the only roles the worker may create, change or pass), trusts only
``lambda.amazonaws.com``, carries the team's permission boundary (``boundary``) and the
tags ``auto-lambda:managed``, ``auto-lambda:team`` and ``auto-lambda:app``. Its inline
policies:

- ``auto-lambda-runtime``: logs to its own log group ``/aws/lambda/<function>`` only,
  X-Ray writes, the network interfaces of a VPC function, and reads of exactly the
  secrets its manifest references (``orchestrator.steps.secrets.refs``);
- ``app``: the statements of the manifest's ``[permissions] policy_file``, already
  checked against the team's boundary at unpack.

``ensure_app_role`` reconciles: it creates what is missing and changes only what
differs (boundary, trust, each policy; a policy the manifest no longer asks for is
deleted), so repeating it after a lost answer changes nothing. A role of that name that
auto-lambda did not make for this team is refused (``RoleNotOwned``), never adopted.
Locally the team's boundary is created on first use (the CDK stack makes it on AWS); on
AWS a team without one fails with ``TeamBoundaryMissing``.
"""

from __future__ import annotations

import logging

from orchestrator.aws.errors import AwsError
from orchestrator.aws.facade import Aws
from orchestrator.aws.roles import RoleInfo, same_document
from orchestrator.errors import RoleNotOwned, TeamBoundaryMissing, TransientError
from orchestrator.policy import TeamPolicy
from orchestrator.steps.deploy import boundary
from orchestrator.steps.secrets.refs import read_statements
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.tenancy import TAG_MANAGED, TAG_TEAM, ownership_tags
from orchestrator.types import JsonObject

log = logging.getLogger(__name__)

RUNTIME_POLICY = "auto-lambda-runtime"
APP_POLICY = "app"
TRUST_POLICY: JsonObject = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}


def role_path(prefix: str) -> str:
    return f"/{prefix}/apps/"


def runtime_policy(spec: AppSpec, function: str, *, partition: str, region: str,
                   account: str) -> JsonObject:
    """What every app's role needs to run: its own log group, X-Ray, its VPC's network
    interfaces when it has one, and its referenced secrets."""
    group = f"arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{function}"
    statements: list[JsonObject] = [
        {"Sid": "OwnLogGroup", "Effect": "Allow", "Action": list(boundary.LOG_ACTIONS),
         "Resource": [group, f"{group}:*"]},
        {"Sid": "Traces", "Effect": "Allow", "Action": list(boundary.XRAY_ACTIONS),
         "Resource": "*"},
    ]
    if spec.vpc is not None:
        statements.append({"Sid": "VpcNetworkInterfaces", "Effect": "Allow",
                           "Action": list(boundary.VPC_ACTIONS), "Resource": "*"})
    statements.extend(read_statements(spec, partition, region, account))
    return {"Version": "2012-10-17", "Statement": statements}


def check_role_owner(role: RoleInfo, team: str) -> None:
    """``RoleNotOwned`` unless auto-lambda made ``role`` for ``team``."""
    if role.tags.get(TAG_MANAGED) != "true" or role.tags.get(TAG_TEAM) != team:
        owner = role.tags.get(TAG_TEAM) if role.tags.get(TAG_MANAGED) == "true" else None
        raise RoleNotOwned(
            f"role {role.name} exists but was not made by auto-lambda for team {team!r}"
            + (f" (it is team {owner!r}'s)" if owner else ""),
            hint="pick another app name, or delete or rename that role first; auto-lambda "
                 "never adopts a role it did not create")


def _boundary_arn(aws: Aws, team: TeamPolicy) -> str:
    caller = aws.roles.caller()
    arn = boundary.boundary_arn(caller.partition, caller.account, team.prefix, team.team)
    if aws.settings.is_local and not aws.roles.policy_exists(arn):
        # The local stack stands in for the CDK stack, which makes each team's boundary.
        aws.roles.create_policy(arn, name=boundary.boundary_name(team.prefix, team.team),
                                path=boundary.boundary_path(team.prefix),
                                document=boundary.boundary_document(team, caller.partition),
                                description=f"auto-lambda: boundary of team {team.team}")
    return arn


def _create(aws: Aws, spec: AppSpec, name: str, team: TeamPolicy, bound: str) -> RoleInfo:
    try:
        found = aws.roles.create_role(
            name, path=role_path(team.prefix), trust=TRUST_POLICY, boundary=bound,
            tags=ownership_tags(spec.team, spec.name),
            description=f"auto-lambda: execution role of {name} (team {spec.team})")
    except AwsError as exc:
        if exc.aws_code in ("NoSuchEntity", "AccessDenied", "AccessDeniedException"):
            raise TeamBoundaryMissing(
                f"no role can be made for team {spec.team!r}'s apps: {exc.message}",
                hint=f"add {spec.team} to the CDK stack's teams context and deploy it, so "
                     f"the team has its boundary policy {bound}") from exc
        raise
    if found is not None:
        return found
    made = aws.roles.get_role(name)
    if made is None:  # deleted between create and read: the workflow retries
        raise TransientError(f"iam.get_role({name}): the role just created is gone",
                             hint="another deploy or a deletion raced this one; retried")
    return made


def ensure_app_role(aws: Aws, spec: AppSpec, team: TeamPolicy) -> str:
    """The ARN of the function's own role, made to hold exactly what ``spec`` needs."""
    name = aws.settings.function_name(spec.name, spec.team)
    bound = _boundary_arn(aws, team)
    role = aws.roles.get_role(name)
    if role is None:
        log.info("creating role %s (boundary %s)", name, bound)
        role = _create(aws, spec, name, team, bound)
    check_role_owner(role, spec.team)
    if role.boundary != bound:
        aws.roles.put_boundary(name, bound)
    if not same_document(role.trust, TRUST_POLICY):
        aws.roles.update_trust(name, TRUST_POLICY)
    caller = aws.roles.caller()
    wanted = {RUNTIME_POLICY: runtime_policy(spec, name, partition=caller.partition,
                                             region=aws.settings.region,
                                             account=caller.account)}
    if spec.permissions is not None:
        wanted[APP_POLICY] = spec.permissions.document()
    for policy, document in wanted.items():
        held = aws.roles.inline_policy(name, policy)
        if held is None or not same_document(held, document):
            aws.roles.put_inline_policy(name, policy, document)
    for policy in aws.roles.inline_policy_names(name):
        if policy not in wanted:  # removed from the manifest: removed from the role
            aws.roles.delete_inline_policy(name, policy)
    return role.arn
