"""Turn job records into what people read: time spent per state and rich tables (the
``--json`` shape is ``JobRecord.to_json``). Pure formatting; no AWS calls.

Everything that comes from an upload or an error (keys, app names, messages, which may
hold ``[verify]`` or any other bracketed text) is escaped, so rich prints it as written
instead of reading it as markup."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from rich.markup import escape
from rich.table import Table

from orchestrator.jobs.listing import JobSummary
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.workflow import STEP_OF_STATE
from orchestrator.types import JsonObject

STATE_STYLES = {"verified": "green", "failed": "red", "retrying": "yellow"}


def state_durations(history: list[JsonObject], end: float | None = None
                    ) -> list[tuple[str, float]]:
    """Seconds spent in each state entered, in order (a state entered twice counts twice)."""
    entered = [(e["state"], float(e["time"])) for e in history
               if e.get("type") in {"ExecutionStarted", "StateEntered"}]
    out: list[tuple[str, float]] = []
    for i, (state, start) in enumerate(entered):
        if i + 1 < len(entered):
            stop = entered[i + 1][1]
        else:
            last = [float(e["time"]) for e in history]
            stop = end if end is not None else (max(last) if last else start)
        out.append((state, max(0.0, stop - start)))
    return out


def human_bytes(n: int | None) -> str:
    """A size as people read it: 812 B, 3.4 KB, 51.2 MB, 1.3 GB."""
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def fmt_time(ts: float | None) -> str:
    if not ts:
        return "-"
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%H:%M:%S.%f")[:-3]


def styled(state: str) -> str:
    style = STATE_STYLES.get(state)
    return f"[{style}]{state}[/{style}]" if style else escape(state)


def jobs_table(records: Sequence[JobRecord | JobSummary], title: str = "jobs") -> Table:
    table = Table(title=title, expand=False)
    for col in ("job", "app", "key", "state", "version", "error"):
        table.add_column(col, overflow="fold")
    for rec in records:
        err = f"{rec.error['code']}: {rec.error.get('message', '')}" if rec.error else ""
        table.add_row(rec.job_id[:12], escape(rec.app_name or "-"), escape(rec.key),
                      styled(rec.state), rec.published_version or "-", escape(err[:120]))
    return table


def history_table(rec: JobRecord, last: int = 0) -> Table:
    """The job's history; with ``last``, only its last ``last`` events (the title says how
    many came before)."""
    history = rec.history
    start = float(history[0]["time"]) if history else 0.0
    shown = history[-last:] if last and len(history) > last else history
    title = f"job {rec.job_id}  {escape(rec.key)}"
    if len(shown) < len(history):
        title += (f"  (last {len(shown):,} of {len(history):,} events; "
                  "--events 0 or --json for all)")
    table = Table(title=title)
    for col in ("time", "+s", "event", "state", "attempt", "error"):
        table.add_column(col, overflow="fold")
    for e in shown:
        err = e.get("error") or ""
        if err and e.get("cause"):
            err = f"{err}: {e['cause']}"
        table.add_row(fmt_time(e.get("time")), f"{float(e['time']) - start:.3f}",
                      str(e.get("type")), styled(str(e.get("state"))),
                      str(e.get("attempt", "")), escape(str(err)[:160]))
    return table


def _step_of_state() -> dict[str, str]:
    """Which step runs in which state, from the workflow declaration."""
    return dict(STEP_OF_STATE)


def durations_table(records: list[JobRecord]) -> Table:
    """Seconds each step took per job (time spent in the state that runs it)."""
    step_of = _step_of_state()
    steps = list(step_of.values())
    table = Table(title="seconds per step")
    table.add_column("app")
    for name in [*steps, "retrying", "total"]:
        table.add_column(name, justify="right")
    table.add_column("result")
    for rec in records:
        spent: dict[str, float] = {}
        for state, secs in state_durations(rec.history):
            label = step_of.get(state, state)
            spent[label] = spent.get(label, 0.0) + secs
        total = (rec.finished_at or rec.updated_at) - rec.created_at
        table.add_row(escape(rec.app_name or rec.key),
                      *[f"{spent[s]:.2f}" if s in spent else "-" for s in [*steps, "retrying"]],
                      f"{total:.2f}", styled(rec.state))
    return table
