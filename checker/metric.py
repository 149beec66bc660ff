"""The checker loop behind ``auto-lambda checker``: every interval it reads the queue's
Approximate* counters, the worker group's InService count and the recent average
processing time, and publishes them to CloudWatch as high-resolution metrics
(StorageResolution=1), so target tracking can react in seconds instead of minutes.

Published in namespace ``AutoLambda`` with one dimension ``QueueName=<prefix>-jobs``:
BacklogPerSlot (what the group scales on: backlog per job slot, InService x slots per
instance), BacklogPerInstance, Backlog, Visible, InFlight, Delayed, InServiceInstances,
JobSlots, AverageProcessingSeconds, WaitingWorkers. Zeros are published too: target
tracking never scales in on missing data.

A backlog that only waits for a service is not scaled out on: workers that pause for an
outage say so (``orchestrator.aws.outage_signal``), and while at least half the
instances in service do (``fleet_waits``), the backlog counted for BacklogPerSlot and
BacklogPerInstance is held at most at what it was before the outage (the in-flight jobs
when the checker knew nothing earlier). More workers would only wait as well, and the
uploads that arrive meanwhile are scaled for once the service answers again. Backlog,
Visible, InFlight and Delayed are published as measured.

Rules: API errors are logged and counted, never raised out of the loop (a checker that
dies stops all scaling). Clock and sleep are injected. This module decides no capacity;
that is the Auto Scaling policy's job (or ``auto_lambda_dev.autoscaler`` locally).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from checker.sources import (
    QueueDepth,
    average_processing_seconds,
    read_in_service,
    read_queue_depth,
)
from orchestrator.aws.facade import Aws
from orchestrator.aws.metrics import Dimension, MetricDatum
from orchestrator.aws.outage_signal import paused_workers
from orchestrator.config import METRIC_NAMESPACE, Settings
from orchestrator.jobs.store import JobStore

log = logging.getLogger(__name__)

BACKLOG_PER_INSTANCE = "BacklogPerInstance"
BACKLOG_PER_SLOT = "BacklogPerSlot"
METRIC_UNITS = {
    "BacklogPerSlot": "Count",
    "BacklogPerInstance": "Count",
    "Backlog": "Count",
    "Visible": "Count",
    "InFlight": "Count",
    "Delayed": "Count",
    "InServiceInstances": "Count",
    "JobSlots": "Count",
    "AverageProcessingSeconds": "Seconds",
    "WaitingWorkers": "Count",
}


def metric_dimensions(settings: Settings) -> list[Dimension]:
    """The dimensions every checker metric carries (scaling policies must match them)."""
    return [{"Name": "QueueName", "Value": settings.queue_name}]


@dataclass(frozen=True)
class CheckerOptions:
    """How the checker counts the backlog and how often it looks."""

    interval: float = 10.0
    include_in_flight: bool = True
    include_delayed: bool = False
    # Like KEDA's activationQueueLength: a backlog of at most this many counts as 0.
    activation: int = 0
    history_window: float = 900.0
    history_refresh: float = 60.0
    # Jobs each worker instance runs at once (its job slots).
    slots_per_instance: int = 1

    def __post_init__(self) -> None:
        if self.slots_per_instance < 1:
            raise ValueError("slots_per_instance must be at least 1")


def fleet_waits(paused: float, in_service: int) -> bool:
    """True when the workers paused for an outage are at least half of those in service
    (any, when none is in service)."""
    return paused > 0 and paused >= in_service / 2


def _backlog(depth: QueueDepth, options: CheckerOptions) -> int:
    backlog = depth.visible
    if options.include_in_flight:
        backlog += depth.in_flight
    if options.include_delayed:
        backlog += depth.delayed
    return backlog


def counted_backlog(depth: QueueDepth, options: CheckerOptions) -> int:
    """The backlog the group is scaled on (0 up to the activation threshold)."""
    backlog = _backlog(depth, options)
    return 0 if options.activation > 0 and backlog <= options.activation else backlog


def compute_metrics(depth: QueueDepth, in_service: int, average_seconds: float,
                    options: CheckerOptions, paused: float = 0.0,
                    held: float | None = None) -> dict[str, float]:
    """The values one tick publishes. Pure.

    BacklogPerSlot is the backlog divided by the job slots in service (InService x
    slots per instance); with no instance in service, by one instance's slots, so
    ``value x max(InService, 1) / target`` is still the instances the backlog needs.
    BacklogPerInstance is the backlog divided by InService (the backlog itself when
    none is in service).

    ``paused``: workers that reported waiting for an outage; while the fleet waits
    (``fleet_waits``) the counted backlog is at most ``held`` (the counted backlog
    before the outage; the in-flight jobs when None).
    """
    backlog = _backlog(depth, options)
    counted = counted_backlog(depth, options)
    if fleet_waits(paused, in_service):
        counted = min(counted, depth.in_flight if held is None else int(held))
    per_instance = counted / in_service if in_service > 0 else float(counted)
    slots = options.slots_per_instance
    return {
        "BacklogPerSlot": counted / (max(in_service, 1) * slots),
        "BacklogPerInstance": float(per_instance),
        "Backlog": float(backlog),
        "Visible": float(depth.visible),
        "InFlight": float(depth.in_flight),
        "Delayed": float(depth.delayed),
        "InServiceInstances": float(in_service),
        "JobSlots": float(in_service * slots),
        "AverageProcessingSeconds": float(average_seconds),
        "WaitingWorkers": float(paused),
    }


@dataclass
class TickResult:
    """What one tick saw and did."""

    time: float
    metrics: dict[str, float] | None
    published: bool
    errors: list[str] = field(default_factory=list)
    error_count: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"time": self.time, "metrics": self.metrics, "published": self.published,
                "errors": self.errors, "error_count": self.error_count}

    def line(self) -> str:
        stamp = dt.datetime.fromtimestamp(self.time, tz=dt.UTC).strftime("%H:%M:%S")
        if self.metrics is None:
            return f"{stamp} no metrics this tick: {'; '.join(self.errors)}"
        m = self.metrics
        text = (f"{stamp} backlog={m['Backlog']:.0f} (visible={m['Visible']:.0f} "
                f"in-flight={m['InFlight']:.0f} delayed={m['Delayed']:.0f}) "
                f"in-service={m['InServiceInstances']:.0f} slots={m['JobSlots']:.0f} "
                f"per-slot={m['BacklogPerSlot']:.2f} "
                f"avg-processing={m['AverageProcessingSeconds']:.1f}s "
                f"{'published' if self.published else 'NOT published'}")
        if m.get("WaitingWorkers"):
            text += f" waiting-for-aws={m['WaitingWorkers']:.1f}"
        if self.errors:
            text += f" errors={self.error_count}: {'; '.join(self.errors)}"
        return text


class Checker:
    """Polls the queue and the worker group, publishes the metrics. One ``tick()`` is one
    poll-and-publish; ``run()`` repeats it every interval until ``stop()`` says so."""

    def __init__(self, aws: Aws, options: CheckerOptions | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.aws = aws
        self.settings = aws.settings
        self.options = options or CheckerOptions()
        self.clock = clock
        self.error_count = 0
        self.ticks = 0
        self._queue_url: str | None = None
        self._average: float = 0.0
        self._average_read_at: float | None = None
        self._held: float | None = None  # the counted backlog before an outage

    # ---- one tick ----
    def tick(self) -> TickResult:
        now = self.clock()
        self.ticks += 1
        errors: list[str] = []
        depth = self._attempt(errors, "queue depth", self._read_depth)
        in_service = self._attempt(errors, "worker group",
                                   lambda: read_in_service(self.aws,
                                                           self.settings.worker_group_name))
        self._refresh_average(now, errors)
        if depth is None or in_service is None:
            # Publishing a made-up value would steer the group wrongly; skip this tick.
            return TickResult(now, None, False, errors, self.error_count)
        paused = self._attempt(errors, "paused workers", lambda: paused_workers(
            self.aws.metrics, self.settings.queue_name, now)) or 0.0
        metrics = compute_metrics(depth, in_service, self._average, self.options,
                                  paused=paused, held=self._held)
        if not fleet_waits(paused, in_service):
            self._held = counted_backlog(depth, self.options)
        published = self._attempt(errors, "put_metric_data",
                                  lambda: self._publish(metrics, now)) is not None
        return TickResult(now, metrics, published, errors, self.error_count)

    def _read_depth(self) -> QueueDepth:
        if self._queue_url is None:
            self._queue_url = self.aws.queue_url(self.settings.queue_name)
        try:
            return read_queue_depth(self.aws, self._queue_url)
        except Exception:
            self._queue_url = None  # the queue may have been recreated: look it up again
            raise

    def _refresh_average(self, now: float, errors: list[str]) -> None:
        due = (self._average_read_at is None
               or now - self._average_read_at >= self.options.history_refresh)
        if not due:
            return
        result = self._attempt(errors, "job history", lambda: average_processing_seconds(
            JobStore(self.aws), now, self.options.history_window))
        if result is not None:
            self._average = result[0]
            self._average_read_at = now

    def _publish(self, metrics: dict[str, float], now: float) -> bool:
        dims = metric_dimensions(self.settings)
        data: list[MetricDatum] = [
            {"MetricName": name, "Dimensions": dims, "Timestamp": now, "Value": value,
             "Unit": METRIC_UNITS[name]} for name, value in metrics.items()]
        self.aws.metrics.put(METRIC_NAMESPACE, data)
        return True

    def _attempt(self, errors: list[str], what: str, read: Callable[[], Any]) -> Any:
        try:
            return read()
        except Exception as exc:  # the loop must outlive any API failure
            self.error_count += 1
            code = getattr(exc, "code", None) or type(exc).__name__
            errors.append(f"{what}: {code}")
            log.warning("checker: %s failed (%s): %s", what, code, exc)
            return None

    # ---- the loop ----
    def run(self, *, stop: Callable[[], bool] = lambda: False,
            sleep: Callable[[float], object] = time.sleep,
            on_tick: Callable[[TickResult], None] | None = None,
            max_ticks: int | None = None) -> int:
        """Tick every ``options.interval`` seconds (no drift) until ``stop()`` or
        ``max_ticks``; returns the number of ticks. Never raises for AWS errors."""
        done = 0
        next_at = self.clock()
        while not stop() and (max_ticks is None or done < max_ticks):
            result = self.tick()
            done += 1
            if on_tick is not None:
                on_tick(result)
            if max_ticks is not None and done >= max_ticks:
                break
            next_at += self.options.interval
            now = self.clock()
            if next_at < now:  # fell behind (slow API): skip missed ticks, don't burst
                next_at = now
            sleep(max(0.0, next_at - now))
        return done


def format_tick(result: TickResult, as_json: bool) -> str:
    return json.dumps(result.as_json(), sort_keys=True) if as_json else result.line()
