"""The worker's receive loop: long-poll the jobs queue, run up to ``concurrency``
messages at once, heartbeat each, and acknowledge by outcome.

Stopping (``request_stop()``, e.g. on SIGTERM) ends receiving at once; running jobs
finish their current step, persist, release their lease and make their message visible
again. If they are still running when the drain deadline passes, the worker persists
their interruption itself (``JobRunner.interrupt_active``), stops their heartbeats,
makes their messages visible and reports them as ``abandoned``: the caller then exits
without waiting for those threads. Nothing is lost either way: the lease and the
message visibility expire on their own if even that fails.

No exception from a job ever leaves ``handle``: a job failure is the job's, never the
worker's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from orchestrator.aws.outage_signal import REPORT_SECONDS, report_paused
from orchestrator.aws.queue import Message, Queue
from orchestrator.config import DEFAULT_LEASE_SECONDS, HEARTBEATS_PER_LEASE
from orchestrator.jobs.heartbeat import Heartbeat
from orchestrator.jobs.runner import JobRunner
from orchestrator.tracing.base import trace_id_for
from worker.instance import InstanceConfig, ScaleInGuard
from worker.messages import Ack, Handled, handle_body

log = logging.getLogger(__name__)

# A message that comes back while its job's lease is about to end waits for the end
# (at most this long) instead of going back to the queue.
MAX_EXPIRY_WAIT = 30.0
# How many times one upload's message may be handed over to a fresh copy before the
# redrive limit is left to do its work (a job's own Retry bounds crashes in its steps).
MAX_COPIES = 10
# The services a job needs: while one of them is down, a worker takes no new messages.
PIPELINE_SERVICES = ("dynamodb", "s3", "lambda", "sqs")


@dataclass
class Stats:
    received: int = 0
    deleted: int = 0
    delayed: int = 0
    released: int = 0
    kept: int = 0
    errors: int = 0
    abandoned: int = 0
    parked: int = 0
    paused: int = 0    # receive rounds skipped while a service's breaker was open
    outcomes: list[Handled] = field(default_factory=list)


class Worker:
    def __init__(self, runner: JobRunner, *, queue_url: str, concurrency: int = 1,
                 wait_seconds: int = 20, visibility: int = DEFAULT_LEASE_SECONDS,
                 busy_delay: int = 1,
                 expected_bucket: str | None = None,
                 stop: threading.Event | None = None, drain_seconds: float = 30.0,
                 guard: ScaleInGuard | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 redrive_limit: int | None = None) -> None:
        self.runner = runner
        self.aws = runner.steps.env.aws
        self.queue_url = queue_url
        self.queue = Queue(self.aws, queue_url, "jobs")
        self.concurrency = max(1, concurrency)
        self.wait_seconds = wait_seconds
        self.visibility = max(1, int(visibility))
        self.busy_delay = busy_delay
        self.expected_bucket = expected_bucket
        self.stop = stop or threading.Event()
        self.drain_seconds = drain_seconds
        self.guard = guard or ScaleInGuard(lambda: self.aws.scaling, InstanceConfig())
        self.clock = clock
        self.redrive_limit = redrive_limit  # the queue's maxReceiveCount, if it has a DLQ
        self.stats = Stats()
        self.stopped_at: float | None = None
        self._lock = threading.Lock()
        self._running: set[Future[Any]] = set()
        self._inflight: dict[str, Heartbeat] = {}
        self._pause_reported_at = float("-inf")

    def request_stop(self) -> None:
        """Stop receiving; the drain deadline counts from the first request."""
        if self.stopped_at is None:
            self.stopped_at = self.clock()
        self.stop.set()

    # ---- one message ----
    def _receive(self, n: int, wait_s: int) -> list[Message]:
        return self.queue.receive(n, wait_seconds=wait_s, visibility=self.visibility)

    def _set_visibility(self, receipt: str, seconds: int) -> None:
        self.queue.set_visibility(receipt, seconds)

    def handle(self, msg: Message) -> Handled:
        """Run one message's jobs and acknowledge it. Never raises."""
        receipt = msg.receipt
        handled = Handled(Ack.KEEP, (), "unexpected error")
        self.guard.job_started()
        thread = threading.get_ident()

        def keep_invisible() -> None:
            # A job whose step hung past its deadline has let its lease go; let the
            # message go too, so another worker picks the job up and retries the step.
            if not self.runner.hung_in_thread(thread):
                self._set_visibility(receipt, self.visibility)

        log.info("message %s: received (receive %d, copy %d)", msg.message_id,
                 msg.receive_count, msg.copies)
        try:
            beat = Heartbeat(keep_invisible, interval=self.visibility / HEARTBEATS_PER_LEASE)
            with self._lock:
                self._inflight[receipt] = beat
            with beat:
                handled = handle_body(
                    self.runner, msg.body, message_id=msg.message_id,
                    expected_bucket=self.expected_bucket,
                    trace_id=trace_id_for(msg.trace_header), stop=self.stop.is_set,
                    wait_for_expiry=min(self.runner.lease_seconds + 1, MAX_EXPIRY_WAIT),
                    hand_over=self.near_redrive_limit(msg))
        except Exception:
            log.exception("message %s: unexpected failure; it will be redelivered",
                          msg.message_id)
        finally:
            with self._lock:
                self._inflight.pop(receipt, None)
            try:
                self._acknowledge(msg, handled)
            except Exception:
                log.exception("message %s: acknowledging failed", msg.message_id)
            self.guard.job_finished()
        return handled

    def near_redrive_limit(self, msg: Message) -> bool:
        """True when a few more failed receives could send ``msg`` to the DLQ (and it has
        not been handed over to fresh copies too often already). Handing over starts
        three receives before the last, so lost answers to two receives (which count
        without reaching the worker) or a busy job still leave another chance."""
        limit = self.redrive_limit
        return (limit is not None and msg.receive_count >= max(2, limit - 3)
                and msg.copies < MAX_COPIES)

    def _acknowledge(self, msg: Message, handled: Handled) -> None:
        receipt = msg.receipt
        delay = max(self.busy_delay, handled.delay)
        try:
            if handled.ack is Ack.DELETE:
                self.queue.delete(receipt)
            elif handled.ack is Ack.DELAY:
                if not (self.near_redrive_limit(msg) and self._pass_lease_on(msg, handled,
                                                                            delay)):
                    self._set_visibility(receipt, delay)
            elif handled.ack is Ack.REQUEUE:
                # a fresh copy starts its receive count at zero; this one goes only once
                # the copy is safely queued
                fresh = self.queue.send(msg.body, delay=delay, copies=msg.copies + 1)
                log.info("message %s: fresh copy %s in %d s", msg.message_id, fresh, delay)
                self.queue.delete(receipt)
            elif handled.ack is Ack.PARK:
                self._park(msg, delay)
            elif handled.ack is Ack.RELEASE:
                self._set_visibility(receipt, 0)
        except Exception:
            log.warning("could not acknowledge a message (%s); it will be redelivered and "
                        "recognised as done", handled.ack, exc_info=True)
        with self._lock:
            self.stats.outcomes.append(handled)
            if len(self.stats.outcomes) > 1000:  # a long-running worker keeps recent ones
                del self.stats.outcomes[:500]
            attr = {"delete": "deleted", "delay": "delayed", "requeue": "delayed",
                    "park": "parked", "release": "released",
                    "keep": "kept"}[handled.ack.value]
            setattr(self.stats, attr, getattr(self.stats, attr) + 1)

    def _park(self, msg: Message, delay: int) -> None:
        """Hand a message back for ``delay`` without spending its receives: a fresh copy
        (a park is not a hand-over: ``copies`` stays) replaces it; if the queue takes no
        new message, the old one waits out ``delay`` as it is."""
        try:
            fresh = self.queue.send(msg.body, delay=delay, copies=msg.copies)
        except Exception:
            log.warning("message %s: could not queue its parked copy; it waits %d s as it "
                        "is", msg.message_id, delay, exc_info=True)
            self._set_visibility(msg.receipt, delay)
            return
        log.info("message %s: parked as fresh copy %s for %d s", msg.message_id, fresh, delay)
        self.queue.delete(msg.receipt)

    def _pass_lease_on(self, msg: Message, handled: Handled, delay: int) -> bool:
        """The job's own message, back near the redrive limit while its holder still
        beats: a fresh copy becomes the message the lease names, and this one goes.
        False (this one stays) when the lease names another message by now."""
        if len(handled.jobs) != 1:
            return False
        fresh = self.queue.send(msg.body, delay=delay, copies=msg.copies + 1)
        if not self.runner.store.swap_lease_message(handled.jobs[0], msg.message_id, fresh):
            return False  # the copy is then a duplicate: recognised and acknowledged
        log.info("message %s: job %s now runs from fresh copy %s", msg.message_id,
                 handled.jobs[0], fresh)
        self.queue.delete(msg.receipt)
        return True

    # ---- the loop ----
    def poll_once(self, wait_s: int = 0) -> int:
        """Receive one batch and handle it synchronously; how many messages."""
        messages = self._receive(self.concurrency, wait_s)
        self.stats.received += len(messages)
        for msg in messages:
            self.handle(msg)
        return len(messages)

    def _on_done(self, future: Future[Any]) -> None:
        exc = future.exception() if not future.cancelled() else None
        if exc is not None:  # handle() never raises; this is a last line of defence
            log.error("a job thread ended with %r", exc)

    def run(self) -> Stats:
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="job")
        try:
            self._loop(pool)
        finally:
            self._drain(pool)
        return self.stats

    def _loop(self, pool: ThreadPoolExecutor) -> None:
        while not self.stop.is_set():
            self._running = {f for f in self._running if not f.done()}
            free = self.concurrency - len(self._running)
            if free <= 0:
                wait(self._running, timeout=0.5, return_when=FIRST_COMPLETED)
                continue
            pause = self._outage_pause()
            if pause > 0:
                self.stats.paused += 1
                self._report_pause()
                self.stop.wait(pause)
                continue
            try:
                messages = self._receive(free, min(self.wait_seconds, 5))
            except Exception:
                self.stats.errors += 1
                log.warning("receive failed; retrying", exc_info=True)
                self.stop.wait(min(2.0 * self.stats.errors, 10.0))
                continue
            self.stats.errors = 0
            self.stats.received += len(messages)
            if self.stop.is_set():  # received while stopping: hand them straight back
                for msg in messages:
                    self._release_message(msg.receipt)
                break
            for msg in messages:
                future = pool.submit(self.handle, msg)
                future.add_done_callback(self._on_done)
                self._running.add(future)

    def _outage_pause(self) -> float:
        """Seconds to wait before receiving again: while a service the pipeline needs
        keeps failing (its breaker is open), new messages would only wait too."""
        breakers = self.aws.breakers
        if not breakers.any_open(PIPELINE_SERVICES):
            return 0.0
        pause = breakers.retry_after()
        if pause <= 0:
            return 0.0  # the cooldown is over: the next receive and its job are the probe
        log.warning("AWS is failing (%s): not taking new messages for %.1f s",
                    ", ".join(f"{s}.{o}" for s, o in breakers.open_ones()), pause)
        return min(pause, 5.0)

    def _report_pause(self) -> None:
        """Tell the checker this worker waits for a service (at most every
        REPORT_SECONDS), so it does not scale out on a backlog that only waits too."""
        now = time.time()
        if now - self._pause_reported_at < REPORT_SECONDS:
            return
        self._pause_reported_at = now
        try:
            report_paused(self.aws.metrics, self.aws.settings.queue_name, now)
        except Exception:
            log.warning("could not report the pause to CloudWatch", exc_info=True)

    def _release_message(self, receipt: str) -> None:
        try:
            self._set_visibility(receipt, 0)
        except Exception:
            log.warning("could not release a message; it reappears after its visibility "
                        "timeout", exc_info=True)

    def _drain(self, pool: ThreadPoolExecutor) -> None:
        running = {f for f in self._running if not f.done()}
        if running:
            start = self.stopped_at if self.stopped_at is not None else self.clock()
            remaining = max(0.0, start + self.drain_seconds - self.clock())
            log.warning("draining %d running job(s), up to %.0f s", len(running), remaining)
            _, running = wait(running, timeout=remaining)
        if not running:
            pool.shutdown(wait=True)
            return
        self.abandon(f"the worker shut down while this step ran (drain deadline of "
                     f"{self.drain_seconds:g} s passed)")
        pool.shutdown(wait=False, cancel_futures=True)

    def abandon(self, reason: str) -> None:
        """Past the drain deadline: persist each running job's interruption, release its
        lease, stop its message heartbeat and make the message visible again."""
        jobs = self.runner.interrupt_active(reason)
        with self._lock:
            inflight = dict(self._inflight)
        for receipt, beat in inflight.items():
            beat.stop()
            self._release_message(receipt)
        self.stats.abandoned = len(inflight)
        log.warning("drain deadline passed: %d job(s) interrupted and handed back (%s)",
                    len(jobs), ", ".join(jobs) or "none persisted")
