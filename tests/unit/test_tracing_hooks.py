"""TracingHooks with the in-memory tracer: a tiny definition driven by states.drive
gives one span per task attempt, one transition span per StateEntered, the right
annotations, and error codes on failures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from orchestrator.tracing import MemoryTracer, TracingHooks, new_trace_id
from orchestrator.tracing.base import TraceHeader, is_trace_id
from states import (
    EventType,
    Execution,
    TaskContext,
    drive,
)
from tests.fakes import FETCH_BUILD, FakeClock, Flaky


class Broken(Exception):
    code = "ZipBomb"


def run(tasks: dict[str, Callable[[TaskContext], dict[str, Any] | None]],
        tracer: MemoryTracer, parent: str | None = None,
        trace_id: str | None = None) -> Execution:
    clock = FakeClock()
    ex = Execution.start(FETCH_BUILD, "job-1", {"key": "app.zip"}, clock(), trace_id=trace_id)
    return drive(ex, tasks, persist=lambda _ex: None, clock=clock, sleep=clock.sleep,
                 hooks=[TracingHooks(tracer, parent=parent)])


def ok(_ctx: TaskContext) -> dict[str, Any]:
    return {}


def failing_then_ok(failures: int, exc: type[Exception]) -> Callable[[TaskContext], None]:
    calls = {"n": 0}

    def task(_ctx: TaskContext) -> None:
        calls["n"] += 1
        if calls["n"] <= failures:
            raise exc("try again later")

    return task


def state_entered(ex: Execution) -> list[str]:
    return [e.state for e in ex.history if e.type is EventType.StateEntered]


def test_one_attempt_span_per_task_and_one_transition_span_per_state_entered() -> None:
    tracer = MemoryTracer()
    ex = run({"fetch": ok, "build": ok}, tracer)

    assert ex.state == "built"
    attempts = [s for s in tracer.spans if s.annotations.get("kind") == "attempt"]
    assert [s.name for s in attempts] == ["fetch", "build"]
    assert [(s.annotations["state"], s.annotations["attempt"]) for s in attempts] == [
        ("received", 1), ("fetched", 1)]
    assert all(s.annotations["job_id"] == "job-1" for s in tracer.spans)
    transitions = tracer.named("transition:")
    assert len(transitions) == len(state_entered(ex)) == 3
    assert [s.name for s in transitions] == [
        "transition:start-received", "transition:received-fetched", "transition:fetched-built"]
    assert transitions[1].annotations["from_state"] == "received"
    assert transitions[1].annotations["state"] == "fetched"
    assert [s.name for s in tracer.named("Execution")] == [
        "ExecutionStarted:received", "ExecutionSucceeded:built"]
    assert all(s.error_code is None for s in tracer.spans)


def test_every_span_is_inside_the_one_job_segment_of_the_drive() -> None:
    tracer = MemoryTracer()
    ex = run({"fetch": ok, "build": ok}, tracer)

    assert len(tracer.jobs) == 1
    job = tracer.jobs[0]
    assert job.job_id == "job-1"
    assert job.end is not None
    assert {s.parent_id for s in tracer.spans} == {job.segment_id}
    assert {s.trace_id for s in tracer.spans} == {job.trace_id}
    # The execution had no trace id: it adopts the job's, so history events carry it.
    assert ex.trace_id == job.trace_id
    assert ex.history[-1].trace_id == job.trace_id


def test_a_retried_attempt_carries_its_error_code_and_the_next_attempt_number() -> None:
    tracer = MemoryTracer()
    ex = run({"fetch": ok, "build": failing_then_ok(1, Flaky)}, tracer)

    assert ex.state == "built"
    builds = [s for s in tracer.spans if s.name == "build"]
    assert [(s.annotations["attempt"], s.error_code) for s in builds] == [
        (1, "Transient"), (2, None)]
    assert builds[0].error_message == "try again later"
    transitions = [s.name for s in tracer.named("transition:")]
    assert transitions == [
        "transition:start-received", "transition:received-fetched",
        "transition:fetched-retrying", "transition:retrying-fetched",
        "transition:fetched-built"]
    assert len(transitions) == len(state_entered(ex))
    retry = tracer.named("RetryScheduled")
    assert len(retry) == 1 and retry[0].error_code == "Transient"


def test_a_permanent_failure_marks_the_attempt_and_the_execution_failed() -> None:
    tracer = MemoryTracer()
    ex = run({"fetch": failing_then_ok(1, Broken), "build": ok}, tracer)

    assert ex.state == "failed"
    (fetch,) = [s for s in tracer.spans if s.name == "fetch"]
    assert fetch.error_code == "ZipBomb"
    assert fetch.annotations["error_code"] == "ZipBomb"
    assert [s.name for s in tracer.named("transition:")] == [
        "transition:start-received", "transition:received-failed"]
    (end,) = tracer.named("ExecutionFailed")
    assert end.error_code == "ZipBomb"
    assert not [s for s in tracer.spans if s.name == "build"]


def test_the_job_continues_the_messages_trace_header() -> None:
    tracer = MemoryTracer()
    root = new_trace_id()
    header = f"Root={root};Parent=53995c3f42cd8ad8;Sampled=0"
    ex = run({"fetch": ok, "build": ok}, tracer, parent=header, trace_id=root)

    job = tracer.jobs[0]
    assert job.trace_id == root
    assert job.parent_id == "53995c3f42cd8ad8"
    assert ex.trace_id == root


def test_a_header_passed_as_the_trace_id_is_continued_and_reduced_to_its_root() -> None:
    tracer = MemoryTracer()
    root = new_trace_id()
    ex = run({"fetch": ok, "build": ok}, tracer,
             trace_id=f"Root={root};Parent=53995c3f42cd8ad8;Sampled=1")

    assert tracer.jobs[0].trace_id == root
    assert tracer.jobs[0].parent_id == "53995c3f42cd8ad8"
    assert ex.trace_id == root


def test_an_execution_resumed_by_a_second_drive_is_a_second_segment_of_the_same_trace() -> None:
    tracer = MemoryTracer()
    clock = FakeClock()
    ex = Execution.start(FETCH_BUILD, "job-2", {}, clock(), trace_id=new_trace_id())
    build = failing_then_ok(1, Flaky)
    hooks = [TracingHooks(tracer)]
    # max_wait=0 returns while the retry waits, as a worker re-queueing the job would.
    drive(ex, {"fetch": ok, "build": build}, persist=lambda _e: None, clock=clock,
          sleep=clock.sleep, hooks=hooks, max_wait=0)
    assert ex.state == "retrying"
    clock.now += 5
    resumed = Execution.restore(FETCH_BUILD, ex.snapshot())
    drive(resumed, {"fetch": ok, "build": build}, persist=lambda _e: None, clock=clock,
          sleep=clock.sleep, hooks=hooks)

    assert resumed.state == "built"
    assert [j.trace_id for j in tracer.jobs] == [ex.trace_id, ex.trace_id]
    transitions = tracer.named("transition:")
    assert len(transitions) == len(state_entered(resumed))  # none traced twice
    assert [s.job_id for s in transitions] == ["job-2"] * len(transitions)


def test_tracer_failures_never_change_the_outcome() -> None:
    class Exploding(MemoryTracer):
        def span(self, name: str, annotations: Any = None) -> Any:
            raise RuntimeError("tracing backend down")

    ex = run({"fetch": ok, "build": ok}, Exploding())
    assert ex.state == "built"


def test_task_exceptions_propagate_unchanged_through_the_attempt_span() -> None:
    tracer = MemoryTracer()
    ex = run({"fetch": failing_then_ok(5, KeyError), "build": ok}, tracer)
    assert ex.error is not None and ex.error["error"] == "KeyError"
    (fetch,) = [s for s in tracer.spans if s.name == "fetch"]
    assert fetch.error_code == "KeyError"


@pytest.mark.parametrize("header, root, parent, sampled", [
    ("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
     "1-5759e988-bd862e3fe1be46a994272793", "53995c3f42cd8ad8", True),
    ("Root=1-5759e988-bd862e3fe1be46a994272793", "1-5759e988-bd862e3fe1be46a994272793",
     None, None),
    ("1-5759e988-bd862e3fe1be46a994272793", "1-5759e988-bd862e3fe1be46a994272793", None, None),
    ("Root=nope;Parent=xyz;Sampled=7", None, None, None),
    ("", None, None, None),
    (None, None, None, None),
])
def test_trace_headers_parse_leniently(header: str | None, root: str | None,
                                       parent: str | None, sampled: bool | None) -> None:
    parsed = TraceHeader.parse(header)
    assert (parsed.root, parsed.parent, parsed.sampled) == (root, parent, sampled)


def test_new_trace_ids_are_valid_xray_ids() -> None:
    assert is_trace_id(new_trace_id())
    assert new_trace_id(now=0x5759E988).startswith("1-5759e988-")
