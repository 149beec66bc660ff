"""``auto-lambda rollback``: plan, then make the job. Moving ``live`` is the rollback
workflow's (``orchestrator.steps.rollback``); this module decides which version and
records the request as a new job.

1. ``plan`` reads: the function's ``live`` version (Lambda) and the versions deployment
   jobs verified (the jobs table, ``orchestrator.jobs.lifecycle``). The target is
   ``--to`` or, by default, the newest verified version below ``live`` (the version
   pruning keeps for this, ``orchestrator.jobs.prune.rollback_target``). A version that
   never verified is refused (``VersionNotVerified``) unless forced; no target at all is
   ``NoRollbackTarget``.
2. ``make_job`` writes one new job record (workflow ``rollback``, a fresh id, the caller
   and the reason) whose input carries the plan; the caller then enqueues it for any
   worker, or drives it in its own process. The workflow checks the plan again against
   Lambda when it runs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from orchestrator.aws.facade import Aws
from orchestrator.codes import Code
from orchestrator.config import LIVE_ALIAS
from orchestrator.errors import ManifestError, RollbackRefused
from orchestrator.intake.events import job_id_for
from orchestrator.jobs.lifecycle import VerifiedVersion, verified_versions
from orchestrator.jobs.prune import Verdict, Version, rollback_target
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.runner import copy_execution, start_execution
from orchestrator.jobs.store import JobStore
from orchestrator.tenancy import function_name
from orchestrator.types import JsonObject

WORKFLOW = "rollback"


@dataclass(frozen=True)
class RollbackRequest:
    team: str
    app: str
    reason: str
    actor: str
    to_version: str | None = None
    force: bool = False


@dataclass(frozen=True)
class Plan:
    function_name: str
    team: str
    app: str
    live: str | None
    to_version: str
    verified: VerifiedVersion | None

    def to_dict(self) -> JsonObject:
        return {"function_name": self.function_name, "team": self.team, "app": self.app,
                "live": self.live, "to_version": self.to_version,
                "verified": self.verified is not None,
                "verified_by_job": self.verified.job_id if self.verified else None}


def parse_target(text: str) -> tuple[str, str]:
    """``<team>/<app>`` (a trailing ``.zip`` is dropped) as (team, app)."""
    team, sep, app = text.strip().partition("/")
    app = app.removesuffix(".zip")
    if not sep or not team or not app or "/" in app:
        raise ManifestError(f"{text!r} is not <team>/<app>", code=Code.RollbackTargetInvalid,
                            hint="name the app as its team and app, e.g. payments/hello")
    return team, app


def plan(aws: Aws, store: JobStore, request: RollbackRequest) -> Plan:
    name = function_name(aws.settings.prefix, request.team, request.app)
    if not aws.functions.function_exists(name):
        raise RollbackRefused(f"function {name} does not exist", code=Code.FunctionNotFound,
                              hint="check the team and app (`auto-lambda jobs --team T`)")
    live = aws.functions.alias_version(name, LIVE_ALIAS)
    verified = {str(v.version): v for v in verified_versions(store, name)}
    target = request.to_version
    if target is None:
        below = rollback_target(
            [Version(int(v), Verdict.VERIFIED) for v in verified],
            int(live) if live and live.isdigit() else None)
        if below is None:
            raise RollbackRefused(
                f"{name} has no verified version older than live ({live or 'none'})",
                code=Code.NoRollbackTarget,
                hint="name a version with --to (and --force if it never verified)")
        target = str(below)
    if target not in verified and not request.force:
        raise RollbackRefused(
            f"version {target} of {name} never passed verify (verified: "
            f"{', '.join(sorted(verified, key=int)) or 'none'})", code=Code.VersionNotVerified,
            hint="pick a verified version, or add --force to move live to it anyway")
    return Plan(name, request.team, request.app, live, target, verified.get(target))


def make_job(store: JobStore, aws: Aws, request: RollbackRequest, chosen: Plan,
             now: float) -> JobRecord:
    """The new rollback job's record, written (its first run not yet driven)."""
    bucket = aws.settings.incoming_bucket
    key = f"{request.team}/{request.app}"
    rec = JobRecord(job_id=job_id_for(bucket, key, f"rollback\0{uuid.uuid4().hex}"),
                    bucket=bucket, key=key, app_name=request.app, created_at=now,
                    updated_at=now, workflow=WORKFLOW, actor=request.actor,
                    reason=request.reason)
    rec.params = {"function_name": chosen.function_name, "team": request.team,
                  "to_version": chosen.to_version, "force": request.force,
                  "verified": chosen.verified is not None,
                  "code_sha256": chosen.verified.code_sha256 if chosen.verified else None,
                  "live_when_asked": chosen.live, "reason": request.reason,
                  "actor": request.actor}
    copy_execution(rec, start_execution(rec, now))
    store.create(rec)
    return rec
