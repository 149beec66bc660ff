"""Teams: who owns an upload and the function it becomes.

A team is the first path segment of the upload's key (``<team>/<app>.zip``); an upload
at the bucket root belongs to the ``default`` team. A team name is 1-20 lower-case
letters, digits and underscores, starting with a letter or digit: no dash, so
``<prefix>-<team>-<app>`` always splits one way and two teams can never land on one
function name. The function's tags (``auto-lambda:managed``, ``auto-lambda:team``,
``auto-lambda:app``) record who owns it; deploy refuses a function tagged for another
team, or not made by auto-lambda (``ForbiddenFunctionName``). An app name that spells
out a whole function name (``<prefix>-<team>-...``) must name the uploader's own team.

Pure: string rules only, no AWS calls.
"""

from __future__ import annotations

import re

from orchestrator.codes import Code
from orchestrator.errors import ManifestError
from orchestrator.limits import LAMBDA_FUNCTION_NAME_CHARS as MAX_FUNCTION_NAME

DEFAULT_TEAM = "default"
TAG_MANAGED = "auto-lambda:managed"
TAG_TEAM = "auto-lambda:team"
TAG_APP = "auto-lambda:app"
_TEAM_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,19}\Z")


def team_of_key(key: str) -> str:
    """The team an upload key belongs to; ``TeamInvalid`` when its folder is not a team."""
    head, sep, _rest = key.partition("/")
    if not sep:
        return DEFAULT_TEAM
    if not _TEAM_RE.match(head):
        raise ManifestError(
            f"the upload's folder {head[:60]!r} is not a team name",
            code=Code.TeamInvalid,
            hint="upload to <team>/<app>.zip with a team of 1-20 lower-case letters, digits "
                 "and underscores (no dashes), or to the bucket root for the default team")
    return head


def function_name(prefix: str, team: str, app: str) -> str:
    """``<prefix>-<team>-<app>``, or ``FunctionNameTooLong`` past Lambda's 64 characters."""
    name = f"{prefix}-{team}-{app}"
    if len(name) > MAX_FUNCTION_NAME:
        raise ManifestError(
            f"the function name {name!r} is {len(name)} characters, over Lambda's "
            f"{MAX_FUNCTION_NAME}", code=Code.FunctionNameTooLong,
            hint=f"shorten [function] name in auto-lambda.toml (or the zip's name) to at most "
                 f"{max(1, MAX_FUNCTION_NAME - len(prefix) - len(team) - 2)} characters")
    return name


def own_app_name(prefix: str, team: str, app: str) -> str:
    """``app`` as the uploader's team may use it: an app name that spells out a function
    name (``<prefix>-...``) must be one of the team's own, and is shortened to its app
    part; naming another team's function is ``ForbiddenFunctionName``."""
    full = f"{prefix}-"
    if not app.startswith(full):
        return app
    own = f"{prefix}-{team}-"
    if app.startswith(own) and len(app) > len(own):
        return app[len(own):]
    owner = app[len(full):].split("-", 1)[0] or "?"
    raise ManifestError(
        f"app name {app!r} names the function of team {owner!r}, and this upload belongs "
        f"to team {team!r}", code=Code.ForbiddenFunctionName,
        hint=f"name the app only (e.g. 'hello'); its function is {prefix}-{team}-<app>")


def ownership_tags(team: str, app: str) -> dict[str, str]:
    return {TAG_MANAGED: "true", TAG_TEAM: team, TAG_APP: app}


def check_owner(function: str, tags: dict[str, str] | None, team: str) -> None:
    """``ForbiddenFunctionName`` unless ``function`` was made by auto-lambda for ``team``."""
    tags = tags or {}
    if tags.get(TAG_MANAGED) != "true":
        raise ManifestError(
            f"function {function} exists but was not created by auto-lambda; it is not "
            "replaced", code=Code.ForbiddenFunctionName,
            hint="pick another app name, or delete or rename that function first")
    owner = tags.get(TAG_TEAM)
    if owner != team:
        raise ManifestError(
            f"function {function} belongs to team {owner!r}; this upload belongs to team "
            f"{team!r}", code=Code.ForbiddenFunctionName,
            hint="pick another app name; a team may only deploy its own functions")
