"""What to do with one SQS message: parse it, run its jobs, then acknowledge, put it
back with a delay, or release it. Bad input is recorded as a failed job with its code
and acknowledged: it never loops, and never takes the worker down.

A delivery of a job another worker holds never wastes the message's receives (each one
counts towards the DLQ's redrive limit): a copy of an upload whose job runs from
another message is a duplicate and is acknowledged (the other message carries the job,
and comes back if its worker dies); a job held without a message behind it gets a
fresh copy of this message, delayed until its lease would end, and this one is deleted.
Only the message the job's lease names, back while its holder still beats, is put back
(it must not be lost: it is what brings the job back if that holder dies).

A transient AWS failure never spends receives either: a job whose retry is due later
than the worker waits is parked (a fresh copy of its message, delayed until the retry,
and this one deleted), and so is a message whose job could not even be claimed because
the job store is down. The DLQ is left for messages that cannot be handled at all.

A message near the queue's redrive limit (its job's workers died, or the answers to its
receives were lost) is handed over: the job is claimed, released, and carried on by a
fresh copy whose receive count starts at zero (or, when its holder is alive, the lease
is pointed at the fresh copy: ``Worker._pass_lease_on``), ten times at most (the message
counts its copies), so a job's own Retry, not the queue, decides when repeated crashes
fail it, and a message that breaks workers for another reason still ends in the DLQ.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestrator.aws.queue import MAX_DELAY_SECONDS
from orchestrator.codes import Code
from orchestrator.errors import TRANSIENT_CODES, AutoLambdaError, BadEvent
from orchestrator.intake.events import ObjectRef, parse_message
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.runner import JobRunner, Outcome

log = logging.getLogger(__name__)
# How long a message waits when the job store cannot be reached at all.
OUTAGE_PARK_SECONDS = 10


class Ack(enum.StrEnum):
    DELETE = "delete"      # terminal, a duplicate, or nothing to do: remove the message
    DELAY = "delay"        # the job's own message while its holder lives: back in ``delay``
    REQUEUE = "requeue"    # held without a message: a fresh copy in ``delay``, this one deleted
    PARK = "park"          # waiting out a transient failure: a fresh copy (not counted as
                           # a hand-over) in ``delay``, this one deleted
    RELEASE = "release"    # we stopped early: make it visible again now
    KEEP = "keep"          # unexpected failure: let visibility expire (redelivery, then DLQ)


@dataclass(frozen=True)
class Handled:
    ack: Ack
    jobs: tuple[str, ...] = ()
    note: str = ""
    delay: int = 0         # seconds, for DELAY and REQUEUE


def handle_body(runner: JobRunner, body: str, *, message_id: str, expected_bucket: str | None,
                trace_id: str | None = None,
                stop: Callable[[], bool] = lambda: False,
                wait_for_expiry: float = 0.0, hand_over: bool = False) -> Handled:
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
    delays: list[int] = []
    for ref in parsed.refs:
        if expected_bucket and ref.bucket != expected_bucket:
            err = BadEvent(f"event for bucket {ref.bucket!r}, expected {expected_bucket!r}",
                           code=Code.UnexpectedBucket,
                           hint="only the incoming bucket should notify this queue")
            jobs.append(runner.reject(f"{ref.bucket}/{ref.key}", err, ref.bucket, ref.key))
            acks.append(Ack.DELETE)
            continue
        try:
            outcome, rec = run_ref(runner, ref, trace_id=trace_id, stop=stop,
                                   message_id=message_id, wait_for_expiry=wait_for_expiry,
                                   hand_over=hand_over)
        except AutoLambdaError as exc:
            if exc.code not in TRANSIENT_CODES:
                raise
            # The job store (or another service the claim needs) is down: nothing could
            # be recorded, so the message waits, without counting towards the DLQ.
            log.warning("message %s: %s [%s]; parked for %d s", message_id, exc, exc.code,
                        OUTAGE_PARK_SECONDS)
            acks.append(Ack.PARK)
            delays.append(OUTAGE_PARK_SECONDS)
            jobs.append(ref.job_id)
            continue
        ack = _ACK_FOR[outcome]
        if outcome is Outcome.PARKED:
            due = float(rec.snapshot.get("next_attempt_at") or 0.0)
            delays.append(max(1, min(math.ceil(due - runner.clock()), MAX_DELAY_SECONDS)))
        if outcome is Outcome.BUSY:
            ack, delay = busy_ack(rec, message_id, runner.clock())
            delays.append(delay)
            log.info("message %s: job %s is held by %s (message %s): %s", message_id,
                     rec.job_id, rec.lease_owner, rec.lease_message or "none", ack.value)
        else:
            log.info("message %s: job %s %s (%s)", message_id, rec.job_id, outcome.value,
                     rec.state)
        jobs.append(rec.job_id)
        acks.append(ack)
    for strongest in (Ack.KEEP, Ack.RELEASE, Ack.DELAY, Ack.REQUEUE, Ack.PARK):
        if strongest in acks:
            return Handled(strongest, tuple(jobs), delay=max(delays, default=0))
    return Handled(Ack.DELETE, tuple(jobs))


def busy_ack(rec: JobRecord, message_id: str, now: float) -> tuple[Ack, int]:
    """What to do with a message whose job another worker holds (see the module)."""
    delay = max(1, min(math.ceil(rec.lease_expires - now) + 1, MAX_DELAY_SECONDS))
    if rec.lease_message and rec.lease_message != message_id:
        return Ack.DELETE, 0
    if rec.lease_message == message_id:
        return Ack.DELAY, delay
    return Ack.REQUEUE, delay


def run_ref(runner: JobRunner, ref: ObjectRef, *, trace_id: str | None,
            stop: Callable[[], bool], message_id: str | None = None,
            wait_for_expiry: float = 0.0, hand_over: bool = False) -> tuple[Outcome, Any]:
    return runner.process(ref, trace_id=trace_id, stop=stop, message_id=message_id,
                          wait_for_expiry=wait_for_expiry, hand_over=hand_over)


_ACK_FOR = {
    Outcome.DONE: Ack.DELETE,
    Outcome.ALREADY_DONE: Ack.DELETE,
    Outcome.BUSY: Ack.DELAY,
    Outcome.INTERRUPTED: Ack.RELEASE,
    Outcome.LOST: Ack.KEEP,  # the worker that took over owns the job and its message
    Outcome.HANDED_OVER: Ack.REQUEUE,  # a fresh copy carries the job on
    Outcome.PARKED: Ack.PARK,  # a fresh copy brings the job back when its retry is due
}
