"""``auto-lambda trace JOB``: a job's transitions as a timeline, and its X-Ray trace.

The timeline comes from the job record's history (always there); the X-Ray part
fetches the trace with ``BatchGetTraces`` and reports how many segments and
subsegments it holds and whether there is one transition subsegment per transition.
Reads only; never writes to the store or to X-Ray.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from orchestrator.cli.console import console as make_console
from orchestrator.config import Settings
from orchestrator.types import JsonObject

if TYPE_CHECKING:
    from orchestrator.aws.facade import Aws
    from orchestrator.jobs.record import JobRecord


def _trace_id_of(record: JobRecord) -> str | None:
    """The record's trace id (a whole AWSTraceHeader stored as one is reduced to its Root)."""
    # imported on use, for start-up time: other commands (and --help) must not load it
    from orchestrator.tracing.base import TraceHeader

    candidates = [record.trace_id, (record.snapshot or {}).get("trace_id")]
    candidates += [event.get("trace_id") for event in record.history]
    for value in candidates:
        root = TraceHeader.parse(value).root if isinstance(value, str) else None
        if root:
            return root
    return None


def fetch_xray(aws: Aws, trace_id: str, timeline: list[JsonObject]) -> JsonObject:
    """The trace summary, or ``{"trace_id", "found": False, "error", "error_code"}`` when
    X-Ray fails (the code is AWS's, or ours for transient faults)."""
    # imported on use, for start-up time: other commands (and --help) must not load it
    from orchestrator.aws.facade import error_code
    from orchestrator.tracing.timeline import summarize_trace

    try:
        resp = aws.traces.batch_get([trace_id])
    except Exception as exc:
        code = getattr(exc, "code", None) or error_code(exc) or type(exc).__name__
        return {"trace_id": trace_id, "found": False, "error": str(exc), "error_code": code}
    return summarize_trace(resp, trace_id, timeline)


def _clock(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, tz=_dt.UTC).strftime("%H:%M:%S.%f")[:-3]


def _timeline_table(rows: list[JsonObject]) -> Table:
    table = Table(title="transitions", title_justify="left")
    for name in ("#", "state", "from", "start (UTC)", "duration", "attempt", "outcome"):
        table.add_column(name, justify="right" if name in ("#", "duration", "attempt") else "left")
    for index, row in enumerate(rows, 1):
        duration = "running" if row["duration"] is None else f"{row['duration']:.3f}s"
        outcome = row["outcome"] or "-"
        if row["error"]:
            outcome = f"{outcome} [red]{row['error']}[/red]"
        state = row["state"] if row["event"] == "StateEntered" else f"redrive → {row['state']}"
        table.add_row(str(index), str(state), str(row["from_state"] or "-"),
                      _clock(row["start"]), duration, str(row["attempt"]), outcome)
    return table


def _print_xray(console: Console, xray: JsonObject | None) -> None:
    if xray is None:
        console.print("X-Ray: not fetched (no trace id, or --no-xray)")
        return
    if xray.get("error"):
        console.print(f"[yellow]X-Ray: could not fetch {xray['trace_id']} "
                      f"{escape('[' + str(xray.get('error_code')) + ']')}: "
                      f"{escape(str(xray['error']))}[/yellow]")
        return
    if not xray["found"]:
        console.print(f"[yellow]X-Ray: trace {xray['trace_id']} not found[/yellow] "
                      "(tracing off for this job, or segments not sent yet)")
        return
    verdict = ("[green]matches the transitions[/green]" if xray["matches"]
               else "[red]does not match the transitions[/red]")
    console.print(
        f"X-Ray trace {xray['trace_id']}: {xray['segments']} segment(s), "
        f"{xray['subsegments']} subsegment(s): {xray['transition_subsegments']} transition, "
        f"{xray['attempt_subsegments']} attempt, {xray['aws_subsegments']} AWS call; "
        f"{verdict} ({xray['transitions_expected']} expected)")
    if xray["missing"]:
        console.print(f"  missing: {', '.join(xray['missing'])}")
    if xray["unexpected"]:
        console.print(f"  not in the history: {', '.join(xray['unexpected'])}")


@click.command()
@click.argument("job")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"job_id","trace_id","timeline":[...],"xray":{...}|null}.')
@click.option("--xray/--no-xray", "with_xray", default=True, show_default=True,
              help="Also fetch the X-Ray trace and compare it with the history.")
def trace(job: str, as_json: bool, with_xray: bool) -> None:
    """The transitions of JOB (id or unique prefix) as a timeline, and its X-Ray trace.

    \b
    Example:
      auto-lambda trace 3f2a9c --no-xray
    """
    # imported on use, for start-up time: other commands (and --help) must not load it
    from orchestrator.aws.facade import Aws
    from orchestrator.jobs.store import JobStore
    from orchestrator.tracing.timeline import build_timeline

    aws = Aws(Settings.from_env())
    record = JobStore(aws).find(job)
    timeline = build_timeline(record.history)
    trace_id = _trace_id_of(record)
    xray = fetch_xray(aws, trace_id, timeline) if (with_xray and trace_id) else None
    if as_json:
        click.echo(json.dumps({"job_id": record.job_id, "trace_id": trace_id,
                               "timeline": timeline, "xray": xray}, default=str))
        return
    console = make_console()
    console.print(f"[bold]{record.job_id}[/bold]  app={record.app_name}  "
                  f"state={record.state}  trace={trace_id or '-'}")
    console.print(_timeline_table(timeline))
    if with_xray:
        _print_xray(console, xray)


commands = [trace]
