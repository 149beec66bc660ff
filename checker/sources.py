"""What the checker reads: the queue's depth, the worker group (InService count, desired
capacity, bounds) and the recent average processing time from the job table.

Each function does exactly one kind of AWS read through the ``Aws`` facade and returns
plain values; transient botocore failures surface as ``TransientError`` (via
``aws_call``). Nothing here publishes, decides or retries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.aws.facade import Aws, aws_call

QUEUE_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)
TERMINAL_STATES = ("verified", "failed")


@dataclass(frozen=True)
class QueueDepth:
    """The queue's three Approximate* counters."""

    visible: int
    in_flight: int
    delayed: int


def read_queue_depth(aws: Aws, queue_url: str) -> QueueDepth:
    with aws_call("sqs.get_queue_attributes"):
        attrs = aws.sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=list(QUEUE_ATTRIBUTES))["Attributes"]
    return QueueDepth(
        visible=int(attrs.get("ApproximateNumberOfMessages", 0)),
        in_flight=int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
        delayed=int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)),
    )


@dataclass(frozen=True)
class GroupState:
    """What the worker group looks like now."""

    in_service: int
    desired: int
    min_size: int
    max_size: int


def read_group(aws: Aws, group_name: str) -> GroupState | None:
    """The group's InService count, desired capacity and bounds; None when the group
    does not exist (yet)."""
    with aws_call("autoscaling.describe_auto_scaling_groups"):
        groups = aws.autoscaling.describe_auto_scaling_groups(
            AutoScalingGroupNames=[group_name])["AutoScalingGroups"]
    if not groups:
        return None
    group = groups[0]
    in_service = sum(1 for inst in group.get("Instances", [])
                     if inst.get("LifecycleState") == "InService")
    return GroupState(in_service=in_service, desired=int(group.get("DesiredCapacity", 0)),
                      min_size=int(group.get("MinSize", 0)),
                      max_size=int(group.get("MaxSize", 0)))


def read_in_service(aws: Aws, group_name: str) -> int:
    """InService instances of the group; 0 when the group does not exist (yet)."""
    state = read_group(aws, group_name)
    return 0 if state is None else state.in_service


def average_processing_seconds(aws: Aws, table: str, now: float,
                               window_seconds: float) -> tuple[float, int]:
    """Mean of ``finished_at - created_at`` over jobs that finished in the window.

    Returns ``(mean, count)``; ``(0.0, 0)`` when nothing finished. A filtered scan reads
    the whole table, which is fine at this project's scale (thousands of jobs).
    """
    since = now - window_seconds
    kwargs: dict[str, Any] = {
        "TableName": table,
        "ProjectionExpression": "created_at, finished_at, #s",
        "FilterExpression": "finished_at >= :since AND #s IN (:v, :f)",
        "ExpressionAttributeNames": {"#s": "state"},
        "ExpressionAttributeValues": {":since": {"N": repr(since)},
                                      ":v": {"S": TERMINAL_STATES[0]},
                                      ":f": {"S": TERMINAL_STATES[1]}},
    }
    total = 0.0
    count = 0
    while True:
        with aws_call("dynamodb.scan(job history)"):
            page = aws.dynamodb.scan(**kwargs)
        for item in page.get("Items", []):
            try:
                created = float(item["created_at"]["N"])
                finished = float(item["finished_at"]["N"])
            except (KeyError, ValueError):
                continue
            total += max(0.0, finished - created)
            count += 1
        last = page.get("LastEvaluatedKey")
        if not last:
            break
        kwargs["ExclusiveStartKey"] = last
    return (total / count if count else 0.0), count
