"""``auto-lambda prune``: delete old and failed published versions of the fleet's
functions (the same plan and executor a worker runs after each job,
``orchestrator.jobs.pruning``), or with ``--dry-run`` show what would go and why each
version is kept."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from orchestrator.cli.console import console as make_console
from orchestrator.config import Settings

if TYPE_CHECKING:
    from rich.table import Table

    from orchestrator.jobs.pruning import FunctionPrune


def plan_table(result: FunctionPrune, dry_run: bool) -> Table:
    from rich.markup import escape
    from rich.table import Table

    done = {**{v: "deleted" for v in result.deleted}, **{v: "already gone" for v in result.gone},
            **{v: "refused (an alias points at it)" for v, _ in result.refused}}
    title = (f"{result.target.function}  live={result.live or '-'}  "
             f"rollback target={result.rollback or '-'}")
    table = Table(title=escape(title), expand=False)
    for col in ("version", "", "why", "outcome"):
        table.add_column(col, overflow="fold")
    rows = [(v, "keep", why, "") for v, why in result.plan.keep]
    rows += [(v, "delete", why, done.get(v, "would delete" if dry_run else
                                         "not deleted: " + (result.deferred or "error")))
             for v, why in result.plan.delete]
    for version, verdict, why, outcome in sorted(rows, key=lambda r: -r[0]):
        style = "red" if verdict == "delete" else "green"
        table.add_row(str(version), f"[{style}]{verdict}[/{style}]", escape(why),
                      escape(outcome))
    return table


@click.command()
@click.option("--team", help="Only this team's functions.")
@click.option("--app", help="Only this app (with --team: that team's; else any team's).")
@click.option("--dry-run", is_flag=True, help="Show what would go and why the rest stays; "
              "delete nothing.")
@click.option("--keep", type=click.IntRange(1, 1000), default=None,
              help="Verified versions to keep per function [default: "
                   "AUTO_LAMBDA_KEEP_VERSIONS, 5].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def prune(team: str | None, app: str | None, dry_run: bool, keep: int | None,
          as_json: bool) -> None:
    """Delete published versions that failed verify, and verified ones past the newest
    KEEP, of every function auto-lambda made (of --team, --app).

    Never deleted: a version an alias points at (live, and the versions a rollout is
    shifting traffic to), the version a rollback would use (the newest verified one
    below live), a version whose job has not ended, a version no job names. Workers do
    the same after every job; this command catches up after a failure or a change of
    KEEP. Safe to repeat and to interrupt. Exit status 1 when some function could not be
    pruned.

    \b
    Example:
      auto-lambda prune --dry-run
      auto-lambda prune --team payments --app hello --keep 3
      auto-lambda prune --json | jq '.functions[].delete'
    """
    # imported on use, for start-up time: other commands (and --help) must not load it
    from orchestrator.aws.facade import Aws
    from orchestrator.cli.report import human_bytes
    from orchestrator.jobs.listing import ListQuery
    from orchestrator.jobs.pruning import Pruner

    ListQuery(team=team, app=app).validate()
    aws = Aws(Settings.from_env())
    pruner = Pruner(aws, keep=keep)
    console = make_console()

    def progress(result: FunctionPrune, version: int, outcome: str) -> None:
        if not as_json:
            click.echo(f"  {result.target.function}: version {version} {outcome}", err=True)

    results = []
    for target in pruner.targets(team, app):
        result = pruner.prune(target, dry_run=dry_run, progress=progress)
        results.append(result)
        if as_json:
            continue
        if result.error is not None:
            click.echo(f"error [{result.error['code']}] {target.function}: "
                       f"{result.error['message']}", err=True)
            continue
        if result.published:
            console.print(plan_table(result, dry_run))
        if result.deferred:
            click.echo(f"  nothing deleted now: {result.deferred}", err=True)
    freed = sum(r.plan.freed_bytes for r in results if dry_run or r.deleted)
    deleted = sum(len(r.deleted) for r in results)
    failed = [r for r in results if r.error is not None]
    if as_json:
        click.echo(json.dumps({"dry_run": dry_run, "keep": pruner.keep,
                               "functions": [r.to_json() for r in results],
                               "deleted": deleted, "freed_bytes": freed}, default=str))
    else:
        planned = sum(len(r.plan.delete) for r in results)
        summary = (f"{len(results)} function(s): would delete {planned} version(s), "
                   f"freeing {human_bytes(freed)}" if dry_run else
                   f"{len(results)} function(s): deleted {deleted} version(s), "
                   f"freed about {human_bytes(freed)}")
        click.echo(summary + (f"; {len(failed)} failed" if failed else ""))
    if failed:
        raise SystemExit(1)


commands = [prune]
