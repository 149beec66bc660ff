"""Where a job's build log is, and reading it back (``orchestrator.steps.buildlog``
writes it): what ``show``, ``auto-lambda logs``, the console and a job's result object
point at. A rejected message (``rejected-…``) never ran a step and has no log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.steps.buildlog import log_uri, read_log

if TYPE_CHECKING:
    from orchestrator.aws.facade import Aws
    from orchestrator.config import Settings
    from orchestrator.jobs.record import JobRecord


def job_log_uri(settings: Settings, rec: JobRecord) -> str | None:
    """``s3://<artifacts bucket>/logs/<team>/<app>/<job_id>.log``; None for a job that
    never ran a step (a rejected message)."""
    if rec.job_id.startswith("rejected-") or not rec.key:
        return None
    return log_uri(settings, rec.key, rec.job_id)


def read_job_log(aws: Aws, rec: JobRecord) -> str | None:
    """The job's build log; None when it has none (yet)."""
    if job_log_uri(aws.settings, rec) is None:
        return None
    return read_log(aws, rec.key, rec.job_id)
