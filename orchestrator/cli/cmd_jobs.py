"""``auto-lambda submit``, ``jobs``, ``show`` and ``reindex``: put work in, see what
happened, and keep older records listable."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from orchestrator.cli import params
from orchestrator.cli.console import console as make_console
from orchestrator.config import Settings
from orchestrator.types import JsonObject

if TYPE_CHECKING:
    from orchestrator.aws.facade import Aws


def _aws() -> Aws:
    # boto3 is imported here, not at module level: every command's start-up (and
    # --help) would otherwise pay for it.
    from orchestrator.aws.facade import Aws

    return Aws(Settings.from_env())


@click.command()
@click.argument("zip_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", help="Object name in the bucket (default: the file name).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def submit(zip_path: Path, name: str | None, as_json: bool) -> None:
    """Upload ZIP_PATH to the incoming bucket; a job starts from its S3 event.

    \b
    Example:
      auto-lambda submit hello.zip
      auto-lambda submit build/app.zip --name hello.zip --json
    """
    # imported on use, for start-up time: other commands (and --help) must not load it
    from orchestrator.intake.submit import submit_zip

    aws = _aws()
    ref = submit_zip(aws, zip_path, name)
    if as_json:
        click.echo(json.dumps({"bucket": ref.bucket, "key": ref.key, "job_id": ref.job_id,
                               "etag": ref.etag, "version_id": ref.version_id}))
    else:
        click.echo(f"uploaded s3://{ref.bucket}/{ref.key}  job {ref.job_id}")


@click.command()
@click.option("--state", help="Only jobs in this state (e.g. failed, verified).")
@click.option("--app", help="Only this app (its function name without the prefix).")
@click.option("--team", help="Only uploads under this folder of the bucket (team/app.zip).")
@click.option("--since", callback=params.duration, help="Only jobs created within DURATION "
              "(e.g. 30m, 2h, 7d).")
@click.option("--search", help="Only jobs whose key contains TEXT or whose id starts with it.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True,
              help="At most this many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print {\"jobs\": [...]}.")
def jobs(state: str | None, app: str | None, team: str | None, since: float | None,
         search: str | None, limit: int, as_json: bool) -> None:
    """List jobs, newest first, through the table's state and time indexes (no scan).

    \b
    Example:
      auto-lambda jobs --state failed --limit 20
      auto-lambda jobs --team payments --since 2h --json
    """
    import time

    # imported on use, for start-up time: other commands (and --help) must not load it
    from orchestrator.cli.report import jobs_table
    from orchestrator.jobs.listing import JobIndex, ListQuery, all_states
    from orchestrator.jobs.store import JobStore

    query = ListQuery(state=state, app=app, team=team, search=search, limit=limit,
                      since=time.time() - since if since is not None else None)
    query.validate(all_states())
    aws = _aws()
    page = JobIndex(aws).page(query)
    if as_json:
        # The documented --json shape carries each job's history, which the index does
        # not project: read the page's records (one batch call per 100), then each one's
        # history from the history table, page by page.
        records = JobStore(aws).get_many([row.job_id for row in page.jobs])
        click.echo(json.dumps({"jobs": [r.to_json() for r in records]}, default=str))
        return
    make_console().print(jobs_table(page.jobs))
    if page.next_cursor:
        click.echo(f"showing the newest {len(page.jobs)}; more with --limit or --since",
                   err=True)


@click.command()
@click.argument("job")
@click.option("--json", "as_json", is_flag=True,
              help="Print the job as one JSON document, with every history event.")
@click.option("--events", "last", type=int, default=200, show_default=True,
              help="History events in the table: the last N (0: all). --json prints all.")
def show(job: str, as_json: bool, last: int) -> None:
    """One job and its history (JOB may be a unique prefix of the id). The history is
    read page by page from the history table.

    \b
    Example:
      auto-lambda show 3f2a9c
      auto-lambda show 3f2a9c --json | jq '.history | length'
    """
    # imported on use, for start-up time: other commands (and --help) must not load it
    from rich.markup import escape

    from orchestrator.cli.report import durations_table, history_table
    from orchestrator.jobs.logs import job_log_uri
    from orchestrator.jobs.store import JobStore

    aws = _aws()
    store = JobStore(aws)
    rec = store.find(job)
    log_uri = job_log_uri(aws.settings, rec)
    if as_json:
        summary = rec.to_json(with_history=False)
        summary["log_uri"] = log_uri
        _write_job_json(summary, store.history_pages(rec))
        return
    console = make_console()
    console.print(f"[bold]{rec.job_id}[/bold]  app={escape(str(rec.app_name))}  "
                  f"state={rec.state}  "
                  f"version={rec.published_version or '-'}  redrives={rec.redrive_count}")
    if rec.function_arn:
        console.print(f"function: {rec.function_arn}")
    if rec.workflow != "deployment" or rec.restarted_from:
        who = f"  by {escape(rec.actor)}" if rec.actor else ""
        why = f"  reason: {escape(rec.reason)}" if rec.reason else ""
        again = f"  restarts {rec.restarted_from}" if rec.restarted_from else ""
        console.print(f"workflow: {rec.workflow}{who}{why}{again}", highlight=False)
    if rec.uploader:
        console.print(f"uploaded by: {escape(str(rec.uploader.get('principal') or '?'))} "
                      f"from {escape(str(rec.uploader.get('source_ip') or '?'))}",
                      highlight=False)
    if log_uri:
        console.print(f"build log: {log_uri}  (auto-lambda logs {rec.job_id[:12]})",
                      highlight=False)
    triggers = (rec.snapshot.get("data") or {}).get("triggers")
    if isinstance(triggers, dict):
        from orchestrator.steps.triggers.reconcile import TriggerReport, report_lines

        for line in report_lines(TriggerReport.from_json(triggers)):
            console.print(f"trigger {escape(line)}", highlight=False)
    if rec.error:
        console.print(f"[red]error {escape(str(rec.error.get('code')))}[/red]: "
                      f"{escape(str(rec.error.get('message')))}")
    build = (rec.snapshot.get("data") or {}).get("build") or {}
    if build:
        installed = ", ".join(f"{i['name']} {i['version']}" for i in build.get("installed", []))
        console.print(f"installed: {installed or '(no dependencies)'}", highlight=False)
        left = ", ".join(f"{i['name']} {i['version']}".strip() for i in build.get("left_out", []))
        if left:
            console.print(f"left out (the runtime provides them): {left}", highlight=False)
    console.print(history_table(rec, last=last))
    console.print(durations_table([rec]))


def _write_job_json(summary: JsonObject, pages: Iterable[list[JsonObject]]) -> None:
    """One job as JSON, its history written page by page as it is read."""
    head = json.dumps(summary, default=str)
    click.echo(head[:-1] + (', "history": [' if summary else '"history": ['), nl=False)
    first = True
    for page in pages:
        text = ", ".join(json.dumps(event, default=str) for event in page)
        if text:
            click.echo(("" if first else ", ") + text, nl=False)
            first = False
    click.echo("]}")


@click.command()
@click.option("--dry-run", is_flag=True,
              help="Count the records that lack the key; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def reindex(dry_run: bool, as_json: bool) -> None:
    """Give job records from before the listing indexes their index keys.

    Records written by an earlier release have no `created_week`, so `jobs` and the
    console's job list (newest first) do not show them; `jobs --state S` does. This
    scans the jobs table once and sets the key from each record's `created_at`, one
    conditional update per record, safe beside running workers and safe to repeat.
    Records with an app but no `app_key` (the by-app index: `apps`, and what pruning
    knows of each version) get it too, with the version their deploy step produced.
    Exit status 1 if a record has no usable `created_at` (listed, left as it is).

    \b
    Example:
      auto-lambda reindex --dry-run
      auto-lambda reindex --json
    """
    # imported on use, for start-up time: other commands (and --help) must not load it
    from orchestrator.jobs.reindex import ReindexReport
    from orchestrator.jobs.reindex import reindex as run

    def progress(report: ReindexReport) -> None:
        if not as_json:
            click.echo(f"  {report.scanned} without the key so far, {report.updated} updated",
                       err=True)

    report = run(_aws(), dry_run=dry_run, progress=progress)
    if as_json:
        click.echo(json.dumps(report.as_json()))
    else:
        verb = "would update" if dry_run else "updated"
        count = report.scanned - len(report.unusable) if dry_run else report.updated
        click.echo(f"{report.scanned} record(s) without created_week: {verb} {count}, "
                   f"{report.raced} saved meanwhile by a worker, "
                   f"{len(report.unusable)} without a usable created_at; "
                   f"{'would give' if dry_run else 'gave'} {report.app_keys} their app key")
        for job_id in report.unusable:
            click.echo(f"  no created_at: {job_id}")
    if report.unusable:
        raise SystemExit(1)


commands = [submit, jobs, show, reindex]
