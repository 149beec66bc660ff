"""The deletion workflow's steps (``orchestrator.jobs.workflows.deletion``): an app whose
zip was deleted loses its triggers, its ``live`` alias, its function and its own role,
in that order, once the grace period is over.

``recheck`` keeps the app when its zip is there again (``AppUploadedAgain``, caught into
``kept``) and refuses a function auto-lambda did not make for the key's team
(``NotOwned``); it records the ``DeletionTarget``. Each later step looks again for an
upload first (one arriving mid-way stops the deletion before the function goes; the new
upload's job deploys it again), then removes its part. Every removal is done when the
thing is already gone, so a step rerun after a crash just finds less to do.

Triggers are found by what they invoke, not by a naming rule: the function URL of
``live`` (and of the unqualified function), the event source mappings of the function
or any of its qualifiers (``live``, a version), the Scheduler schedules aimed at it
(deleted when named with the prefix, as auto-lambda names its own) and the HTTP APIs
whose integrations invoke it (deleted only when tagged as auto-lambda's and invoking
nothing else). Anything found and left is recorded with why. The role goes only when it
is the function's own (named as the function) and tagged ``auto-lambda:managed``; the
shared execution role is never touched.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import ClassVar

from orchestrator.aws.facade import Aws
from orchestrator.config import LIVE_ALIAS
from orchestrator.errors import AppUploadedAgain, NotOwned
from orchestrator.steps.context import StepContext
from orchestrator.steps.unpack.manifest import app_name_from_zip
from orchestrator.tenancy import TAG_MANAGED, TAG_TEAM, function_name, team_of_key
from orchestrator.types import JsonMapping, JsonObject

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeletionTarget:
    """What the deletion removes: the function (``exists`` False when it was gone
    already) and the team that owns the key."""

    KEY: ClassVar[str] = "target"
    function_name: str
    team: str
    exists: bool
    function_arn: str | None = None

    def to_json(self) -> JsonObject:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: JsonMapping) -> DeletionTarget:
        return cls(function_name=str(raw["function_name"]), team=str(raw["team"]),
                   exists=bool(raw.get("exists")),
                   function_arn=raw.get("function_arn") or None)


@dataclass(frozen=True)
class Removed:
    """What one removal step removed (names), and what it found but left (why)."""

    KEY: ClassVar[str] = "removed"
    what: str
    removed: tuple[str, ...] = ()
    left: tuple[str, ...] = ()

    def to_json(self) -> JsonObject:
        return {"what": self.what, "removed": list(self.removed), "left": list(self.left)}

    @classmethod
    def from_json(cls, raw: JsonMapping) -> Removed:
        return cls(str(raw.get("what") or ""), tuple(raw.get("removed") or ()),
                   tuple(raw.get("left") or ()))


def _removed_kind(key: str) -> type[Removed]:
    """A Removed stored under its own key, so each step's record stays apart."""
    return type(f"Removed_{key}", (Removed,), {"KEY": f"removed_{key}"})


TriggersRemoved = _removed_kind("triggers")
AliasRemoved = _removed_kind("alias")
FunctionRemoved = _removed_kind("function")
RoleRemoved = _removed_kind("role")


@dataclass(frozen=True)
class Checked:
    target: DeletionTarget


@dataclass(frozen=True)
class Done:
    removed: Removed = field()


def ensure_still_deleted(ctx: StepContext) -> None:
    """``AppUploadedAgain`` when the deleted zip is there again."""
    bucket, key = ctx.input.bucket, ctx.input.key
    head = ctx.env.aws.objects.head(bucket, key)
    if head is not None:
        raise AppUploadedAgain(
            f"s3://{bucket}/{key} was uploaded again (version {head.version_id or head.etag}) "
            "after it was deleted: the app is kept, and that upload's own job deploys it",
            hint="delete the zip again to remove the app")


