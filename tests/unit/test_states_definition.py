"""Definitions are validated when built: each mistake raises DefinitionError naming
the state and what to change."""

from __future__ import annotations

import pytest

from states import (
    Catcher,
    Definition,
    DefinitionError,
    FailState,
    Retrier,
    SucceedState,
    TaskState,
    error_name_of,
    matches,
)
from states.errors import TaskTimeout


def _defn(*states: TaskState | SucceedState | FailState, start: str = "a",
          **kw: object) -> Definition:
    return Definition(start_at=start, states=states, **kw)  # type: ignore[arg-type]


def _ok_states(**task_kw: object) -> tuple[TaskState | SucceedState | FailState, ...]:
    return (TaskState("a", "run_a", next="done", **task_kw),  # type: ignore[arg-type]
            SucceedState("done"), FailState("oops"))


def test_valid_definition_builds_and_accepts_a_mapping() -> None:
    states = (TaskState("a", "run_a", next="done", catch=(Catcher(("States.ALL",), "oops"),)),
              SucceedState("done"), FailState("oops"))
    d1 = _defn(*states)
    d2 = Definition(start_at="a", states={s.name: s for s in states})
    assert d1.names == ("a", "done", "oops")
    assert d1 == d2
    assert d1.fingerprint == d2.fingerprint


def test_comments_do_not_change_the_fingerprint_but_behaviour_does() -> None:
    base = _defn(TaskState("a", "run_a", next="done"), SucceedState("done"))
    commented = _defn(TaskState("a", "run_a", next="done", comment="hi"),
                      SucceedState("done"), comment="x")
    slower = _defn(TaskState("a", "run_a", next="done", timeout_seconds=5),
                   SucceedState("done"))
    assert base.fingerprint == commented.fingerprint
    assert base.fingerprint != slower.fingerprint


@pytest.mark.parametrize(("states", "start", "needle"), [
    ((TaskState("a", "r", next="nowhere"), SucceedState("done")), "a",
     "state 'a': Next names unknown state 'nowhere'"),
    ((TaskState("a", "r", next="done"), SucceedState("done"), SucceedState("lost")), "a",
     "state 'lost' is unreachable"),
    ((TaskState("a", "r", next="done"), SucceedState("done")), "zz",
     "StartAt names unknown state 'zz'"),
    ((TaskState("a", "r", next=None), SucceedState("done")), "a",
     "state 'a': a Task must name its Next"),
    ((TaskState("a", "r", next="done"), SucceedState("done"), SucceedState("done")), "a",
     "state 'done' is declared twice"),
    ((TaskState("a", "r", next="done", catch=(Catcher(("X",), "ghost"),)),
      SucceedState("done")), "a", "Catch[0] Next names unknown state 'ghost'"),
    ((TaskState("a", "r", next="b"), TaskState("b", "r", next="a")), "a",
     "can never reach a Succeed or Fail state"),
    ((TaskState("retrying", "r", next="done"), SucceedState("done")), "retrying",
     "clashes with the library's retrying state"),
    ((TaskState("a", "", next="done"), SucceedState("done")), "a",
     "state 'a': Resource must be a non-empty string"),
])
def test_structural_mistakes_are_named(states: tuple, start: str, needle: str) -> None:
    with pytest.raises(DefinitionError) as info:
        Definition(start_at=start, states=states)
    assert needle in str(info.value)


@pytest.mark.parametrize(("kw", "needle"), [
    ({"retry": (Retrier(("States.ALL", "X")),)}, "States.ALL must be alone"),
    ({"retry": (Retrier(("States.ALL",)), Retrier(("X",)))},
     "Retry clause with States.ALL must be the last one"),
    ({"catch": (Catcher(("States.ALL",), "oops"), Catcher(("X",), "oops"))},
     "Catch clause with States.ALL must be the last one"),
    ({"catch": (Catcher((), "oops"),)}, "ErrorEquals is empty"),
    ({"retry": (Retrier(("X",), interval_seconds=0),)}, "IntervalSeconds must be a positive"),
    ({"retry": (Retrier(("X",), max_attempts=-1),)}, "MaxAttempts must be an integer >= 0"),
    ({"retry": (Retrier(("X",), max_attempts=1.5),)},  # type: ignore[arg-type]
     "MaxAttempts must be an integer"),
    ({"retry": (Retrier(("X",), backoff_rate=0.5),)}, "BackoffRate must be >= 1.0"),
    ({"retry": (Retrier(("X",), max_delay_seconds=-3),)}, "MaxDelaySeconds must be a positive"),
    ({"retry": (Retrier(("X",), jitter="HALF"),)},  # type: ignore[arg-type]
     "JitterStrategy must be"),
    ({"timeout_seconds": float("nan")}, "TimeoutSeconds must be a positive"),
    ({"heartbeat_seconds": 0}, "HeartbeatSeconds must be a positive"),
    ({"timeout_seconds": 10, "heartbeat_seconds": 10}, "must be smaller than TimeoutSeconds"),
])
def test_bad_clauses_and_numbers_are_named(kw: dict, needle: str) -> None:
    with pytest.raises(DefinitionError) as info:
        _defn(*_ok_states(**kw), start="a") if "catch" in kw else \
            _defn(TaskState("a", "run_a", next="done", **kw), SucceedState("done"))
    assert needle in str(info.value)
    assert "state 'a'" in str(info.value)


def test_history_cap_must_leave_room() -> None:
    with pytest.raises(DefinitionError, match="max_history_events"):
        _defn(TaskState("a", "r", next="done"), SucceedState("done"), max_history_events=3)


def test_edges_cover_next_catch_and_the_retrying_loop() -> None:
    d = _defn(TaskState("a", "r", next="done", retry=(Retrier(("X",)),),
                        catch=(Catcher(("States.ALL",), "oops"),)),
              SucceedState("done"), FailState("oops"))
    assert d.edges() == {("a", "done"), ("a", "oops"), ("a", "retrying"), ("retrying", "a")}
    assert ("oops", "a") in d.edges(include_redrive=True)


@pytest.mark.parametrize(("error_equals", "error", "expected"), [
    (("X",), "X", True),
    (("X",), "Y", False),
    (("States.ALL",), "anything", True),
    (("States.ALL",), "States.Timeout", True),
    (("States.TaskFailed",), "Boom", True),
    (("States.TaskFailed",), "States.Timeout", False),
    (("States.Timeout",), "States.Timeout", True),
    (("A", "B"), "B", True),
])
def test_error_matching_follows_step_functions(error_equals: tuple[str, ...], error: str,
                                                expected: bool) -> None:
    assert matches(error_equals, error) is expected
    assert Retrier(error_equals).matches(error) is expected
    assert Catcher(error_equals, "x").matches(error) is expected


class _Coded(Exception):
    code = "ZipBomb"


class _BadCode(Exception):
    code = 42


def test_error_names_of_exceptions() -> None:
    assert error_name_of(_Coded("x")) == "ZipBomb"
    assert error_name_of(_BadCode("x")) == "_BadCode"
    assert error_name_of(TaskTimeout("late")) == "States.Timeout"
    assert error_name_of(TimeoutError()) == "States.Timeout"
    assert error_name_of(ValueError()) == "ValueError"
