"""Reconciling a function's triggers with its manifest: read what AWS holds, plan, apply,
read back. Called by the promote step once ``live`` has moved (so every trigger points at
the alias that now serves the verified version), and usable by any workflow that needs a
function's triggers gone (``remove_triggers``).

``TriggerReport`` is what the job records under ``triggers``: each trigger as it is in AWS
after the apply (the URL of a function URL or HTTP API, a schedule's expression, a
queue's mapping) and the changes made. ``dry_run`` plans without applying.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from orchestrator.aws.errors import AwsError
from orchestrator.aws.facade import Aws
from orchestrator.codes import Code
from orchestrator.errors import TriggerError
from orchestrator.steps.triggers.apply import Executor
from orchestrator.steps.triggers.model import Current, Desired, Target
from orchestrator.steps.triggers.plan import Action, plan
from orchestrator.steps.triggers.read import read_current
from orchestrator.steps.unpack.platform import Trigger
from orchestrator.types import JsonMapping, JsonObject

_AUTH_NAMES = {"AWS_IAM": "iam", "NONE": "none"}


@dataclass(frozen=True)
class TriggerReport:
    """The function's triggers after the job, and what the job changed."""

    KEY: ClassVar[str] = "triggers"
    triggers: tuple[JsonObject, ...] = ()
    changes: tuple[str, ...] = ()

    def to_json(self) -> JsonObject:
        return {"triggers": [dict(t) for t in self.triggers], "changes": list(self.changes)}

    @classmethod
    def from_json(cls, raw: JsonMapping) -> TriggerReport:
        return cls(tuple(dict(t) for t in raw.get("triggers") or ()),
                   tuple(str(c) for c in raw.get("changes") or ()))

    def urls(self) -> list[str]:
        return [str(t["url"]) for t in self.triggers if t.get("url")]


def describe(current: Current) -> tuple[JsonObject, ...]:
    """Each trigger of ``current`` as the job reports it."""
    out: list[JsonObject] = []
    if current.url is not None:
        out.append({"type": "url", "url": current.url.url,
                    "auth": _AUTH_NAMES.get(current.url.auth_type, current.url.auth_type)})
    out.extend({"type": "schedule", "expression": s.expression, "name": s.name,
                "group": s.group} for s in current.schedules.values())
    out.extend({"type": "sqs", "queue": m.source_arn, "uuid": m.uuid, "state": m.state}
               for m in current.mappings)
    for http in current.http:
        out.append({"type": "http", "url": http.api.endpoint.rstrip("/") + "/",
                    "auth": _AUTH_NAMES.get(http.route_auth or "", http.route_auth),
                    "api_id": http.api.api_id})
    return tuple(out)


def target_of(aws: Aws, *, function_name: str, function_arn: str, team: str, app: str
              ) -> Target:
    return Target(function_name, function_arn, team, app,
                  aws.settings.schedule_group(team), aws.settings.prefix)


def scheduler_role(aws: Aws, desired: Desired) -> str:
    """The role EventBridge Scheduler invokes ``live`` as; "" when no schedule needs it."""
    if not desired.schedules:
        return ""
    settings = aws.settings
    if settings.scheduler_role_arn:
        return settings.scheduler_role_arn
    try:
        return aws.roles.arn(settings.scheduler_role_name)
    except AwsError as exc:
        if exc.code != Code.AwsNotFound:
            raise
        raise TriggerError(
            f"the scheduler role {settings.scheduler_role_name!r} does not exist, so a "
            "schedule cannot invoke the function",
            code=Code.SchedulerRoleNotFound,
            hint="deploy the CDK stack (or auto-lambda local up), or set "
                 "AUTO_LAMBDA_SCHEDULER_ROLE_ARN to a role scheduler.amazonaws.com may "
                 "assume that may invoke the team's functions") from exc


def plan_triggers(aws: Aws, target: Target, triggers: tuple[Trigger, ...]
                  ) -> tuple[list[Action], Current]:
    """The plan for ``triggers`` on ``target`` and the state it was made from."""
    desired = Desired.of(triggers, target)
    current = read_current(aws, target)
    return plan(desired, current, target, scheduler_role_arn=scheduler_role(aws, desired)
                ), current


def reconcile(aws: Aws, target: Target, triggers: tuple[Trigger, ...], *,
              dry_run: bool = False) -> TriggerReport:
    """Make ``target``'s triggers in AWS what ``triggers`` asks for; the report."""
    actions, current = plan_triggers(aws, target, triggers)
    changes = tuple(a.describe() for a in actions)
    if dry_run or not actions:
        return TriggerReport(describe(current), changes)
    Executor(aws, target).execute(actions)
    return TriggerReport(describe(read_current(aws, target)), changes)


def remove_triggers(aws: Aws, target: Target) -> TriggerReport:
    """Delete every trigger auto-lambda made for ``target`` (before deleting the function)."""
    return reconcile(aws, target, ())


def report_lines(report: TriggerReport) -> list[str]:
    """One line per trigger, for people."""
    lines = []
    for t in report.triggers:
        kind = t.get("type")
        if kind in ("url", "http"):
            lines.append(f"{kind}: {t.get('url')} (auth {t.get('auth')})")
        elif kind == "schedule":
            lines.append(f"schedule: {t.get('expression')} ({t.get('group')}/{t.get('name')})")
        else:
            lines.append(f"sqs: {t.get('queue')}")
    return lines
