"""The local autoscaler: what EC2 Auto Scaling does on AWS, done for local worker
processes, because the emulator records groups but never scales them.

``LocalAutoscaler.tick()`` first follows the group: if the emulator group's desired
capacity was set by someone else since the last tick (the checker's direct controller,
or a person with the AWS CLI), the pool is resized to it, as Auto Scaling launches or
terminates instances for a new desired capacity. Then it applies the target-tracking
policy: it reads the latest BacklogPerSlot the checker published (CloudWatch
``get_metric_data`` at a 1 s period; if there is no fresh datapoint, it computes the
same value from the queue's attributes and the pool size), applies the rule
(``checker.rule.decide``), resizes the process pool and sets the emulator group's
desired capacity to match, so the checker reads the same InService count the pool has.
It returns the Decision that changed the pool (or the tracking rule's, when none did)
for display.

The rule itself lives in ``checker.rule`` (pure); this module does the I/O around it.
API errors are logged and never raised from ``tick()``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from auto_lambda_dev.localgroup import set_capacity
from checker.metric import BACKLOG_PER_SLOT, CheckerOptions, compute_metrics, metric_dimensions
from checker.rule import Capacity, Decision, MetricSample, ScalingPolicy, decide, needed_capacity
from checker.sources import read_group, read_queue_depth
from orchestrator.aws.facade import Aws
from orchestrator.aws.metrics import metric_query
from orchestrator.config import METRIC_NAMESPACE, Settings

__all__ = ["Capacity", "Decision", "LocalAutoscaler", "MetricSample", "Pool", "ScalingPolicy",
           "decide", "needed_capacity"]

log = logging.getLogger(__name__)


class Pool(Protocol):
    """What the autoscaler needs from a pool of workers (``ProcessPool`` or a fake)."""

    def size(self) -> int: ...

    def resize(self, n: int) -> None: ...


class LocalAutoscaler:
    def __init__(self, aws: Aws, settings: Settings, pool: Pool, policy: ScalingPolicy,
                 clock: Callable[[], float] = time.time, metric_max_age: float = 30.0,
                 checker_options: CheckerOptions | None = None) -> None:
        self.aws = aws
        self.settings = settings
        self.pool = pool
        self.policy = policy
        self.clock = clock
        self.metric_max_age = metric_max_age
        self.checker_options = checker_options or CheckerOptions()
        self.history: list[MetricSample] = []
        self.launched_at: list[float] = []
        self.last_scale_in_at: float | None = None
        # The group's desired capacity as this autoscaler last set or saw it: a
        # different value in the group means someone else set it.
        self.group_capacity: int | None = pool.size()
        self.errors = 0
        self._queue_url: str | None = None

    # ---- reading the metric ----
    def read_cloudwatch(self, now: float) -> MetricSample | None:
        """The newest BacklogPerSlot datapoint not older than ``metric_max_age``,
        with the InServiceInstances value published alongside it."""
        dims = metric_dimensions(self.settings)

        found = self.aws.metrics.get(
            [metric_query(qid, METRIC_NAMESPACE, name, dims, period=1, stat="Maximum")
             for qid, name in (("bps", BACKLOG_PER_SLOT), ("ins", "InServiceInstances"))],
            now - self.metric_max_age, now + 1, scan_by="TimestampDescending")
        values = dict(found.get("bps", []))
        if not values:
            return None
        stamp = max(values)
        in_service = dict(found.get("ins", [])).get(stamp)
        return MetricSample(stamp, float(values[stamp]),
                            None if in_service is None else int(in_service))

    def read_queue(self, now: float) -> MetricSample:
        """The same value the checker would publish, from the queue and the pool."""
        if self._queue_url is None:
            self._queue_url = self.aws.queue_url(self.settings.queue_name)
        depth = read_queue_depth(self.aws, self._queue_url)
        in_service = self.pool.size()
        metrics = compute_metrics(depth, in_service, 0.0, self.checker_options)
        return MetricSample(now, metrics[BACKLOG_PER_SLOT], in_service)

    def _latest(self, now: float) -> tuple[MetricSample | None, str]:
        try:
            sample = self.read_cloudwatch(now)
            if sample is not None:
                return sample, "cloudwatch"
        except Exception as exc:
            self.errors += 1
            log.warning("autoscaler: reading the metric failed: %s", exc)
        try:
            return self.read_queue(now), "queue"
        except Exception as exc:
            self.errors += 1
            self._queue_url = None
            log.warning("autoscaler: reading the queue failed: %s", exc)
            return None, "none"

    # ---- one step ----
    def tick(self) -> Decision:
        now = self.clock()
        self.launched_at = [t for t in self.launched_at if now - t < self.policy.warmup]
        followed = self._follow_group(now)
        sample, source = self._latest(now)
        if sample is not None and (not self.history or sample.time > self.history[-1].time):
            self.history.append(sample)
        self._trim(now)
        current = self.pool.size()
        capacity = Capacity(current, tuple(self.launched_at), self.last_scale_in_at)
        decision = replace(decide(capacity, self.history, self.policy, now), source=source)
        self._resize(now, current, decision)
        self._sync_group(decision.desired)
        if followed is not None and not decision.changed:
            return followed
        return decision

    def _resize(self, now: float, current: int, decision: Decision) -> None:
        if decision.desired == current:
            return
        self.pool.resize(decision.desired)
        if decision.desired > current:
            self.launched_at.extend([now] * (decision.desired - current))
        else:
            self.last_scale_in_at = now
        log.info("autoscaler: %d -> %d (%s)", current, decision.desired, decision.reason)

    def _follow_group(self, now: float) -> Decision | None:
        """Resize the pool to a desired capacity someone else set on the group."""
        try:
            state = read_group(self.aws, self.settings.worker_group_name)
        except Exception as exc:
            self.errors += 1
            log.warning("autoscaler: reading the group failed: %s", exc)
            return None
        if state is None or state.desired == self.group_capacity:
            return None
        self.group_capacity = state.desired
        current = self.pool.size()
        wanted = max(self.policy.min_capacity, min(self.policy.max_capacity, state.desired))
        action = "out" if wanted > current else "in" if wanted < current else "hold"
        decision = Decision(current, wanted, action,
                            f"desired capacity set to {state.desired} on the group",
                            source="group")
        self._resize(now, current, decision)
        return decision

    def _sync_group(self, desired: int) -> None:
        if self.group_capacity == desired:
            return
        try:
            set_capacity(self.aws, self.settings, desired)
            self.group_capacity = desired
        except Exception as exc:
            self.errors += 1
            log.warning("autoscaler: setting the emulator group's capacity failed: %s", exc)

    def _trim(self, now: float) -> None:
        """Keep the longer window plus the one sample in force at its start."""
        start = now - max(self.policy.scale_in_window, self.policy.scale_out_after)
        older = [i for i, s in enumerate(self.history) if s.time <= start]
        if len(older) > 1:
            del self.history[:older[-1]]


def format_decision(decision: Decision, pool_size: int | None = None) -> str:
    metric = "-" if decision.metric is None else f"{decision.metric:.2f}"
    size = decision.desired if pool_size is None else pool_size
    arrow = f"{decision.previous}->{decision.desired}" if decision.changed else str(size)
    return f"workers={arrow} backlog/slot={metric} [{decision.source}] {decision.reason}"
