"""Execution semantics: history event order, retry/catch, snapshot round trip, redrive,
durable deadlines and the history cap. Pure: time is passed in."""

from __future__ import annotations

import json
import random

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
    HistoryLimitExceeded,
    Retrier,
    RunTask,
    Status,
    SucceedState,
    TaskState,
    Wait,
    replay,
)

E = EventType
TRANSIENT = Retrier(("Flaky",), interval_seconds=2, max_attempts=2, backoff_rate=3.0)
CATCH = Catcher(("States.ALL",), "failed")


def _definition(**kw: object) -> Definition:
    return Definition(start_at="one", states=(
        TaskState("one", "do_one", next="two", retry=(TRANSIENT,), catch=(CATCH,),
                  timeout_seconds=10, heartbeat_seconds=4),
        TaskState("two", "do_two", next="done", retry=(TRANSIENT,)),
        SucceedState("done"), FailState("failed")), **kw)  # type: ignore[arg-type]


DEF = _definition()


def _types(ex: Execution) -> list[tuple[str, str]]:
    return [(e.type.value, e.state) for e in ex.history]


def _run_ok(ex: Execution, now: float) -> None:
    action = ex.next_action(now)
    assert isinstance(action, RunTask)
    ex.task_started(now)
    ex.task_succeeded({action.call.resource: True}, now)


def test_happy_path_history_in_order() -> None:
    ex = Execution.start(DEF, "x1", {"in": 1}, now=100.0, trace_id="t-1")
    _run_ok(ex, 101)
    _run_ok(ex, 102)
    assert ex.status is Status.SUCCEEDED and ex.state == "done" and ex.is_terminal
    assert ex.data == {"in": 1, "do_one": True, "do_two": True}
    assert _types(ex) == [
        ("ExecutionStarted", "one"), ("StateEntered", "one"), ("TaskStarted", "one"),
        ("TaskSucceeded", "one"), ("StateExited", "one"), ("StateEntered", "two"),
        ("TaskStarted", "two"), ("TaskSucceeded", "two"), ("StateExited", "two"),
        ("StateEntered", "done"), ("ExecutionSucceeded", "done")]
    assert {e.trace_id for e in ex.history} == {"t-1"}
    assert isinstance(ex.next_action(103), Done)


def test_task_call_carries_attempt_deadline_and_heartbeat() -> None:
    ex = Execution.start(DEF, "x", {}, now=0)
    action = ex.next_action(5)
    assert isinstance(action, RunTask)
    assert (action.call.state, action.call.resource, action.call.attempt) == ("one", "do_one", 1)
    assert action.call.deadline == 15 and action.call.heartbeat_seconds == 4


def test_transient_error_retries_with_the_formula_then_catch() -> None:
    ex = Execution.start(DEF, "x", {}, now=0)
    now = 0.0
    delays = []
    for expected_attempt in (1, 2, 3):
        action = ex.next_action(now)
        assert isinstance(action, RunTask) and action.call.attempt == expected_attempt
        ex.task_started(now)
        decision = ex.task_failed("Flaky", "try later", now)
        if decision.kind == "retry":
            assert ex.status is Status.RETRYING and ex.state == "retrying"
            assert ex.failed_state == "one"
            delays.append(decision.delay)
            wait = ex.next_action(now)
            assert decision.delay is not None
            assert isinstance(wait, Wait) and wait.until == now + decision.delay
            now = wait.until
    assert delays == [2.0, 6.0]
    assert decision.kind == "catch" and decision.next_state == "failed"
    assert ex.status is Status.FAILED and ex.state == "failed"
    assert ex.error == {"error": "Flaky", "cause": "try later", "state": "one"}
    assert _types(ex)[2:10] == [
        ("TaskStarted", "one"), ("TaskFailed", "one"), ("RetryScheduled", "one"),
        ("StateExited", "one"), ("StateEntered", "retrying"), ("StateExited", "retrying"),
        ("StateEntered", "one"), ("TaskStarted", "one")]
    scheduled = [e for e in ex.history if e.type is E.RetryScheduled]
    assert [e.details["delay"] for e in scheduled] == [2.0, 6.0]
    assert [e.attempt for e in scheduled] == [2, 3]