def recheck(ctx: StepContext) -> Checked:
    ensure_still_deleted(ctx)
    settings = ctx.env.aws.settings
    team = team_of_key(ctx.input.key)
    name = str(ctx.task.data.get("function_name") or "") or function_name(
        settings.prefix, team, app_name_from_zip(ctx.input.key))
    found = ctx.env.aws.functions.get_function(name)
    if found is None:
        log.info("job %s: function %s is gone already", ctx.job_id, name)
        return Checked(DeletionTarget(name, team, exists=False))
    if found.tags.get(TAG_MANAGED) != "true" or found.tags.get(TAG_TEAM) != team:
        raise NotOwned(
            f"function {name} was not made by auto-lambda for team {team!r} (its tags: "
            f"{TAG_MANAGED}={found.tags.get(TAG_MANAGED)!r}, "
            f"{TAG_TEAM}={found.tags.get(TAG_TEAM)!r}): it is not deleted",
            hint="delete it by hand if it should go; auto-lambda removes only its own")
    arn = str(found.config.get("FunctionArn") or "") or None
    return Checked(DeletionTarget(name, team, exists=True, function_arn=arn))


def untrigger(ctx: StepContext) -> Done:
    ensure_still_deleted(ctx)
    target = ctx.get(DeletionTarget)
    removed, left = remove_triggers(ctx.env.aws, target)
    return Done(TriggersRemoved("triggers", tuple(removed), tuple(left)))


def remove_triggers(aws: Aws, target: DeletionTarget) -> tuple[list[str], list[str]]:
    """Remove every trigger of the function (see the module docstring): what went and
    what was left, as short descriptions."""
    lam, name = aws.functions, target.function_name
    removed: list[str] = []
    left: list[str] = []
    for qualifier in (LIVE_ALIAS, None):  # URLs are made on live; older ones unqualified
        if lam.has_url(name, qualifier) and lam.delete_url(name, qualifier):
            removed.append(f"function URL {name}:{qualifier or '$LATEST'}")
    if target.function_arn:
        base = unqualified_arn(target.function_arn)
        for uuid in lam.event_source_mappings(base):
            if lam.delete_event_source_mapping(uuid):
                removed.append(f"event source mapping {uuid}")
        for schedule in aws.schedules.targeting(base):
            if not schedule.name.startswith(f"{aws.settings.prefix}-"):
                left.append(f"schedule {schedule.group}/{schedule.name}: not named "
                            f"{aws.settings.prefix}-*, so not auto-lambda's")
            elif aws.schedules.delete(schedule.group, schedule.name):
                removed.append(f"schedule {schedule.group}/{schedule.name}")
        for api in aws.http_apis.invoking(base):
            if not api.owned:
                left.append(f"HTTP API {api.api_id} ({api.name}): not auto-lambda's alone")
            elif aws.http_apis.delete(api.api_id):
                removed.append(f"HTTP API {api.api_id} ({api.name})")
    return removed, left


def unqualified_arn(arn: str) -> str:
    """``arn:aws:lambda:<region>:<account>:function:<name>`` without a ``:<qualifier>``."""
    parts = arn.split(":")
    return ":".join(parts[:7])


def unalias(ctx: StepContext) -> Done:
    ensure_still_deleted(ctx)
    name = ctx.get(DeletionTarget).function_name
    gone = ctx.env.aws.functions.delete_alias(name, LIVE_ALIAS)
    return Done(AliasRemoved("alias", (f"{name}:{LIVE_ALIAS}",) if gone else ()))


def undeploy(ctx: StepContext) -> Done:
    ensure_still_deleted(ctx)
    target = ctx.get(DeletionTarget)
    found = ctx.env.aws.functions.get_function(target.function_name)
    if found is not None and (found.tags.get(TAG_MANAGED) != "true"
                              or found.tags.get(TAG_TEAM) != target.team):
        raise NotOwned(f"function {target.function_name} is no longer tagged as team "
                       f"{target.team!r}'s: it is not deleted",
                       hint="delete it by hand if it should go")
    gone = found is not None and ctx.env.aws.functions.delete_function(target.function_name)
    return Done(FunctionRemoved("function", (target.function_name,) if gone else ()))


def unrole(ctx: StepContext) -> Done:
    target = ctx.get(DeletionTarget)
    roles, name = ctx.env.aws.roles, target.function_name
    role = roles.get_role(name)
    if role is None:
        return Done(RoleRemoved("role"))
    tags = role.tags
    if tags.get(TAG_MANAGED) != "true" or tags.get(TAG_TEAM, target.team) != target.team:
        return Done(RoleRemoved("role", left=(f"role {name}: not tagged as auto-lambda's "
                                              f"for team {target.team!r}",)))
    gone = roles.delete_role(name)
    return Done(RoleRemoved("role", (f"role {name}",) if gone else ()))
