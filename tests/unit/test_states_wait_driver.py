"""advance()/drive() with Wait states: a declared wait longer than ``park_after`` is
handed back as a parked Outcome (never slept), shorter ones are slept, retries are slept
as before, and a parked execution restored later (or too early) continues exactly."""

from __future__ import annotations

import json
from typing import Any

from states import (
    Catcher,
    Definition,
    EventType,
    Execution,
    FailState,
    HistoryEvent,
    Hooks,
    Outcome,
    Retrier,
    Status,
    SucceedState,
    TaskContext,
    TaskState,
    WaitState,
    advance,
    drive,
)
from tests.fakes import FakeClock

E = EventType
ROLLOUT = Definition(start_at="deploy", states=(
    TaskState("deploy", "deploy", next="bake", retry=(Retrier(("Flaky",), interval_seconds=600),),
              catch=(Catcher(("States.ALL",), "failed"),)),
    WaitState("bake", next="promote", seconds_path="$.bake"),
    TaskState("promote", "promote", next="done", catch=(Catcher(("States.ALL",), "failed"),)),
    SucceedState("done"), FailState("failed")))


class Flaky(Exception):
    code = "Flaky"


class Store:
    """The persisted record: the last snapshot, as JSON text."""

    def __init__(self) -> None:
        self.text = ""
        self.writes = 0

    def persist(self, ex: Execution) -> None:
        self.text = json.dumps(ex.snapshot())
        self.writes += 1

    def load(self) -> Execution:
        return Execution.restore(ROLLOUT, json.loads(self.text))


def _tasks(ran: list[str], bake: float) -> dict[str, Any]:
    def deploy(ctx: TaskContext) -> dict[str, Any]:
        ran.append("deploy")
        return {"bake": bake}

    def promote(ctx: TaskContext) -> dict[str, Any]:
        ran.append("promote")
        return {}

    return {"deploy": deploy, "promote": promote}


def test_a_long_declared_wait_parks_instead_of_sleeping() -> None:
    clock, store, ran = FakeClock(), Store(), []
    ex = Execution.start(ROLLOUT, "x", {}, clock())
    out = advance(ex, _tasks(ran, 300), persist=store.persist, clock=clock,
                  sleep=clock.sleep, park_after=60)
    assert out == Outcome(ex, "parked", clock() + 300, "bake") and out.parked
    assert clock.slept == [] and ran == ["deploy"]
    # the wake-up time is durable: the record says when to come back
    assert json.loads(store.text)["wait_until"] == out.until
    assert json.loads(store.text)["state"] == "bake"


def test_a_parked_execution_resumed_at_its_wake_up_time_finishes() -> None:
    clock, store, ran = FakeClock(), Store(), []
    first = advance(Execution.start(ROLLOUT, "x", {}, clock()), _tasks(ran, 300),
                    persist=store.persist, clock=clock, sleep=clock.sleep, park_after=60)
    assert first.until is not None
    clock.now = first.until
    out = advance(store.load(), _tasks(ran, 300), persist=store.persist, clock=clock,
                  sleep=clock.sleep, park_after=60)
    assert out.kind == "done" and out.execution.status is Status.SUCCEEDED
    assert ran == ["deploy", "promote"] and clock.slept == []
    exited = [e for e in out.execution.history if e.type is E.WaitStateExited]
    assert [e.time for e in exited] == [first.until]


def test_a_parked_execution_resumed_early_parks_again_for_the_same_moment() -> None:
    # A queue's delay is capped (SQS: 15 minutes), so a long wait comes back in hops.
    clock, store, ran = FakeClock(), Store(), []
    first = advance(Execution.start(ROLLOUT, "x", {}, clock()), _tasks(ran, 3_600),
                    persist=store.persist, clock=clock, sleep=clock.sleep, park_after=60)
    writes = store.writes
    clock.now += 900
    again = advance(store.load(), _tasks(ran, 3_600), persist=store.persist, clock=clock,
                    sleep=clock.sleep, park_after=60)
    assert again.kind == "parked" and again.until == first.until
    assert store.writes == writes  # nothing changed, nothing written
    assert ran == ["deploy"] and clock.slept == []


def test_a_short_declared_wait_is_slept() -> None:
    clock, store, ran = FakeClock(), Store(), []
    ex = Execution.start(ROLLOUT, "x", {}, clock())
    out = advance(ex, _tasks(ran, 30), persist=store.persist, clock=clock,
                  sleep=clock.sleep, park_after=60)
    assert out.kind == "done" and clock.slept == [30.0] and ran == ["deploy", "promote"]


def test_without_park_after_declared_waits_are_slept_like_before() -> None:
    clock, store, ran = FakeClock(), Store(), []
    ex = drive(Execution.start(ROLLOUT, "x", {}, clock()), _tasks(ran, 300),
               persist=store.persist, clock=clock, sleep=clock.sleep)
    assert ex.status is Status.SUCCEEDED and clock.slept == [300.0]


def test_retry_backoff_is_never_parked() -> None:
    clock, store = FakeClock(), Store()
    calls: list[int] = []

    def deploy(ctx: TaskContext) -> dict[str, Any]:
        calls.append(ctx.attempt)
        if ctx.attempt == 1:
            raise Flaky("later")
        return {"bake": 0}

    ex = Execution.start(ROLLOUT, "x", {}, clock())
    out = advance(ex, {"deploy": deploy, "promote": lambda ctx: {}}, persist=store.persist,
                  clock=clock, sleep=clock.sleep, park_after=60)
    assert out.kind == "done" and calls == [1, 2] and clock.slept == [600.0]


def test_max_wait_still_defers_waits_shorter_than_park_after() -> None:
    clock, store, ran = FakeClock(), Store(), []
    ex = Execution.start(ROLLOUT, "x", {}, clock())
    out = advance(ex, _tasks(ran, 30), persist=store.persist, clock=clock,
                  sleep=clock.sleep, park_after=60, max_wait=10)
    assert out.kind == "deferred" and out.until == clock() + 30 and out.state == "bake"
    assert not out.parked and clock.slept == []


def test_stop_and_done_say_so() -> None:
    clock, store, ran = FakeClock(), Store(), []
    ex = Execution.start(ROLLOUT, "x", {}, clock())
    out = advance(ex, _tasks(ran, 0), persist=store.persist, clock=clock,
                  sleep=clock.sleep, stop=lambda: True)
    assert out == Outcome(ex, "stopped") and ran == []
    out = advance(ex, _tasks(ran, 0), persist=store.persist, clock=clock, sleep=clock.sleep)
    assert out == Outcome(ex, "done") and out.until is None


def test_hooks_see_each_wait_event_once_across_a_park() -> None:
    seen: list[str] = []

    class Seen(Hooks):
        def on_event(self, ex: Execution, event: HistoryEvent) -> None:
            seen.append(f"{event.type.value}:{event.state}")

    clock, store, ran = FakeClock(), Store(), []
    first = advance(Execution.start(ROLLOUT, "x", {}, clock()), _tasks(ran, 300),
                    persist=store.persist, clock=clock, sleep=clock.sleep,
                    hooks=[Seen()], park_after=60)
    assert seen.count("WaitStateEntered:bake") == 1 and "WaitStateExited:bake" not in seen
    assert first.until is not None
    clock.now = first.until
    advance(store.load(), _tasks(ran, 300), persist=store.persist, clock=clock,
            sleep=clock.sleep, hooks=[Seen()], park_after=60)
    assert seen.count("WaitStateEntered:bake") == 1 and seen.count("WaitStateExited:bake") == 1
    assert seen[-1] == "ExecutionSucceeded:done"
