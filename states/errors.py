"""Exceptions of the states library and the mapping from exceptions to error names.

Error names are what Retry and Catch clauses match on (as Step Functions' ErrorEquals).
This module must not import anything outside the standard library: the library knows
nothing of AWS or of the deployment workflow.
"""

from __future__ import annotations

STATES_ALL = "States.ALL"
STATES_TIMEOUT = "States.Timeout"
STATES_TASK_FAILED = "States.TaskFailed"
STATES_HISTORY_LIMIT = "States.HistoryLimitExceeded"
# Step Functions fails an execution with this when a path or value cannot be used at
# run time (e.g. a SecondsPath that selects nothing); Retry and Catch never see it.
STATES_RUNTIME = "States.Runtime"
# A Choice state none of whose rules matched, with no Default.
STATES_NO_CHOICE_MATCHED = "States.NoChoiceMatched"


class StatesError(Exception):
    """Base class of every error the library raises; ``code`` is stable."""

    code: str = "StatesError"


class DefinitionError(StatesError, ValueError):
    """A definition is invalid, or a snapshot belongs to a different definition."""

    code = "DefinitionInvalid"


class ExecutionError(StatesError):
    """An operation is not allowed in the execution's current status (e.g. redrive of a
    running execution, a task outcome with no task started)."""

    code = "ExecutionInvalidOperation"


class HistoryLimitExceeded(StatesError):
    """The execution's history reached the definition's ``max_history_events``.

    The execution is failed (error ``States.HistoryLimitExceeded``) before this is raised,
    so its snapshot is terminal and consistent.
    """

    code = "HistoryLimitExceeded"


class StatesRuntimeError(StatesError):
    """A value the definition points at (a SecondsPath, a TimestampPath) is missing or
    unusable in the execution's data. The execution fails with ``States.Runtime``;
    Retry and Catch do not apply, as in Step Functions."""

    code = STATES_RUNTIME


class TaskTimeout(TimeoutError):
    """Raised by (or on behalf of) a task that ran past its deadline; its error name is
    ``States.Timeout``."""

    code = STATES_TIMEOUT


def error_name_of(exc: BaseException) -> str:
    """The error name Retry/Catch match on: ``exc.code`` when it is a non-empty str,
    ``States.Timeout`` for TaskTimeout/TimeoutError, else the exception's class name."""
    if isinstance(exc, TaskTimeout):
        return STATES_TIMEOUT
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code:
        return code
    if isinstance(exc, TimeoutError):
        return STATES_TIMEOUT
    return type(exc).__name__
