"""Stateful property test of the states library: arbitrary sequences of task outcomes
(success, transient error, permanent error, timeout), crashes with resume from the last
persisted snapshot, duplicate deliveries and redrives, on a small definition, on one
with Wait states and on the deployment workflow.

Invariants: only defined edges are taken; retry counts stay within MaxAttempts; each
retry delay follows the backoff formula; the history replays to the current state; a
restored snapshot continues exactly; the run ends in exactly one terminal state; and an
interrupted run ends where an uninterrupted run with the same outcomes ends. With Wait
states, a snapshot restored at any point ends exactly (times included) where the run
that was never interrupted ends.
"""

from __future__ import annotations

import json
import random
from itertools import pairwise
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from orchestrator.jobs.workflow import DEPLOYMENT
from states import (
    Catcher,
    Definition,
    EventType,
    Execution,
    FailState,
    Retrier,
    RunTask,
    Status,
    SucceedState,
    TaskState,
    Wait,
    WaitState,
    base_delay,
    replay,
)
from tests.conftest import examples

E = EventType
OUTCOMES = ("success", "transient", "permanent", "timeout")

SMALL = Definition(start_at="a", states=(
    TaskState("a", "ra", next="b", timeout_seconds=10, catch=(Catcher(("States.ALL",), "fail"),),
              retry=(Retrier(("Flaky",), interval_seconds=1, max_attempts=2),
                     Retrier(("States.Timeout",), interval_seconds=0.5, max_attempts=1,
                             jitter="FULL"))),
    # no timeout and no catch: a lost outcome is re-run; an unmatched error fails in place
    TaskState("b", "rb", next="done",
              retry=(Retrier(("States.TaskFailed",), interval_seconds=2, max_attempts=3,
                             backoff_rate=1.5, max_delay_seconds=3),)),
    SucceedState("done"), FailState("fail")))

# Waits of each kind: a SecondsPath into the input (which a test may make unusable), a
# fixed pause, and a timestamp that is already past for most clocks (due at once).
WAITING = Definition(start_at="a", states=(
    TaskState("a", "ra", next="bake", timeout_seconds=10,
              retry=(Retrier(("Flaky",), interval_seconds=1, max_attempts=2),),
              catch=(Catcher(("States.ALL",), "fail"),)),
    WaitState("bake", next="b", seconds_path="$.n"),
    TaskState("b", "rb", next="settle",
              retry=(Retrier(("States.TaskFailed",), interval_seconds=2, max_attempts=3,
                             jitter="FULL"),),
              catch=(Catcher(("States.ALL",), "cool"),)),
    WaitState("settle", next="done", seconds=30),
    WaitState("cool", next="fail", timestamp="1970-01-01T00:10:00Z"),
    SucceedState("done"), FailState("fail")))

TRANSIENT_ERROR = {SMALL.fingerprint: "Flaky", DEPLOYMENT.fingerprint: "AwsThrottled",
                   WAITING.fingerprint: "Flaky"}


def _rng(seed: int, ex: Execution) -> random.Random:
    """Randomness derived from the execution's position, so that two copies of the same
    snapshot given the same outcome make the same decision."""
    return random.Random(f"{seed}:{ex.id}:{len(ex.history)}")


def _to_task(ex: Execution, now: float, seed: int) -> tuple[RunTask | None, float]:
    """Advance time through waits until a task is due (None when terminal)."""
    for _ in range(100):
        action = ex.next_action(now, rng=_rng(seed, ex))
        if isinstance(action, RunTask):
            return action, now
        if isinstance(action, Wait):
            now = max(now, action.until)
            continue
        return None, now
    raise AssertionError("next_action never settled")


def _apply(ex: Execution, outcome: str, now: float, seed: int) -> None:
    rng = _rng(seed, ex)
    if outcome == "success":
        ex.task_succeeded({ex.state: ex.attempt}, now)
    elif outcome == "transient":
        ex.task_failed(TRANSIENT_ERROR[ex.definition.fingerprint], "try again", now, rng=rng)
    elif outcome == "permanent":
        ex.task_failed("ZipBomb", "bad input", now, rng=rng)
    else:
        ex.task_timed_out(now, rng=rng)


def _outcomes_of(ex: Execution) -> list[str]:
    """The outcome sequence recorded in a history (what actually became durable)."""
    out: list[str] = []
    for ev in ex.history:
        if ev.type is E.TaskSucceeded:
            out.append("success")
        elif ev.type is E.TaskTimedOut:
            out.append("timeout")
        elif ev.type is E.TaskFailed:
            out.append("permanent" if ev.error == "ZipBomb" else "transient")
        elif ev.type is E.ExecutionRedriven:
            out.append("redrive")
    return out


