"""The queue facade: one typed object per SQS queue, used by the worker (jobs queue),
replay (jobs queue and DLQ) and the checker (depth).

Messages come back as ``Message`` values, never raw dicts; every call goes through
``aws_call`` so throttling, 5xx and network failures surface as transient errors with
their codes. Deleting a message, or changing the visibility of one, that is already gone
(deleted by an earlier attempt whose answer was lost, or received again elsewhere) is
not an error: ``delete`` and ``set_visibility`` return False then. This module moves
messages; it never decides what a message means.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from orchestrator.aws.errors import AwsError
from orchestrator.aws.facade import Aws, aws_call
from orchestrator.aws.lost_answers import outcome_unknown
from orchestrator.aws.types import sends_per_call
from orchestrator.retries import QUEUE_SETTLE
from orchestrator.types import JsonObject

# What SQS answers for a receipt handle whose message is gone or no longer in flight.
GONE_CODES = frozenset({
    "ReceiptHandleIsInvalid", "AWS.SimpleQueueService.MessageNotInflight", "MessageNotInflight",
    "InvalidParameterValue", "AWS.SimpleQueueService.ReceiptHandleIsInvalid",
})
# SQS's largest DelaySeconds.
MAX_DELAY_SECONDS = 900
# The message attribute counting how many times a message was sent again as a fresh copy
# (each copy starts its receive count, towards the redrive limit, at zero).
COPIES_ATTRIBUTE = "AutoLambdaCopies"

DEPTH_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


@dataclass(frozen=True)
class Message:
    message_id: str
    receipt: str
    body: str
    receive_count: int = 1
    trace_header: str | None = None
    copies: int = 0  # how many times this message was sent again as a fresh copy

    @classmethod
    def from_sqs(cls, raw: JsonObject) -> Message:
        attrs = raw.get("Attributes") or {}
        copies = ((raw.get("MessageAttributes") or {}).get(COPIES_ATTRIBUTE) or {}).get(
            "StringValue")
        return cls(message_id=str(raw.get("MessageId", "?")),
                   receipt=str(raw.get("ReceiptHandle", "")), body=str(raw.get("Body", "")),
                   receive_count=int(attrs.get("ApproximateReceiveCount", 1) or 1),
                   trace_header=attrs.get("AWSTraceHeader"),
                   copies=int(copies) if copies and copies.isdigit() else 0)


@dataclass(frozen=True)
class QueueDepth:
    """The queue's three Approximate* counters."""

    visible: int
    in_flight: int
    delayed: int


class Queue:
    def __init__(self, aws: Aws, url: str, name: str = "queue") -> None:
        self.aws, self.url, self.name = aws, url, name

    def receive(self, max_messages: int, *, wait_seconds: int = 0,
                visibility: int | None = None) -> list[Message]:
        """Up to ``max_messages`` (1..10), hidden for ``visibility`` seconds."""
        kwargs: JsonObject = {
            "QueueUrl": self.url, "MaxNumberOfMessages": max(1, min(10, max_messages)),
            "WaitTimeSeconds": wait_seconds,
            "MessageSystemAttributeNames": ["AWSTraceHeader", "ApproximateReceiveCount"],
            "MessageAttributeNames": [COPIES_ATTRIBUTE]}
        if visibility is not None:
            kwargs["VisibilityTimeout"] = visibility
        with aws_call(f"sqs.receive_message({self.name})"):
            resp = self.aws.sqs.receive_message(**kwargs)
        return [Message.from_sqs(m) for m in resp.get("Messages", [])]

    def send(self, body: str, delay: int = 0, copies: int = 0) -> str:
        """Enqueue ``body``, hidden for ``delay`` seconds (at most 900); the new message's
        id. ``copies``: how many times it has been sent again as a fresh copy. Sending
        again after a lost answer makes a duplicate, which the worker recognises (one
        upload, one job), never a second job."""
        kwargs: JsonObject = {"QueueUrl": self.url, "MessageBody": body}
        if delay > 0:
            kwargs["DelaySeconds"] = min(int(delay), MAX_DELAY_SECONDS)
        if copies > 0:
            kwargs["MessageAttributes"] = {COPIES_ATTRIBUTE: {
                "DataType": "Number", "StringValue": str(int(copies))}}
        with aws_call(f"sqs.send_message({self.name})"):
            resp = self.aws.sqs.send_message(**kwargs)
        return str(resp.get("MessageId", ""))

    def delete(self, receipt: str) -> bool:
        """Delete the message; False when it was gone already (that is success too)."""
        return self._settle(f"sqs.delete_message({self.name})", lambda: self.aws.sqs.
                            delete_message(QueueUrl=self.url, ReceiptHandle=receipt))

    def set_visibility(self, receipt: str, seconds: int) -> bool:
        """Hide the message for ``seconds`` more (0: visible now); False when the message
        is gone or no longer ours to change."""
        return self._settle(
            f"sqs.change_message_visibility({self.name})",
            lambda: self.aws.sqs.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=receipt, VisibilityTimeout=int(seconds)))

    def _settle(self, where: str, call: Callable[[], object]) -> bool:
        """An idempotent call, sent again while its outcome is unknown; False when the
        message is gone (which is what a repeat of a landed delete finds)."""
        per_call = sends_per_call(self.aws.sqs)
        sent = 0
        while True:
            try:
                with aws_call(where):
                    call()
            except AwsError as exc:
                if _gone(exc):
                    return False
                sent += exc.sends if exc.sends is not None else per_call
                if not outcome_unknown(exc) or not QUEUE_SETTLE.may_send_again(sent, per_call):
                    raise
                continue
            return True

    def redrive_limit(self) -> int | None:
        """The queue's maxReceiveCount (None: no dead-letter queue)."""
        with aws_call(f"sqs.get_queue_attributes({self.name})"):
            attrs = self.aws.sqs.get_queue_attributes(
                QueueUrl=self.url, AttributeNames=["RedrivePolicy"])["Attributes"]
        raw = attrs.get("RedrivePolicy")
        if not raw:
            return None
        return int(json.loads(raw).get("maxReceiveCount") or 0) or None

    def depth(self) -> QueueDepth:
        with aws_call(f"sqs.get_queue_attributes({self.name})"):
            attrs = self.aws.sqs.get_queue_attributes(
                QueueUrl=self.url, AttributeNames=list(DEPTH_ATTRIBUTES))["Attributes"]
        return QueueDepth(
            visible=int(attrs.get("ApproximateNumberOfMessages", 0)),
            in_flight=int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
            delayed=int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)),
        )


def _gone(exc: AwsError) -> bool:
    if exc.aws_code not in GONE_CODES:
        return False
    if exc.aws_code == "InvalidParameterValue":
        # also what SQS says for a bad argument; only its "message does not exist" means gone
        text = str(exc.message).lower()
        return "does not exist" in text or "not available" in text
    return True
