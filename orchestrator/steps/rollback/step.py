"""The rollback workflow's steps (``orchestrator.jobs.workflows.rollback``): move ``live``
back to a version published earlier, without building anything.

The job's input (fixed by ``auto-lambda rollback`` when it made the job) names the
function, the team, the version, whether a deployment job verified that version and with
which code, and whether the caller forced it. ``choose`` checks it all against Lambda
now: the function is auto-lambda's and the team's (``NotOwned``), the version exists
(``VersionNotFound``), and it verified with the code it still has, or the rollback was
forced (``VersionNotVerified``); it records the ``RollbackPlan`` with where ``live``
pointed before. ``repoint`` points ``live`` at the version (weights cleared: a rollback
is all at once); the door compares before it writes, so a repeat after a crash does
nothing more. Triggers target ``live`` and so move with it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

from orchestrator.codes import Code
from orchestrator.config import LIVE_ALIAS
from orchestrator.errors import NotOwned, RollbackRefused
from orchestrator.steps.context import StepContext
from orchestrator.tenancy import TAG_MANAGED, TAG_TEAM
from orchestrator.types import JsonMapping, JsonObject


@dataclass(frozen=True)
class RollbackPlan:
    KEY: ClassVar[str] = "rollback"
    function_name: str
    to_version: str
    from_version: str | None
    verified: bool
    forced: bool

    def to_json(self) -> JsonObject:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: JsonMapping) -> RollbackPlan:
        return cls(function_name=str(raw["function_name"]), to_version=str(raw["to_version"]),
                   from_version=raw.get("from_version"), verified=bool(raw.get("verified")),
                   forced=bool(raw.get("forced")))


@dataclass(frozen=True)
class Live:
    """Where ``live`` points once the rollback is done."""

    KEY: ClassVar[str] = "live"
    function_name: str
    version: str

    def to_json(self) -> JsonObject:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: JsonMapping) -> Live:
        return cls(str(raw["function_name"]), str(raw["version"]))


@dataclass(frozen=True)
class Chosen:
    plan: RollbackPlan


@dataclass(frozen=True)
class Repointed:
    live: Live


def choose(ctx: StepContext) -> Chosen:
    data = ctx.task.data
    name, team = str(data["function_name"]), str(data["team"])
    version = str(data["to_version"])
    lam = ctx.env.aws.functions
    found = lam.get_function(name)
    if found is None:
        raise RollbackRefused(f"function {name} does not exist", code=Code.FunctionNotFound,
                              hint="check the team and app name (`auto-lambda jobs` lists "
                                   "what was deployed)")
    if found.tags.get(TAG_MANAGED) != "true" or found.tags.get(TAG_TEAM) != team:
        raise NotOwned(f"function {name} was not made by auto-lambda for team {team!r}: "
                       "its alias is not moved", hint="roll back only your team's apps")
    versions = {str(v.get("Version")): v for v in lam.list_versions(name)}
    if version not in versions or version == "$LATEST":
        published = sorted((v for v in versions if v.isdigit()), key=int)
        raise RollbackRefused(
            f"function {name} has no published version {version} (published: "
            f"{', '.join(published) or 'none'})", code=Code.VersionNotFound,
            hint="pick one of the published versions with --to")
    verified = bool(data.get("verified"))
    sha = data.get("code_sha256")
    if verified and sha and versions[version].get("CodeSha256") != sha:
        verified = False  # the function was made again since: an old verdict
    forced = bool(data.get("force"))
    if not verified and not forced:
        raise RollbackRefused(
            f"version {version} of {name} never passed verify", code=Code.VersionNotVerified,
            hint="pick a verified version, or add --force to move live to it anyway")
    current = lam.get_alias(name, LIVE_ALIAS)
    return Chosen(RollbackPlan(name, version, current.version if current else None,
                               verified=verified, forced=forced))


def repoint(ctx: StepContext) -> Repointed:
    plan = ctx.get(RollbackPlan)
    ctx.env.aws.functions.point_alias(plan.function_name, LIVE_ALIAS, plan.to_version)
    return Repointed(Live(plan.function_name, plan.to_version))