def _uninterrupted(definition: Definition, outcomes: list[str], seed: int) -> Execution:
    ex = Execution.start(definition, "ref", {"n": 1}, now=0.0)
    now = 0.0
    for outcome in outcomes:
        if outcome == "redrive":
            # a Wait state may stand between the caught failure and the Fail state
            _, now = _to_task(ex, now, seed)
            ex.redrive(now)
            continue
        action, now = _to_task(ex, now, seed)
        assert action is not None, "reference run ended before its outcomes did"
        ex.task_started(now)
        _apply(ex, outcome, now + 1, seed)
    # and one after the last outcome (the run under test went through it to the end)
    _to_task(ex, now, seed)
    return ex


def _comparable(ex: Execution) -> tuple[Any, ...]:
    events = [(e.type.value, e.state, e.attempt, e.error) for e in ex.history
              if e.type is not E.TaskStarted]
    return (ex.state, ex.status, ex.data, ex.attempt, ex.retries, ex.redrive_count,
            ex.failed_state, ex.error and ex.error["error"], events)


class ExecutionMachine(RuleBasedStateMachine):
    """One execution, persisted after every transition, abused by the rules below."""

    definition: Definition = SMALL

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.seed = 0
        self.store: dict[str, Any] = {}
        self.ex: Execution

    def persist(self) -> None:
        self.store = json.loads(json.dumps(self.ex.snapshot()))

    def crash(self) -> None:
        self.ex = Execution.restore(self.definition, self.store)

    @initialize(seed=st.integers(0, 2**16))
    def start(self, seed: int) -> None:
        self.seed = seed
        self.ex = Execution.start(self.definition, f"x{seed}", {"n": 1}, now=0.0)
        self.persist()

    def _start_task(self) -> bool:
        before = len(self.ex.history)
        action, self.now = _to_task(self.ex, self.now, self.seed)
        if len(self.ex.history) != before:
            self.persist()
        if action is None:
            return False
        self.ex.task_started(self.now)
        self.persist()
        return True

    @precondition(lambda self: not self.ex.is_terminal)
    @rule(outcome=st.sampled_from(OUTCOMES), lost=st.booleans())
    def deliver(self, outcome: str, lost: bool) -> None:
        """A task attempt ends with ``outcome``; with ``lost`` the worker crashes after
        the outcome but before persisting it."""
        if not self._start_task():
            return
        self.now += 1
        _apply(self.ex, outcome, self.now, self.seed)
        if lost:
            self.crash()
        else:
            self.persist()

    @precondition(lambda self: not self.ex.is_terminal)
    @rule()
    def crash_mid_task(self) -> None:
        """The worker dies while the task runs; another resumes from the store."""
        if self._start_task():
            self.crash()

    @rule()
    def crash_and_resume(self) -> None:
        resumed = Execution.restore(self.definition, self.store)
        assert resumed.snapshot() == self.store
        self.ex = resumed

    @precondition(lambda self: not self.ex.is_terminal)
    @rule(outcome=st.sampled_from(OUTCOMES))
    def duplicate_delivery(self, outcome: str) -> None:
        """The same message reaches two workers: both restore the same snapshot; only
        one outcome is applied to the store (the other loses the conditional write)."""
        first = Execution.restore(self.definition, self.store)
        second = Execution.restore(self.definition, self.store)
        assert first.snapshot() == second.snapshot()
        self.ex = first
        if not self._start_task():
            return
        started = self.store
        self.now += 1
        _apply(self.ex, outcome, self.now, self.seed)
        # The loser, given the same outcome from the same snapshot, decides the same.
        loser = Execution.restore(self.definition, started)
        _apply(loser, outcome, self.now, self.seed)
        assert loser.snapshot() == self.ex.snapshot()
        self.persist()

    @precondition(lambda self: self.ex.status is Status.FAILED
                  and self.ex.failed_state is not None)
    @rule()
    def redrive(self) -> None:
        self.ex.redrive(self.now)
        self.persist()

    @rule(seconds=st.floats(0, 1000, allow_nan=False))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds

    # ---- invariants ----
    @invariant()
    def history_replays_to_the_state(self) -> None:
        assert replay(self.definition, self.ex.history) == (self.ex.state, self.ex.status)
        assert replay(self.definition, self.store["history"]) == \
            (self.store["state"], Status(self.store["status"]))

    @invariant()
    def only_defined_edges_are_taken(self) -> None:
        edges = self.definition.edges(include_redrive=True)
        entered = [e.state for e in self.ex.history if e.type is E.StateEntered]
        for src, dst in pairwise(entered):
            assert (src, dst) in edges, f"{src} -> {dst} is not an edge"
        assert entered and entered[0] == self.definition.start_at

    @invariant()
    def retries_follow_the_retriers(self) -> None:
        for name, counts in self.ex.retries.items():
            spec = self.definition.task(name)
            for count, retrier in zip(counts, spec.retry, strict=True):
                assert 0 <= count <= retrier.max_attempts
        for ev in self.ex.history:
            if ev.type is not E.RetryScheduled:
                continue
            retrier = self.definition.task(ev.state).retry[ev.details["retrier"]]
            n = ev.details["retry"]
            assert 1 <= n <= retrier.max_attempts
            formula = base_delay(retrier, n)
            if retrier.jitter == "NONE":
                assert ev.details["delay"] == formula
            else:
                assert 0.0 <= ev.details["delay"] <= formula

    @invariant()
    def memory_matches_what_a_resume_would_see(self) -> None:
        assert self.ex.snapshot() == self.store

    def teardown(self) -> None:
        if not hasattr(self, "ex"):
            return
        for _ in range(200):
            if self.ex.is_terminal:
                break
            self.deliver("success", lost=False)
        assert self.ex.is_terminal
        terminal = [e for e in self.ex.history
                    if e.type in (E.ExecutionSucceeded, E.ExecutionFailed)]
        assert len(terminal) == self.ex.redrive_count + 1
        assert self.ex.history[-1] is terminal[-1]
        assert (terminal[-1].type is E.ExecutionSucceeded) == \
            (self.ex.status is Status.SUCCEEDED)
        reference = _uninterrupted(self.definition, _outcomes_of(self.ex), self.seed)
        assert _comparable(reference) == _comparable(self.ex)


