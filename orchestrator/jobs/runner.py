"""One job, start to finish: create or load its record, claim the lease, and drive its
state machine with the steps, persisting every transition before the next step starts.

Leases: every claim uses a fresh token (``<owner>/<random>``), so even two deliveries
of one message to the same process cannot both run the job. While the job runs, a
``LeaseKeeper`` thread extends the lease (``JobStore.extend_lease``, no version bump);
if the lease is no longer ours, the drive stops between steps and the job is left to
its new owner. A job claimed with a task started but never finished (its worker died,
or was stopped past its drain deadline) records that task as timed out first, so the
workflow's Retry reruns only that step: never the steps before it.

Each save writes the events the execution added since the last one to the history
table (``JobStore.save``); the execution then lets go of them (``trim_history``), so
neither the job item nor the worker's memory grows with a job's history. A save that
would outgrow DynamoDB's item limit fails the job with ``JobRecordTooLarge`` (its data
cut down) rather than leaving it stuck.

A delivery that finds the job's lease about to expire (its worker died; its message
came back a moment before the lease ran out) waits for the expiry instead of going back
to the queue, so taking over costs no extra receive of the message.

Only the state machine changes a job's state; this module copies what the execution
says into the record and writes it (conditionally). It knows nothing of SQS beyond the
message id a lease records.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from orchestrator.codes import Code
from orchestrator.config import DEFAULT_LEASE_SECONDS, HEARTBEATS_PER_LEASE
from orchestrator.errors import AutoLambdaError
from orchestrator.intake.events import ObjectRef
from orchestrator.intake.pinning import pin_version
from orchestrator.jobs.heartbeat import Heartbeat
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.store import JobNotFound, JobRecordTooLarge, JobStore, LeaseLost
from orchestrator.jobs.workflow import DEPLOYMENT
from orchestrator.retries import OUTAGE_DEADLINE
from orchestrator.steps.data import Artifact, read_optional
from orchestrator.steps.deploy.step import DeployResult
from orchestrator.steps.tasks import Steps
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.types import JsonObject
from states import DefinitionError, Execution, HistoryLimitExceeded, Hooks, Status, advance

log = logging.getLogger(__name__)

# Data values larger than this are dropped from a job whose record outgrew its item.
_KEEP_DATA_BYTES = 8_192


class Outcome(enum.StrEnum):
    DONE = "done"                # the job reached a terminal state now
    ALREADY_DONE = "already"     # it was terminal before this delivery
    BUSY = "busy"                # another worker holds a live lease
    INTERRUPTED = "interrupted"  # stopped between steps (shutdown); resumable
    LOST = "lost"                # another worker took over mid-run
    HANDED_OVER = "handed-over"  # claimed, then released for a fresh copy of the message
    PARKED = "parked"            # waiting out a transient failure: back at next_attempt_at


class LeaseKeeper(Heartbeat):
    """Extends one job's lease every ``interval`` seconds until closed. ``lost`` is set
    when the lease is no longer ours (another worker claimed it, or it was released).

    ``overdue()`` true means the running task is well past its deadline (hung): the
    keeper then stops extending (``gave_up``), so the lease expires and another worker
    can record the timeout and retry the step, instead of the job staying stuck."""

    def __init__(self, store: JobStore, job_id: str, token: str, ttl: float,
                 clock: Callable[[], float], interval: float,
                 overdue: Callable[[], bool] = lambda: False) -> None:
        self.store, self.job_id, self.token, self.ttl = store, job_id, token, ttl
        self.clock = clock
        self.overdue = overdue
        self.lost = threading.Event()
        self.gave_up = threading.Event()
        super().__init__(self._extend, interval, name=f"lease-{job_id[:8]}")

    def _extend(self) -> bool:
        if self.overdue():
            log.error("job %s: the running step is past its deadline; no longer "
                      "extending the lease, so another worker can retry it", self.job_id)
            self.gave_up.set()
            return False
        if not self.store.extend_lease(self.job_id, self.token, self.clock(), self.ttl):
            log.warning("job %s: lease %s is no longer ours", self.job_id, self.token)
            self.lost.set()
            return False
        return True


class BusyJob(Exception):
    """Another worker holds the job's lease (``record`` as read)."""

    def __init__(self, record: JobRecord) -> None:
        super().__init__(record.job_id)
        self.record = record


