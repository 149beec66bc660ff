"""Does a parsed manifest fit its team's policy? ``check_policy`` answers at unpack,
before anything is built or deployed, with one stable code per kind of refusal:

| code | when |
|---|---|
| ``LimitExceeded`` | memory, timeout or reserved concurrency over the team's maximum |
| ``VpcProfileUnknown`` | ``vpc`` names a profile the operator did not give the team |
| ``LayerNotAllowed`` | a layer is not on the team's allow-list |
| ``TriggerNotAllowed`` | a trigger type the team may not use |
| ``PublicUrlNotAllowed`` | ``auth = "none"`` on a url or http trigger, not allowed for the team |
| ``ForbiddenQueue`` | an sqs trigger's queue is not named ``<prefix>-<team>-...`` |
| ``ForbiddenSecret`` | a secret outside ``/<team>/`` (SSM) or ``<team>/`` (Secrets Manager) |
| ``PermissionsOutsideBoundary`` | a policy statement the team's boundary does not cover |

The boundary (docs/manifest.md, "[permissions]"): an ``Allow`` statement may only name
actions of the team's ``services`` (never iam, sts, organizations or account), and
resources that are the team's own: an ARN whose resource part starts with
``<prefix>-<team>-`` or with the team's path ``<team>/`` or ``/<team>/`` (either at
the start or right after a literal resource type, as in ``table/<prefix>-<team>-orders``
or ``parameter/<team>/db-url``); for S3 the bucket itself must be ``<prefix>-<team>-...``
(a ``<team>/`` folder in someone else's bucket is not the team's). ``"*"`` is allowed
only for the actions in ``STAR_ACTIONS``, which name no resource, and only when every
action of the statement is one of them. ``Deny`` statements only take away, so they pass.

Pure: no I/O, no AWS calls.
"""

from __future__ import annotations

import re

from orchestrator.arn import Arn, parse_arn
from orchestrator.codes import Code
from orchestrator.errors import ManifestError
from orchestrator.policy import NEVER_GRANTED, TeamPolicy
from orchestrator.steps.unpack.iampolicy import PolicyStatement, action_service
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.steps.unpack.platform import HttpTrigger, SqsTrigger, UrlTrigger

# Actions that AWS only grants on Resource "*" (they name no resource of their own).
STAR_ACTIONS = frozenset({
    "cloudwatch:PutMetricData",
    "xray:PutTraceSegments", "xray:PutTelemetryRecords",
    "xray:GetSamplingRules", "xray:GetSamplingTargets",
    "s3:ListAllMyBuckets", "sqs:ListQueues", "dynamodb:ListTables", "sns:ListTopics",
    "ssm:DescribeParameters", "secretsmanager:ListSecrets", "events:ListEventBuses",
    "kms:ListKeys", "kms:ListAliases",
})
_TYPE_SEP = re.compile(r"[/:]")
_KIND_RE = re.compile(r"^[a-z][a-z0-9-]*\Z")


class PolicyError(ManifestError):
    """The manifest asks for something its team's policy does not allow."""

    code = Code.PolicyViolation


def _refuse(code: Code, message: str, hint: str) -> PolicyError:
    return PolicyError(message[:600], code=code, hint=hint)


def _limits(spec: AppSpec, team: TeamPolicy) -> None:
    checks = [("memory", spec.memory, team.max_memory),
              ("timeout", spec.timeout, team.max_timeout)]
    if spec.limits.reserved_concurrency is not None:
        checks.append(("reserved_concurrency", spec.limits.reserved_concurrency,
                       team.max_reserved_concurrency))
    for key, value, most in checks:
        if value > most:
            raise _refuse(Code.LimitExceeded,
                          f"[function].{key} = {value} is over team {team.team!r}'s maximum "
                          f"of {most}", f"set {key} to {most} or less, or ask your operator "
                          "to raise the team's limit")


def _vpc_and_layers(spec: AppSpec, team: TeamPolicy) -> None:
    if spec.vpc is not None and spec.vpc not in team.vpc_profiles:
        known = ", ".join(sorted(team.vpc_profiles)) or "none"
        raise _refuse(Code.VpcProfileUnknown,
                      f"[function].vpc = {spec.vpc!r} is not a VPC profile of team "
                      f"{team.team!r} (its profiles: {known})",
                      "use one of the team's profiles, or ask your operator to define it")
    for i, layer in enumerate(spec.layers):
        if layer not in team.layers:
            raise _refuse(Code.LayerNotAllowed,
                          f"[function].layers[{i}] = {layer!r} is not on team "
                          f"{team.team!r}'s list of allowed layers",
                          "use an allowed layer version, or ask your operator to add it")


