"""The queue facade: one typed object per SQS queue, used by the worker (jobs queue),
replay (jobs queue and DLQ) and the checker (depth).

Messages come back as ``Message`` values, never raw dicts; every call goes through
``aws_call`` so throttling, 5xx and network failures surface as transient errors with
their codes. This module moves messages; it never decides what a message means.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.aws.facade import Aws, aws_call

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

    @classmethod
    def from_sqs(cls, raw: dict[str, Any]) -> Message:
        attrs = raw.get("Attributes") or {}
        return cls(message_id=str(raw.get("MessageId", "?")),
                   receipt=str(raw.get("ReceiptHandle", "")), body=str(raw.get("Body", "")),
                   receive_count=int(attrs.get("ApproximateReceiveCount", 1) or 1),
                   trace_header=attrs.get("AWSTraceHeader"))


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
        kwargs: dict[str, Any] = {
            "QueueUrl": self.url, "MaxNumberOfMessages": max(1, min(10, max_messages)),
            "WaitTimeSeconds": wait_seconds,
            "MessageSystemAttributeNames": ["AWSTraceHeader", "ApproximateReceiveCount"]}
        if visibility is not None:
            kwargs["VisibilityTimeout"] = visibility
        with aws_call(f"sqs.receive_message({self.name})"):
            resp = self.aws.sqs.receive_message(**kwargs)
        return [Message.from_sqs(m) for m in resp.get("Messages", [])]

    def send(self, body: str) -> str:
        """Enqueue ``body``; the new message's id."""
        with aws_call(f"sqs.send_message({self.name})"):
            resp = self.aws.sqs.send_message(QueueUrl=self.url, MessageBody=body)
        return str(resp.get("MessageId", ""))

    def delete(self, receipt: str) -> None:
        with aws_call(f"sqs.delete_message({self.name})"):
            self.aws.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=receipt)

    def set_visibility(self, receipt: str, seconds: int) -> None:
        """Hide the message for ``seconds`` more (0: visible now)."""
        with aws_call(f"sqs.change_message_visibility({self.name})"):
            self.aws.sqs.change_message_visibility(QueueUrl=self.url, ReceiptHandle=receipt,
                                                   VisibilityTimeout=int(seconds))

    def depth(self) -> QueueDepth:
        with aws_call(f"sqs.get_queue_attributes({self.name})"):
            attrs = self.aws.sqs.get_queue_attributes(
                QueueUrl=self.url, AttributeNames=list(DEPTH_ATTRIBUTES))["Attributes"]
        return QueueDepth(
            visible=int(attrs.get("ApproximateNumberOfMessages", 0)),
            in_flight=int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
            delayed=int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)),
        )
