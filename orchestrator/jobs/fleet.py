"""Which functions the fleet holds: every Lambda function named ``<prefix>-<team>-<app>``
whose owner tags say auto-lambda made it for that team and app (``orchestrator.tenancy``).

Functions auto-lambda did not make, or whose tags name another function, are never
listed, so neither ``apps`` nor ``prune`` touches them. Reads only, through the Lambda
door: one ListFunctions walk, then one GetFunction per match for its tags.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.aws.facade import Aws
from orchestrator.tenancy import TAG_APP, TAG_MANAGED, TAG_TEAM


@dataclass(frozen=True)
class Target:
    """One function of the fleet: its team, app and name."""

    team: str
    app: str
    function: str


def target_of(aws: Aws, team: str, app: str) -> Target:
    return Target(team, app, aws.settings.function_name(app, team))


def fleet_functions(aws: Aws, team: str | None = None, app: str | None = None
                    ) -> list[Target]:
    """The fleet's functions (of ``team``; named ``app``), sorted by name."""
    prefix = f"{aws.settings.prefix}-" + (f"{team}-" if team else "")
    found: list[Target] = []
    for name in aws.functions.list_function_names(prefix):
        info = aws.functions.get_function(name)
        if info is None or info.tags.get(TAG_MANAGED) != "true":
            continue
        owner, its_app = info.tags.get(TAG_TEAM), info.tags.get(TAG_APP)
        if not owner or not its_app or (team and owner != team) or (app and its_app != app):
            continue
        if aws.settings.function_name(its_app, owner) != name:
            continue  # tags that do not name this function: not ours to judge
        found.append(Target(owner, its_app, name))
    return found
