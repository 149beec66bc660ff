"""What the checker reads: the queue's depth, the worker group (InService count, desired
capacity, bounds) and the recent average processing time from the job store.

Each function does exactly one kind of AWS read through the ``Aws`` facade and returns
plain values; transient botocore failures surface as ``TransientError`` (via
``aws_call``). Nothing here publishes, decides or retries.
"""

from __future__ import annotations

from orchestrator.aws.facade import Aws
from orchestrator.aws.queue import Queue, QueueDepth
from orchestrator.aws.scaling import GroupState
from orchestrator.jobs.store import JobStore

__all__ = ["GroupState", "QueueDepth", "average_processing_seconds", "read_group",
           "read_in_service", "read_queue_depth"]


def read_queue_depth(aws: Aws, queue_url: str) -> QueueDepth:
    return Queue(aws, queue_url, "jobs").depth()


def read_group(aws: Aws, group_name: str) -> GroupState | None:
    """The group's InService count, desired capacity and bounds; None when the group
    does not exist (yet)."""
    return aws.scaling.group(group_name)


def read_in_service(aws: Aws, group_name: str) -> int:
    """InService instances of the group; 0 when the group does not exist (yet)."""
    state = read_group(aws, group_name)
    return 0 if state is None else state.in_service


def average_processing_seconds(store: JobStore, now: float,
                               window_seconds: float) -> tuple[float, int]:
    """Mean of ``finished_at - created_at`` over jobs that finished in the window.

    Returns ``(mean, count)``; ``(0.0, 0)`` when nothing finished."""
    durations = store.finished_durations(since=now - window_seconds)
    return (sum(durations) / len(durations) if durations else 0.0), len(durations)
