"""``auto-lambda replay``: redrive failed jobs, restart them, or move DLQ messages back.

A thin shell over ``orchestrator.jobs.replay``: gather, plan, print the plan (``--dry-run``
stops there), execute, and optionally wait for the replayed jobs to end.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace

import click

from orchestrator.cli import params
from orchestrator.config import Settings
from orchestrator.types import JsonObject


@click.command()
@click.argument("jobs", nargs=-1)
@click.option("--failed", is_flag=True, help="Every failed job (narrow with --since/--error).")
@click.option("--since", "since", default=None, callback=params.duration,
              help="With --failed: failed within DURATION (e.g. 30m, 2h, 1d).")
@click.option("--error", "error_code", default=None, help="With --failed: only this error code.")
@click.option("--dlq", is_flag=True, help="Move the DLQ's messages back to the jobs queue.")
@click.option("--restart", is_flag=True, help="A new execution from the start instead of a "
              "redrive (same job id; the old run is kept in previous_runs).")
@click.option("--here", is_flag=True, help="Drive replayed jobs in this process instead of "
              "re-enqueueing them for the workers.")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option("--wait", "wait_", is_flag=True, help="Wait until the replayed jobs end.")
@click.option("--timeout", default=900.0, show_default=True, help="Seconds --wait waits.")
@click.option("--reason", default=None, help="Why: recorded with who replayed on the job's "
              "history (the replayed run's first event).")
@click.option("--as", "as_name", default=None, help="Your name, recorded beside the caller's "
              "AWS identity (default: AUTO_LAMBDA_ACTOR; the local user when AWS cannot "
              "say who you are).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def replay(jobs: tuple[str, ...], failed: bool, since: float | None, error_code: str | None,
           dlq: bool, restart: bool, here: bool, dry_run: bool, wait_: bool, timeout: float,
           reason: str | None, as_name: str | None, as_json: bool) -> None:
    """Replay failed jobs (JOB... or --failed) or dead-lettered messages (--dlq).

    A redrive continues a failed job at the step that failed, with the same job id and
    input, as Step Functions' redrive: steps that succeeded are not rerun. The job is
    then re-enqueued so any worker picks it up (or run here with --here). A job whose
    app object changed since it ran needs --restart.

    \b
    Example:
      auto-lambda replay --failed --since 2h --error AwsThrottled --dry-run
      auto-lambda replay 3f2a9c --restart --wait --reason "index was down"
      auto-lambda replay --dlq
    """
    # imported on use, for start-up time: other commands (and --help) must not load it
    from orchestrator.aws.facade import Aws
    from orchestrator.jobs.replay import (
        Executor,
        Request,
        gather,
        plan,
        release_dlq,
        wait_terminal,
        who_replays,
    )
    from orchestrator.jobs.store import JobStore

    if not (jobs or failed or dlq):
        raise click.UsageError("name JOB ids, or use --failed or --dlq")
    if (since is not None or error_code) and not failed:
        raise click.UsageError("--since and --error narrow --failed")
    request = Request(job_ids=tuple(jobs), failed=failed,
                      since_seconds=since,
                      error_code=error_code, dlq=dlq, restart=restart, here=here)
    settings = Settings.from_env()
    aws = Aws(settings)
    store = JobStore(aws)
    dlq_url = aws.queue_url(settings.dlq_name) if dlq else None
    facts = gather(request, store, aws, time.time(), dlq_url=dlq_url)
    actions = plan(request, facts)
    if dry_run:
        if dlq_url:
            release_dlq(aws, dlq_url, facts.dlq)
        from orchestrator.jobs.trigger_plans import trigger_plans

        triggers = trigger_plans(aws, store.get, actions)
        _print(as_json, {"dry_run": True, "actions": [a.to_dict() for a in actions],
                         "triggers": triggers},
               ([_line(a.to_dict()) for a in actions] or ["nothing to replay"])
               + [f"  triggers of {job}: {change}" for job, changes in triggers.items()
                  for change in changes])
        return

    from orchestrator.jobs.runtime import build_runtime

    rt = build_runtime(settings, aws=aws)
    request = replace(request, actor=who_replays(aws, as_name), reason=reason)
    results = Executor(rt.runner, aws, aws.queue_url(), dlq_url, here=here,
                       note=request.note()).apply(actions, facts)
    doc: JsonObject = {"dry_run": False, "actions": [a.to_dict() for a in actions],
                           "results": [r.to_dict() for r in results]}
    lines = [f"{'ok  ' if r.ok else '--  '}{_line(r.action.to_dict())}: {r.detail}"
             for r in results] or ["nothing to replay"]
    replayed = [str(r.job_id) for r in results
                if r.ok and r.action.kind in ("redrive", "restart") and r.job_id]
    finals = []
    if wait_ and replayed:
        finals = wait_terminal(store, replayed, timeout)
        doc["jobs"] = [r.to_json() for r in finals]
        lines += [f"{r.job_id}  {r.key}  {r.state}"
                  + (f"  [{(r.error or {}).get('code')}]" if r.error else "") for r in finals]
    _print(as_json, doc, lines)
    bad = any(not r.ok and r.action.kind != "skip" for r in results)
    skipped_named = any(r.action.kind == "skip" and r.job_id in jobs for r in results)
    unfinished = any(r.state != "verified" for r in finals)
    if bad or skipped_named or unfinished:
        sys.exit(1)


def _line(action: JsonObject) -> str:
    who = action.get("job_id") or action.get("message_id") or ""
    key = f"  {action['key']}" if action.get("key") else ""
    return f"{action['kind']:<9} {who}{key}  {action['reason']}"


def _print(as_json: bool, doc: JsonObject, lines: list[str]) -> None:
    if as_json:
        click.echo(json.dumps(doc, default=str))
    else:
        for line in lines:
            click.echo(line)


commands = [replay]
