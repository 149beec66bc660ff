"""The trigger planner: from what the manifest asks for (``Desired``) and what AWS holds
(``Current``), the changes that make AWS match, in the order they are applied.

Plan, then apply (chalice's planner and executor): this module reads nothing and writes
nothing, so the same plan is the dry run (``describe``) and the executor's input
(``orchestrator.steps.triggers.apply``). A trigger that is in AWS and no longer in the
manifest is deleted; one that differs is updated in place where AWS allows it.

Order: the URL's auth changes before its public permissions are added or removed (a
URL going private never has a moment with auth NONE and the public statement); every
deletion of a removed trigger comes last.

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.aws.function_triggers import Permission
from orchestrator.aws.scheduler import Schedule
from orchestrator.steps.triggers.model import (
    PAYLOAD_VERSION,
    SID_HTTP,
    Current,
    Desired,
    HttpState,
    Target,
)

_AUTH_NAMES = {"AWS_IAM": "iam", "NONE": "none"}


@dataclass(frozen=True)
class PutUrl:
    auth_type: str
    create: bool

    def describe(self) -> str:
        verb = "create" if self.create else "update"
        return f"{verb} url (auth {_AUTH_NAMES.get(self.auth_type, self.auth_type)})"


@dataclass(frozen=True)
class DeleteUrl:
    def describe(self) -> str:
        return "delete url"


@dataclass(frozen=True)
class AddPermission:
    permission: Permission

    def describe(self) -> str:
        return f"add permission {self.permission.sid} ({self.permission.action} for " \
               f"{self.permission.principal})"


@dataclass(frozen=True)
class RemovePermission:
    sid: str

    def describe(self) -> str:
        return f"remove permission {self.sid}"


@dataclass(frozen=True)
class PutSchedule:
    schedule: Schedule
    create: bool

    def describe(self) -> str:
        verb = "create" if self.create else "update"
        return f"{verb} schedule {self.schedule.name} ({self.schedule.expression})"


@dataclass(frozen=True)
class DeleteSchedule:
    group: str
    name: str

    def describe(self) -> str:
        return f"delete schedule {self.name}"


@dataclass(frozen=True)
class CreateMapping:
    queue_arn: str

    def describe(self) -> str:
        return f"create sqs mapping from {self.queue_arn}"


@dataclass(frozen=True)
class DeleteMapping:
    uuid: str
    queue_arn: str

    def describe(self) -> str:
        return f"delete sqs mapping from {self.queue_arn} ({self.uuid})"


@dataclass(frozen=True)
class PutHttpApi:
    """Make the HTTP API (or finish wiring the one found): proxy integration to ``live``,
    the ``$default`` route with ``auth_type``, the auto-deployed stage, the permission."""

    auth_type: str
    api_id: str | None

    def describe(self) -> str:
        auth = _AUTH_NAMES.get(self.auth_type, self.auth_type)
        if self.api_id is None:
            return f"create http api (auth {auth})"
        return f"update http api {self.api_id} (auth {auth})"


@dataclass(frozen=True)
class DeleteHttpApi:
    api_id: str

    def describe(self) -> str:
        return f"delete http api {self.api_id}"


Action = (PutUrl | DeleteUrl | AddPermission | RemovePermission | PutSchedule
          | DeleteSchedule | CreateMapping | DeleteMapping | PutHttpApi | DeleteHttpApi)


def _http_ok(state: HttpState, target: Target, auth_type: str, permission: Permission | None
             ) -> bool:
    return (state.integration_uri == target.alias_arn
            and state.payload_version == PAYLOAD_VERSION and state.route_auth == auth_type
            and state.route_target_ok and state.stage
            and permission == target.http_permission(state.api.api_id))


def plan(desired: Desired, current: Current, target: Target, *, scheduler_role_arn: str
         ) -> list[Action]:
    """The actions that turn ``current`` into ``desired`` (empty: nothing to do)."""
    actions: list[Action] = []
    removals: list[Action] = []
    # the function URL, then its public statements
    if desired.url_auth is not None:
        if current.url is None or current.url.auth_type != desired.url_auth:
            actions.append(PutUrl(desired.url_auth, create=current.url is None))
    elif current.url is not None:
        removals.append(DeleteUrl())
    wanted_permissions = desired.permissions
    for sid, permission in wanted_permissions.items():
        if current.permissions.get(sid) != permission:
            if sid in current.permissions:
                actions.append(RemovePermission(sid))
            actions.append(AddPermission(permission))
    for sid in sorted(current.permissions):
        if sid not in wanted_permissions and sid != SID_HTTP:
            actions.append(RemovePermission(sid))
    # schedules: a changed expression is a new name, so it is a create and a delete
    for name, expression in sorted(desired.schedules.items()):
        wanted = Schedule(target.schedule_group, name, expression, target.alias_arn,
                          scheduler_role_arn, target.schedule_input(expression))
        found = current.schedules.get(name)
        if found != wanted:
            actions.append(PutSchedule(wanted, create=found is None))
    removals.extend(DeleteSchedule(s.group, s.name) for name, s in
                    sorted(current.schedules.items()) if name not in desired.schedules)
    # queues: one mapping per queue; extra mappings of one queue go too
    seen: set[str] = set()
    for mapping in current.mappings:
        if mapping.source_arn in desired.queues and mapping.source_arn not in seen:
            seen.add(mapping.source_arn)
        else:
            removals.append(DeleteMapping(mapping.uuid, mapping.source_arn))
    actions.extend(CreateMapping(q) for q in desired.queues if q not in seen)
    # the HTTP API: one, wired to live; any other is removed
    http_permission = current.permissions.get(SID_HTTP)
    keep = None
    if desired.http_auth is not None:
        keep = next((s for s in current.http if _http_ok(s, target, desired.http_auth,
                                                          http_permission)), None)
        if keep is None:
            keep = current.http[0] if current.http else None
            actions.append(PutHttpApi(desired.http_auth, keep.api.api_id if keep else None))
    removals.extend(DeleteHttpApi(s.api.api_id) for s in current.http if s is not keep)
    if desired.http_auth is None and http_permission is not None:
        removals.append(RemovePermission(SID_HTTP))
    return actions + removals