class DeploymentMachine(ExecutionMachine):
    definition = DEPLOYMENT


STEPS = settings(stateful_step_count=20)
TestSmallDefinition = ExecutionMachine.TestCase
TestSmallDefinition.settings = STEPS
TestDeploymentWorkflow = DeploymentMachine.TestCase
TestDeploymentWorkflow.settings = STEPS


class WaitingMachine(ExecutionMachine):
    definition = WAITING


TestWaitStates = WaitingMachine.TestCase
TestWaitStates.settings = STEPS


def _scripted(script: list[tuple[float, str, bool]], seed: int, n: object,
              paged: bool, restore: bool = True) -> Execution:
    """Run WAITING through ``script`` (clock advance, outcome of the task due then, and
    whether to go through a JSON snapshot and ``restore`` first)."""
    ex = Execution.start(WAITING, "w", {"n": n}, now=0.0)
    now = 0.0
    for advance, outcome, interrupt in script:
        if interrupt and restore:
            if paged:
                stored = json.loads(json.dumps(ex.snapshot(history=False)))
                tail = [e.to_dict() for e in ex.history]
                ex = Execution.restore(WAITING, stored, history_tail=tail)
            else:
                ex = Execution.restore(WAITING, json.loads(json.dumps(ex.snapshot())))
        now += advance
        action = ex.next_action(now, rng=_rng(seed, ex))
        if isinstance(action, RunTask):
            ex.task_started(now)
            _apply(ex, outcome, now + 1, seed)
            now += 1
        elif isinstance(action, Wait) and action.declared:
            assert ex.snapshot()["wait_until"] == action.until
    return ex


@settings(max_examples=examples(80), deadline=None)
@given(script=st.lists(st.tuples(st.sampled_from([0.0, 0.5, 3.0, 29.0, 45.0, 700.0]),
                                 st.sampled_from(OUTCOMES), st.booleans()),
                       min_size=3, max_size=24),
       seed=st.integers(0, 2**16), n=st.sampled_from([45, 2.5, 0, -1, None]),
       paged=st.booleans())
def test_restoring_a_snapshot_at_any_point_changes_nothing(
        script: list[tuple[float, str, bool]], seed: int, n: object, paged: bool) -> None:
    straight = _scripted(script, seed, n, paged, restore=False)
    resumed = _scripted(script, seed, n, paged)
    assert [e.to_dict() for e in resumed.history] == [e.to_dict() for e in straight.history]
    mine = straight.snapshot(history=False)
    theirs = resumed.snapshot(history=False)
    assert {**mine, "events_delivered": 0} == {**theirs, "events_delivered": 0}
    assert replay(WAITING, straight.history) == (straight.state, straight.status)
    if straight.error and straight.error["error"] == "States.Runtime":
        assert straight.state == "bake" and n in (-1, None)
