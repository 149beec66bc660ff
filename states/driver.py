"""Running an Execution: ``drive`` loops over next_action, runs tasks inside the hooks'
scopes, persists after every transition and sleeps (or returns) while a retry waits.
``advance`` is the same loop telling why it returned: with ``park_after`` a declared
Wait state longer than that is not slept but handed back as ``Outcome("parked", until)``,
so a worker frees its slot and comes back at the wake-up time.

Clock, sleep, randomness and persistence are injected; this module never touches
storage or AWS itself. Cross-cutting concerns (tracing, leases, logs) go in Hooks,
not in tasks.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager as ContextManager
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from states.actions import Done, RunTask, TaskCall, Wait
from states.errors import STATES_TIMEOUT, DefinitionError, HistoryLimitExceeded, error_name_of
from states.execution import Execution
from states.history import HistoryEvent

TaskFn = Callable[["TaskContext"], "dict[str, Any] | None"]
OutcomeKind = Literal["done", "parked", "deferred", "stopped"]


@contextmanager
def _nothing() -> Iterator[None]:
    yield


class Hooks:
    """Observers of a drive. Every method is a no-op; override what you need."""

    def on_event(self, ex: Execution, event: HistoryEvent) -> None:
        """Called for each new history event, after it was persisted."""

    def task_scope(self, ex: Execution, call: TaskCall) -> ContextManager[None]:
        """Wraps one task attempt (e.g. a tracing subsegment)."""
        return _nothing()

    def execution_scope(self, ex: Execution) -> ContextManager[None]:
        """Wraps the whole drive() call."""
        return _nothing()

    def on_heartbeat(self, ex: Execution) -> None:
        """Called when the task reports progress (e.g. extend a lease)."""


@dataclass
class TaskContext:
    """What a task sees: who it runs for, its attempt, a read-only view of the data and
    its deadline. ``heartbeat()`` reports progress."""

    execution_id: str
    state: str
    attempt: int
    data: Mapping[str, Any]
    deadline: float | None
    _on_heartbeat: Callable[[], None] = field(default=lambda: None, repr=False)

    def heartbeat(self) -> None:
        """Push the heartbeat deadline and tell the hooks (which may extend a lease)."""
        self._on_heartbeat()


@dataclass(frozen=True, slots=True)
class Outcome:
    """Why ``advance`` returned: ``done`` (the execution is terminal), ``parked`` (a
    declared Wait state, ``state``, lasts longer than ``park_after``), ``deferred`` (a
    wait longer than ``max_wait``) or ``stopped`` (``stop()`` was true). ``until`` is
    when to come back, for parked and deferred: the caller re-queues the work for then
    (a queue with a shorter maximum delay, such as SQS's 15 minutes, re-queues it in
    hops; the wake-up time is persisted, so an early return just parks again)."""

    execution: Execution
    kind: OutcomeKind
    until: float | None = None
    state: str | None = None

    @property
    def parked(self) -> bool:
        return self.kind == "parked"


class _Driver:
    def __init__(self, ex: Execution, tasks: Mapping[str, TaskFn],
                 persist: Callable[[Execution], None], clock: Callable[[], float],
                 hooks: Sequence[Hooks], rng: random.Random | None) -> None:
        self.ex, self.tasks, self._persist = ex, tasks, persist
        self.clock, self.hooks, self.rng = clock, hooks, rng

    def persist(self) -> None:
        """Persist, then hand the new events to the hooks (at most once each)."""
        ex = self.ex
        first, total = ex.events_delivered, ex.event_count
        ex.events_delivered = total  # stored with the snapshot being persisted
        try:
            self._persist(ex)
        except BaseException:
            ex.events_delivered = first
            raise
        if self.hooks:
            # persist may have trimmed what it wrote before ``first``, never after
            for event in ex.events_since(first)[:total - first]:
                for hook in self.hooks:
                    hook.on_event(ex, event)

    def persist_if_changed(self) -> None:
        if self.ex.events_delivered != self.ex.event_count:
            self.persist()

    def heartbeat(self) -> None:
        self.ex.task_heartbeat(self.clock())
        self._persist(self.ex)
        for hook in self.hooks:
            hook.on_heartbeat(self.ex)

    def run(self, call: TaskCall) -> None:
        ex = self.ex
        fn = self.tasks.get(call.resource) or self.tasks.get(call.state)
        if fn is None:
            raise DefinitionError(f"no task registered for resource {call.resource!r} "
                                  f"(state {call.state!r}); pass it in drive(tasks=...)")
        ex.task_started(self.clock())
        self.persist()
        ctx = TaskContext(ex.id, call.state, ex.attempt, MappingProxyType(ex.data),
                          ex.task_deadline(), self.heartbeat)
        try:
            if self.hooks:
                with ExitStack() as stack:
                    for hook in self.hooks:
                        stack.enter_context(hook.task_scope(ex, call))
                    output = fn(ctx)
            else:
                output = fn(ctx)
        except Exception as exc:  # every task error is data for Retry/Catch
            name = error_name_of(exc)
            if name == STATES_TIMEOUT:
                ex.task_timed_out(self.clock(), rng=self.rng, cause=str(exc) or None)
            else:
                ex.task_failed(name, str(exc), self.clock(), rng=self.rng)
        else:
            now = self.clock()
            deadline = ex.task_deadline()
            if deadline is not None and now >= deadline:
                # Late results are timeouts, as they would be after a crash and resume.
                ex.task_timed_out(now, rng=self.rng,
                                  cause=f"task {call.resource!r} finished after its deadline")
            else:
                ex.task_succeeded(output, now)
        self.persist()


def drive(ex: Execution, tasks: Mapping[str, TaskFn], *,
          persist: Callable[[Execution], None],
          clock: Callable[[], float] = time.time,
          sleep: Callable[[float], None] = time.sleep,
          hooks: Sequence[Hooks] = (), rng: random.Random | None = None,
          stop: Callable[[], bool] = lambda: False,
          max_wait: float | None = None,
          park_after: float | None = None) -> Execution:
    """Run ``ex`` until it is terminal, ``stop()`` is true between tasks, or a wait longer
    than ``max_wait`` is due (then the caller re-queues the work). ``tasks`` maps a
    state's resource (or, failing that, its name) to a callable. ``persist`` runs after
    every transition; if it raises, drive re-raises at once. ``advance`` takes the same
    arguments and says why it returned (``park_after`` is explained there)."""
    return advance(ex, tasks, persist=persist, clock=clock, sleep=sleep, hooks=hooks,
                   rng=rng, stop=stop, max_wait=max_wait, park_after=park_after).execution


def advance(ex: Execution, tasks: Mapping[str, TaskFn], *,
            persist: Callable[[Execution], None],
            clock: Callable[[], float] = time.time,
            sleep: Callable[[float], None] = time.sleep,
            hooks: Sequence[Hooks] = (), rng: random.Random | None = None,
            stop: Callable[[], bool] = lambda: False,
            max_wait: float | None = None,
            park_after: float | None = None) -> Outcome:
    """``drive``, returning an Outcome. A declared Wait state with more than
    ``park_after`` seconds left is never slept: ``Outcome("parked", until, state)``
    returns at once (its wake-up time is already persisted). Shorter declared waits, and
    every retry backoff or task deadline, are slept with ``sleep`` unless longer than
    ``max_wait`` (then ``deferred``). ``park_after=None`` treats declared waits like the
    others."""
    d = _Driver(ex, tasks, persist, clock, tuple(hooks), rng)
    with ExitStack() as stack:
        for hook in d.hooks:
            stack.enter_context(hook.execution_scope(ex))
        try:
            while True:
                action = ex.next_action(clock(), rng=rng)
                d.persist_if_changed()
                if isinstance(action, Done):
                    return Outcome(ex, "done")
                if isinstance(action, Wait):
                    delay = action.until - clock()
                    if action.declared and park_after is not None and delay > park_after:
                        # The wake-up time was persisted with the transition into the
                        # Wait state (persist_if_changed above at the latest).
                        return Outcome(ex, "parked", action.until, action.state)
                    if max_wait is not None and delay > max_wait:
                        d.persist()
                        return Outcome(ex, "deferred", action.until, action.state)
                    if delay > 0:
                        sleep(delay)
                    continue
                assert isinstance(action, RunTask)
                if stop():
                    d.persist()
                    return Outcome(ex, "stopped")
                d.run(action.call)
        except HistoryLimitExceeded:
            # The execution was failed before the raise: persist that terminal state.
            d.persist_if_changed()
            raise