@dataclass
class _Active:
    job_id: str
    token: str
    thread: int
    keeper: LeaseKeeper | None = None


@dataclass
class JobRunner:
    store: JobStore
    steps: Steps
    owner: str
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    hooks: Sequence[Hooks] = field(default_factory=tuple)
    on_record: Callable[[JobRecord], None] = field(default=lambda rec: None)
    heartbeat_interval: float | None = None  # default: a quarter of the lease
    # A retry due later than this parks the job (None: every backoff is waited for).
    park_after: float | None = None
    # How long the retries of one transient failure may go on (orchestrator.retries).
    outage_deadline: float = OUTAGE_DEADLINE
    _active: dict[str, _Active] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    # ---- records ----
    def new_record(self, ref: ObjectRef, now: float, trace_id: str | None) -> JobRecord:
        rec = JobRecord(job_id=ref.job_id, bucket=ref.bucket, key=ref.key,
                        version_id=ref.version_id, etag=ref.etag, created_at=now,
                        updated_at=now, trace_id=trace_id)
        copy_execution(rec, start_execution(rec, now))
        return rec

    def ensure_record(self, ref: ObjectRef, trace_id: str | None = None) -> JobRecord:
        rec = self.store.get(ref.job_id)
        if rec is not None:
            return rec
        rec = self.new_record(ref, self.clock(), trace_id)
        if self.store.create(rec):
            self.on_record(rec)
            return rec
        existing = self.store.get(ref.job_id)  # a concurrent delivery created it first
        assert existing is not None
        return existing

    # ---- running ----
    def process(self, ref: ObjectRef, *, trace_id: str | None = None,
                stop: Callable[[], bool] = lambda: False, message_id: str | None = None,
                wait_for_expiry: float = 0.0, hand_over: bool = False
                ) -> tuple[Outcome, JobRecord]:
        """Run the job of ``ref`` (from SQS message ``message_id``, if any) until it is
        terminal, stopped, or found busy. ``wait_for_expiry``: how long to wait for a
        lease that is about to expire when this message is the one the lease names, or
        no message backs the lease (a duplicate of another message never waits).
        ``hand_over``: claim the job, then release it at once (HANDED_OVER) so a fresh
        copy of the message can carry it (the caller sends the copy)."""
        ref = pin_version(self.steps.env.aws, ref)
        rec = self.ensure_record(ref, trace_id)
        if rec.is_terminal:
            return Outcome.ALREADY_DONE, rec
        return self.resume(rec.job_id, stop=stop, message_id=message_id,
                           wait_for_expiry=wait_for_expiry, hand_over=hand_over)

    def new_token(self) -> str:
        return f"{self.owner}/{uuid.uuid4().hex[:8]}"

    def _claim(self, job_id: str, token: str, message_id: str | None,
               wait_for_expiry: float) -> JobRecord:
        """Claim the lease; BusyJob with the current record when another holds it."""
        claimed = self.store.claim(job_id, token, self.clock(), self.lease_seconds,
                                   message_id=message_id)
        if claimed is not None:
            return claimed
        current = self.store.get(job_id)
        if current is None:
            raise JobNotFound(f"job {job_id} vanished while being claimed")
        remaining = current.lease_expires - self.clock()
        ours = current.lease_message is None or current.lease_message == message_id
        if ours and 0 <= remaining <= wait_for_expiry and not current.is_terminal:
            log.info("job %s: lease of %s ends in %.1f s; waiting for it", job_id,
                     current.lease_owner, remaining)
            self.sleep(remaining + 0.05)
            claimed = self.store.claim(job_id, token, self.clock(), self.lease_seconds,
                                       message_id=message_id)
            if claimed is not None:
                return claimed
            current = self.store.get(job_id) or current
        raise BusyJob(current)

    def resume(self, job_id: str, *, stop: Callable[[], bool] = lambda: False,
               prepare: Callable[[Execution], None] | None = None,
               message_id: str | None = None, wait_for_expiry: float = 0.0,
               hand_over: bool = False) -> tuple[Outcome, JobRecord]:
        token = self.new_token()
        try:
            rec = self._claim(job_id, token, message_id, wait_for_expiry)
        except BusyJob as busy:
            return Outcome.BUSY, busy.record
        if rec.is_terminal and prepare is None:
            self._release_quietly(rec)
            return Outcome.ALREADY_DONE, rec
        if hand_over:
            # Nobody else holds the job now, and once released the fresh copy can
            # claim it: released first, so the copy never finds it held by this message.
            try:
                self.store.release(rec)
            except LeaseLost:
                return Outcome.LOST, rec
            log.info("job %s: handed over to a fresh copy of message %s", job_id, message_id)
            return Outcome.HANDED_OVER, rec
        try:
            ex = restore_execution(self.store, rec)
        except DefinitionError as exc:
            return self._fail_unresumable(rec, exc), rec
        changed = abandon_started_task(ex, self.clock())
        if prepare is not None:
            prepare(ex)
            changed = True
        # Events up to here were handed to hooks by an earlier persist (or before this
        # drive): once in the table, memory can let go of them.
        delivered = [ex.events_delivered]

        def persist(execution: Execution) -> None:
            execution.trim_history(min(rec.events_written, delivered[0]))
            copy_execution(rec, execution)
            rec.updated_at = self.clock()
            rec.lease_expires = rec.updated_at + self.lease_seconds
            if execution.is_terminal and rec.finished_at is None:
                rec.finished_at = rec.updated_at
            self.store.save(rec)
            delivered[0] = execution.events_delivered
            self.on_record(rec)

        def overdue() -> bool:
            deadline = ex.task_deadline() if ex.task is not None else None
            return deadline is not None and self.clock() > deadline + self.lease_seconds

        keeper = LeaseKeeper(self.store, job_id, token, self.lease_seconds, self.clock,
                             self.heartbeat_interval
                             or self.lease_seconds / HEARTBEATS_PER_LEASE, overdue)
        with self._lock:
            self._active[job_id] = _Active(job_id, token, threading.get_ident(), keeper)
        try:
            with keeper:
                ex.retry_deadline, ex.deadline_error = self.outage_deadline, Code.AwsUnavailable
                if changed:
                    persist(ex)
                parked = False
                def halt() -> bool:
                    return stop() or keeper.lost.is_set()

                while not ex.is_terminal:
                    # Every retry wait comes back here, so the outage deadline is looked
                    # at before each retry, and a long one parks the job.
                    step = advance(ex, self.steps.tasks(), persist=persist, clock=self.clock,
                                   sleep=self.sleep, hooks=self.hooks, stop=halt,
                                   max_wait=0.0)
                    if step.kind != "deferred":
                        break
                    due = (step.until or 0.0) - self.clock()
                    if self.park_after is not None and due > self.park_after:
                        parked = True
                        break
                    if due > 0:
                        self.sleep(due)
                    if halt():
                        break
        except LeaseLost as exc:
            log.warning("job %s: another worker took over; leaving it (%s)", job_id, exc)
            return Outcome.LOST, rec
        except HistoryLimitExceeded:
            log.error("job %s: history limit reached; the job is failed", job_id)
        except JobRecordTooLarge as exc:
            log.error("job %s: %s", job_id, exc)
            try:
                self._fail_too_large(rec, ex, exc, persist)
            except LeaseLost:
                return Outcome.LOST, rec
        finally:
            with self._lock:
                self._active.pop(job_id, None)
        if keeper.lost.is_set() and not ex.is_terminal:
            return Outcome.LOST, rec
        if ex.is_terminal:
            self.steps.finished(job_id, failed=ex.status is not Status.SUCCEEDED)
        try:
            self.store.release(rec)
        except LeaseLost:
            return Outcome.LOST, rec
        if parked:
            log.info("job %s: parked in %s until its retry (%.0f s)", job_id, ex.state,
                     (ex.next_attempt_at or 0.0) - self.clock())
            return Outcome.PARKED, rec
        return (Outcome.DONE if ex.is_terminal else Outcome.INTERRUPTED), rec

    def _fail_too_large(self, rec: JobRecord, ex: Execution, exc: JobRecordTooLarge,
                        persist: Callable[[Execution], None]) -> None:
        """The record outgrew its item: fail the job with that code, keeping only the
        data values small enough to be worth keeping (the history says what happened)."""
        for key, value in list(ex.data.items()):
            size = len(json.dumps(value, default=str))
            if size > _KEEP_DATA_BYTES:
                ex.data[key] = {"dropped": f"{size:,} bytes: too large for the job record"}
        if not ex.is_terminal:
            ex.abort(exc.code, str(exc), self.clock())
        persist(ex)

    def _release_quietly(self, rec: JobRecord) -> None:
        with contextlib.suppress(LeaseLost):
            self.store.release(rec)

    def _fail_unresumable(self, rec: JobRecord, exc: Exception) -> Outcome:
        """A snapshot this workflow cannot continue: keep it as a previous run and fail
        a new execution of the current workflow with WorkflowChanged and what to do."""
        now = self.clock()
        rec.archive_run()
        ex = start_execution(rec, now)
        ex.abort(Code.WorkflowChanged,
                 f"{exc} (use `auto-lambda replay --restart {rec.job_id}`)", now)
        copy_execution(rec, ex)
        rec.updated_at = rec.finished_at = now
        try:
            self.store.release(rec)
        except LeaseLost:
            return Outcome.LOST
        return Outcome.DONE

    def reject(self, ident: str, error: AutoLambdaError, bucket: str = "",
               key: str = "") -> str:
        """Record input that never became a job (a message that is not an S3 event, an
        event for another bucket) as a failed job with its code, so `auto-lambda jobs
        --state failed` shows it; the same input always maps to the same job id."""
        now = self.clock()
        job_id = "rejected-" + hashlib.sha256(ident.encode()).hexdigest()[:16]
        rec = JobRecord(job_id=job_id, bucket=bucket, key=key, created_at=now,
                        updated_at=now, finished_at=now)
        ex = start_execution(rec, now)
        ex.abort(error.code, str(error), now)
        copy_execution(rec, ex)
        self.store.create(rec)
        return job_id

    # ---- watching ----
    def hung_in_thread(self, thread: int) -> bool:
        """True when a job run by ``thread`` gave up its lease because its step hung
        (the worker then stops keeping that job's message invisible too)."""
        with self._lock:
            return any(a.thread == thread and a.keeper is not None and a.keeper.gave_up.is_set()
                       for a in self._active.values())

    # ---- shutdown ----
    def interrupt_active(self, reason: str) -> list[str]:
        """Persist the interruption of every job still running in this process (its
        running task recorded as timed out, so a retry reruns it elsewhere) and release
        their leases. Called on shutdown once the drain deadline passed."""
        with self._lock:
            active = list(self._active.values())
        done: list[str] = []
        for job in active:
            for _ in range(3):
                rec = self.store.get(job.job_id)
                if rec is None or rec.lease_owner != job.token:
                    break
                try:
                    ex = restore_execution(self.store, rec)
                except DefinitionError:
                    break
                now = self.clock()
                abandon_started_task(ex, now, cause=reason)
                copy_execution(rec, ex)
                rec.updated_at = now
                rec.lease_owner, rec.lease_expires = None, 0.0
                try:
                    self.store.save(rec)
                except LeaseLost:
                    continue  # the job's own thread persisted meanwhile: read again
                done.append(job.job_id)
                log.warning("job %s: interrupted in %s; lease released", job.job_id, rec.state)
                break
        return done

    # ---- replay ----
    def rewrite(self, job_id: str,
                change: Callable[[JobRecord, Execution | None], Execution]
                ) -> JobRecord | None:
        """Under the job's lease, replace its execution with ``change(record, execution)``
        (execution None when its snapshot cannot be continued) and persist; None when
        another worker holds the lease. Errors from ``change`` release the lease."""
        token = self.new_token()
        rec = self.store.claim(job_id, token, self.clock(), self.lease_seconds)
        if rec is None:
            return None
        try:
            current: Execution | None = restore_execution(self.store, rec)
        except (DefinitionError, KeyError):
            current = None
        try:
            ex = change(rec, current)
        except BaseException:
            self._release_quietly(rec)
            raise
        copy_execution(rec, ex)
        now = self.clock()
        rec.updated_at = now
        rec.finished_at = now if ex.is_terminal else None
        rec.lease_owner, rec.lease_expires = None, 0.0
        self.store.save(rec)
        self.on_record(rec)
        return rec


