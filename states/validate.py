"""Validation of a Definition, run once when it is built. Every problem raises
DefinitionError with a message naming the state and saying what to change.

Must not mutate the definition or compile anything.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from states.definition import (
    WAIT_FIELDS,
    Catcher,
    ChoiceRule,
    ChoiceState,
    FailState,
    Retrier,
    State,
    SucceedState,
    TaskState,
    WaitState,
)
from states.errors import STATES_ALL, DefinitionError
from states.paths import PathSyntaxError, parse_path
from states.waits import parse_timestamp

if TYPE_CHECKING:
    from states.definition import Definition

MAX_NAME_LENGTH = 80  # Amazon States Language limit for state names
MIN_HISTORY_EVENTS = 16


def _positive(value: object, what: str, where: str, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise DefinitionError(f"{where}: {what} must be a positive number, got {value!r}")


def _check_clauses(clauses: Sequence[Retrier | Catcher], kind: str, where: str) -> None:
    for index, clause in enumerate(clauses):
        label = f"{where}: {kind}[{index}]"
        names = clause.error_equals
        if not names:
            raise DefinitionError(f"{label}: ErrorEquals is empty; list at least one error name")
        for name in names:
            if not isinstance(name, str) or not name:
                raise DefinitionError(f"{label}: ErrorEquals holds {name!r}; use error names")
        if STATES_ALL in names:
            if len(names) != 1:
                raise DefinitionError(
                    f"{label}: States.ALL must be alone in its ErrorEquals, got {list(names)}")
            if index != len(clauses) - 1:
                raise DefinitionError(
                    f"{label}: the {kind} clause with States.ALL must be the last one "
                    f"(it is {index + 1} of {len(clauses)})")


def _check_retrier(r: Retrier, where: str) -> None:
    _positive(r.interval_seconds, "IntervalSeconds", where)
    if isinstance(r.max_attempts, bool) or not isinstance(r.max_attempts, int) \
            or r.max_attempts < 0:
        raise DefinitionError(
            f"{where}: MaxAttempts must be an integer >= 0, got {r.max_attempts!r}")
    if isinstance(r.backoff_rate, bool) or not isinstance(r.backoff_rate, (int, float)) \
            or not math.isfinite(r.backoff_rate) or r.backoff_rate < 1.0:
        raise DefinitionError(f"{where}: BackoffRate must be >= 1.0, got {r.backoff_rate!r}")
    _positive(r.max_delay_seconds, "MaxDelaySeconds", where, allow_none=True)
    if r.jitter not in ("FULL", "NONE"):
        raise DefinitionError(f"{where}: JitterStrategy must be 'FULL' or 'NONE', "
                              f"got {r.jitter!r}")


def _check_task(s: TaskState, names: set[str]) -> None:
    where = f"state {s.name!r}"
    if not isinstance(s.resource, str) or not s.resource:
        raise DefinitionError(f"{where}: Resource must be a non-empty string")
    if s.next is None:
        raise DefinitionError(f"{where}: a Task must name its Next state "
                              f"(end the workflow with a Succeed or Fail state)")
    if s.next not in names:
        raise DefinitionError(f"{where}: Next names unknown state {s.next!r}; "
                              f"known states: {sorted(names)}")
    for index, r in enumerate(s.retry):
        if not isinstance(r, Retrier):
            raise DefinitionError(f"{where}: Retry[{index}] is not a Retrier: {r!r}")
        _check_retrier(r, f"{where}: Retry[{index}]")
    for index, c in enumerate(s.catch):
        if not isinstance(c, Catcher):
            raise DefinitionError(f"{where}: Catch[{index}] is not a Catcher: {c!r}")
        if c.next not in names:
            raise DefinitionError(f"{where}: Catch[{index}] Next names unknown state "
                                  f"{c.next!r}; known states: {sorted(names)}")
    _check_clauses(s.retry, "Retry", where)
    _check_clauses(s.catch, "Catch", where)
    _positive(s.timeout_seconds, "TimeoutSeconds", where, allow_none=True)
    _positive(s.heartbeat_seconds, "HeartbeatSeconds", where, allow_none=True)
    if s.timeout_seconds is not None and s.heartbeat_seconds is not None \
            and s.heartbeat_seconds >= s.timeout_seconds:
        raise DefinitionError(f"{where}: HeartbeatSeconds ({s.heartbeat_seconds}) must be "
                              f"smaller than TimeoutSeconds ({s.timeout_seconds})")


def _check_wait(s: WaitState, names: set[str]) -> None:
    where = f"state {s.name!r}"
    given = [asl for attr, asl in WAIT_FIELDS if getattr(s, attr) is not None]
    if len(given) != 1:
        raise DefinitionError(
            f"{where}: a Wait state needs exactly one of Seconds, SecondsPath, Timestamp "
            f"and TimestampPath, got {given or 'none'}")
    if not isinstance(s.next, str) or s.next not in names:
        raise DefinitionError(f"{where}: Next names unknown state {s.next!r}; "
                              f"known states: {sorted(names)}")
    field, value = s.asl_field
    if field == "Seconds":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise DefinitionError(f"{where}: Seconds must be an integer >= 0, got {value!r}")
    elif field == "Timestamp":
        try:
            parse_timestamp(value)
        except ValueError as exc:
            raise DefinitionError(f"{where}: Timestamp {exc}") from exc
    else:
        try:
            parse_path(value)
        except PathSyntaxError as exc:
            raise DefinitionError(f"{where}: {field} {exc}") from exc


def _check_choice(s: ChoiceState, names: set[str], by_name: dict[str, State]) -> None:
    where = f"state {s.name!r}"
    if not s.choices:
        raise DefinitionError(f"{where}: a Choice state needs at least one rule in Choices")
    for index, rule in enumerate(s.choices):
        label = f"{where}: Choices[{index}]"
        if not isinstance(rule, ChoiceRule):
            raise DefinitionError(f"{label} is not a ChoiceRule: {rule!r}")
        try:
            _ = rule.asl_test
        except ValueError as exc:
            raise DefinitionError(f"{label}: give exactly one comparison "
                                  f"(StringEquals or BooleanEquals): {exc}") from exc
        if rule.boolean_equals is not None and not isinstance(rule.boolean_equals, bool):
            raise DefinitionError(f"{label}: BooleanEquals must be true or false, "
                                  f"got {rule.boolean_equals!r}")
        if rule.string_equals is not None and not isinstance(rule.string_equals, str):
            raise DefinitionError(f"{label}: StringEquals must be a string, "
                                  f"got {rule.string_equals!r}")
        try:
            parse_path(rule.variable)
        except PathSyntaxError as exc:
            raise DefinitionError(f"{label}: Variable {exc}") from exc
    for target in s.targets:
        if target not in names:
            raise DefinitionError(f"{where}: Next/Default names unknown state {target!r}; "
                                  f"known states: {sorted(names)}")
        if isinstance(by_name.get(target), ChoiceState):
            # A choice is decided on entering it: a chain of them could loop without a
            # task or a wait in between, so one Choice never leads straight to another.
            raise DefinitionError(f"{where}: leads straight to Choice state {target!r}; "
                                  f"put a Task or Wait state between them")


def _successors(s: State) -> list[str]:
    if isinstance(s, TaskState):
        return ([s.next] if s.next else []) + [c.next for c in s.catch]
    if isinstance(s, WaitState):
        return [s.next]
    if isinstance(s, ChoiceState):
        return s.targets
    return []


def validate(definition: Definition) -> None:
    """Raise DefinitionError for the first problem found in ``definition``."""
    states = definition.states
    if not states:
        raise DefinitionError("the definition has no states; declare at least one")
    names: set[str] = set()
    for s in states:
        if not isinstance(s, (TaskState, WaitState, ChoiceState, SucceedState, FailState)):
            raise DefinitionError(f"unknown state type {type(s).__name__}: {s!r}")
        if not isinstance(s.name, str) or not s.name or len(s.name) > MAX_NAME_LENGTH:
            raise DefinitionError(f"state name {s.name!r} must be 1..{MAX_NAME_LENGTH} "
                                  f"characters")
        if s.name in names:
            raise DefinitionError(f"state {s.name!r} is declared twice")
        if s.name == definition.retrying_state:
            raise DefinitionError(f"state {s.name!r} clashes with the library's retrying "
                                  f"state; rename it or pass another retrying_state")
        names.add(s.name)
    if not isinstance(definition.retrying_state, str) or not definition.retrying_state:
        raise DefinitionError("retrying_state must be a non-empty state name")
    if definition.start_at not in names:
        raise DefinitionError(f"StartAt names unknown state {definition.start_at!r}; "
                              f"known states: {sorted(names)}")
    m = definition.max_history_events
    if isinstance(m, bool) or not isinstance(m, int) or m < MIN_HISTORY_EVENTS:
        raise DefinitionError(f"max_history_events must be an integer >= "
                              f"{MIN_HISTORY_EVENTS}, got {m!r}")
    by_name = {s.name: s for s in states}
    for s in states:
        if isinstance(s, TaskState):
            _check_task(s, names)
        elif isinstance(s, WaitState):
            _check_wait(s, names)
        elif isinstance(s, ChoiceState):
            _check_choice(s, names, by_name)
    reachable = {definition.start_at}
    todo = [definition.start_at]
    while todo:
        for nxt in _successors(by_name[todo.pop()]):
            if nxt not in reachable:
                reachable.add(nxt)
                todo.append(nxt)
    for s in states:
        if s.name not in reachable:
            raise DefinitionError(f"state {s.name!r} is unreachable from StartAt "
                                  f"{definition.start_at!r}; link it or remove it")
    # Every state must be able to end: a loop with no way out is a definition bug.
    can_end = {s.name for s in states if isinstance(s, (SucceedState, FailState))}
    changed = True
    while changed:
        changed = False
        for s in states:
            if s.name not in can_end and any(n in can_end for n in _successors(s)):
                can_end.add(s.name)
                changed = True
    for s in states:
        if s.name not in can_end:
            raise DefinitionError(f"state {s.name!r} can never reach a Succeed or Fail "
                                  f"state; give the loop a way out")