def test_permanent_error_is_caught_at_once() -> None:
    ex = Execution.start(DEF, "x", {}, now=0)
    ex.next_action(0)
    ex.task_started(0)
    decision = ex.task_failed("ZipBomb", "ratio 1000", 1)
    assert decision.kind == "catch"
    assert _types(ex)[-4:] == [("TaskFailed", "one"), ("StateExited", "one"),
                               ("StateEntered", "failed"), ("ExecutionFailed", "failed")]
    assert ex.history[-1].error == "ZipBomb"


def test_uncaught_error_fails_in_place() -> None:
    ex = Execution.start(DEF, "x", {}, now=0)
    _run_ok(ex, 1)
    ex.next_action(2)
    ex.task_started(2)
    decision = ex.task_failed("Boom", "no catcher", 3)
    assert decision.kind == "fail"
    assert ex.state == "two" and ex.status is Status.FAILED
    assert _types(ex)[-2:] == [("TaskFailed", "two"), ("ExecutionFailed", "two")]


def test_outcomes_without_a_started_task_are_refused() -> None:
    ex = Execution.start(DEF, "x", {}, now=0)
    with pytest.raises(ExecutionError, match="task_started"):
        ex.task_succeeded({}, 1)
    ex.next_action(0)
    ex.task_started(0)
    ex.task_succeeded({}, 1)
    with pytest.raises(ExecutionError):
        ex.task_failed("X", "duplicate", 2)


def test_snapshot_round_trip_through_json_continues_exactly() -> None:
    ex = Execution.start(DEF, "x", {"a": [1, 2]}, now=0, trace_id="t")
    ex.next_action(0)
    ex.task_started(0)
    ex.task_failed("Flaky", "x", 1, rng=random.Random(1))
    snap = json.loads(json.dumps(ex.snapshot()))
    copy = Execution.restore(DEF, snap)
    assert copy.snapshot() == ex.snapshot()
    assert (copy.state, copy.status, copy.attempt, copy.failed_state) == \
        ("retrying", Status.RETRYING, 2, "one")
    for e in (ex, copy):
        e.next_action(100)
        e.task_started(100)
        e.task_succeeded({"z": 1}, 101)
    assert copy.snapshot() == ex.snapshot()


def test_restore_refuses_another_definition() -> None:
    ex = Execution.start(DEF, "x", {}, now=0)
    other = Definition(start_at="one", states=(
        TaskState("one", "do_one", next="done", timeout_seconds=10),
        SucceedState("done")))
    with pytest.raises(DefinitionError, match="start a new execution"):
        Execution.restore(other, ex.snapshot())


def test_a_new_history_cap_alone_keeps_snapshots_restorable() -> None:
    ex = Execution.start(DEF, "x", {}, now=0)
    raised = _definition(max_history_events=100_000)
    assert raised.fingerprint == DEF.fingerprint
    assert Execution.restore(raised, ex.snapshot()).state == "one"


def _retry_once(ex: Execution, now: float) -> None:
    action = ex.next_action(now)
    assert isinstance(action, RunTask)
    ex.task_started(now)
    ex.task_failed("Flaky", "again", now, rng=random.Random(0))


def test_paged_snapshot_carries_the_event_count_not_the_events() -> None:
    ex = Execution.start(DEF, "x", {"k": 1}, now=0)
    _retry_once(ex, 1)
    snap = json.loads(json.dumps(ex.snapshot(history=False)))
    assert "history" not in snap and snap["event_count"] == ex.event_count == len(ex.history)
    resumed = Execution.restore(DEF, snap)
    assert resumed.history == [] and resumed.event_count == ex.event_count
    # it continues exactly, numbering its new events after the stored ones
    _run_ok(resumed, 100)
    _run_ok(ex, 100)
    new = resumed.events_since(snap["event_count"])
    assert [e.to_dict() for e in new] == [e.to_dict() for e in ex.history[snap["event_count"]:]]
    assert resumed.event_count == ex.event_count and resumed.state == ex.state == "two"


