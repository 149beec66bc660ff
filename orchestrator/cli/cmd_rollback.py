"""``auto-lambda rollback``: move an app's ``live`` alias back to a version published
earlier, as a new job of the rollback workflow.

A thin shell over ``orchestrator.jobs.rollback``: plan (which version; refusals with
their codes), make the job (who and why recorded), then enqueue it for the workers or
drive it here (``--here``), and optionally wait for it.
"""

from __future__ import annotations

import getpass
import json
import sys
import time
from typing import TYPE_CHECKING

import click

from orchestrator.config import Settings
from orchestrator.types import JsonObject

if TYPE_CHECKING:
    from orchestrator.aws.facade import Aws


@click.command()
@click.argument("app")
@click.option("--to", "to_version", default=None, metavar="VERSION",
              help="The version to move live to (default: the newest verified version "
                   "older than live).")
@click.option("--reason", required=True, help="Why: recorded with the job.")
@click.option("--force", is_flag=True, help="Allow a version that never passed verify.")
@click.option("--as", "actor", default=None, metavar="WHO",
              help="Record WHO ran it (default: the caller's AWS identity).")
@click.option("--here", is_flag=True, help="Drive the job in this process instead of "
              "enqueueing it for the workers.")
@click.option("--wait", "wait_", is_flag=True, help="Wait until the job ends.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds --wait waits.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def rollback(app: str, to_version: str | None, reason: str, force: bool, actor: str | None,
             here: bool, wait_: bool, timeout: float, as_json: bool) -> None:
    """Move APP's live alias (APP is <team>/<app>) back to an earlier version.

    Nothing is rebuilt: live moves to a version Lambda already holds, so this works
    after the upload's S3 version is gone. Triggers follow live. A version that never
    passed verify is refused (VersionNotVerified) unless --force.

    \b
    Example:
      auto-lambda rollback payments/hello --reason "500s after 42" --wait
      auto-lambda rollback payments/hello --to 7 --reason "back to last week's" --here
    """
    # imported on use, for start-up time: other commands (and --help) must not load it
    from orchestrator.aws.facade import Aws
    from orchestrator.intake.events import s3_event_body
    from orchestrator.jobs.replay import wait_terminal
    from orchestrator.jobs.rollback import RollbackRequest, make_job, parse_target, plan
    from orchestrator.jobs.store import JobStore

    if not reason.strip():
        raise click.UsageError("--reason must say why")
    settings = Settings.from_env()
    aws = Aws(settings)
    store = JobStore(aws)
    team, name = parse_target(app)
    request = RollbackRequest(team=team, app=name, reason=reason.strip(),
                              actor=actor or _caller(aws), to_version=to_version,
                              force=force)
    chosen = plan(aws, store, request)
    rec = make_job(store, aws, request, chosen, time.time())
    if here:
        from orchestrator.jobs.runtime import build_runtime

        _outcome, rec = build_runtime(settings, aws=aws).runner.resume(rec.job_id)
    else:
        from orchestrator.aws.queue import Queue

        Queue(aws, aws.queue_url(), "jobs").send(
            s3_event_body(rec.bucket, rec.key, job_id=rec.job_id))
        if wait_:
            rec = wait_terminal(store, [rec.job_id], timeout)[0]
    doc: JsonObject = {"job_id": rec.job_id, "plan": chosen.to_dict(), "state": rec.state,
                       "actor": rec.actor, "reason": rec.reason,
                       "error": rec.error, "enqueued": not here}
    if as_json:
        click.echo(json.dumps(doc, default=str))
    else:
        click.echo(f"rollback {rec.job_id}: {chosen.function_name} live "
                   f"{chosen.live or '-'} -> {chosen.to_version}"
                   f"{'' if chosen.verified else ' (forced: never verified)'}; {rec.state}"
                   + ("" if here or wait_ else " (enqueued for the workers)"))
        if rec.error:
            click.echo(f"  [{rec.error.get('code')}] {rec.error.get('message')}")
    if rec.is_terminal and rec.status != "SUCCEEDED":
        sys.exit(1)


def _caller(aws: Aws) -> str:
    """The caller's AWS identity, else the local user (recorded, never trusted)."""
    try:
        return aws.identity.caller_arn()
    except Exception:
        return f"local:{getpass.getuser()}"


commands = [rollback]
