"""Values returned by an Execution: what to do next (RunTask, Wait, Done) and what a
task failure led to (Decision). Plain immutable data, no behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class TaskCall:
    """One attempt of a task: run ``resource`` for ``state``; ``deadline`` is the epoch
    second after which the attempt counts as timed out (None: no timeout)."""

    state: str
    resource: str
    attempt: int
    deadline: float | None
    heartbeat_seconds: float | None


@dataclass(frozen=True, slots=True)
class RunTask:
    call: TaskCall


@dataclass(frozen=True, slots=True)
class Wait:
    """Nothing to do before ``until``. ``state`` names the declared Wait state the
    execution is in (the workflow asks for the pause: a caller may park the work until
    ``until``); it is None for the library's own waits (a retry's backoff, or a task
    started elsewhere that has not reached its deadline yet)."""

    until: float
    state: str | None = None

    @property
    def declared(self) -> bool:
        """True for a declared Wait state, False for a retry backoff or a deadline."""
        return self.state is not None


@dataclass(frozen=True, slots=True)
class Done:
    """The execution is terminal (SUCCEEDED or FAILED)."""


DecisionKind = Literal["retry", "catch", "fail"]


@dataclass(frozen=True, slots=True)
class Decision:
    """What a task failure led to: a scheduled retry (``delay``, ``retrier`` index), a
    catch (``next_state``) or the execution failing (no matching clause)."""

    kind: DecisionKind
    error: str
    next_state: str | None = None
    delay: float | None = None
    retrier: int | None = None