def test_trimmed_events_are_gone_from_memory_and_from_full_snapshots() -> None:
    ex = Execution.start(DEF, "x", {}, now=0)
    _run_ok(ex, 1)
    total = ex.event_count
    ex.trim_history(total - 2)
    assert len(ex.history) == 2 and ex.history_base == total - 2 and ex.event_count == total
    assert ex.events_since(total - 1) == ex.history[1:]
    with pytest.raises(ExecutionError, match="no longer held"):
        ex.events_since(0)
    with pytest.raises(ExecutionError, match="history=False"):
        ex.snapshot()
    ex.trim_history(10 * total)  # never past the end
    assert ex.history == [] and ex.event_count == total
    assert Execution.restore(DEF, ex.snapshot(history=False)).event_count == total


def test_the_history_cap_counts_events_no_longer_held() -> None:
    d = Definition(start_at="a", max_history_events=40, states=(
        TaskState("a", "r", next="ok",
                  retry=(Retrier(("X",), max_attempts=100, backoff_rate=1.0),)),
        SucceedState("ok")))
    ex = Execution.start(d, "x", {}, now=0)
    with pytest.raises(HistoryLimitExceeded):
        for step in range(100):
            ex.trim_history(ex.event_count)  # a store wrote them; memory keeps nothing
            action = ex.next_action(step)
            assert isinstance(action, RunTask)
            ex.task_started(step)
            ex.task_failed("X", "again", step)
    assert len(ex.history) < 10 and ex.event_count <= 40
    assert ex.error is not None and ex.error["error"] == "States.HistoryLimitExceeded"


def test_a_huge_cause_is_cut_to_the_step_functions_limit() -> None:
    from states.execution import MAX_CAUSE_CHARS

    ex = Execution.start(DEF, "x", {}, now=0)
    ex.next_action(0)
    ex.task_started(0)
    ex.task_failed("Permanent", "x" * 1_000_000, 1)
    assert ex.error is not None and len(ex.error["cause"]) <= MAX_CAUSE_CHARS
    assert "more characters cut" in ex.error["cause"]
    assert all(len(e.cause or "") <= MAX_CAUSE_CHARS for e in ex.history)


def test_snapshot_is_a_copy() -> None:
    ex = Execution.start(DEF, "x", {"k": 1}, now=0)
    snap = ex.snapshot()
    snap["data"]["k"] = 2
    snap["history"].clear()
    assert ex.data == {"k": 1} and ex.snapshot()["history"]


def test_replay_rebuilds_state_and_status() -> None:
    ex = Execution.start(DEF, "x", {}, now=0)
    seen = [replay(DEF, ex.history)]
    ex.next_action(0)
    ex.task_started(0)
    ex.task_failed("Flaky", "x", 0)
    seen.append(replay(DEF, ex.snapshot()["history"]))
    assert seen == [("one", Status.RUNNING), ("retrying", Status.RETRYING)]
    with pytest.raises(ValueError, match="ExecutionStarted"):
        replay(DEF, ex.history[1:])


def test_redrive_resumes_at_the_failed_state_and_does_not_rerun_successes() -> None:
    ex = Execution.start(DEF, "x", {}, now=0)
    _run_ok(ex, 1)
    ex.next_action(2)
    ex.task_started(2)
    ex.task_failed("Boom", "bad", 2)
    assert ex.status is Status.FAILED
    ex.redrive(10)
    assert (ex.state, ex.status, ex.redrive_count, ex.attempt, ex.error) == \
        ("two", Status.RUNNING, 1, 1, None)
    redriven = ex.history[-1]
    assert redriven.type is E.ExecutionRedriven and redriven.details == {"redrive_count": 1}
    action = ex.next_action(11)
    assert isinstance(action, RunTask) and action.call.state == "two"
    ex.task_started(11)
    ex.task_succeeded({}, 12)
    assert ex.status is Status.SUCCEEDED
    assert [e.state for e in ex.history if e.type is E.TaskStarted] == ["one", "two", "two"]


