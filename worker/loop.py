"""The worker's receive loop: long-poll the jobs queue, run up to ``concurrency``
messages at once, heartbeat each, and acknowledge by outcome.

Stopping (``stop`` event set, e.g. by SIGTERM) ends receiving at once; running jobs
stop between steps, persist, release their lease and make their message visible
again, so nothing is lost.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from orchestrator.aws import aws_call
from orchestrator.pipeline import JobRunner
from worker.heartbeat import Heartbeat
from worker.messages import Ack, Handled, handle_body

log = logging.getLogger(__name__)


@dataclass
class Stats:
    received: int = 0
    deleted: int = 0
    delayed: int = 0
    released: int = 0
    kept: int = 0
    errors: int = 0
    outcomes: list[Handled] = field(default_factory=list)


class Worker:
    def __init__(self, runner: JobRunner, *, queue_url: str, concurrency: int = 1,
                 wait_seconds: int = 20, visibility: int = 60, busy_delay: int = 15,
                 expected_bucket: str | None = None,
                 stop: threading.Event | None = None) -> None:
        self.runner = runner
        self.aws = runner.steps.env.aws
        self.queue_url = queue_url
        self.concurrency = max(1, concurrency)
        self.wait_seconds = wait_seconds
        self.visibility = visibility
        self.busy_delay = busy_delay
        self.expected_bucket = expected_bucket
        self.stop = stop or threading.Event()
        self.stats = Stats()
        self._lock = threading.Lock()
        self._running: set[Future[Any]] = set()

    # ---- one message ----
    def _receive(self, n: int, wait: int) -> list[dict[str, Any]]:
        with aws_call("sqs.receive_message"):
            resp = self.aws.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=min(10, n),
                WaitTimeSeconds=wait, VisibilityTimeout=self.visibility,
                MessageSystemAttributeNames=["AWSTraceHeader", "ApproximateReceiveCount"])
        messages: list[dict[str, Any]] = resp.get("Messages", [])
        return messages

    def _extend(self, receipt: str) -> None:
        self.aws.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=receipt,
                                               VisibilityTimeout=self.visibility)

    def handle(self, msg: dict[str, Any]) -> Handled:
        receipt = msg["ReceiptHandle"]
        trace_header = (msg.get("Attributes") or {}).get("AWSTraceHeader")
        with Heartbeat(lambda: self._extend(receipt), interval=self.visibility / 3):
            try:
                handled = handle_body(self.runner, msg.get("Body", ""),
                                      message_id=msg.get("MessageId", "?"),
                                      expected_bucket=self.expected_bucket,
                                      trace_id=trace_header, stop=self.stop.is_set)
            except Exception:
                log.exception("message %s: unexpected failure; it will be redelivered",
                              msg.get("MessageId"))
                handled = Handled(Ack.KEEP, (), "unexpected error")
        self._acknowledge(receipt, handled)
        return handled

    def _acknowledge(self, receipt: str, handled: Handled) -> None:
        sqs = self.aws.sqs
        try:
            if handled.ack is Ack.DELETE:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt)
            elif handled.ack is Ack.DELAY:
                sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=receipt,
                                              VisibilityTimeout=self.busy_delay)
            elif handled.ack is Ack.RELEASE:
                sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=receipt,
                                              VisibilityTimeout=0)
        except Exception:
            log.warning("could not acknowledge a message (%s); it will be redelivered and "
                        "recognised as done", handled.ack, exc_info=True)
        with self._lock:
            self.stats.outcomes.append(handled)
            attr = {"delete": "deleted", "delay": "delayed", "release": "released",
                    "keep": "kept"}[handled.ack.value]
            setattr(self.stats, attr, getattr(self.stats, attr) + 1)

    # ---- the loop ----
    def poll_once(self, wait: int = 0) -> int:
        """Receive one batch and handle it synchronously; how many messages."""
        messages = self._receive(self.concurrency, wait)
        self.stats.received += len(messages)
        for msg in messages:
            self.handle(msg)
        return len(messages)

    def run(self) -> Stats:
        with ThreadPoolExecutor(max_workers=self.concurrency,
                                thread_name_prefix="job") as pool:
            while not self.stop.is_set():
                self._running = {f for f in self._running if not f.done()}
                free = self.concurrency - len(self._running)
                if free <= 0:
                    self.stop.wait(0.2)
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
                for msg in messages:
                    self._running.add(pool.submit(self.handle, msg))
        return self.stats