def _triggers(spec: AppSpec, team: TeamPolicy) -> None:
    for i, trigger in enumerate(spec.triggers):
        where = f"[[triggers]][{i}]"
        if trigger.type not in team.triggers:
            raise _refuse(Code.TriggerNotAllowed,
                          f"{where}: team {team.team!r} may not use {trigger.type} triggers "
                          f"(allowed: {', '.join(team.triggers) or 'none'})",
                          "remove the trigger, or ask your operator to allow the type")
        if (isinstance(trigger, UrlTrigger | HttpTrigger) and trigger.auth == "none"
                and not team.allow_public_urls):
            raise _refuse(Code.PublicUrlNotAllowed,
                          f"{where}.auth = \"none\" would serve team {team.team!r}'s app to "
                          "anyone, which the team's policy does not allow",
                          'use auth = "iam" (signed requests), or ask your operator to '
                          "allow public URLs")
        if isinstance(trigger, SqsTrigger):
            queue = parse_arn(trigger.queue, f"{where}.queue")
            if not queue.resource.startswith(team.name_prefix):
                raise _refuse(Code.ForbiddenQueue,
                              f"{where}.queue {queue.resource!r} is not a queue of team "
                              f"{team.team!r}",
                              f"use one of the team's queues, named {team.name_prefix}...")


def _secrets(spec: AppSpec, team: TeamPolicy) -> None:
    for ref in spec.secrets:
        own = f"/{team.team}/" if ref.store == "ssm" else f"{team.team}/"
        if not ref.path.startswith(own):
            raise _refuse(Code.ForbiddenSecret,
                          f"[secrets].{ref.name} = {ref.reference!r} is outside team "
                          f"{team.team!r}'s secrets",
                          f"keep the team's secrets under {ref.store}:{own}")


def _own_resource(arn: Arn, team: TeamPolicy) -> bool:
    resource = arn.resource
    if resource.startswith(team.name_prefix):
        return True
    if arn.service == "s3":
        # the first segment is the bucket: it must be the team's, whatever the key
        return False
    owned = (team.name_prefix, f"{team.team}/", f"/{team.team}/")
    if resource.startswith(owned[1:]):
        return True
    # after a literal resource type: "table/<prefix>-<team>-x", "secret:<team>/x"
    kind_end = _TYPE_SEP.search(resource)
    if kind_end is None or not _KIND_RE.match(resource[:kind_end.start()]):
        return False
    return resource[kind_end.end():].startswith(owned)


def _statement(stmt: PolicyStatement, where: str, team: TeamPolicy) -> None:
    if stmt.effect != "Allow":
        return
    for action in stmt.actions:
        service = action_service(action)
        if service in NEVER_GRANTED or service not in team.services:
            allowed = ", ".join(team.services) or "none"
            raise _refuse(Code.PermissionsOutsideBoundary,
                          f"{where} grants {action!r}: service {service!r} is outside team "
                          f"{team.team!r}'s boundary (its services: {allowed})",
                          "grant only actions of the team's services (iam, sts, "
                          "organizations and account never), or ask your operator")
    for resource in stmt.resources:
        if resource == "*":
            wide = [a for a in stmt.actions if a not in STAR_ACTIONS]
            if wide:
                raise _refuse(Code.PermissionsOutsideBoundary,
                              f"{where} grants {wide[0]!r} on every resource (\"*\")",
                              "name the team's own resources by ARN; \"*\" is only for "
                              "actions that have no resource (such as "
                              "cloudwatch:PutMetricData), in a statement of their own")
            continue
        arn = parse_arn(resource, where, wildcards=True)
        if not _own_resource(arn, team):
            raise _refuse(Code.PermissionsOutsideBoundary,
                          f"{where} names {resource[:200]!r}, which is not team "
                          f"{team.team!r}'s",
                          f"name resources {team.name_prefix}... or under the path "
                          f"{team.team}/ (wildcards only after that)")


def check_policy(spec: AppSpec, team_policy: TeamPolicy) -> None:
    """None when ``spec`` (of team ``team_policy.team``) fits the policy; else a
    ``PolicyError`` whose code says what is refused and whose hint says what to do."""
    if spec.team != team_policy.team:
        raise ValueError(f"the spec is team {spec.team!r}'s, the policy team "
                         f"{team_policy.team!r}'s")
    _limits(spec, team_policy)
    _vpc_and_layers(spec, team_policy)
    _triggers(spec, team_policy)
    _secrets(spec, team_policy)
    if spec.permissions is not None:
        for i, stmt in enumerate(spec.permissions.statements):
            _statement(stmt, f"[permissions] {spec.permissions.policy_file} Statement[{i}]",
                       team_policy)
