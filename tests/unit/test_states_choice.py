"""Choice states: validated when the Definition is built, decided on entering them (the
first matching rule, else the Default), recorded in the history, exported as ASL Choice
states; a Variable that selects nothing fails with States.Runtime, no match and no
Default with States.NoChoiceMatched."""

from __future__ import annotations

from typing import Any

import pytest

from states import (
    ChoiceRule,
    ChoiceState,
    Definition,
    DefinitionError,
    EventType,
    Execution,
    FailState,
    RunTask,
    Status,
    SucceedState,
    TaskState,
    Wait,
    WaitState,
    drive,
    replay,
)
from states.export import to_asl, to_dot, to_mermaid

LOOP = Definition(start_at="shift", states=(
    TaskState("shift", "shift", next="bake"),
    WaitState("bake", next="check", seconds_path="$.bake"),
    TaskState("check", "check", next="route"),
    ChoiceState("route", choices=(
        ChoiceRule("$.next", "shift", string_equals="shift"),
        ChoiceRule("$.done", "ok", boolean_equals=True)), default="back"),
    TaskState("back", "back", next="failed"),
    SucceedState("ok"), FailState("failed")))


def _run(verdicts: list[dict[str, Any]]) -> tuple[Execution, list[str]]:
    ran: list[str] = []
    answers = iter(verdicts)

    def task(name: str) -> Any:
        def fn(ctx: Any) -> dict[str, Any]:
            ran.append(name)
            return next(answers) if name == "check" else {"bake": 0}
        return fn

    ex = Execution.start(LOOP, "e1", {}, now=0.0)
    drive(ex, {n: task(n) for n in ("shift", "check", "back")}, persist=lambda e: None,
          clock=lambda: 0.0, sleep=lambda s: None)
    return ex, ran


def test_a_choice_repeats_then_ends_on_the_matching_rule() -> None:
    ex, ran = _run([{"next": "shift", "done": False}, {"next": "stop", "done": True}])
    assert ran == ["shift", "check", "shift", "check"]
    assert ex.status is Status.SUCCEEDED and ex.state == "ok"
    exits = [e.details for e in ex.history
             if e.type is EventType.StateExited and e.state == "route"]
    assert exits == [{"choice": 0, "next": "shift"}, {"choice": 1, "next": "ok"}]
    assert replay(LOOP, ex.history) == ("ok", Status.SUCCEEDED)


def test_no_matching_rule_takes_the_default() -> None:
    ex, ran = _run([{"next": "other", "done": "yes"}])  # "yes" is not a boolean
    assert ran == ["shift", "check", "back"]
    assert ex.state == "failed"


def test_a_variable_that_selects_nothing_fails_with_states_runtime() -> None:
    ex, _ = _run([{"done": False}])  # no $.next
    assert ex.status is Status.FAILED
    assert ex.error is not None and ex.error["error"] == "States.Runtime"
    assert "$.next" in ex.error["cause"] and ex.error["state"] == "route"


def test_no_match_without_a_default_fails_with_no_choice_matched() -> None:
    d = Definition(start_at="t", states=(
        TaskState("t", "t", next="c"),
        ChoiceState("c", choices=(ChoiceRule("$.x", "ok", string_equals="a"),)),
        SucceedState("ok")))
    ex = Execution.start(d, "e", {}, now=0.0)
    drive(ex, {"t": lambda ctx: {"x": "b"}}, persist=lambda e: None, clock=lambda: 0.0)
    assert ex.error is not None and ex.error["error"] == "States.NoChoiceMatched"


def test_a_restored_execution_continues_through_the_choice() -> None:
    ex = Execution.start(LOOP, "e", {}, now=0.0)
    action = ex.next_action(0.0)
    assert isinstance(action, RunTask)
    ex.task_started(0.0)
    ex.task_succeeded({"bake": 30}, 0.0)
    assert isinstance(ex.next_action(1.0), Wait)
    again = Execution.restore(LOOP, ex.snapshot())
    assert again.next_action(31.0) == RunTask(again._call(LOOP.task("check"), 31.0))
    again.task_started(31.0)
    again.task_succeeded({"next": "shift", "done": False}, 31.0)
    assert again.state == "shift"


@pytest.mark.parametrize(("states", "message"), [
    ((ChoiceState("c", choices=()),), "at least one rule"),
    ((ChoiceState("c", choices=(ChoiceRule("$.x", "ok"),)),), "exactly one comparison"),
    ((ChoiceState("c", choices=(ChoiceRule("$.x", "ok", string_equals="a",
                                           boolean_equals=True),)),), "exactly one"),
    ((ChoiceState("c", choices=(ChoiceRule("x", "ok", string_equals="a"),)),),
     "Variable"),
    ((ChoiceState("c", choices=(ChoiceRule("$.x", "nowhere", string_equals="a"),)),),
     "unknown state 'nowhere'"),
    ((ChoiceState("c", choices=(ChoiceRule("$.x", "ok", string_equals="a"),),
                  default="d"),
      ChoiceState("d", choices=(ChoiceRule("$.x", "ok", string_equals="b"),))),
     "leads straight to Choice state 'd'"),
])
def test_bad_choices_are_refused_naming_the_state(states: tuple[Any, ...],
                                                   message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        Definition(start_at="c", states=(*states, SucceedState("ok")))


def test_exports_show_the_rules() -> None:
    doc = to_asl(LOOP)
    assert doc["States"]["route"] == {
        "Type": "Choice",
        "Choices": [{"Variable": "$.next", "StringEquals": "shift", "Next": "shift"},
                    {"Variable": "$.done", "BooleanEquals": True, "Next": "ok"}],
        "Default": "back"}
    text = to_mermaid(LOOP)
    assert "route --> shift : when $.next is shift" in text
    assert "route --> ok : when $.done is true" in text
    assert "route --> back : otherwise" in text
    assert '"route" [shape=diamond];' in to_dot(LOOP)
    drawn = {(line.split()[0], line.split()[2]) for line in text.splitlines()
             if " --> " in line and "[*]" not in line}
    assert drawn == set(LOOP.edges())


def test_the_choice_changes_the_fingerprint() -> None:
    other = Definition(start_at="shift", states=tuple(
        ChoiceState("route", choices=(ChoiceRule("$.next", "shift", string_equals="again"),
                                      ChoiceRule("$.done", "ok", boolean_equals=True)),
                    default="back") if s.name == "route" else s for s in LOOP.states))
    assert other.fingerprint != LOOP.fingerprint


def test_a_signal_merges_data_records_who_and_can_end_a_wait() -> None:
    ex = Execution.start(LOOP, "e", {}, now=0.0)
    ex.next_action(0.0)
    ex.task_started(0.0)
    ex.task_succeeded({"bake": 3600}, 0.0)
    assert ex.wait_until == 3600.0
    ex.signal("promote", {"request": {"by": "alice"}}, 10.0, details={"by": "alice"},
              wake=True)
    assert ex.data["request"] == {"by": "alice"} and ex.wait_until == 10.0
    event = ex.history[-1]
    assert event.type is EventType.ExecutionSignaled
    assert event.details == {"signal": "promote", "by": "alice"} and event.state == "bake"
    assert isinstance(ex.next_action(10.0), RunTask)  # the wait is over: check runs