def restore_execution(store: JobStore, rec: JobRecord) -> Execution:
    """The record's execution, with the events it has not yet handed to hooks (those
    of Execution.start, or of a redrive recorded by replay: normally in the item's tail,
    else read back from the history table), so the next drive reports each event once.
    DefinitionError if the workflow cannot continue it."""
    tail: list[JsonObject] = []
    if rec.paged:
        delivered = int(rec.snapshot.get("events_delivered", 0))
        if delivered < rec.events_written:
            for page in store.history_pages(rec, first=rec.history_offset + delivered,
                                            count=rec.events_written - delivered):
                tail.extend(page)
    return Execution.restore(DEPLOYMENT, rec.snapshot, history_tail=tail)


def start_execution(rec: JobRecord, now: float) -> Execution:
    """A new run of the deployment workflow for the record's upload (its input is the
    object's bucket, key, version id and etag)."""
    return Execution.start(DEPLOYMENT, rec.job_id, {
        "bucket": rec.bucket, "key": rec.key, "version_id": rec.version_id,
        "etag": rec.etag}, now, trace_id=rec.trace_id)


def abandon_started_task(ex: Execution, now: float, cause: str | None = None) -> bool:
    """A task that started but has no outcome, found by whoever now holds the lease:
    its worker is gone. Record it as timed out so Retry reruns just that step."""
    if ex.task is None or ex.status is not Status.RUNNING:
        return False
    ex.task_timed_out(now, cause=cause or (
        f"the worker running {ex.state!r} stopped before it finished (its lease expired)"))
    return True


def copy_execution(rec: JobRecord, ex: Execution) -> None:
    """Mirror the execution into the record's queryable fields; its snapshot without
    the events, and the events not yet in the history table as the record's pending
    ones (written by the next save)."""
    rec.snapshot = ex.snapshot(history=False)
    rec.pending_events = [e.to_dict() for e in ex.events_since(rec.events_written)]
    rec.state = ex.state
    rec.status = ex.status.value
    rec.redrive_count = ex.redrive_count
    rec.trace_id = ex.trace_id or rec.trace_id
    if ex.error:
        rec.set_error({"code": ex.error.get("error"), "message": ex.error.get("cause"),
                       "state": ex.error.get("state")})
    elif not ex.is_terminal:
        rec.error = None
    app = read_optional(ex.data, AppSpec)
    rec.app_name = app.name if app else rec.app_name
    artifact = read_optional(ex.data, Artifact)
    rec.artifact = artifact.to_json() if artifact else rec.artifact
    deployed = read_optional(ex.data, DeployResult)
    rec.function_arn = deployed.function_arn if deployed else rec.function_arn
    succeeded = ex.status is Status.SUCCEEDED
    rec.published_version = deployed.version if deployed and succeeded else None
