"""The ``trace`` command's pure parts: history → timeline rows, and a BatchGetTraces
response compared with those rows."""

from __future__ import annotations

import json
from typing import Any

from orchestrator.tracing.timeline import build_timeline, summarize_trace

TRACE = "1-5759e988-bd862e3fe1be46a994272793"


def ev(type_: str, state: str, time: float, attempt: int = 1, **extra: Any) -> dict[str, Any]:
    return {"type": type_, "state": state, "time": time, "attempt": attempt, **extra}


FAILED_THEN_REDRIVEN = [
    ev("ExecutionStarted", "received", 10.0),
    ev("StateEntered", "received", 10.0),
    ev("TaskStarted", "received", 10.5),
    ev("TaskSucceeded", "received", 12.0),
    ev("StateExited", "received", 12.0),
    ev("StateEntered", "fetched", 12.0),
    ev("TaskStarted", "fetched", 12.0),
    ev("TaskFailed", "fetched", 13.0, error="AwsThrottled", cause="slow down"),
    ev("RetryScheduled", "fetched", 13.0, error="AwsThrottled", details={"delay": 2.0}),
    ev("StateExited", "fetched", 13.0),
    ev("StateEntered", "retrying", 13.0, 2),
    ev("StateExited", "retrying", 15.0, 2),
    ev("StateEntered", "fetched", 15.0, 2),
    ev("TaskStarted", "fetched", 15.0, 2),
    ev("TaskFailed", "fetched", 16.0, 2, error="ZipBomb", cause="ratio 500"),
    ev("StateExited", "fetched", 16.0, 2),
    ev("StateEntered", "failed", 16.0),
    ev("ExecutionFailed", "failed", 16.0, error="ZipBomb"),
    ev("ExecutionRedriven", "fetched", 30.0, details={"redrive_count": 1}),
    ev("StateEntered", "fetched", 30.0),
    ev("TaskStarted", "fetched", 30.0),
]


def test_one_row_per_transition_with_durations_attempts_and_outcomes() -> None:
    rows = build_timeline(FAILED_THEN_REDRIVEN)
    assert [(r["state"], r["from_state"]) for r in rows] == [
        ("received", None), ("fetched", "received"), ("retrying", "fetched"),
        ("fetched", "retrying"), ("failed", "fetched"), ("fetched", "failed"),
        ("fetched", "failed")]
    assert [r["event"] for r in rows][-2:] == ["ExecutionRedriven", "StateEntered"]
    assert [r["duration"] for r in rows] == [2.0, 1.0, 2.0, 1.0, 14.0, 0.0, None]
    assert [r["attempt"] for r in rows] == [1, 1, 2, 2, 1, 1, 1]
    assert [r["outcome"] for r in rows] == [
        "succeeded", "retry scheduled", None, "failed", "execution failed", "redriven", None]
    assert [r["error"] for r in rows] == [
        None, "AwsThrottled", None, "ZipBomb", "ZipBomb", None, None]
    assert rows[5]["redrive_count"] == 1
    assert rows[1]["transition"] == "transition:received-fetched"
    assert rows[5]["transition"] is None


def test_a_finished_job_has_a_duration_for_its_last_row() -> None:
    rows = build_timeline([
        ev("ExecutionStarted", "received", 1.0), ev("StateEntered", "received", 1.0),
        ev("TaskStarted", "received", 1.0), ev("TaskSucceeded", "received", 3.0),
        ev("StateExited", "received", 3.0), ev("StateEntered", "verified", 3.0),
        ev("ExecutionSucceeded", "verified", 3.5)])
    assert [r["duration"] for r in rows] == [2.0, 0.5]
    assert rows[-1]["outcome"] == "execution succeeded"


def response(*docs: dict[str, Any]) -> dict[str, Any]:
    return {"Traces": [{"Id": TRACE, "Segments": [
        {"Id": d["id"], "Document": json.dumps(d)} for d in docs]}],
        "UnprocessedTraceIds": []}


def sub(name: str, **extra: Any) -> dict[str, Any]:
    return {"id": "0" * 16, "name": name, "trace_id": TRACE, **extra}


def test_a_trace_with_every_transition_matches() -> None:
    rows = build_timeline(FAILED_THEN_REDRIVEN[:8])  # received, fetched
    segment = {"id": "a" * 16, "trace_id": TRACE, "name": "auto-lambda", "subsegments": [
        sub("transition:start-received"),
        sub("fetch", annotations={"kind": "attempt"}, subsegments=[sub("s3", namespace="aws")]),
        sub("transition:received-fetched")]}
    summary = summarize_trace(response(segment), TRACE, rows)
    assert summary["matches"] is True
    assert (summary["segments"], summary["subsegments"]) == (1, 4)
    assert (summary["attempt_subsegments"], summary["aws_subsegments"]) == (1, 1)


def test_streamed_subsegments_count_and_missing_transitions_are_named() -> None:
    rows = build_timeline(FAILED_THEN_REDRIVEN[:8])
    segment = {"id": "a" * 16, "trace_id": TRACE, "name": "auto-lambda",
               "subsegments": [sub("transition:start-received")]}
    streamed = sub("transition:received-fetched", type="subsegment", parent_id="a" * 16)
    extra = sub("transition:fetched-built", type="subsegment", parent_id="a" * 16)
    summary = summarize_trace(response(segment, streamed, extra), TRACE, rows)
    assert summary["transition_subsegments"] == 3
    assert summary["matches"] is False
    assert summary["missing"] == []
    assert summary["unexpected"] == ["transition:fetched-built"]

    summary = summarize_trace(response(segment), TRACE, rows)
    assert summary["missing"] == ["transition:received-fetched"]


def test_an_empty_response_is_not_found() -> None:
    summary = summarize_trace({"Traces": [], "UnprocessedTraceIds": [TRACE]}, TRACE, [])
    assert summary["found"] is False
