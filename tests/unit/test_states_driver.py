"""drive(): persistence after every transition, hooks, waits, stop, timeouts and
exceptions, with an injected fake clock and sleep."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from states import (
    Catcher,
    Definition,
    DefinitionError,
    EventType,
    Execution,
    FailState,
    HistoryEvent,
    HistoryLimitExceeded,
    Hooks,
    Retrier,
    Status,
    SucceedState,
    TaskCall,
    TaskContext,
    TaskState,
    TaskTimeout,
    drive,
)
from tests.fakes import FakeClock

E = EventType
DEF = Definition(start_at="one", states=(
    TaskState("one", "do_one", next="two", retry=(Retrier(("Flaky",), interval_seconds=5),),
              catch=(Catcher(("States.ALL",), "failed"),), timeout_seconds=30,
              heartbeat_seconds=10),
    TaskState("two", "do_two", next="done", catch=(Catcher(("States.ALL",), "failed"),)),
    SucceedState("done"), FailState("failed")))


class Flaky(Exception):
    code = "Flaky"


def _ok(ctx: TaskContext) -> dict[str, Any]:
    return {ctx.state: ctx.attempt}


def test_drive_runs_to_success_and_persists_after_every_transition() -> None:
    clock = FakeClock()
    ex = Execution.start(DEF, "x", {}, clock())
    persisted: list[dict[str, Any]] = []
    drive(ex, {"do_one": _ok, "do_two": _ok}, persist=lambda e: persisted.append(e.snapshot()),
          clock=clock, sleep=clock.sleep)
    assert ex.status is Status.SUCCEEDED and ex.data == {"one": 1, "two": 1}
    # the start events, then task_started and each outcome, before the next task starts
    assert [p["state"] for p in persisted] == ["one", "one", "two", "two", "done"]
    assert persisted[1]["task"] is not None and persisted[2]["task"] is None
    assert persisted[-1]["events_delivered"] == len(ex.history)


def test_retry_sleeps_the_backoff_then_succeeds() -> None:
    clock = FakeClock()
    calls: list[int] = []

    def one(ctx: TaskContext) -> dict[str, Any]:
        calls.append(ctx.attempt)
        if ctx.attempt < 3:
            raise Flaky("later")
        return {}

    ex = Execution.start(DEF, "x", {}, clock())
    drive(ex, {"do_one": one, "do_two": _ok}, persist=lambda e: None, clock=clock,
          sleep=clock.sleep)
    assert calls == [1, 2, 3] and clock.slept == [5.0, 10.0]
    assert ex.status is Status.SUCCEEDED


def test_max_wait_returns_and_a_later_drive_continues() -> None:
    clock = FakeClock()
    persisted: list[dict[str, Any]] = []
    failures = [Flaky("later")]

    def one(ctx: TaskContext) -> None:
        if failures:
            raise failures.pop()

    ex = Execution.start(DEF, "x", {}, clock())
    tasks = {"do_one": one, "do_two": _ok}
    drive(ex, tasks, persist=lambda e: persisted.append(e.snapshot()), clock=clock,
          sleep=clock.sleep, max_wait=1.0)
    assert ex.status is Status.RETRYING and clock.slept == []
    assert persisted[-1]["status"] == "RETRYING"
    clock.now += 5
    again = Execution.restore(DEF, persisted[-1])
    drive(again, tasks, persist=lambda e: None, clock=clock, sleep=clock.sleep, max_wait=1.0)
    assert again.status is Status.SUCCEEDED


def test_stop_is_checked_between_tasks() -> None:
    clock = FakeClock()
    ex = Execution.start(DEF, "x", {}, clock())
    ran: list[str] = []
    persisted: list[str] = []

    def one(ctx: TaskContext) -> None:
        ran.append(ctx.state)

    drive(ex, {"do_one": one, "do_two": one}, persist=lambda e: persisted.append(e.state),
          clock=clock, sleep=clock.sleep, stop=lambda: bool(ran))
    assert ran == ["one"] and ex.state == "two" and ex.status is Status.RUNNING
    assert persisted[-1] == "two"


def test_persist_failure_stops_the_drive() -> None:
    clock = FakeClock()
    ex = Execution.start(DEF, "x", {}, clock())
    ran: list[str] = []

    def persist(e: Execution) -> None:
        if e.state == "two":
            raise RuntimeError("conditional write lost")

    with pytest.raises(RuntimeError, match="conditional write lost"):
        drive(ex, {"do_one": lambda c: ran.append(c.state), "do_two": _ok}, persist=persist,
              clock=clock, sleep=clock.sleep)
    assert ran == ["one"]


def test_keyboard_interrupt_propagates_and_leaves_the_task_started() -> None:
    clock = FakeClock()
    ex = Execution.start(DEF, "x", {}, clock())
    persisted: list[dict[str, Any]] = []

    def one(ctx: TaskContext) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        drive(ex, {"do_one": one}, persist=lambda e: persisted.append(e.snapshot()),
              clock=clock, sleep=clock.sleep)
    last = persisted[-1]
    assert last["task"] is not None and last["history"][-1]["type"] == "TaskStarted"


def test_task_timeout_exception_and_late_results_are_timeouts() -> None:
    clock = FakeClock()

    def raises_timeout(ctx: TaskContext) -> None:
        raise TaskTimeout("took too long")

    ex = Execution.start(DEF, "x", {}, clock())
    drive(ex, {"do_one": raises_timeout}, persist=lambda e: None, clock=clock,
          sleep=clock.sleep)
    assert [e.type for e in ex.history if e.type is E.TaskTimedOut] == [E.TaskTimedOut]
    assert ex.error is not None and ex.error["error"] == "States.Timeout"

    def late(ctx: TaskContext) -> dict[str, Any]:
        assert ctx.deadline is not None
        clock.now = ctx.deadline + 1
        return {"late": True}

    ex2 = Execution.start(DEF, "y", {}, clock())
    drive(ex2, {"do_one": late}, persist=lambda e: None, clock=clock, sleep=clock.sleep)
    assert "late" not in ex2.data and ex2.state == "failed"
    assert any(e.type is E.TaskTimedOut for e in ex2.history)


def test_heartbeat_extends_the_deadline_persists_and_calls_hooks() -> None:
    clock = FakeClock()
    beats: list[float | None] = []
    persisted: list[float | None] = []

    class Beat(Hooks):
        def on_heartbeat(self, ex: Execution) -> None:
            beats.append(ex.task_deadline())

    def one(ctx: TaskContext) -> None:
        for _ in range(3):
            clock.now += 8  # under the 10 s heartbeat each time, 24 s in all
            ctx.heartbeat()

    ex = Execution.start(DEF, "x", {}, clock())
    drive(ex, {"do_one": one, "do_two": _ok}, hooks=[Beat()], clock=clock,
          sleep=clock.sleep, persist=lambda e: persisted.append(e.task_deadline()))
    assert ex.status is Status.SUCCEEDED
    assert beats == [1018.0, 1026.0, 1030.0]  # capped by the 30 s timeout
    assert persisted[2:5] == beats


def test_hooks_see_every_event_once_and_wrap_tasks() -> None:
    clock = FakeClock()
    log: list[str] = []

    class Recorder(Hooks):
        def on_event(self, ex: Execution, event: HistoryEvent) -> None:
            log.append(f"event:{event.type.value}:{event.state}")

        @contextmanager
        def task_scope(self, ex: Execution, call: TaskCall) -> Iterator[None]:
            log.append(f"enter:{call.state}:{call.attempt}")
            yield
            log.append(f"exit:{call.state}")

        @contextmanager
        def execution_scope(self, ex: Execution) -> Iterator[None]:
            log.append("begin")
            yield
            log.append("end")

    ex = Execution.start(DEF, "x", {}, clock())
    drive(ex, {"do_one": _ok, "do_two": _ok}, persist=lambda e: None, clock=clock,
          sleep=clock.sleep, hooks=[Recorder()])
    assert log[:4] == ["begin", "event:ExecutionStarted:one", "event:StateEntered:one",
                       "event:TaskStarted:one"]
    assert log[4:6] == ["enter:one:1", "exit:one"]
    assert log[-1] == "end"
    events = [x for x in log if x.startswith("event:")]
    assert len(events) == len(ex.history)


def test_missing_task_is_a_wiring_error() -> None:
    clock = FakeClock()
    ex = Execution.start(DEF, "x", {}, clock())
    with pytest.raises(DefinitionError, match="no task registered for resource 'do_one'"):
        drive(ex, {}, persist=lambda e: None, clock=clock, sleep=clock.sleep)


def test_task_context_data_is_read_only() -> None:
    clock = FakeClock()

    def one(ctx: TaskContext) -> None:
        ctx.data["x"] = 1  # type: ignore[index]

    ex = Execution.start(DEF, "x", {}, clock())
    drive(ex, {"do_one": one}, persist=lambda e: None, clock=clock, sleep=clock.sleep)
    assert ex.error is not None and ex.error["error"] == "TypeError"


def test_history_limit_is_persisted_then_raised() -> None:
    d = Definition(start_at="a", max_history_events=30, states=(
        TaskState("a", "r", next="ok", retry=(Retrier(("Flaky",), max_attempts=99),)),
        SucceedState("ok")))
    clock = FakeClock()
    persisted: list[dict[str, Any]] = []

    def flaky(ctx: TaskContext) -> None:
        raise Flaky("again")

    ex = Execution.start(d, "x", {}, clock())
    with pytest.raises(HistoryLimitExceeded):
        drive(ex, {"r": flaky}, persist=lambda e: persisted.append(e.snapshot()),
              clock=clock, sleep=clock.sleep, rng=random.Random(0))
    assert persisted[-1]["status"] == "FAILED"
    assert persisted[-1]["error"]["error"] == "States.HistoryLimitExceeded"


def test_a_resumed_drive_does_not_report_events_twice() -> None:
    clock = FakeClock()
    seen: list[str] = []
    snaps: list[dict[str, Any]] = []
    failures = [Flaky("later")]

    class Recorder(Hooks):
        def on_event(self, ex: Execution, event: HistoryEvent) -> None:
            seen.append(event.type.value)

    def one(ctx: TaskContext) -> None:
        if failures:
            raise failures.pop()

    tasks = {"do_one": one, "do_two": _ok}
    ex = Execution.start(DEF, "x", {}, clock())
    drive(ex, tasks, persist=lambda e: snaps.append(e.snapshot()), clock=clock,
          sleep=clock.sleep, hooks=[Recorder()], max_wait=0.5)
    clock.now += 60
    resumed = Execution.restore(DEF, snaps[-1])
    drive(resumed, tasks, persist=lambda e: None, clock=clock, sleep=clock.sleep,
          hooks=[Recorder()])
    assert seen == [e.type.value for e in resumed.history]
