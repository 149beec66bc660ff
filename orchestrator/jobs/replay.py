"""Replay: bring failed jobs and dead-lettered messages back. Plan, then execute.

Stages, each with its rule:

1. ``gather`` reads (no writes): the selected job records, what ``head_object`` says
   about each job's app object now, and the DLQ's messages (received with a visibility
   timeout so the executor can delete them; ``release_dlq`` hands them back).
2. ``plan`` is pure: request + facts -> a list of ``Action`` (redrive, restart,
   move-dlq, skip with the reason). ``--dry-run`` prints exactly this list.
3. ``Executor.apply`` is the only writer:
   - redrive (Step Functions semantics): under the job's lease, ``Execution.redrive``
     continues at the failed state with the same id and input (an ExecutionRedriven
     event with the redrive count; steps that succeeded are not rerun); then the job is
     re-enqueued as an S3-event message naming the job, so any worker picks it up, or
     driven in this process (``here``).
   - restart: a new execution from the start under the same job id; the old run is
     kept in the record's ``previous_runs``.
   - move-dlq: send the body to the jobs queue, then delete it from the DLQ (only after
     the send succeeded).

A job whose app object changed since it ran needs ``--restart`` (a redrive would mix an
old build with a new upload); a job that failed fetching an object that no longer
exists has nothing to replay, and the plan says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from orchestrator.aws.facade import Aws
from orchestrator.aws.queue import Queue
from orchestrator.codes import Code
from orchestrator.errors import BadEvent
from orchestrator.intake.events import parse_message, s3_event_body
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.runner import JobRunner, start_execution
from orchestrator.jobs.store import JobNotFound, JobStore
from orchestrator.jobs.workflow import DEPLOYMENT, STATES_WITHOUT_SOURCE
from orchestrator.types import JsonObject
from states import Execution

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class Request:
    job_ids: tuple[str, ...] = ()
    failed: bool = False
    since_seconds: float | None = None
    error_code: str | None = None
    dlq: bool = False
    restart: bool = False
    here: bool = False
    limit: int = 1000


@dataclass(frozen=True)
class ObjectNow:
    """The app object as it is now (head_object on the current version)."""

    exists: bool
    version_id: str | None = None
    etag: str | None = None


@dataclass(frozen=True)
class DlqMessage:
    message_id: str
    receipt: str
    body: str
    receive_count: int = 0
    summary: str = ""


@dataclass
class Facts:
    jobs: list[JobRecord] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    objects: dict[str, ObjectNow] = field(default_factory=dict)
    dlq: list[DlqMessage] = field(default_factory=list)


@dataclass(frozen=True)
class Action:
    kind: str                    # redrive | restart | move-dlq | skip
    reason: str
    job_id: str | None = None
    key: str | None = None
    from_state: str | None = None
    message_id: str | None = None

    def to_dict(self) -> JsonObject:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Result:
    action: Action
    ok: bool
    detail: str = ""
    job_id: str | None = None

    def to_dict(self) -> JsonObject:
        return {"action": self.action.to_dict(), "ok": self.ok, "detail": self.detail,
                **({"job_id": self.job_id} if self.job_id else {})}


# ---- 1. gather (reads only) ----
def gather(request: Request, store: JobStore, aws: Aws, now: float,
           dlq_url: str | None = None, dlq_visibility: int = 120) -> Facts:
    facts = Facts()
    seen: set[str] = set()
    for ident in request.job_ids:
        try:
            rec = store.find(ident)
        except JobNotFound:
            facts.not_found.append(ident)
            continue
        if rec.job_id not in seen:
            seen.add(rec.job_id)
            facts.jobs.append(rec)
    if request.failed:
        for rec in store.list(state="failed"):
            if rec.job_id in seen or not _selected(rec, request, now):
                continue
            seen.add(rec.job_id)
            facts.jobs.append(rec)
    for rec in facts.jobs:
        if rec.bucket and rec.key and not rec.job_id.startswith("rejected-"):
            facts.objects[rec.job_id] = head_now(aws, rec.bucket, rec.key)
    if request.dlq and dlq_url:
        facts.dlq = receive_dlq(aws, dlq_url, request.limit, dlq_visibility)
    return facts


def _selected(rec: JobRecord, request: Request, now: float) -> bool:
    if request.error_code and (rec.error or {}).get("code") != request.error_code:
        return False
    if request.since_seconds is not None:
        when = rec.finished_at or rec.updated_at or rec.created_at
        if when < now - request.since_seconds:
            return False
    return True


def head_now(aws: Aws, bucket: str, key: str) -> ObjectNow:
    head = aws.objects.head(bucket, key)
    if head is None:
        return ObjectNow(exists=False)
    return ObjectNow(True, head.version_id, head.etag)


def receive_dlq(aws: Aws, dlq_url: str, limit: int, visibility: int) -> list[DlqMessage]:
    """Every message in the DLQ (up to ``limit``), hidden for ``visibility`` seconds."""
    dlq = Queue(aws, dlq_url, "dlq")
    out: list[DlqMessage] = []
    while len(out) < limit:
        batch = dlq.receive(limit - len(out), visibility=visibility)
        if not batch:
            break
        out.extend(DlqMessage(message_id=m.message_id, receipt=m.receipt, body=m.body,
                              receive_count=m.receive_count, summary=describe_body(m.body))
                   for m in batch)
    return out


def release_dlq(aws: Aws, dlq_url: str, messages: Sequence[DlqMessage]) -> None:
    """Make listed DLQ messages visible again (after a dry run)."""
    dlq = Queue(aws, dlq_url, "dlq")
    for msg in messages:
        try:
            dlq.set_visibility(msg.receipt, 0)
        except Exception:
            log.warning("could not release DLQ message %s", msg.message_id, exc_info=True)


def describe_body(body: str) -> str:
    try:
        parsed = parse_message(body)
    except BadEvent as exc:
        return f"not an S3 event ({exc.code})"
    if parsed.test_event:
        return "s3:TestEvent"
    keys = ", ".join(f"s3://{r.bucket}/{r.key}" for r in parsed.refs)
    return keys or "no ObjectCreated records"


# ---- 2. plan (pure) ----
def plan(request: Request, facts: Facts) -> list[Action]:
    actions: list[Action] = [
        Action("skip", f"no job {ident!r} (`auto-lambda jobs` lists job ids)", job_id=ident)
        for ident in facts.not_found]
    for rec in facts.jobs:
        actions.append(plan_job(rec, facts.objects.get(rec.job_id), restart=request.restart))
    for msg in facts.dlq:
        actions.append(Action("move-dlq", f"back to the jobs queue: {msg.summary} "
                                          f"(received {msg.receive_count} times)",
                              message_id=msg.message_id))
    return actions


def plan_job(rec: JobRecord, obj: ObjectNow | None, *, restart: bool) -> Action:
    """What to do with one job. Pure."""
    jid, key = rec.job_id, rec.key
    code = (rec.error or {}).get("code")
    failed_at = (rec.error or {}).get("state") or rec.snapshot.get("failed_state")
    if jid.startswith("rejected-"):
        return Action("skip", f"input rejected before it became a job ({code}): nothing to "
                              "replay; fix what sent it, or upload the app again",
                      job_id=jid, key=key or None)
    if not rec.is_terminal:
        return Action("skip", f"still running (state {rec.state}); nothing to replay",
                      job_id=jid, key=key)
    source = f"s3://{rec.bucket}/{key}"
    if obj is not None and not obj.exists and (restart or failed_at not in STATES_WITHOUT_SOURCE):
        if rec.state != "failed":
            how = f"the job ended {rec.state}"
        elif failed_at == "received":
            how = f"the job failed while fetching it, {code}"
        else:
            how = f"the job failed at {failed_at}, {code}"
        return Action("skip", f"{source} no longer exists ({how}): nothing to replay; "
                              "upload the app again and the upload starts its own job",
                      job_id=jid, key=key)
    changed = obj is not None and obj.exists and _changed(rec, obj)
    if restart:
        if changed and not rec.version_id:
            return Action("skip", f"{source} was overwritten and the bucket keeps no "
                                  "versions, so this job's upload is gone: the new upload "
                                  "has its own job", job_id=jid, key=key)
        note = (f"; {source} changed since, this job rebuilds its own upload "
                f"(version {rec.version_id})" if changed else "")
        return Action("restart", f"a new execution from the start (was {rec.state})" + note,
                      job_id=jid, key=key, from_state=DEPLOYMENT.start_at)
    if rec.state != "failed":
        return Action("skip", f"already {rec.state}; use --restart to run it again from "
                              "the start", job_id=jid, key=key)
    if changed:
        assert obj is not None
        return Action("skip", f"{source} changed since this job ran ({_ident(rec)} -> "
                              f"{obj.version_id or obj.etag}): a redrive would deploy the "
                              "old build; use --restart to rebuild this job's own upload "
                              "(the new upload has its own job)", job_id=jid, key=key)
    if not failed_at or failed_at == "failed" or code in {Code.WorkflowChanged,
                                                          Code.StatesHistoryLimitExceeded}:
        return Action("skip", f"failed without a step to resume ({code}); use --restart",
                      job_id=jid, key=key)
    return Action("redrive", f"resume at {failed_at} after {code}; earlier steps are not "
                             "rerun", job_id=jid, key=key, from_state=failed_at)


def _ident(rec: JobRecord) -> str:
    return rec.version_id or rec.etag or "?"


def _changed(rec: JobRecord, obj: ObjectNow) -> bool:
    if rec.version_id and obj.version_id:
        return rec.version_id != obj.version_id
    if rec.etag and obj.etag:
        return rec.etag != obj.etag
    return False


# ---- 3. execute (the only writer) ----
class Executor:
    def __init__(self, runner: JobRunner, aws: Aws, queue_url: str,
                 dlq_url: str | None = None, *, here: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        self.runner, self.aws, self.queue_url, self.dlq_url = runner, aws, queue_url, dlq_url
        self.queue = Queue(aws, queue_url, "jobs")
        self.here = here
        self.clock = clock

    def apply(self, actions: Sequence[Action], facts: Facts) -> list[Result]:
        dlq = {m.message_id: m for m in facts.dlq}
        results: list[Result] = []
        for action in actions:
            try:
                if action.kind == "skip":
                    results.append(Result(action, False, "skipped", action.job_id))
                elif action.kind == "move-dlq":
                    results.append(self._move(action, dlq[str(action.message_id)]))
                elif action.kind in ("redrive", "restart"):
                    results.append(self._replay(action))
                else:
                    raise ValueError(f"unknown replay action {action.kind!r}")
            except Exception as exc:
                log.warning("replay %s %s failed", action.kind, action.job_id, exc_info=True)
                results.append(Result(action, False, f"failed: {exc}", action.job_id))
        return results

    def _replay(self, action: Action) -> Result:
        job_id = str(action.job_id)
        now = self.clock()
        change = _restart_change(now) if action.kind == "restart" else _redrive_change(now)
        rec = self.runner.rewrite(job_id, change)
        if rec is None:
            return Result(action, False, "another worker holds the job's lease; try later",
                          job_id)
        if self.here:
            outcome, rec = self.runner.resume(job_id)
            return Result(action, True, f"driven here: {outcome.value}, now {rec.state}",
                          job_id)
        body = s3_event_body(rec.bucket, rec.key, version_id=rec.version_id, etag=rec.etag,
                             job_id=job_id)
        self.queue.send(body)
        return Result(action, True, f"{action.kind} recorded; re-enqueued for any worker",
                      job_id)

    def _move(self, action: Action, msg: DlqMessage) -> Result:
        assert self.dlq_url is not None
        self.queue.send(msg.body)
        # Deleted only once the copy is safely on the jobs queue.
        Queue(self.aws, self.dlq_url, "dlq").delete(msg.receipt)
        return Result(action, True, "moved to the jobs queue")


def _redrive_change(now: float) -> Callable[[JobRecord, Execution | None], Execution]:
    def change(rec: JobRecord, ex: Execution | None) -> Execution:
        if ex is None:
            raise ValueError(f"job {rec.job_id} cannot be redriven (its execution was "
                             "recorded by another workflow); use --restart")
        ex.redrive(now)
        rec.finished_at = None
        return ex
    return change


def _restart_change(now: float) -> Callable[[JobRecord, Execution | None], Execution]:
    def change(rec: JobRecord, ex: Execution | None) -> Execution:
        rec.archive_run()
        return start_execution(rec, now)
    return change


def wait_terminal(store: JobStore, job_ids: Sequence[str], timeout: float,
                  clock: Callable[[], float] = time.monotonic,
                  sleep: Callable[[float], None] = time.sleep,
                  interval: float = 1.0) -> list[JobRecord]:
    """Poll until every job is terminal (or ``timeout``); their records, in order."""
    deadline = clock() + timeout
    while True:
        records = [store.get(j) for j in job_ids]
        found = [r for r in records if r is not None]
        if all(r.is_terminal for r in found) or clock() >= deadline:
            return found
        sleep(interval)
