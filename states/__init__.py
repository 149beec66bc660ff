"""A Step Functions-style workflow library on top of ``transitions``.

Definitions are data (Retry, Catch, timeouts, heartbeats, Wait and Choice states); an Execution is
plain JSON-safe state with a history, driven by ``drive`` with injected clock, sleep,
randomness and persistence. The library knows nothing of AWS or of deployments.
"""

from __future__ import annotations

from states.actions import Decision, Done, RunTask, TaskCall, Wait
from states.definition import (
    Catcher,
    ChoiceRule,
    ChoiceState,
    Definition,
    FailState,
    Retrier,
    State,
    SucceedState,
    TaskState,
    WaitState,
)
from states.driver import Hooks, Outcome, TaskContext, advance, drive
from states.errors import (
    DefinitionError,
    ExecutionError,
    HistoryLimitExceeded,
    StatesError,
    StatesRuntimeError,
    TaskTimeout,
    error_name_of,
)
from states.execution import Execution
from states.history import EventType, HistoryEvent, Status, replay
from states.retry import backoff_delay, base_delay, matches

__all__ = [
    "Catcher", "ChoiceRule", "ChoiceState", "Decision", "Definition", "DefinitionError",
    "Done", "EventType",
    "Execution", "ExecutionError", "FailState", "HistoryEvent", "HistoryLimitExceeded",
    "Hooks", "Outcome", "Retrier", "RunTask", "State", "StatesError",
    "StatesRuntimeError", "Status", "SucceedState", "TaskCall", "TaskContext",
    "TaskState", "TaskTimeout", "Wait", "WaitState", "advance", "backoff_delay",
    "base_delay", "drive", "error_name_of", "matches", "replay",
]
