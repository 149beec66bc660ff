"""Executions in Wait states: the wake-up time is fixed on entry and persisted, the
history says WaitStateEntered / WaitStateExited, next_action answers a declared
``Wait`` until it is due, a path that gives nothing usable fails with States.Runtime,
and a restored snapshot wakes at the same moment."""

from __future__ import annotations

import json
from typing import Any

import pytest

from states import (
    Catcher,
    Definition,
    DefinitionError,
    Done,
    EventType,
    Execution,
    ExecutionError,
    FailState,
    Retrier,
    RunTask,
    Status,
    SucceedState,
    TaskState,
    Wait,
    WaitState,
    replay,
)
from states.machine import compiled

E = EventType
BAKE = Definition(start_at="deploy", states=(
    TaskState("deploy", "deploy", next="bake",
              retry=(Retrier(("Flaky",), interval_seconds=5),),
              catch=(Catcher(("Rejected",), "cool down"), Catcher(("States.ALL",), "failed"))),
    WaitState("bake", next="promote", seconds_path="$.rollout.bake_seconds"),
    TaskState("promote", "promote", next="done"),
    WaitState("cool down", next="failed", seconds=60),
    SucceedState("done"), FailState("failed")))


def _deployed(bake: Any = 300, now: float = 100.0) -> Execution:
    ex = Execution.start(BAKE, "x", {}, now)
    assert isinstance(ex.next_action(now), RunTask)
    ex.task_started(now)
    ex.task_succeeded({"rollout": {"bake_seconds": bake}}, now + 1)
    return ex


def _types(ex: Execution) -> list[tuple[str, str]]:
    return [(e.type.value, e.state) for e in ex.history]


def test_entering_a_wait_fixes_and_persists_the_wake_up_time() -> None:
    ex = _deployed(bake=300)
    assert ex.state == "bake" and ex.status is Status.RUNNING
    assert ex.wait_until == 401.0 and ex.snapshot()["wait_until"] == 401.0
    entered = ex.history[-1]
    assert entered.type is E.WaitStateEntered
    assert entered.details == {"due": 401.0, "seconds_path": "$.rollout.bake_seconds"}
    assert _types(ex)[-3:] == [("StateExited", "deploy"), ("StateEntered", "bake"),
                               ("WaitStateEntered", "bake")]


def test_next_action_is_a_declared_wait_until_due_then_moves_to_next() -> None:
    ex = _deployed(bake=300)
    before = ex.event_count
    action = ex.next_action(250.0)
    assert action == Wait(401.0, state="bake") and action.declared
    assert ex.event_count == before  # asking changes nothing
    action = ex.next_action(401.0)
    assert isinstance(action, RunTask) and action.call.state == "promote"
    assert _types(ex)[before:] == [("WaitStateExited", "bake"), ("StateExited", "bake"),
                                   ("StateEntered", "promote")]
    assert ex.history[before].details == {"due": 401.0} and ex.history[before].time == 401.0
    assert ex.wait_until is None and "wait_until" not in ex.snapshot()
    assert replay(BAKE, ex.history) == ("promote", Status.RUNNING)


def test_retry_backoff_is_not_a_declared_wait() -> None:
    ex = Execution.start(BAKE, "x", {}, 0.0)
    ex.next_action(0.0)
    ex.task_started(0.0)
    ex.task_failed("Flaky", "later", 1.0)
    action = ex.next_action(2.0)
    assert action == Wait(6.0) and not action.declared and action.state is None


def test_zero_seconds_and_past_timestamps_are_due_at_once() -> None:
    d = Definition(start_at="now", states=(
        WaitState("now", next="past", seconds=0),
        WaitState("past", next="done", timestamp="2020-01-01T00:00:00Z"),
        SucceedState("done")))
    now = 1_900_000_000.0  # in 2030
    ex = Execution.start(d, "x", {}, now)
    assert ex.wait_until == now
    assert isinstance(ex.next_action(now), Done)
    assert ex.status is Status.SUCCEEDED
    assert [e.details.get("due") for e in ex.history if e.type is E.WaitStateEntered] \
        == [now, now]


def test_timestamp_waits_until_that_moment() -> None:
    d = Definition(start_at="w", states=(
        WaitState("w", next="done", timestamp_path="$.not_before"), SucceedState("done")))
    ex = Execution.start(d, "x", {"not_before": "1970-01-01T00:10:00Z"}, 60.0)
    assert ex.next_action(599.0) == Wait(600.0, state="w")
    assert isinstance(ex.next_action(600.0), Done)


