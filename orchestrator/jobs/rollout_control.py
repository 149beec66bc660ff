"""Operators' requests to a running rollout: ``stop`` (roll ``live`` back) and
``promote`` (skip the remaining steps and waits: all of ``live`` on the new version).

A request is recorded under the job's lease (``JobRunner.rewrite``) as a signal of the
execution: ``$.rollout.request`` holds the action, who asked and when, and the history
gets an ``ExecutionSignaled`` event saying the same. A job baking (parked in the Wait
state ``baking``) has its wake-up time moved to now; the next check reads the request
(a stop rolls back with RolloutStopped, a promote finishes). ``wake`` then sends a
message for the job so a worker picks it up at once instead of when its parked message
comes back (at most 15 minutes later); the parked copy, arriving later, finds the job
busy, parked again or done, and is handled as any duplicate.

Only the rollout's own states accept a request (RolloutNotActive otherwise). Plan and
write here; the CLI (``cmd_rollout``) only prints.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

from orchestrator.aws.queue import Queue
from orchestrator.codes import Code
from orchestrator.errors import RolloutNotActive
from orchestrator.intake.events import s3_event_body
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.runner import JobRunner
from orchestrator.steps.data import Rollout, read_optional
from states import Execution

ACTIONS = ("stop", "promote")
# The states in which a rollout is under way and reads requests.
ROLLOUT_STATES = frozenset({"shifting", "baking", "checking"})


class RolloutBusy(RolloutNotActive):
    """A worker held the job's lease for the whole time the command waited."""

    code = Code.RolloutBusy


@dataclass(frozen=True)
class Requested:
    job_id: str
    action: str
    by: str
    state: str
    woken: bool


def _change(action: str, by: str, now: float
            ) -> Callable[[JobRecord, Execution | None], Execution]:
    def change(rec: JobRecord, ex: Execution | None) -> Execution:
        rollout = read_optional(ex.data, Rollout) if ex is not None else None
        if ex is None or ex.is_terminal or ex.state not in ROLLOUT_STATES or rollout is None:
            state = ex.state if ex is not None else rec.state
            raise RolloutNotActive(
                f"job {rec.job_id} is {state}, not rolling out: there is no rollout to "
                f"{action}", hint="`auto-lambda show JOB` shows where it is; a rollout can "
                                  "be stopped or promoted while shifting, baking or checking")
        request = {"action": action, "by": by, "at": now}
        updated = dataclasses.replace(rollout, request=request)
        ex.signal(f"rollout-{action}", {Rollout.KEY: updated.to_json()}, now,
                  details={"by": by, "action": action}, wake=True)
        return ex
    return change


def request(runner: JobRunner, job_id: str, action: str, by: str, *,
            queue: Queue | None = None, wait_seconds: float = 30.0,
            clock: Callable[[], float] = time.time,
            sleep: Callable[[float], None] = time.sleep) -> Requested:
    """Record ``action`` by ``by`` on the rollout of ``job_id``; with ``queue``, send the
    job's message so a worker acts now. RolloutBusy when the lease stayed held for
    ``wait_seconds`` (a worker is in the middle of a shift or check: try again)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown rollout action {action!r}")
    job_id = runner.store.find(job_id).job_id  # JobNotFound; a unique prefix will do
    deadline = clock() + wait_seconds
    while True:
        rec = runner.rewrite(job_id, _change(action, by, clock()))
        if rec is not None:
            break
        if clock() >= deadline:
            raise RolloutBusy(f"job {job_id} stayed held by a worker for {wait_seconds:.0f} s",
                              hint="try again in a moment")
        sleep(1.0)
    woken = False
    if queue is not None:
        queue.send(s3_event_body(rec.bucket, rec.key, version_id=rec.version_id,
                                 etag=rec.etag, job_id=job_id))
        woken = True
    return Requested(job_id, action, by, rec.state, woken)
