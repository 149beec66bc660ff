"""History events of an execution, their JSON form, and ``replay`` which rebuilds the
state and status from the events alone.

Must not decide anything: the execution appends events; this module only describes
and folds them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from states.definition import Definition


class Status(str, Enum):  # noqa: UP042 - the contract is (str, Enum)
    """Status of an execution."""

    RUNNING = "RUNNING"
    RETRYING = "RETRYING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class EventType(str, Enum):  # noqa: UP042 - the contract is (str, Enum)
    """History event types (the values are stable and stored)."""

    ExecutionStarted = "ExecutionStarted"
    StateEntered = "StateEntered"
    TaskStarted = "TaskStarted"
    TaskSucceeded = "TaskSucceeded"
    TaskFailed = "TaskFailed"
    TaskTimedOut = "TaskTimedOut"
    RetryScheduled = "RetryScheduled"
    # Step Functions' names for a Wait state's span: entered (details: ``due``, the
    # declared field) and exited; StateEntered/StateExited still frame it, as any state.
    WaitStateEntered = "WaitStateEntered"
    WaitStateExited = "WaitStateExited"
    StateExited = "StateExited"
    ExecutionSucceeded = "ExecutionSucceeded"
    ExecutionFailed = "ExecutionFailed"
    ExecutionRedriven = "ExecutionRedriven"
    # A request from outside the workflow (details: ``signal``, who sent it, ...) merged
    # into the data of a running execution; not a Step Functions event.
    ExecutionSignaled = "ExecutionSignaled"


_BY_VALUE = {e.value: e for e in EventType}


@dataclass(slots=True)
class HistoryEvent:
    """One history entry. ``attempt`` is the 1-based attempt of the state's task;
    ``details`` holds type-specific data (delay, retrier index, deadline, redrive_count)."""

    type: EventType
    state: str
    time: float
    attempt: int
    error: str | None = None
    cause: str | None = None
    trace_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type.value, "state": self.state,
                               "time": self.time, "attempt": self.attempt}
        if self.error is not None:
            out["error"] = self.error
        if self.cause is not None:
            out["cause"] = self.cause
        if self.trace_id is not None:
            out["trace_id"] = self.trace_id
        if self.details:
            out["details"] = self.details
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HistoryEvent:
        return cls(type=_BY_VALUE[data["type"]], state=data["state"], time=data["time"],
                   attempt=data["attempt"], error=data.get("error"),
                   cause=data.get("cause"), trace_id=data.get("trace_id"),
                   details=dict(data.get("details") or {}))


def replay(definition: Definition,
           events: Iterable[HistoryEvent | dict[str, Any]]) -> tuple[str, Status]:
    """Fold ``events`` into the (state, status) they lead to. Raises ValueError on a
    history that does not start with ExecutionStarted or names an unknown state."""
    state: str | None = None
    status = Status.RUNNING
    known = set(definition.names) | {definition.retrying_state}
    for raw in events:
        ev = raw if isinstance(raw, HistoryEvent) else HistoryEvent.from_dict(raw)
        if state is None and ev.type is not EventType.ExecutionStarted:
            raise ValueError(f"history must start with ExecutionStarted, got {ev.type.value}")
        if ev.state not in known:
            raise ValueError(f"history names unknown state {ev.state!r}")
        t = ev.type
        if t is EventType.ExecutionStarted:
            state, status = ev.state, Status.RUNNING
        elif t is EventType.StateEntered:
            state = ev.state
            status = Status.RETRYING if ev.state == definition.retrying_state \
                else Status.RUNNING
        elif t is EventType.ExecutionSucceeded:
            status = Status.SUCCEEDED
        elif t is EventType.ExecutionFailed:
            status = Status.FAILED
        elif t is EventType.ExecutionRedriven:
            status = Status.RUNNING
    if state is None:
        raise ValueError("empty history")
    return state, status