def test_redrive_from_a_fail_state_goes_back_with_fresh_counters() -> None:
    ex = Execution.start(DEF, "x", {}, now=0)
    now = 0.0
    while not ex.is_terminal:
        action = ex.next_action(now)
        if isinstance(action, Wait):
            now = action.until
            continue
        ex.task_started(now)
        ex.task_failed("Flaky", "x", now)
    assert ex.state == "failed" and ex.failed_state == "one"
    ex.redrive(now)
    assert ex.state == "one" and ex.retries.get("one") is None
    assert _types(ex)[-2:] == [("ExecutionRedriven", "one"), ("StateEntered", "one")]
    ex.next_action(now)
    ex.task_started(now)
    assert ex.task_failed("Flaky", "x", now).kind == "retry"
    assert replay(DEF, ex.history) == (ex.state, ex.status)


def test_redrive_of_a_running_execution_is_refused() -> None:
    ex = Execution.start(DEF, "x", {}, now=0)
    with pytest.raises(ExecutionError, match="only a FAILED execution"):
        ex.redrive(1)


def test_crash_after_task_started_times_out_once_the_deadline_passes() -> None:
    ex = Execution.start(DEF, "x", {}, now=0)
    ex.next_action(0)
    ex.task_started(0)
    snap = ex.snapshot()  # the worker crashes here
    resumed = Execution.restore(DEF, snap)
    early = resumed.next_action(3)
    assert early == Wait(4)  # heartbeat deadline (4 s) comes before the 10 s timeout
    # "Flaky" is the only retried error, so the timeout is caught to "failed".
    assert isinstance(resumed.next_action(4), Done)
    timed_out = [e for e in resumed.history if e.type is E.TaskTimedOut]
    assert len(timed_out) == 1 and timed_out[0].error == "States.Timeout"
    assert resumed.state == "failed" and resumed.error is not None
    assert resumed.error["error"] == "States.Timeout"


def test_heartbeat_pushes_the_deadline_up_to_the_timeout() -> None:
    ex = Execution.start(DEF, "x", {}, now=0)
    ex.next_action(0)
    ex.task_started(0)
    assert ex.task_deadline() == 4
    ex.task_heartbeat(3)
    assert ex.task_deadline() == 7
    ex.task_heartbeat(8)
    assert ex.task_deadline() == 10
    assert Execution.restore(DEF, ex.snapshot()).task_deadline() == 10


def test_timeout_not_retried_is_caught() -> None:
    d = Definition(start_at="a", states=(
        TaskState("a", "r", next="ok", timeout_seconds=5,
                  retry=(Retrier(("States.TaskFailed",)),),
                  catch=(Catcher(("States.ALL",), "bad"),)),
        SucceedState("ok"), FailState("bad", error="Custom", cause="gave up")))
    ex = Execution.start(d, "x", {}, now=0)
    ex.next_action(0)
    ex.task_started(0)
    assert isinstance(ex.next_action(5), Done)
    assert ex.error == {"error": "Custom", "cause": "gave up", "state": "a"}
    assert [e.type for e in ex.history][-4:] == [E.TaskTimedOut, E.StateExited,
                                                 E.StateEntered, E.ExecutionFailed]


def test_history_cap_fails_the_execution_with_a_clear_message() -> None:
    d = Definition(start_at="a", max_history_events=20, states=(
        TaskState("a", "r", next="ok",
                  retry=(Retrier(("X",), max_attempts=100, backoff_rate=1.0),)),
        SucceedState("ok")))
    ex = Execution.start(d, "x", {}, now=0)
    with pytest.raises(HistoryLimitExceeded) as info:
        for step in range(100):
            action = ex.next_action(step)
            assert isinstance(action, RunTask)
            ex.task_started(step)
            ex.task_failed("X", "again", step)
    assert "max_history_events=20" in str(info.value) and "'x'" in str(info.value)
    assert len(ex.history) <= 20
    assert ex.status is Status.FAILED
    assert ex.error is not None and ex.error["error"] == "States.HistoryLimitExceeded"
    with pytest.raises(HistoryLimitExceeded):
        ex.redrive(1)
    assert len(ex.history) <= 20