@pytest.mark.parametrize(("bake", "needle"), [
    (None, "must select a number of seconds >= 0, got None"),
    (-5, "got -5"),
    ("soon", "got 'soon'"),
])
def test_unusable_seconds_fail_the_execution_with_states_runtime(bake: Any,
                                                                  needle: str) -> None:
    ex = _deployed(bake=bake)
    assert ex.status is Status.FAILED and ex.state == "bake"
    assert ex.error is not None and ex.error["error"] == "States.Runtime"
    assert ex.error["state"] == "bake" and needle in ex.error["cause"]
    assert _types(ex)[-2:] == [("StateEntered", "bake"), ("ExecutionFailed", "bake")]
    assert isinstance(ex.next_action(10_000.0), Done)
    # no task failed, so there is nothing to redrive: the input itself must change
    with pytest.raises(ExecutionError, match="without a task error"):
        ex.redrive(500.0)


def test_a_missing_path_fails_with_states_runtime_naming_the_path() -> None:
    ex = Execution.start(BAKE, "x", {}, 0.0)
    ex.next_action(0.0)
    ex.task_started(0.0)
    ex.task_succeeded({"rollout": {}}, 1.0)
    assert ex.status is Status.FAILED and ex.error is not None
    assert ex.error["error"] == "States.Runtime"
    assert "$.rollout.bake_seconds is not in the data" in ex.error["cause"]


@pytest.mark.parametrize("paged", [False, True])
def test_a_restored_snapshot_wakes_at_the_same_moment(paged: bool) -> None:
    ex = _deployed(bake=300)
    stored = json.loads(json.dumps(ex.snapshot(history=not paged)))
    resumed = Execution.restore(BAKE, stored)
    assert resumed.wait_until == 401.0
    assert resumed.next_action(400.0) == Wait(401.0, state="bake")
    assert isinstance(resumed.next_action(401.0), RunTask)
    assert isinstance(ex.next_action(401.0), RunTask)
    # (a paged restore counts the events it was not given as delivered)
    mine, theirs = ex.snapshot(history=False), resumed.snapshot(history=False)
    assert {**mine, "events_delivered": 0} == {**theirs, "events_delivered": 0}


def test_a_snapshot_in_a_wait_without_its_wake_up_time_is_refused() -> None:
    stored = _deployed().snapshot()
    del stored["wait_until"]
    with pytest.raises(DefinitionError, match="Wait state 'bake' without its wake-up time"):
        Execution.restore(BAKE, stored)


def test_workflows_without_waits_keep_their_snapshot_shape() -> None:
    d = Definition(start_at="a", states=(TaskState("a", "r", next="done"),
                                         SucceedState("done")))
    assert "wait_until" not in Execution.start(d, "x", {}, 0.0).snapshot()


def test_a_catch_can_lead_into_a_wait() -> None:
    ex = Execution.start(BAKE, "x", {}, 0.0)
    ex.next_action(0.0)
    ex.task_started(0.0)
    decision = ex.task_failed("Rejected", "not now", 2.0)
    assert decision.kind == "catch" and ex.state == "cool down"
    assert ex.next_action(3.0) == Wait(62.0, state="cool down")
    assert isinstance(ex.next_action(62.0), Done)
    assert ex.status is Status.FAILED and ex.state == "failed"
    assert [s for e, s in _types(ex) if e == "StateEntered"] == ["deploy", "cool down",
                                                                 "failed"]


def test_abort_leaves_a_wait_along_a_declared_edge() -> None:
    ex = _deployed()
    ex.abort("Cancelled", "operator stopped the rollout", 200.0)
    assert ex.state == "failed" and ex.status is Status.FAILED
    assert ex.wait_until is None and "wait_until" not in ex.snapshot()
    assert ex.error == {"error": "Cancelled", "cause": "operator stopped the rollout",
                        "state": "bake"}


def test_the_machine_only_knows_declared_transitions_out_of_a_wait() -> None:
    cm = compiled(BAKE)
    triggers = set(cm.machine.events)
    assert not any(t.startswith("to_") for t in triggers)  # auto_transitions is off
    assert not cm.machine.auto_transitions
    ex = _deployed()
    with pytest.raises(ExecutionError, match="'bake' -> 'done' is not allowed"):
        cm.move_to(ex, "done")
    assert ex.state == "bake"
    with pytest.raises(ExecutionError, match="not a Task state"):
        ex.task_started(150.0)
