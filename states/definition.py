"""Workflow definitions as plain data: Retrier, Catcher, TaskState, WaitState,
ChoiceState (with ChoiceRule), SucceedState, FailState and Definition, validated when a
Definition is built.

Everything here is immutable and hashable. This module must not run tasks, keep
execution state, or know about AWS; compilation to a ``transitions`` Machine lives in
``states.machine`` and validation rules in ``states.validate``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from states.retry import matches

# Step Functions' cap on one execution's history events; a definition may set its own.
DEFAULT_MAX_HISTORY_EVENTS = 25_000

Jitter = Literal["FULL", "NONE"]


def _as_tuple(value: Iterable[Any] | str) -> tuple[Any, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@dataclass(frozen=True)
class Retrier:
    """One Retry clause: retry errors named in ``error_equals`` up to ``max_attempts``
    times, waiting ``min(interval * rate^(n-1), max_delay)`` (times U[0,1] if FULL jitter)."""

    error_equals: tuple[str, ...]
    interval_seconds: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter: Jitter = "NONE"

    def __post_init__(self) -> None:
        object.__setattr__(self, "error_equals", _as_tuple(self.error_equals))

    def matches(self, error: str) -> bool:
        """True when this retrier applies to ``error`` (Step Functions' rules)."""
        return matches(self.error_equals, error)


@dataclass(frozen=True)
class Catcher:
    """One Catch clause: on errors in ``error_equals`` (after retries), go to ``next``."""

    error_equals: tuple[str, ...]
    next: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "error_equals", _as_tuple(self.error_equals))

    def matches(self, error: str) -> bool:
        return matches(self.error_equals, error)


@dataclass(frozen=True)
class TaskState:
    """A state that runs the task registered under ``resource`` and then goes to ``next``."""

    name: str
    resource: str
    next: str | None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    timeout_seconds: float | None = None
    heartbeat_seconds: float | None = None
    comment: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "retry", tuple(self.retry))
        object.__setattr__(self, "catch", tuple(self.catch))


# The ASL field a WaitState declares, by attribute: exactly one is given.
WAIT_FIELDS = (("seconds", "Seconds"), ("seconds_path", "SecondsPath"),
               ("timestamp", "Timestamp"), ("timestamp_path", "TimestampPath"))


@dataclass(frozen=True)
class WaitState:
    """A state that waits, then goes to ``next``: ``seconds`` (an int >= 0), the number
    of seconds at ``seconds_path`` in the execution's data, until ``timestamp`` (RFC 3339)
    or until the timestamp at ``timestamp_path``. Exactly one of the four is given. The
    wake-up time is fixed when the state is entered and persisted with the execution."""

    name: str
    next: str
    seconds: int | None = None
    seconds_path: str | None = None
    timestamp: str | None = None
    timestamp_path: str | None = None
    comment: str = ""

    @property
    def asl_field(self) -> tuple[str, int | str]:
        """The ASL field name and value given, e.g. ``("SecondsPath", "$.bake")``
        (ValueError if not exactly one is; validation reports that first)."""
        given = [(asl, getattr(self, attr)) for attr, asl in WAIT_FIELDS
                 if getattr(self, attr) is not None]
        if len(given) != 1:
            raise ValueError(f"state {self.name!r} declares {len(given)} of Seconds, "
                             f"SecondsPath, Timestamp and TimestampPath")
        return given[0]


@dataclass(frozen=True)
class ChoiceRule:
    """One of a Choice state's Choices: when the value at ``variable`` (a reference path)
    equals ``string_equals`` (or ``boolean_equals``; exactly one is given), go to ``next``."""

    variable: str
    next: str
    string_equals: str | None = None
    boolean_equals: bool | None = None

    @property
    def asl_test(self) -> tuple[str, str | bool]:
        """The ASL comparison and its value, e.g. ``("StringEquals", "shift")``."""
        given = [(asl, value) for asl, value in (("StringEquals", self.string_equals),
                                                  ("BooleanEquals", self.boolean_equals))
                 if value is not None]
        if len(given) != 1:
            raise ValueError(f"choice on {self.variable!r} declares {len(given)} of "
                             f"StringEquals and BooleanEquals")
        return given[0]

    def matches(self, value: object) -> bool:
        """True when ``value`` (what ``variable`` selected) passes the comparison: of the
        same JSON type and equal, as in Step Functions."""
        test, expected = self.asl_test
        if test == "BooleanEquals":
            return isinstance(value, bool) and value is expected
        return isinstance(value, str) and value == expected


