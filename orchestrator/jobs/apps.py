"""The fleet's apps, one row per function: where ``live`` points, the last job and its
result, the last verified and the last failed job, and the code the function's versions
hold against the region's code storage quota.

The functions come from Lambda (``orchestrator.jobs.fleet``: only those auto-lambda made),
``live`` from the deploy step's ``live_version``, the jobs from the ``by-app`` index of the
jobs table (newest first, read only as far as the three jobs a row shows). Reads only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from orchestrator.aws.errors import AwsError
from orchestrator.aws.facade import Aws
from orchestrator.jobs.fleet import Target, fleet_functions
from orchestrator.jobs.listing import JobIndex, JobSummary
from orchestrator.jobs.workflow import FAILED_STATE, SUCCEEDED_STATE
from orchestrator.steps.deploy.step import live_version
from orchestrator.types import JsonObject

# Jobs of one app read at most, looking for its last verified and last failed job.
MAX_JOBS_READ = 500


@dataclass(frozen=True)
class AppRow:
    target: Target
    live: str | None
    versions: int          # published versions (not $LATEST)
    code_bytes: int        # the code all of them hold, $LATEST included
    last: JobSummary | None
    last_verified: JobSummary | None
    last_failed: JobSummary | None

    def to_json(self) -> JsonObject:
        def job(row: JobSummary | None) -> JsonObject | None:
            if row is None:
                return None
            return {"job_id": row.job_id, "state": row.state,
                    "code": (row.error or {}).get("code"),
                    "version": row.deployed_version or row.published_version,
                    "created_at": row.created_at,
                    "finished_at": row.finished_at}

        return {"team": self.target.team, "app": self.target.app,
                "function": self.target.function, "live_version": self.live,
                "versions": self.versions, "code_bytes": self.code_bytes,
                "last_job": job(self.last), "last_verified": job(self.last_verified),
                "last_failed": job(self.last_failed)}


@dataclass(frozen=True)
class Storage:
    """The region's Lambda code storage: used and the quota (None where unreadable)."""

    used: int | None
    quota: int | None


def app_row(aws: Aws, index: JobIndex, target: Target) -> AppRow:
    configs = aws.functions.list_versions(target.function)
    published = [c for c in configs if str(c.get("Version", "")).isdigit()]
    last = last_verified = last_failed = None
    for read, row in enumerate(index.app_jobs(target.team, target.app), start=1):
        last = last or row
        if row.state == SUCCEEDED_STATE and last_verified is None:
            last_verified = row
        if row.state == FAILED_STATE and last_failed is None:
            last_failed = row
        if (last_verified and last_failed) or read >= MAX_JOBS_READ:
            break
    return AppRow(target, live_version(aws, target.function), len(published),
                  sum(int(c.get("CodeSize") or 0) for c in configs),
                  last, last_verified, last_failed)


def list_apps(aws: Aws, team: str | None = None,
              progress: Callable[[AppRow], None] | None = None) -> list[AppRow]:
    """One row per function of the fleet (of ``team``), by function name."""
    index = JobIndex(aws)
    rows = []
    for target in fleet_functions(aws, team):
        row = app_row(aws, index, target)
        rows.append(row)
        if progress is not None:
            progress(row)
    return rows


def code_storage(aws: Aws) -> Storage:
    """What Lambda reports for the region's code storage (GetAccountSettings)."""
    try:
        found = aws.functions.account_code_storage()
    except AwsError:
        found = None  # a console or a listing goes on without the figure
    return Storage(*found) if found is not None else Storage(None, None)
