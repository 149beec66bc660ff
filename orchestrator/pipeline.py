"""One job, start to finish: create or load its record, claim the lease, and drive its
state machine with the steps, persisting every transition before the next step starts.

Only the state machine changes a job's state; this module copies what the execution
says into the record and writes it (conditionally). It knows nothing of SQS.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from orchestrator.events import ObjectRef
from orchestrator.steps import Steps
from orchestrator.store import JobRecord, JobStore, LeaseLost
from orchestrator.workflow import DEPLOYMENT
from states import Execution, Hooks, drive

log = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    DONE = "done"                # the job reached a terminal state now
    ALREADY_DONE = "already"     # it was terminal before this delivery
    BUSY = "busy"                # another worker holds a live lease
    INTERRUPTED = "interrupted"  # stopped between steps (shutdown); resumable
    LOST = "lost"                # another worker took over mid-run


@dataclass
class JobRunner:
    store: JobStore
    steps: Steps
    owner: str
    lease_seconds: float = 60.0
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    hooks: Sequence[Hooks] = field(default_factory=tuple)
    on_record: Callable[[JobRecord], None] = field(default=lambda rec: None)

    def new_record(self, ref: ObjectRef, now: float, trace_id: str | None) -> JobRecord:
        ex = Execution.start(DEPLOYMENT, ref.job_id, {
            "bucket": ref.bucket, "key": ref.key, "version_id": ref.version_id,
            "etag": ref.etag}, now, trace_id=trace_id)
        rec = JobRecord(job_id=ref.job_id, bucket=ref.bucket, key=ref.key,
                        version_id=ref.version_id, etag=ref.etag, created_at=now,
                        updated_at=now, trace_id=trace_id)
        copy_execution(rec, ex)
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

    def resolve_version(self, ref: ObjectRef) -> ObjectRef:
        """Pin an event without a versionId (the emulator sends none) to the object's
        version, so a job's identity is the same as on AWS and as ``submit`` reports."""
        if ref.version_id:
            return ref
        try:
            head = self.steps.env.aws.s3.head_object(Bucket=ref.bucket, Key=ref.key)
        except Exception:
            return ref  # gone or unreadable: fetch will record why
        version = head.get("VersionId")
        etag = str(head.get("ETag", "")).strip('"')
        if version and version != "null" and (not ref.etag or etag == ref.etag):
            return replace(ref, version_id=version)
        return ref

    def process(self, ref: ObjectRef, *, trace_id: str | None = None,
                stop: Callable[[], bool] = lambda: False) -> tuple[Outcome, JobRecord]:
        ref = self.resolve_version(ref)
        rec = self.ensure_record(ref, trace_id)
        if rec.is_terminal:
            return Outcome.ALREADY_DONE, rec
        return self.resume(rec.job_id, stop=stop)

    def resume(self, job_id: str, *, stop: Callable[[], bool] = lambda: False,
               prepare: Callable[[Execution], None] | None = None
               ) -> tuple[Outcome, JobRecord]:
        claimed = self.store.claim(job_id, self.owner, self.clock(), self.lease_seconds)
        if claimed is None:
            current = self.store.get(job_id)
            assert current is not None
            return Outcome.BUSY, current
        rec = claimed
        ex = Execution.restore(DEPLOYMENT, rec.snapshot)
        if prepare is not None:
            prepare(ex)

        def persist(execution: Execution) -> None:
            copy_execution(rec, execution)
            rec.updated_at = self.clock()
            rec.lease_expires = rec.updated_at + self.lease_seconds
            if execution.is_terminal and rec.finished_at is None:
                rec.finished_at = rec.updated_at
            self.store.save(rec)
            self.on_record(rec)

        if prepare is not None:
            persist(ex)
        try:
            drive(ex, self.steps.tasks(), persist=persist, clock=self.clock, sleep=self.sleep,
                  hooks=self.hooks, stop=stop)
        except LeaseLost:
            log.warning("job %s: another worker took over; leaving it", job_id)
            return Outcome.LOST, rec
        try:
            self.store.release(rec)
        except LeaseLost:
            return Outcome.LOST, rec
        return (Outcome.DONE if ex.is_terminal else Outcome.INTERRUPTED), rec


def copy_execution(rec: JobRecord, ex: Execution) -> None:
    """Mirror the execution into the record's queryable fields."""
    data: dict[str, Any] = dict(ex.data)
    rec.snapshot = ex.snapshot()
    rec.state = ex.state
    rec.status = ex.status.value
    rec.redrive_count = ex.redrive_count
    rec.trace_id = ex.trace_id or rec.trace_id
    if ex.error:
        rec.error = {"code": ex.error.get("error"), "message": ex.error.get("cause"),
                     "state": ex.error.get("state")}
    elif not ex.is_terminal:
        rec.error = None
    app = data.get("app") or {}
    rec.app_name = app.get("name") or rec.app_name
    rec.artifact = data.get("artifact") or rec.artifact
    deployed = data.get("deploy") or {}
    rec.function_arn = deployed.get("function_arn") or rec.function_arn
    if ex.state == "verified":
        rec.published_version = deployed.get("version")
