"""What the checker reads: the queue's depth, the worker group (InService count, desired
capacity, bounds) and the recent average processing time from the job store.

Each function does exactly one kind of AWS read through the ``Aws`` facade and returns
plain values; transient botocore failures surface as ``TransientError`` (via
``aws_call``). Nothing here publishes, decides or retries.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.aws.facade import Aws, aws_call
from orchestrator.aws.queue import Queue, QueueDepth
from orchestrator.jobs.store import JobStore

__all__ = ["GroupState", "QueueDepth", "average_processing_seconds", "read_group",
           "read_in_service", "read_queue_depth"]


def read_queue_depth(aws: Aws, queue_url: str) -> QueueDepth:
    return Queue(aws, queue_url, "jobs").depth()


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


def average_processing_seconds(store: JobStore, now: float,
                               window_seconds: float) -> tuple[float, int]:
    """Mean of ``finished_at - created_at`` over jobs that finished in the window.

    Returns ``(mean, count)``; ``(0.0, 0)`` when nothing finished."""
    durations = store.finished_durations(since=now - window_seconds)
    return (sum(durations) / len(durations) if durations else 0.0), len(durations)
