"""What the web console reads and does, through the same store, indexes and AWS facade
as the CLI: job pages and counts, one job with its alias and trace, the apps (one row per
function), the fleet's metrics from CloudWatch, the DLQ, and the replay plan and its
execution.

No HTML here, no HTTP. Reads never write; the two action methods (``replay`` and
``bring_back``) go through ``orchestrator.jobs.replay``'s planner and executor, exactly
as ``auto-lambda replay`` does. Clock injected.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from orchestrator.aws.facade import Aws, error_code
from orchestrator.aws.metrics import metric_query
from orchestrator.aws.queue import Queue
from orchestrator.config import METRIC_NAMESPACE
from orchestrator.feedback.eventlog import LoggedEvent, recent_events
from orchestrator.jobs.listing import JobIndex, ListPage, ListQuery, all_states
from orchestrator.jobs.logs import job_log_uri, read_job_log
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.store import JobStore
from orchestrator.types import JsonObject

if TYPE_CHECKING:
    from orchestrator.jobs.apps import AppRow, Storage

    # the replay planner and the runner load on first use: most pages never act
    from orchestrator.jobs.replay import Action, Result
    from orchestrator.jobs.rollout_control import Requested
    from orchestrator.jobs.runner import JobRunner

log = logging.getLogger(__name__)

# The fleet chart's series (names the checker publishes, checker/metric.py).
# Who a rollout request from the console is recorded as.
CONSOLE_OPERATOR = "web console"
FLEET_METRICS = ("BacklogPerSlot", "Backlog", "InFlight", "InServiceInstances")


@dataclass
class Counts:
    by_state: dict[str, int]
    read_at: float


class CountsCache:
    """Counts per state, read in the background while someone looks (a count reads the
    whole index partition, so pages never wait for it). The pause between two counts is
    ten times what the last one took, at least ``every`` seconds: a small table is
    counted every couple of seconds, a large one spends at most a tenth of the time."""

    def __init__(self, index: JobIndex, clock: Callable[[], float] = time.time,
                 every: float = 2.0, idle_after: float = 120.0) -> None:
        self.index, self.clock, self.every, self.idle_after = index, clock, every, idle_after
        self.pause = every
        self._counts: Counts | None = None
        self._wanted_at = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> Counts:
        started = time.monotonic()
        counts = Counts(self.index.counts(self.index.states), self.clock())
        self.pause = max(self.every, 10 * (time.monotonic() - started))
        with self._lock:
            self._counts = counts
        return counts

    def get(self) -> Counts | None:
        """The latest counts; None until the first count has finished."""
        self._wanted_at = self.clock()
        with self._lock:
            return self._counts

    def start(self) -> None:
        """Count now, then again after each pause while the console is being looked at."""
        self._wanted_at = self.clock()

        def loop() -> None:
            while True:
                if self.clock() - self._wanted_at <= self.idle_after:
                    try:
                        self.refresh()
                    except Exception:
                        log.warning("ui: counting jobs failed", exc_info=True)
                if self._stop.wait(self.pause):
                    return

        self._thread = threading.Thread(target=loop, name="ui-counts", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


@dataclass
class Series:
    name: str
    points: list[tuple[float, float]] = field(default_factory=list)  # (epoch s, value)


@dataclass
class Fleet:
    series: dict[str, Series]
    target: float | None
    target_source: str
    dlq_depth: int | None
    queue_depth: dict[str, int]
    start: float
    end: float
    errors: list[str] = field(default_factory=list)


class ConsoleData:
    def __init__(self, aws: Aws, clock: Callable[[], float] = time.time) -> None:
        self.aws = aws
        self.settings = aws.settings
        self.clock = clock
        self.store = JobStore(aws)
        self.index = JobIndex(aws, clock=clock)
        self.counts = CountsCache(self.index, clock=clock)
        self.states = all_states()

    # ---- events ----
    def events(self, window: float = 3600.0, limit: int = 100, team: str | None = None
               ) -> list[LoggedEvent] | None:
        """The events put on the bus within ``window`` seconds (of ``team`` only, when
        given), newest last (None: the events log group does not exist)."""
        return recent_events(self.aws, since_ms=int((self.clock() - window) * 1000),
                             limit=limit, team=team)

    # ---- jobs ----
    def page(self, query: ListQuery) -> ListPage:
        return self.index.page(query)

    def job(self, job_id: str) -> JobRecord | None:
        return self.store.get(job_id)

    def log_uri(self, rec: JobRecord) -> str | None:
        return job_log_uri(self.settings, rec)

    def build_log(self, rec: JobRecord) -> str | None:
        return read_job_log(self.aws, rec)

    def live_version(self, rec: JobRecord) -> str | None:
        """Where the function's ``live`` alias points now (None if no alias yet)."""
        from orchestrator.steps.deploy.step import live_version

        if not rec.function_arn:
            return None
        name = rec.function_arn.split(":")[6] if rec.function_arn.count(":") >= 6 \
            else rec.function_arn
        return live_version(self.aws, name)

    # ---- apps ----
    def apps(self, team: str | None) -> tuple[list[AppRow], Storage]:
        """One row per function of the fleet (of ``team``), and the code storage."""
        from orchestrator.jobs.apps import code_storage, list_apps

        return list_apps(self.aws, team), code_storage(self.aws)

    def trace(self, rec: JobRecord) -> tuple[str | None, JsonObject | None]:
        """The trace id and the X-Ray ``BatchGetTraces`` answer (None when unavailable)."""
        from orchestrator.cli.cmd_trace import _trace_id_of

        trace_id = _trace_id_of(rec)
        if not trace_id:
            return None, None
        try:
            return trace_id, self.aws.traces.batch_get([trace_id])
        except Exception:
            log.warning("ui: X-Ray trace %s could not be read", trace_id, exc_info=True)
            return trace_id, None

    # ---- fleet ----
    def fleet(self, window: float = 3600.0, period: int = 10) -> Fleet:
        from checker.metric import metric_dimensions

        end = self.clock()
        start = end - window
        errors: list[str] = []
        series = {name: Series(name) for name in FLEET_METRICS}
        queries = [metric_query(f"m{i}", METRIC_NAMESPACE, name,
                                metric_dimensions(self.settings), period=period, stat="Average")
                   for i, name in enumerate(FLEET_METRICS)]
        try:
            # One period past now, so the period in progress is included.
            found = self.aws.metrics.get(queries, start, end + period)
            for i, name in enumerate(FLEET_METRICS):
                series[name].points += found.get(f"m{i}", [])
        except Exception as exc:
            errors.append(f"CloudWatch: {getattr(exc, 'code', None) or error_code(exc) or exc}")
        for s in series.values():
            s.points.sort()
        target, source = self._target(errors)
        return Fleet(series=series, target=target, target_source=source,
                     dlq_depth=self._depth(self.settings.dlq_name, errors).get("visible"),
                     queue_depth=self._depth(self.settings.queue_name, errors),
                     start=start, end=end, errors=errors)

    def _target(self, errors: list[str]) -> tuple[float | None, str]:
        """The worker group's target-tracking value (what BacklogPerSlot aims at)."""
        group = self.settings.worker_group_name
        try:
            policy = self.aws.scaling.target_tracking(group)
        except Exception as exc:
            errors.append(f"Auto Scaling: {error_code(exc) or exc}")
            return None, ""
        if policy is None:
            return None, ""
        return policy.value, f"{group} / {policy.policy_name}"

    def _depth(self, queue: str, errors: list[str]) -> dict[str, int]:
        try:
            depth = Queue(self.aws, self.aws.queue_url(queue), queue).depth()
        except Exception as exc:
            errors.append(f"SQS {queue}: {getattr(exc, 'code', None) or error_code(exc) or exc}")
            return {}
        return {"visible": depth.visible, "in_flight": depth.in_flight}

    # ---- actions: plan, then execute (orchestrator.jobs.replay) ----
    def replay_plan(self, job_id: str, restart: bool) -> list[Action]:
        from orchestrator.jobs.replay import Request, gather, plan

        request = Request(job_ids=(job_id,), restart=restart)
        facts = gather(request, self.store, self.aws, self.clock())
        return plan(request, facts)

    def replay(self, job_id: str, restart: bool, *, actor: JsonObject | None = None,
               reason: str | None = None) -> list[Result]:
        """Replay one job; ``actor`` (who, through the console) and ``reason`` go on the
        replayed run's history, as ``replay --reason`` records them."""
        from orchestrator.jobs.replay import Executor, Request, gather, plan

        request = Request(job_ids=(job_id,), restart=restart, actor=actor, reason=reason)
        facts = gather(request, self.store, self.aws, self.clock())
        actions = plan(request, facts)
        return Executor(self._runner(), self.aws, self.aws.queue_url(),
                        note=request.note()).apply(actions, facts)

    def rollout(self, job_id: str, action: str) -> Requested:
        """An operator's stop or promote of a running rollout, recorded as the console's
        (the console knows no user: whoever holds its token acts as it), waking the job."""
        from orchestrator.jobs.rollout_control import request

        queue = Queue(self.aws, self.aws.queue_url(), "jobs")
        return request(self._runner(), job_id, action, CONSOLE_OPERATOR, queue=queue,
                       wait_seconds=5.0)

    def dlq_plan(self) -> list[Action]:
        from orchestrator.jobs.replay import Request, gather, plan, release_dlq

        url = self.aws.queue_url(self.settings.dlq_name)
        request = Request(dlq=True, limit=100)
        facts = gather(request, self.store, self.aws, self.clock(), dlq_url=url)
        release_dlq(self.aws, url, facts.dlq)
        return plan(request, facts)

    def bring_back(self) -> list[Result]:
        from orchestrator.jobs.replay import Executor, Request, gather, plan

        url = self.aws.queue_url(self.settings.dlq_name)
        request = Request(dlq=True, limit=100)
        facts = gather(request, self.store, self.aws, self.clock(), dlq_url=url)
        actions = plan(request, facts)
        return Executor(self._runner(), self.aws, self.aws.queue_url(), url).apply(
            actions, facts)

    def _runner(self) -> JobRunner:
        from orchestrator.jobs.runtime import build_runtime

        return build_runtime(self.settings, aws=self.aws).runner


def safe_json(value: object, limit: int = 600) -> str:
    """A value as short JSON text for a page (never more than ``limit`` characters)."""
    text = json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= limit else text[:limit - 1] + "…"
