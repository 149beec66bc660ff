"""The Execution: one run of a Definition as plain, persisted data.

Pure: no I/O, no clock, no sleeping; every method takes ``now`` (epoch seconds) and an
optional random source. Every change of state goes through the definition's shared
``transitions`` Machine (``states.machine``) and appends history events; ``snapshot()``
returns everything needed to continue exactly (a Wait state's wake-up time included), and
``restore()`` continues from it.

History can live outside the snapshot, as Step Functions pages GetExecutionHistory:
each event has a sequence number (its index from ExecutionStarted);
``snapshot(history=False)`` carries only the number of events, ``events_since(n)``
hands out the events a store has not written yet, and ``trim_history(n)`` lets go of
the ones it has, so neither the snapshot nor memory grows with the execution's length.
The history cap (``max_history_events``) counts every event, held or not.
Must not run tasks (``states.driver`` does) nor persist anything itself.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from states.actions import Decision, Done, RunTask, TaskCall, Wait
from states.definition import (
    ChoiceState,
    Definition,
    FailState,
    SucceedState,
    TaskState,
    WaitState,
)
from states.errors import (
    STATES_HISTORY_LIMIT,
    STATES_NO_CHOICE_MATCHED,
    STATES_RUNTIME,
    STATES_TIMEOUT,
    DefinitionError,
    ExecutionError,
    HistoryLimitExceeded,
    StatesRuntimeError,
)
from states.history import EventType, HistoryEvent, Status
from states.machine import CompiledMachine, compiled, trigger_abort, trigger_redrive
from states.paths import PathNotFound, resolve
from states.retry import backoff_delay
from states.waits import wake_time

# Format 1 carries every history event; format 2 only their number (the events are
# kept elsewhere by whoever persists the execution).
SNAPSHOT_FORMAT = 1
PAGED_SNAPSHOT_FORMAT = 2
# The most events one operation appends; the history guard keeps room for them.
_MAX_EVENTS_PER_OP = 5
# Step Functions' limit on an error's Cause; longer causes are cut (and say so).
MAX_CAUSE_CHARS = 32_768

_E = EventType
# The key a WaitStateEntered event's details give the declared field under.
_DETAIL_KEYS = {"Seconds": "seconds", "SecondsPath": "seconds_path",
                "Timestamp": "timestamp", "TimestampPath": "timestamp_path"}


class Execution:
    """One execution of a Definition. Build with ``start`` or ``restore``."""

    def __init__(self, definition: Definition, execution_id: str) -> None:
        self.definition = definition
        self._cm: CompiledMachine = compiled(definition)
        self._specs: dict[str, Any] = definition._compiled["by_name"]
        self.id = execution_id
        self.trace_id: str | None = None
        self.state: str = definition.start_at  # set by the transitions Machine
        self.status = Status.RUNNING
        self.data: dict[str, Any] = {}
        self.error: dict[str, Any] | None = None
        self.failed_state: str | None = None
        self.redrive_count = 0
        # The events held in memory: all of them, unless the execution was restored from
        # a snapshot without history or trimmed; ``history[0]`` is event ``history_base``.
        self.history: list[HistoryEvent] = []
        self.history_base = 0
        # The state last entered before ``history[0]`` (None before ExecutionStarted).
        self._entered_before_window: str | None = None
        # The state of the last StateEntered event (None before the first).
        self._last_entered: str | None = None
        self.attempt = 1
        self.retries: dict[str, list[int]] = {}
        self.next_attempt_at: float | None = None
        # When the declared Wait state the execution is in is over (epoch seconds),
        # fixed on entering it so that a restored snapshot wakes at the same moment.
        self.wait_until: float | None = None
        # When the state's current run of retries began, and the error that started it:
        # how long a job has waited out a transient failure (a caller may set a deadline).
        self.retrying_since: float | None = None
        self.retry_error: dict[str, Any] | None = None
        # Set by the caller, not persisted: a run of retries that has lasted longer than
        # ``retry_deadline`` seconds gives up (Catch decides) with ``deadline_error``,
        # whatever attempts its retrier has left: outages are waited out by time.
        self.retry_deadline: float | None = None
        self.deadline_error = "States.RetryDeadline"
        self.task: dict[str, Any] | None = None
        self.started_at = 0.0
        # History events (a count from the first) already persisted and handed to hooks
        # by drive(); the rest (e.g. those of start()) are reported by the next drive().
        self.events_delivered = 0
        self._serialized: list[dict[str, Any]] = []

    # ---- construction ----
    @classmethod
    def start(cls, definition: Definition, execution_id: str, input: dict[str, Any],
              now: float, trace_id: str | None = None,
              details: dict[str, Any] | None = None) -> Execution:
        """A new execution at ``definition.start_at`` with ``input`` as its data;
        ``details`` go on its ExecutionStarted event (who started it, and why)."""
        ex = cls(definition, execution_id)
        ex.trace_id = trace_id
        ex.data = dict(input)
        ex.started_at = now
        ex._emit(_E.ExecutionStarted, definition.start_at, now, details=details)
        ex._entered(definition.start_at, now, caught=None)
        return ex

    @classmethod
    def restore(cls, definition: Definition, snapshot: dict[str, Any],
                history_tail: Sequence[dict[str, Any]] = ()) -> Execution:
        """Continue exactly from ``snapshot``; DefinitionError if it was taken with a
        different definition (a changed workflow needs a new execution).

        A snapshot without history may come with ``history_tail``, its last events (the
        ones not yet delivered to hooks, say): they are held again, so the next drive
        reports them. Events not delivered and not given are not reported."""
        fp = snapshot.get("definition")
        if fp != definition.fingerprint:
            raise DefinitionError(
                f"snapshot of execution {snapshot.get('execution_id')!r} was taken with "
                f"definition {fp!r}, not {definition.fingerprint!r}; the workflow changed: "
                f"start a new execution instead of resuming this one")
        form = snapshot.get("format")
        if form not in (SNAPSHOT_FORMAT, PAGED_SNAPSHOT_FORMAT):
            raise DefinitionError(f"unknown snapshot format {form!r}")
        known = {*definition.names, definition.retrying_state}
        if snapshot.get("state") not in known:
            raise DefinitionError(f"snapshot of execution {snapshot.get('execution_id')!r} is "
                                  f"in state {snapshot.get('state')!r}, which the definition "
                                  f"does not have")
        wait_until = snapshot.get("wait_until")
        if snapshot.get("status") == Status.RUNNING.value and wait_until is None \
                and isinstance(definition._compiled["by_name"].get(snapshot["state"]),
                               WaitState):
            raise DefinitionError(f"snapshot of execution {snapshot.get('execution_id')!r} "
                                  f"is in Wait state {snapshot['state']!r} without its "
                                  f"wake-up time (wait_until); it cannot be continued")
        ex = cls(definition, snapshot["execution_id"])
        ex.trace_id = snapshot.get("trace_id")
        ex.state = snapshot["state"]
        ex.status = Status(snapshot["status"])
        ex.data = dict(snapshot["data"])
        ex.error = dict(snapshot["error"]) if snapshot.get("error") else None
        ex.failed_state = snapshot.get("failed_state")
        ex.redrive_count = int(snapshot.get("redrive_count", 0))
        ex.attempt = int(snapshot["attempt"])
        ex.retries = {k: list(v) for k, v in (snapshot.get("retries") or {}).items()}
        ex.next_attempt_at = snapshot.get("next_attempt_at")
        ex.wait_until = wait_until
        ex.retrying_since = snapshot.get("retrying_since")
        ex.retry_error = dict(snapshot["retry_error"]) if snapshot.get("retry_error") else None
        ex.task = dict(snapshot["task"]) if snapshot.get("task") else None
        ex.started_at = snapshot.get("started_at", 0.0)
        ex.events_delivered = int(snapshot.get("events_delivered", 0))
        # every change of state emits StateEntered: the last one entered ``state``
        ex._last_entered = ex.state
        if form == PAGED_SNAPSHOT_FORMAT:
            count = int(snapshot["event_count"])
            tail = [dict(e) for e in history_tail][-count:] if count else []
            ex.history = [HistoryEvent.from_dict(e) for e in tail]
            ex.history_base = count - len(tail)
            # Every change of state emits StateEntered, so with no tail the last one
            # entered ``state``; before a tail it is unknown (give a few delivered events
            # ahead of the undelivered ones for ``state_before`` to find it).
            ex._entered_before_window = ex.state if count and not tail else None
            ex.events_delivered = max(ex.events_delivered, ex.history_base)
        else:
            ex._serialized = [dict(e) for e in snapshot["history"]]
            ex.history = [HistoryEvent.from_dict(e) for e in ex._serialized]
        return ex

    def snapshot(self, *, history: bool = True) -> dict[str, Any]:
        """Everything needed to continue, as JSON-safe data (a fresh structure each call).

        ``history=False`` leaves the events out and records only how many there are:
        the caller keeps them elsewhere (``events_since``) and restores without them.
        A full snapshot needs every event in memory (ExecutionError otherwise)."""
        out = {
            "format": SNAPSHOT_FORMAT, "definition": self.definition.fingerprint,
            "execution_id": self.id, "trace_id": self.trace_id, "state": self.state,
            "status": self.status.value, "data": dict(self.data),
            "error": dict(self.error) if self.error else None,
            "failed_state": self.failed_state, "redrive_count": self.redrive_count,
            "attempt": self.attempt,
            "retries": {k: list(v) for k, v in self.retries.items()},
            "next_attempt_at": self.next_attempt_at,
            "task": dict(self.task) if self.task else None,
            "started_at": self.started_at, "events_delivered": self.events_delivered,
        }
        if self.wait_until is not None:
            # Only while in a Wait state, so records of workflows without one keep
            # exactly the shape they had.
            out["wait_until"] = self.wait_until
        if self.retrying_since is not None:  # the same: only while retries run
            out["retrying_since"] = self.retrying_since
            out["retry_error"] = dict(self.retry_error or {})
        if not history:
            out["format"] = PAGED_SNAPSHOT_FORMAT
            out["event_count"] = self.event_count
            return out
        if self.history_base:
            raise ExecutionError(
                f"execution {self.id!r} holds events from {self.history_base} on only; "
                f"take snapshot(history=False) and keep the events where they were written")
        ser = self._serialized
        for ev in self.history[len(ser):]:
            ser.append(ev.to_dict())
        out["history"] = list(ser)
        return out

    # ---- history outside the snapshot ----
    @property
    def event_count(self) -> int:
        """How many history events the execution has, held in memory or not."""
        return self.history_base + len(self.history)

    def events_since(self, seq: int) -> list[HistoryEvent]:
        """The events numbered ``seq`` and after (ExecutionError if some were trimmed)."""
        if seq < self.history_base:
            raise ExecutionError(f"events before {self.history_base} of execution "
                                 f"{self.id!r} are no longer held (asked from {seq})")
        return self.history[seq - self.history_base:]

    def trim_history(self, before: int) -> None:
        """Let go of the events numbered below ``before`` (the caller wrote them
        somewhere); later snapshots must then be taken with ``history=False``."""
        drop = min(max(before, self.history_base), self.event_count) - self.history_base
        if drop <= 0:
            return
        for ev in reversed(self.history[:drop]):
            if ev.type is _E.StateEntered:
                self._entered_before_window = ev.state
                break
        del self.history[:drop]
        self.history_base += drop
        self._serialized = []

    def state_before(self, seq: int) -> str | None:
        """The state last entered before event ``seq`` (None before ExecutionStarted),
        known even when the events before the ones held were trimmed."""
        index = seq - self.history_base
        if 0 <= index < len(self.history) and self.history[index].type is _E.StateEntered:
            came_from = self.history[index].details.get("from")
            if came_from is not None:
                return str(came_from)
        for i in range(min(index, len(self.history)) - 1, -1, -1):
            if self.history[i].type is _E.StateEntered:
                return self.history[i].state
        return self._entered_before_window

    # ---- views ----
    @property
    def is_terminal(self) -> bool:
        return self.status is Status.SUCCEEDED or self.status is Status.FAILED

    def __repr__(self) -> str:
        return (f"Execution(id={self.id!r}, state={self.state!r}, status={self.status.value}, "
                f"attempt={self.attempt}, events={self.event_count})")

    def task_deadline(self) -> float | None:
        """The earliest of the started task's timeout and heartbeat deadlines."""
        if self.task is None:
            return None
        d, h = self.task.get("deadline"), self.task.get("heartbeat_deadline")
        if d is None:
            return h
        return d if h is None else min(d, h)

    # ---- driving ----
    def next_action(self, now: float, rng: random.Random | None = None) -> RunTask | Wait | Done:
        """What to do now. Leaves ``retrying`` when the retry is due and a Wait state when
        its wake-up time has come (before that: ``Wait(until, state=...)``); turns a
        started task whose deadline passed (its worker crashed) into a TaskTimedOut."""
        while True:
            if self.is_terminal:
                return Done()
            if self.status is Status.RETRYING:
                due = self.next_attempt_at or 0.0
                if now < due:
                    return Wait(due)
                self._guard(now)
                target = self.failed_state
                assert target is not None
                self._emit(_E.StateExited, self.state, now)
                self._cm.move_to(self, target)
                self.status = Status.RUNNING
                self.next_attempt_at = None
                self._emit(_E.StateEntered, target, now)
                continue
            waiting = self._specs.get(self.state)
            if isinstance(waiting, WaitState):
                wake = self.wait_until
                assert wake is not None, "entering a Wait state sets wait_until"
                if now < wake:
                    return Wait(wake, state=waiting.name)
                self._leave_wait(waiting, wake, now)
                continue
            spec = self._task_spec()
            if self.task is not None:
                deadline = self.task_deadline()
                if deadline is None:
                    # No deadline to wait for: run the task again (at least once).
                    return RunTask(self._call(spec, now))
                if now < deadline:
                    return Wait(deadline)
                self.task_timed_out(now, rng=rng,
                                    cause=f"no outcome for {spec.name!r} by its deadline")
                continue
            return RunTask(self._call(spec, now))

    def task_started(self, now: float) -> None:
        """Record that the current state's task starts now and store its deadlines."""
        spec = self._task_spec()
        if self.status is not Status.RUNNING:
            raise ExecutionError(f"cannot start a task while {self.status.value}")
        self._guard(now)
        deadline = now + spec.timeout_seconds if spec.timeout_seconds else None
        hb = now + spec.heartbeat_seconds if spec.heartbeat_seconds else None
        self.task = {"started_at": now, "deadline": deadline, "heartbeat_deadline": hb}
        self._emit(_E.TaskStarted, spec.name, now,
                   details={"resource": spec.resource, "deadline": deadline})

    def task_heartbeat(self, now: float) -> None:
        """Push the heartbeat deadline of the running task."""
        spec = self._running_spec()
        if spec.heartbeat_seconds and self.task is not None:
            self.task["heartbeat_deadline"] = now + spec.heartbeat_seconds

    def task_succeeded(self, output: dict[str, Any] | None, now: float) -> None:
        """The task returned ``output`` (merged into data); move to its Next state."""
        spec = self._running_spec()
        if output is not None and not isinstance(output, dict):
            raise ExecutionError(f"task {spec.resource!r} of state {spec.name!r} returned "
                                 f"{type(output).__name__}; return a dict or None")
        self._guard(now)
        self._emit(_E.TaskSucceeded, spec.name, now)
        if output:
            self.data.update(output)
        self.task = None
        self.failed_state = None
        self._emit(_E.StateExited, spec.name, now)
        assert spec.next is not None
        self._cm.move_to(self, spec.next)
        self._entered(spec.next, now, caught=None)

    def task_failed(self, error: str, cause: str, now: float,
                    rng: random.Random | None = None) -> Decision:
        """The task failed with ``error``: schedule a retry, follow a catch, or fail."""
        return self._failed(_E.TaskFailed, error, cause, now, rng)

    def task_timed_out(self, now: float, rng: random.Random | None = None,
                       cause: str | None = None) -> Decision:
        """The task missed its deadline: as task_failed with ``States.Timeout``."""
        spec = self._running_spec()
        text = cause or f"task {spec.resource!r} of state {spec.name!r} timed out"
        return self._failed(_E.TaskTimedOut, STATES_TIMEOUT, text, now, rng)

    def redrive(self, now: float, details: dict[str, Any] | None = None) -> None:
        """Continue a FAILED execution at the state whose task failed, with fresh attempt
        counters there; states that succeeded are not run again. ``details`` go on the
        ExecutionRedriven event (who redrove it, and why)."""
        if self.status is not Status.FAILED:
            raise ExecutionError(f"execution {self.id!r} is {self.status.value}; only a "
                                 f"FAILED execution can be redriven")
        target = self.failed_state
        if target is None:
            raise ExecutionError(f"execution {self.id!r} failed in state {self.state!r} "
                                 f"without a task error; start a new execution instead")
        if self.error and self.error.get("error") == STATES_HISTORY_LIMIT:
            raise HistoryLimitExceeded(self._limit_message())
        self._guard(now)
        self.redrive_count += 1
        self.error = None
        self.status = Status.RUNNING
        self.task = None
        self.next_attempt_at = None
        self.attempt = 1
        self.retries.pop(target, None)
        self._emit(_E.ExecutionRedriven, target, now,
                   details={**(details or {}), "redrive_count": self.redrive_count})
        if self.state != target:
            self._cm.move(self, trigger_redrive(target))
            self._emit(_E.StateEntered, target, now)

    def signal(self, name: str, data: dict[str, Any], now: float, *,
               details: dict[str, Any] | None = None, wake: bool = False) -> None:
        """A request from outside (an operator's, say) for the workflow's next task to
        read: ``data`` is merged into the execution's data and an ``ExecutionSignaled``
        event records ``name`` and ``details``. ``wake`` ends a Wait state in progress
        now (its wake-up time becomes ``now``; the next ``next_action`` leaves it)."""
        if self.is_terminal:
            raise ExecutionError(f"execution {self.id!r} is already {self.status.value}")
        self._guard(now)
        self.data.update(data)
        self._emit(_E.ExecutionSignaled, self.state, now,
                   details={"signal": name, **(details or {})})
        if wake and self.wait_until is not None and self.wait_until > now:
            self.wait_until = now

    def abort(self, error: str, cause: str, now: float, into: str | None = None) -> None:
        """Fail a running (or retrying) execution from outside, as Step Functions'
        StopExecution does: no task outcome is recorded, the current state is left for
        the Fail state ``into`` (the definition's only one by default) with ``error``
        and ``cause``. It cannot be redriven (no task failed); start a new execution."""
        if self.is_terminal:
            raise ExecutionError(f"execution {self.id!r} is already {self.status.value}")
        fails = sorted(self.definition.fail_states)
        target = into or (fails[0] if len(fails) == 1 else None)
        if target not in fails:
            raise ExecutionError(f"abort needs one of the Fail states {fails}, got {into!r}")
        where = self.state
        self.task = None
        self.next_attempt_at = None
        self.wait_until = None
        self.failed_state = None
        self._emit(_E.StateExited, where, now)
        self._cm.move(self, trigger_abort(target))
        self._entered(target, now, caught={"error": error, "cause": cause, "state": where})

    # ---- internals ----
    def _emit(self, type_: EventType, state: str, now: float, error: str | None = None,
              cause: str | None = None, details: dict[str, Any] | None = None) -> None:
        if type_ is _E.StateEntered:
            # Every StateEntered names the state it came from, so a reader of any
            # stretch of the history (a page, a tail) knows each transition whole.
            if self._last_entered is not None:
                details = {**(details or {}), "from": self._last_entered}
            self._last_entered = state
        self.history.append(HistoryEvent(type_, state, now, self.attempt, error,
                                         capped_cause(cause), self.trace_id, details or {}))

    def _task_spec(self) -> TaskState:
        spec = self._specs.get(self.state)
        if spec.__class__ is not TaskState:
            raise ExecutionError(f"state {self.state!r} is not a Task state")
        return spec

    def _running_spec(self) -> TaskState:
        if self.task is None or self.status is not Status.RUNNING:
            raise ExecutionError(f"no task is running in state {self.state!r} "
                                 f"({self.status.value}); record task_started first")
        return self._task_spec()

    def _call(self, spec: TaskState, now: float) -> TaskCall:
        deadline = now + spec.timeout_seconds if spec.timeout_seconds else None
        return TaskCall(spec.name, spec.resource, self.attempt, deadline,
                        spec.heartbeat_seconds)

    def _entered(self, name: str, now: float, caught: dict[str, Any] | None) -> None:
        self.attempt = 1
        self.retries.pop(name, None)
        self.retrying_since = None
        self.retry_error = None
        self._emit(_E.StateEntered, name, now)
        spec = self._specs[name]
        if isinstance(spec, SucceedState):
            self.status = Status.SUCCEEDED
            self._emit(_E.ExecutionSucceeded, name, now)
        elif isinstance(spec, WaitState):
            self._enter_wait(spec, now)
        elif isinstance(spec, ChoiceState):
            self._choose(spec, now)
        elif isinstance(spec, FailState):
            self.status = Status.FAILED
            err = spec.error or (caught or {}).get("error")
            cause = spec.cause or (caught or {}).get("cause")
            where = (caught or {}).get("state", name)
            self.error = {"error": err, "cause": capped_cause(cause), "state": where}
            self._emit(_E.ExecutionFailed, name, now, error=err, cause=cause)

    def _past_retry_deadline(self, now: float) -> bool:
        return (self.retry_deadline is not None and self.retrying_since is not None
                and now - self.retrying_since > self.retry_deadline)

    def _enter_wait(self, spec: WaitState, now: float) -> None:
        """Fix the wake-up time, or fail with States.Runtime when a path selects nothing
        usable (Retry and Catch do not apply, as in Step Functions; nothing to redrive)."""
        try:
            due = wake_time(spec, self.data, now)
        except StatesRuntimeError as exc:
            self.status = Status.FAILED
            self.failed_state = None
            self.error = {"error": STATES_RUNTIME, "cause": capped_cause(str(exc)),
                          "state": spec.name}
            self._emit(_E.ExecutionFailed, spec.name, now, error=STATES_RUNTIME,
                       cause=str(exc))
            return
        self.wait_until = due
        field, value = spec.asl_field
        self._emit(_E.WaitStateEntered, spec.name, now,
                   details={"due": due, _DETAIL_KEYS[field]: value})

    def _choose(self, spec: ChoiceState, now: float) -> None:
        """Go on at once to the first matching rule's Next (or the Default); fail with
        States.Runtime when a Variable selects nothing, States.NoChoiceMatched when no
        rule matches and there is no Default (Retry and Catch do not apply)."""
        target: str | None = None
        matched: int | str | None = None
        try:
            for index, rule in enumerate(spec.choices):
                if rule.matches(resolve(rule.variable, self.data)):
                    target, matched = rule.next, index
                    break
        except PathNotFound as exc:
            self._fail_at(spec.name, STATES_RUNTIME,
                          f"state {spec.name!r}: Choices Variable: {exc}", now)
            return
        if target is None and spec.default is not None:
            target, matched = spec.default, "Default"
        if target is None:
            self._fail_at(spec.name, STATES_NO_CHOICE_MATCHED,
                          f"state {spec.name!r}: no rule of its Choices matched and it has "
                          f"no Default", now)
            return
        self._guard(now)
        self._emit(_E.StateExited, spec.name, now, details={"choice": matched, "next": target})
        self._cm.move_to(self, target)
        self._entered(target, now, caught=None)

    def _fail_at(self, state: str, error: str, cause: str, now: float) -> None:
        self.status = Status.FAILED
        self.failed_state = None
        self.error = {"error": error, "cause": capped_cause(cause), "state": state}
        self._emit(_E.ExecutionFailed, state, now, error=error, cause=cause)

    def _leave_wait(self, spec: WaitState, due: float, now: float) -> None:
        self._guard(now)
        self._emit(_E.WaitStateExited, spec.name, now, details={"due": due})
        self._emit(_E.StateExited, spec.name, now)
        self.wait_until = None
        self._cm.move_to(self, spec.next)
        self._entered(spec.next, now, caught=None)

    def _failed(self, type_: EventType, error: str, cause: str, now: float,
                rng: random.Random | None) -> Decision:
        spec = self._running_spec()
        self._guard(now)
        name = spec.name
        self._emit(type_, name, now, error=error, cause=cause)
        self.task = None
        self.failed_state = name
        for index, retrier in enumerate(spec.retry):
            if not retrier.matches(error):
                continue
            counts = self.retries.setdefault(name, [0] * len(spec.retry))
            if counts[index] >= retrier.max_attempts:
                break  # this retrier is exhausted: Catch decides
            if self._past_retry_deadline(now):
                waited = now - (self.retrying_since or now)
                cause = (f"{error} for {waited:,.0f} s of retries, past the deadline of "
                         f"{self.retry_deadline:,.0f} s: {cause}")
                error = self.deadline_error
                break
            counts[index] += 1
            if self.retrying_since is None:
                self.retrying_since = now
            self.retry_error = {"error": error, "cause": capped_cause(cause)}
            delay = backoff_delay(retrier, counts[index], rng)
            self.next_attempt_at = now + delay
            self.attempt += 1
            self._emit(_E.RetryScheduled, name, now, error=error,
                       details={"delay": delay, "retrier": index, "retry": counts[index],
                                "next_attempt_at": self.next_attempt_at})
            self._emit(_E.StateExited, name, now)
            self._cm.move_to(self, self.definition.retrying_state)
            self.status = Status.RETRYING
            self._emit(_E.StateEntered, self.state, now)
            return Decision("retry", error, name, delay, index)
        caught = {"error": error, "cause": capped_cause(cause), "state": name}
        for catcher in spec.catch:
            if catcher.matches(error):
                if not isinstance(self._specs.get(catcher.next), FailState):
                    # ResultPath "$.error" (as exported): the state caught into can read
                    # what went wrong. Not kept for a Fail state, which has it as the
                    # execution's error already.
                    self.data["error"] = {"Error": error, "Cause": capped_cause(cause)}
                self._emit(_E.StateExited, name, now)
                self._cm.move_to(self, catcher.next)
                self._entered(catcher.next, now, caught=caught)
                return Decision("catch", error, catcher.next)
        self.status = Status.FAILED
        self.error = caught
        self._emit(_E.ExecutionFailed, name, now, error=error, cause=cause)
        return Decision("fail", error)

    def _limit_message(self) -> str:
        return (f"execution {self.id!r} reached {self.event_count} history events, the "
                f"limit of its definition (max_history_events="
                f"{self.definition.max_history_events}); start a new execution or raise "
                f"max_history_events")

    def _guard(self, now: float) -> None:
        """Fail the execution (and raise) before the history could pass the cap."""
        if self.event_count + _MAX_EVENTS_PER_OP < self.definition.max_history_events:
            return
        message = self._limit_message()
        if not self.is_terminal:
            self.status = Status.FAILED
            self.task = None
            self.wait_until = None
            self.error = {"error": STATES_HISTORY_LIMIT, "cause": message, "state": self.state}
            self._emit(_E.ExecutionFailed, self.state, now, error=STATES_HISTORY_LIMIT,
                       cause=message)
        raise HistoryLimitExceeded(message)


def capped_cause(cause: str | None) -> str | None:
    """``cause`` cut to Step Functions' 32,768 characters, saying so, so one huge error
    message cannot outgrow whatever stores the history."""
    if cause is None or len(cause) <= MAX_CAUSE_CHARS:
        return cause
    note = f" [... {len(cause) - MAX_CAUSE_CHARS + 64:,} more characters cut]"
    return cause[:MAX_CAUSE_CHARS - 64] + note