@dataclass(frozen=True)
class ChoiceState:
    """A state that goes on at once to the ``next`` of the first rule in ``choices`` that
    matches the execution's data, else to ``default``. With no match and no default, the
    execution fails with ``States.NoChoiceMatched``; a variable that selects nothing fails
    it with ``States.Runtime`` (as in Step Functions). Never rests: no task, no wait."""

    name: str
    choices: tuple[ChoiceRule, ...]
    default: str | None = None
    comment: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "choices", tuple(self.choices))

    @property
    def targets(self) -> list[str]:
        """Every state the choice may go to, rules first, then the default."""
        out = [rule.next for rule in self.choices]
        return out + ([self.default] if self.default is not None else [])


@dataclass(frozen=True)
class SucceedState:
    """A terminal state: the execution succeeds on entering it."""

    name: str
    comment: str = ""


@dataclass(frozen=True)
class FailState:
    """A terminal state: the execution fails on entering it, with ``error``/``cause``
    if given, else with the error that was caught on the way here."""

    name: str
    error: str | None = None
    cause: str | None = None
    comment: str = ""


State = Union[TaskState, WaitState, ChoiceState, SucceedState, FailState]  # noqa: UP007 - used at runtime


@dataclass(frozen=True, init=False)
class Definition:
    """A validated workflow: ``start_at`` names the first state; ``states`` is a tuple of
    states (or a mapping name -> state). ``retrying_state`` is the library's own waiting
    state, entered while a retry is scheduled; it must not be declared."""

    start_at: str
    states: tuple[State, ...]
    comment: str = ""
    retrying_state: str = "retrying"
    max_history_events: int = DEFAULT_MAX_HISTORY_EVENTS
    _compiled: dict[str, Any] = field(default_factory=dict, repr=False, compare=False,
                                      hash=False)

    def __init__(self, start_at: str, states: Iterable[State] | Mapping[str, State],
                 comment: str = "", retrying_state: str = "retrying",
                 max_history_events: int = DEFAULT_MAX_HISTORY_EVENTS) -> None:
        items = tuple(states.values()) if isinstance(states, Mapping) else tuple(states)
        for key, value in (("start_at", start_at), ("states", items), ("comment", comment),
                           ("retrying_state", retrying_state),
                           ("max_history_events", max_history_events),
                           ("_compiled", {})):
            object.__setattr__(self, key, value)
        # here, not at the top: states.validate imports this module's classes
        from states.validate import validate

        validate(self)
        self._compiled["by_name"] = {s.name: s for s in self.states}

    # ---- lookups ----
    def state(self, name: str) -> State:
        """The state called ``name`` (KeyError if there is none)."""
        by_name: dict[str, State] = self._compiled["by_name"]
        return by_name[name]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states)

    @property
    def terminal_states(self) -> frozenset[str]:
        """The Succeed and Fail states: an execution in one of them is finished."""
        return frozenset(s.name for s in self.states
                         if isinstance(s, (SucceedState, FailState)))

    @property
    def succeed_states(self) -> frozenset[str]:
        return frozenset(s.name for s in self.states if isinstance(s, SucceedState))

    @property
    def fail_states(self) -> frozenset[str]:
        return frozenset(s.name for s in self.states if isinstance(s, FailState))

    @property
    def task_states(self) -> tuple[TaskState, ...]:
        """The Task states, in declaration order."""
        return tuple(s for s in self.states if isinstance(s, TaskState))

    @property
    def wait_states(self) -> tuple[WaitState, ...]:
        """The Wait states, in declaration order."""
        return tuple(s for s in self.states if isinstance(s, WaitState))

    @property
    def choice_states(self) -> tuple[ChoiceState, ...]:
        """The Choice states, in declaration order."""
        return tuple(s for s in self.states if isinstance(s, ChoiceState))

    def task(self, name: str) -> TaskState:
        state = self.state(name)
        if not isinstance(state, TaskState):
            raise KeyError(f"state {name!r} is not a Task state")
        return state

    def edges(self, *, include_retrying: bool = True,
              include_redrive: bool = False) -> frozenset[tuple[str, str]]:
        """Every (source, destination) pair the execution may move along: Next and Catch
        edges (a Wait state's Next and a Choice state's targets too), the retrying loop
        (state -> retrying -> state) for states with retriers, and with
        ``include_redrive`` the redrive edges (any Fail state -> any Task state)."""
        key = f"edges:{include_retrying}:{include_redrive}"
        cached = self._compiled.get(key)
        if cached is not None:
            return cached
        out: set[tuple[str, str]] = set()
        for s in self.states:
            if isinstance(s, TaskState):
                if s.next is not None:
                    out.add((s.name, s.next))
                for c in s.catch:
                    out.add((s.name, c.next))
                if include_retrying and s.retry:
                    out.add((s.name, self.retrying_state))
                    out.add((self.retrying_state, s.name))
            elif isinstance(s, WaitState):
                out.add((s.name, s.next))
            elif isinstance(s, ChoiceState):
                out.update((s.name, target) for target in s.targets)
        if include_redrive:
            fails = [s.name for s in self.states if isinstance(s, FailState)]
            tasks = [s.name for s in self.states if isinstance(s, TaskState)]
            out.update((f, t) for f in fails for t in tasks)
        result = frozenset(out)
        self._compiled[key] = result
        return result

    # ---- identity ----
    def to_data(self) -> dict[str, Any]:
        """A JSON-safe description (comments included), the basis of exports."""
        out: dict[str, Any] = {"start_at": self.start_at, "comment": self.comment,
                               "retrying_state": self.retrying_state,
                               "max_history_events": self.max_history_events, "states": []}
        for s in self.states:
            item: dict[str, Any] = {"type": type(s).__name__, "name": s.name,
                                    "comment": s.comment}
            if isinstance(s, TaskState):
                item.update(resource=s.resource, next=s.next,
                            timeout_seconds=s.timeout_seconds,
                            heartbeat_seconds=s.heartbeat_seconds,
                            retry=[{"error_equals": list(r.error_equals),
                                    "interval_seconds": r.interval_seconds,
                                    "max_attempts": r.max_attempts,
                                    "backoff_rate": r.backoff_rate,
                                    "max_delay_seconds": r.max_delay_seconds,
                                    "jitter": r.jitter} for r in s.retry],
                            catch=[{"error_equals": list(c.error_equals), "next": c.next}
                                   for c in s.catch])
            elif isinstance(s, WaitState):
                item.update(next=s.next, seconds=s.seconds, seconds_path=s.seconds_path,
                            timestamp=s.timestamp, timestamp_path=s.timestamp_path)
            elif isinstance(s, ChoiceState):
                item.update(default=s.default,
                            choices=[{"variable": r.variable, "next": r.next,
                                      "string_equals": r.string_equals,
                                      "boolean_equals": r.boolean_equals}
                                     for r in s.choices])
            elif isinstance(s, FailState):
                item.update(error=s.error, cause=s.cause)
            out["states"].append(item)
        return out

    @property
    def fingerprint(self) -> str:
        """A hash of everything that changes what a snapshot means: the states, their
        transitions, Retry, Catch and timeouts (comments and limits such as
        ``max_history_events`` excluded). A snapshot can only be restored with a
        definition of the same fingerprint."""
        fp = self._compiled.get("fingerprint")
        if fp is None:
            fp = _digest(self.to_data())
            self._compiled["fingerprint"] = fp
        return str(fp)


def _digest(data: dict[str, Any]) -> str:
    data = {k: v for k, v in data.items() if k not in ("comment", "max_history_events")}
    data["states"] = [{k: v for k, v in item.items() if k != "comment"}
                      for item in data["states"]]
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
