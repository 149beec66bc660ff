"""Pruning a function's published versions: gather the facts, plan, delete.

``gather`` reads what Lambda holds (the published versions and their code size, every
alias and its routing weights) and what the jobs say about each version (the ``by-app``
index of the jobs table: every job of the app, newest first, with the version its deploy
step produced); ``orchestrator.jobs.prune`` decides; ``execute`` deletes through the
Lambda door. A dry run is the same plan, not executed.

What a job says about its version: a job still running pins it (its version may be about
to verify); a verified job makes it verified; a job that ended otherwise makes it failed.
One version can be named by several jobs (deploy reuses a version that already runs the
same code and configuration): any running job wins, then any verified one. A version no
job names (a job that published and crashed before it recorded the version) is kept.
Only the app's newest ``MAX_JOBS_READ`` jobs are read (a few queries, whatever the app's
age): a version only older jobs name is kept as unnamed.

While another job of the app is at its deploy step without a recorded version, nothing is
deleted: deploy may be about to reuse one of the versions (the next job's end, or the
command, prunes then). The job that just ended is passed in by the runner and trusted over
the index, whose answers lag the table.

Safe to repeat and to interrupt: each delete removes one version and a version already
gone is success (a repeat after a lost answer, or another worker's prune); a delete that
Lambda refuses because an alias now points at the version is skipped. A crash mid-way
leaves a plan half done; the next run plans again from what is left. The runner's hook
(``after_job``) never raises: a prune that fails is logged and done by the next job's
end or by ``auto-lambda prune``.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from orchestrator.aws.errors import AwsError
from orchestrator.aws.facade import Aws
from orchestrator.aws.functions import Alias
from orchestrator.codes import Code
from orchestrator.config import LIVE_ALIAS
from orchestrator.errors import AutoLambdaError
from orchestrator.jobs.fleet import Target, fleet_functions, target_of
from orchestrator.jobs.listing import JobIndex, JobSummary
from orchestrator.jobs.prune import PrunePlan, Verdict, Version, plan_prune, rollback_target
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.workflow import DEPLOYMENT, STEP_OF_STATE, SUCCEEDED_STATE
from orchestrator.tenancy import team_of_key
from orchestrator.types import JsonObject
from states import Status

log = logging.getLogger(__name__)

# States in which a job may be about to reuse a published version (deploy runs there, or
# it waits to run it again).
_DEPLOYING = frozenset({s for s, step in STEP_OF_STATE.items() if step == "deploy"}
                       | {DEPLOYMENT.retrying_state})
_TERMINAL_STATUS = frozenset({Status.SUCCEEDED.value, Status.FAILED.value})

# The newest jobs of an app read per prune, and how many a query returns.
MAX_JOBS_READ = 2_000
_PAGE = 500
# What Lambda answers when asked to delete a version an alias points at.
_REFUSALS = frozenset({"ResourceConflictException", "ConflictException"})

Progress = Callable[["FunctionPrune", int, str], None]


@dataclass
class FunctionPrune:
    """What was found, planned and done for one function."""

    target: Target
    plan: PrunePlan = field(default_factory=PrunePlan)
    live: str | None = None
    aliases: dict[str, Alias] = field(default_factory=dict)
    rollback: int | None = None
    published: int = 0
    deferred: str | None = None  # why nothing is deleted now
    deleted: list[int] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)  # already gone: success all the same
    refused: list[tuple[int, str]] = field(default_factory=list)
    error: JsonObject | None = None

    @property
    def done(self) -> bool:
        return self.error is None and not self.refused

    def to_json(self) -> JsonObject:
        outcome = {**{v: "deleted" for v in self.deleted}, **{v: "gone" for v in self.gone},
                   **{v: "refused: " + why for v, why in self.refused}}
        return {
            "team": self.target.team, "app": self.target.app,
            "function": self.target.function, "live": self.live,
            "aliases": {name: {"version": a.version, "weights": a.weights}
                        for name, a in sorted(self.aliases.items())},
            "rollback_target": self.rollback, "published": self.published,
            "keep": [{"version": v, "why": why} for v, why in self.plan.keep],
            "delete": [{"version": v, "why": why, "outcome": outcome.get(v)}
                       for v, why in self.plan.delete],
            "freed_bytes": self.plan.freed_bytes, "deferred": self.deferred,
            "error": self.error}


def verdicts(jobs: Iterable[JobSummary], ended: JobRecord | None = None
             ) -> tuple[dict[int, Verdict], str | None]:
    """What the jobs say about each version they name, and why deletion must wait
    (another job at its deploy step), if it must. ``ended``: the job that just ended,
    trusted over its index row."""
    running: set[int] = set()
    verified: set[int] = set()
    failed: set[int] = set()
    wait: str | None = None
    rows: list[tuple[str, str, str, str | None]] = []  # (job id, state, status, version)
    for row in jobs:
        if ended is not None and row.job_id == ended.job_id:
            continue
        rows.append((row.job_id, row.state, row.status or "",
                     row.deployed_version or row.published_version))
    if ended is not None:
        rows.append((ended.job_id, ended.state, ended.status,
                     ended.deployed_version or ended.published_version))
    for job_id, state, status, version in rows:
        finished = status in _TERMINAL_STATUS
        if version is None or not version.isdigit():
            if not finished and state in _DEPLOYING and wait is None:
                wait = f"job {job_id} of this app is deploying and may reuse a version"
            continue
        number = int(version)
        if not finished:
            running.add(number)
        elif state == SUCCEEDED_STATE:
            verified.add(number)
        else:
            failed.add(number)
    out: dict[int, Verdict] = {}
    for number in failed:
        out[number] = Verdict.FAILED
    for number in verified:
        out[number] = Verdict.VERIFIED
    for number in running:
        out[number] = Verdict.UNKNOWN
    return out, wait


class Pruner:
    """Prunes functions of one fleet (its Settings' prefix) through the doors."""

    def __init__(self, aws: Aws, *, keep: int | None = None) -> None:
        self.aws = aws
        self.keep = keep if keep is not None else aws.settings.keep_versions
        self.index = JobIndex(aws)

    # ---- which functions ----
    def target_of(self, team: str, app: str) -> Target:
        return target_of(self.aws, team, app)

    def targets(self, team: str | None = None, app: str | None = None) -> list[Target]:
        """The fleet's functions (``orchestrator.jobs.fleet``): never one auto-lambda
        did not make."""
        return fleet_functions(self.aws, team, app)

    # ---- plan ----
    def gather(self, target: Target, ended: JobRecord | None = None) -> FunctionPrune:
        """The facts and the plan for one function (reads only)."""
        result = FunctionPrune(target)
        lam = self.aws.functions
        configs = [c for c in lam.list_versions(target.function)
                   if str(c.get("Version", "")).isdigit()]
        result.published = len(configs)
        if not configs:
            return result
        result.aliases = lam.list_aliases(target.function)
        live_alias = result.aliases.get(LIVE_ALIAS)
        result.live = live_alias.version if live_alias else None
        pinned = {int(v) for a in result.aliases.values()
                  for v in (a.version, *a.weights) if v.isdigit()}
        jobs = itertools.islice(self.index.app_jobs(target.team, target.app, page_size=_PAGE),
                                MAX_JOBS_READ)
        said, result.deferred = verdicts(jobs, ended)
        versions = [Version(int(c["Version"]), said.get(int(c["Version"]), Verdict.UNKNOWN),
                            int(c.get("CodeSize") or 0)) for c in configs]
        live = int(result.live) if result.live and result.live.isdigit() else None
        result.rollback = rollback_target(versions, live)
        result.plan = plan_prune(versions, alias_targets=pinned, live=live, keep=self.keep)
        return result

    # ---- execute ----
    def execute(self, result: FunctionPrune, progress: Progress | None = None
                ) -> FunctionPrune:
        """Delete what ``result.plan`` says (nothing while ``deferred``)."""
        if result.deferred or result.error is not None:
            return result
        for number, _why in result.plan.delete:
            try:
                if self.aws.functions.delete_version(result.target.function, str(number)):
                    result.deleted.append(number)
                    outcome = "deleted"
                else:
                    result.gone.append(number)
                    outcome = "gone"
            except AwsError as exc:
                if exc.code != Code.AwsConflict and exc.aws_code not in _REFUSALS:
                    raise
                # An alias was moved onto it since the plan was made: Lambda keeps it.
                result.refused.append((number, str(exc.message)[:200]))
                outcome = "refused"
            log.info("prune %s: version %d %s", result.target.function, number, outcome)
            if progress is not None:
                progress(result, number, outcome)
        return result

    def prune(self, target: Target, *, dry_run: bool = False, ended: JobRecord | None = None,
              progress: Progress | None = None) -> FunctionPrune:
        """Plan and (unless ``dry_run``) delete; an error is kept in the result, coded."""
        result = FunctionPrune(target)
        try:
            result = self.gather(target, ended)
            if not dry_run:
                self.execute(result, progress)
        except AutoLambdaError as exc:
            result.error = {"code": exc.code, "message": str(exc.message)[:500],
                            "hint": exc.hint}
        return result

    # ---- the runner's hook ----
    def after_job(self, rec: JobRecord) -> FunctionPrune | None:
        """Prune the function of a job that just ended. Never raises: pruning must not
        change a job's result, and what it leaves is pruned at the next job's end or by
        ``auto-lambda prune``."""
        if not rec.app_name or not rec.is_terminal:
            return None
        try:
            target = self.target_of(team_of_key(rec.key), rec.app_name)
            result = self.prune(target, ended=rec)
        except Exception:
            log.warning("job %s: pruning the versions of %s failed; the next job or "
                        "`auto-lambda prune` does it", rec.job_id, rec.app_name, exc_info=True)
            return None
        if result.error is not None:
            log.warning("job %s: pruning %s failed [%s]: %s", rec.job_id,
                        target.function, result.error["code"], result.error["message"])
        elif result.deleted or result.deferred:
            log.info("job %s: pruned %s: deleted %s%s", rec.job_id, target.function,
                     result.deleted or "nothing",
                     f" (deferred: {result.deferred})" if result.deferred else "")
        return result
