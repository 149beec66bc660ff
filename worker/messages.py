"""What to do with one SQS message: parse it, run its jobs, then acknowledge, put it
back with a delay, or release it. Bad input is recorded as a failed job with its code
and acknowledged: it never loops, and never takes the worker down."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import BadEvent
from orchestrator.intake.events import ObjectRef, parse_message
from orchestrator.jobs.runner import JobRunner, Outcome

log = logging.getLogger(__name__)


class Ack(enum.StrEnum):
    DELETE = "delete"      # terminal (or nothing to do): remove the message
    DELAY = "delay"        # another worker holds the job: try again later
    RELEASE = "release"    # we stopped early: make it visible again now
    KEEP = "keep"          # unexpected failure: let visibility expire (redelivery, then DLQ)


@dataclass(frozen=True)
class Handled:
    ack: Ack
    jobs: tuple[str, ...] = ()
    note: str = ""


def handle_body(runner: JobRunner, body: str, *, message_id: str, expected_bucket: str | None,
                trace_id: str | None = None,
                stop: Callable[[], bool] = lambda: False) -> Handled:
    try:
        parsed = parse_message(body)
    except BadEvent as exc:
        job = runner.reject(f"msg:{message_id}", exc)
        log.warning("message %s rejected [%s]: %s", message_id, exc.code, exc)
        return Handled(Ack.DELETE, (job,), exc.code)
    if parsed.test_event:
        log.info("message %s: s3:TestEvent (sent when a notification is configured); "
                 "acknowledged", message_id)
        return Handled(Ack.DELETE, (), "s3:TestEvent")
    if not parsed.refs:
        log.info("message %s: no ObjectCreated records (%s); acknowledged", message_id,
                 ", ".join(parsed.ignored) or "none")
        return Handled(Ack.DELETE, (), "no ObjectCreated records")
    acks: list[Ack] = []
    jobs: list[str] = []
    for ref in parsed.refs:
        if expected_bucket and ref.bucket != expected_bucket:
            err = BadEvent(f"event for bucket {ref.bucket!r}, expected {expected_bucket!r}",
                           code="UnexpectedBucket",
                           hint="only the incoming bucket should notify this queue")
            jobs.append(runner.reject(f"{ref.bucket}/{ref.key}", err, ref.bucket, ref.key))
            acks.append(Ack.DELETE)
            continue
        outcome, rec = run_ref(runner, ref, trace_id=trace_id, stop=stop)
        log.info("message %s: job %s %s (%s)", message_id, rec.job_id, outcome.value, rec.state)
        jobs.append(rec.job_id)
        acks.append(_ACK_FOR[outcome])
    for strongest in (Ack.KEEP, Ack.RELEASE, Ack.DELAY):
        if strongest in acks:
            return Handled(strongest, tuple(jobs))
    return Handled(Ack.DELETE, tuple(jobs))


def run_ref(runner: JobRunner, ref: ObjectRef, *, trace_id: str | None,
            stop: Callable[[], bool]) -> tuple[Outcome, Any]:
    return runner.process(ref, trace_id=trace_id, stop=stop)


_ACK_FOR = {
    Outcome.DONE: Ack.DELETE,
    Outcome.ALREADY_DONE: Ack.DELETE,
    Outcome.BUSY: Ack.DELAY,
    Outcome.INTERRUPTED: Ack.RELEASE,
    Outcome.LOST: Ack.KEEP,  # the worker that took over owns the job and its message
}