def test_invalid_transitions_are_refused_by_the_machine() -> None:
    from states.machine import compiled, trigger_to

    ex = Execution.start(DEF, "x", {}, now=0)
    with pytest.raises(ExecutionError, match="not allowed"):
        compiled(DEF).move(ex, trigger_to("done"))  # one -> done is not an edge
    assert ex.state == "one"
    assert not hasattr(ex, "to_done")


def test_restore_refuses_a_state_the_definition_does_not_have() -> None:
    snap = Execution.start(DEF, "x", {}, now=0).snapshot()
    snap["state"] = "vanished"
    with pytest.raises(DefinitionError, match="'vanished'"):
        Execution.restore(DEF, snap)


def test_abort_stops_a_running_execution_in_its_fail_state_without_a_task_outcome() -> None:
    ex = Execution.start(DEF, "job", {"n": 1}, now=0.0)
    ex.abort("WorkflowChanged", "the workflow changed", now=1.0)
    assert ex.state == "failed" and ex.status is Status.FAILED and ex.is_terminal
    assert ex.error == {"error": "WorkflowChanged", "cause": "the workflow changed",
                        "state": "one"}
    types = [e.type.value for e in ex.history]
    assert types[-3:] == ["StateExited", "StateEntered", "ExecutionFailed"]
    with pytest.raises(ExecutionError, match="without a task error"):
        ex.redrive(2.0)  # nothing failed in a task: start a new execution instead
    with pytest.raises(ExecutionError, match="already FAILED"):
        ex.abort("Again", "twice", now=3.0)


def test_abort_leaves_the_retrying_state_too() -> None:
    ex = Execution.start(DEF, "job", {}, now=0.0)
    ex.next_action(0.0)
    ex.task_started(0.0)
    ex.task_failed("Flaky", "try again", 0.0)
    assert ex.status is Status.RETRYING
    ex.abort("Stopped", "by an operator", now=1.0)
    assert (ex.state, ex.status) == ("failed", Status.FAILED)
    assert ex.next_action(5.0) == Done()


def test_the_state_before_an_event_is_known_after_trimming_and_paged_restore() -> None:
    ex = Execution.start(DEF, "x", {}, now=0)
    _run_ok(ex, 1)  # one -> two
    entered_two = next(i for i, e in enumerate(ex.history)
                       if e.type is E.StateEntered and e.state == "two")
    assert ex.state_before(0) is None and ex.state_before(entered_two) == "one"
    ex.trim_history(ex.event_count)
    assert ex.state_before(ex.event_count) == "two"
    resumed = Execution.restore(DEF, ex.snapshot(history=False))
    _run_ok(resumed, 2)  # two -> done
    done = resumed.history_base + next(i for i, e in enumerate(resumed.history)
                                       if e.type is E.StateEntered)
    assert resumed.state_before(done) == "two"


def test_every_state_entered_names_the_state_it_came_from() -> None:
    ex = Execution.start(DEF, "x", {}, now=0)
    _retry_once(ex, 1)
    _run_ok(ex, 10)   # back from retrying into one, then on to two
    ex.next_action(11)
    ex.task_started(11)
    ex.task_failed("Permanent", "no", 12)  # two has no catch: fails in place
    entered = [(e.state, e.details.get("from")) for e in ex.history
               if e.type is E.StateEntered]
    assert entered == [("one", None), ("retrying", "one"), ("one", "retrying"),
                       ("two", "one")]
    caught = Execution.start(DEF, "y", {}, now=0)
    caught.next_action(0)
    caught.task_started(0)
    caught.task_failed("Permanent", "no", 1)  # one catches it into failed
    resumed = Execution.restore(DEF, caught.snapshot(history=False))
    resumed.redrive(20)  # a paged restore holds no events, and still knows where it was
    assert (resumed.history[-1].state, resumed.history[-1].details) == (
        "one", {"from": "failed"})
