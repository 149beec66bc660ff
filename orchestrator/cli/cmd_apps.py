"""``auto-lambda apps``: the fleet's apps, one row per function, with live version, last
result and code storage (``orchestrator.jobs.apps``)."""

from __future__ import annotations

import datetime as dt
import json

import click

from orchestrator.cli.console import console as make_console
from orchestrator.config import Settings


def _when(ts: float | None) -> str:
    if not ts:
        return "-"
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")


@click.command()
@click.option("--team", help="Only this team's apps.")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"apps": [...], "code_storage": {"used", "quota"}}.')
def apps(team: str | None, as_json: bool) -> None:
    """List the apps (functions) auto-lambda made: team, app, live version, published
    versions and their code, and the last job with its result (state, error code,
    when), plus the last verified and the last failed job.

    Reads Lambda (only functions tagged as auto-lambda's) and the jobs table's by-app
    index; an app whose every upload failed before it had a function is in `jobs`.

    \b
    Example:
      auto-lambda apps --team payments
      auto-lambda apps --json | jq '.apps[] | select(.last_job.state == "failed")'
    """
    # imported on use, for start-up time: other commands (and --help) must not load it
    from rich.markup import escape
    from rich.table import Table

    from orchestrator.aws.facade import Aws
    from orchestrator.cli.report import human_bytes, styled
    from orchestrator.jobs.apps import code_storage, list_apps
    from orchestrator.jobs.listing import ListQuery

    ListQuery(team=team).validate()
    aws = Aws(Settings.from_env())
    rows = list_apps(aws, team)
    storage = code_storage(aws)
    if as_json:
        click.echo(json.dumps({"apps": [r.to_json() for r in rows],
                               "code_storage": {"used": storage.used,
                                                "quota": storage.quota}}, default=str))
        return
    table = Table(title="apps", expand=False)
    for col in ("team", "app", "live", "versions", "code", "last job", "result", "error",
                "when", "last verified", "last failed"):
        table.add_column(col, overflow="fold")
    for row in rows:
        last = row.last
        table.add_row(
            escape(row.target.team), escape(row.target.app), row.live or "-",
            str(row.versions), human_bytes(row.code_bytes),
            last.job_id[:12] if last else "-", styled(last.state) if last else "-",
            escape(str((last.error or {}).get("code") or "")) if last else "",
            _when(last.finished_at or last.updated_at or last.created_at) if last else "-",
            row.last_verified.job_id[:12] if row.last_verified else "-",
            row.last_failed.job_id[:12] if row.last_failed else "-")
    make_console().print(table)
    held = human_bytes(sum(row.code_bytes for row in rows))
    if storage.used is not None and storage.quota:
        click.echo(f"these apps hold {held} of code; the region holds "
                   f"{human_bytes(storage.used)} of its {human_bytes(storage.quota)} quota "
                   f"({100 * storage.used / storage.quota:.1f} %)")
    else:
        click.echo(f"these apps hold {held} of code (Lambda gave no account figure)")


commands = [apps]
