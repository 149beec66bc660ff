"""``auto-lambda logs``: print a job's build log, the one object per job in the artifacts
bucket that each step adds its output to (``orchestrator.steps.buildlog``)."""

from __future__ import annotations

import json

import click

from orchestrator.config import Settings
from orchestrator.errors import BuildLogMissing


@click.command()
@click.argument("job")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"job_id", "log_uri", "log"} (log: the text, null when none).')
def logs(job: str, as_json: bool) -> None:
    """Print JOB's build log (JOB may be a unique prefix of the id): each step's run with
    the installer's output, the import check, the smoke events' stdout and stderr and the
    traceback of a failure, redacted and capped. Exit status 1 when there is none yet.

    \b
    Example:
      auto-lambda logs 3f2a9c
      auto-lambda logs 3f2a9c --json | jq -r .log_uri
    """
    # imported on use, for start-up time: other commands (and --help) must not load them
    from orchestrator.aws.facade import Aws
    from orchestrator.jobs.logs import job_log_uri, read_job_log
    from orchestrator.jobs.store import JobStore

    aws = Aws(Settings.from_env())
    rec = JobStore(aws).find(job)
    text = read_job_log(aws, rec)
    uri = job_log_uri(aws.settings, rec)
    if as_json:
        click.echo(json.dumps({"job_id": rec.job_id, "log_uri": uri, "log": text}))
        if text is None:
            raise SystemExit(1)
        return
    if text is None:
        raise BuildLogMissing(
            f"job {rec.job_id} has no build log" + (f" at {uri}" if uri else ""),
            hint="a step adds its part when it ends; a rejected message has none"
            if uri else "the message was rejected before any step ran")
    click.echo(text, nl=not text.endswith("\n"))


commands = [logs]
