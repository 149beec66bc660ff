"""Reading traces back: a job's history as a timeline of transitions, and a summary of
its X-Ray trace compared with that timeline. Used by ``auto-lambda trace``.

Pure functions over plain dicts (history events as ``HistoryEvent.to_dict()`` and
``BatchGetTraces`` responses); no AWS calls, no printing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator

from orchestrator.tracing.names import TRANSITION_PREFIX, transition_name
from orchestrator.types import JsonMapping, JsonObject

_OUTCOMES = {
    "TaskSucceeded": "succeeded",
    "TaskFailed": "failed",
    "TaskTimedOut": "timed out",
    "RetryScheduled": "retry scheduled",
    "ExecutionSucceeded": "execution succeeded",
    "ExecutionFailed": "execution failed",
}
_TERMINAL = {"ExecutionSucceeded", "ExecutionFailed"}


def build_timeline(history: Iterable[JsonMapping]) -> list[JsonObject]:
    """One row per transition (StateEntered) or redrive: state, start, duration until
    the next row (None while the job is still there), attempt, outcome, error code."""
    rows: list[JsonObject] = []
    previous: str | None = None
    last_time: float | None = None
    terminal = False
    for ev in history:
        kind = str(ev.get("type"))
        time = float(ev.get("time") or 0.0)
        last_time = time
        if kind in ("StateEntered", "ExecutionRedriven"):
            row: JsonObject = {
                "event": kind, "state": ev.get("state"), "from_state": previous,
                "start": time, "duration": None, "attempt": int(ev.get("attempt") or 1),
                "outcome": "redriven" if kind == "ExecutionRedriven" else None,
                "error": None,
                "transition": (transition_name(previous, str(ev.get("state")))
                               if kind == "StateEntered" else None),
            }
            if kind == "ExecutionRedriven":
                row["redrive_count"] = (ev.get("details") or {}).get("redrive_count")
            else:
                previous = str(ev.get("state"))
            if rows:
                rows[-1]["duration"] = time - rows[-1]["start"]
            rows.append(row)
            terminal = False
            continue
        if not rows:
            continue
        row = rows[-1]
        if kind == "TaskStarted":
            row["attempt"] = max(row["attempt"], int(ev.get("attempt") or 1))
        if kind in _OUTCOMES:
            row["outcome"] = _OUTCOMES[kind]
        if ev.get("error"):
            row["error"] = ev.get("error")
        terminal = terminal or kind in _TERMINAL
    if rows and terminal and last_time is not None:
        rows[-1]["duration"] = last_time - rows[-1]["start"]
    return rows


def documents(response: JsonMapping, trace_id: str) -> Iterator[JsonObject]:
    """The segment documents of ``trace_id`` in a ``BatchGetTraces`` response."""
    for trace in response.get("Traces") or []:
        if trace.get("Id") not in (None, trace_id):
            continue
        for seg in trace.get("Segments") or []:
            try:
                doc = json.loads(seg.get("Document") or "")
            except ValueError:
                continue
            if isinstance(doc, dict) and doc.get("trace_id", trace_id) == trace_id:
                yield doc


def _walk(doc: JsonMapping) -> Iterator[JsonMapping]:
    for sub in doc.get("subsegments") or []:
        yield sub
        yield from _walk(sub)


def summarize_trace(response: JsonMapping, trace_id: str,
                    timeline: list[JsonObject]) -> JsonObject:
    """Count what the trace holds and check it has one transition span per transition."""
    segments = 0
    subsegments: list[JsonMapping] = []
    for doc in documents(response, trace_id):
        if doc.get("type") == "subsegment":  # streamed out on its own
            subsegments.append(doc)
        else:
            segments += 1
        subsegments.extend(_walk(doc))
    names = [str(s.get("name")) for s in subsegments]
    found = Counter(n for n in names if n.startswith(TRANSITION_PREFIX))
    expected = Counter(r["transition"] for r in timeline if r.get("transition"))
    attempts = sum(1 for s in subsegments
                   if (s.get("annotations") or {}).get("kind") == "attempt")
    aws_calls = sum(1 for s in subsegments if s.get("namespace") == "aws")
    errors = sum(1 for s in subsegments if "error_code" in (s.get("annotations") or {}))
    return {
        "trace_id": trace_id,
        "found": segments + len(subsegments) > 0,
        "segments": segments,
        "subsegments": len(subsegments),
        "transition_subsegments": sum(found.values()),
        "attempt_subsegments": attempts,
        "aws_subsegments": aws_calls,
        "error_subsegments": errors,
        "transitions_expected": sum(expected.values()),
        "matches": found == expected,
        "missing": sorted((expected - found).elements()),
        "unexpected": sorted((found - expected).elements()),
    }
