"""``auto-lambda worker``: what each Auto Scaling instance runs.

Signals: the first SIGTERM (or Ctrl-C) stops receiving and drains: running steps may
finish until ``--drain-seconds``; then each job is persisted, its lease released and
its message made visible again, and the process exits 0. A second signal exits at
once (status 128+signal); nothing is lost then either, because leases and message
visibility expire on their own. On AWS the instance is protected from scale-in while
jobs run, and the termination lifecycle hook is completed after draining. With
``--parent-pid`` the worker also drains once that process is no longer its parent
(``worker/parent.py``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

import click

from orchestrator.capacity import (
    JOBS_PER_VCPU,
    MEMORY_PER_JOB_MB,
    RESERVED_MB,
    default_concurrency,
)
from orchestrator.config import Settings, env_int

log = logging.getLogger("worker")
T = TypeVar("T")


@click.command()
@click.option("--concurrency", "-c", type=click.IntRange(min=1), default=None,
              help="Jobs run at once by this worker [default: "
                   "AUTO_LAMBDA_WORKER_CONCURRENCY, else derived from this machine: "
                   f"{JOBS_PER_VCPU:g} per vCPU, at most one per {MEMORY_PER_JOB_MB} MB of "
                   f"memory above {RESERVED_MB} MB].")
@click.option("--wait", default=20, show_default=True,
              help="SQS long-poll wait in seconds (at most 5 s per call while running, "
                   "so a stop is noticed quickly).")
@click.option("--drain-seconds", default=30.0, show_default=True, type=float,
              help="On SIGTERM, how long running steps may take to finish.")
@click.option("--lease-seconds", type=float, default=None,
              help="Job lease length; a dead worker's job is taken over about this "
                   "long after it died [default: AUTO_LAMBDA_LEASE_SECONDS or 10].")
@click.option("--visibility", type=int, default=None,
              help="Message visibility while a job runs, extended by heartbeats "
                   "[default: AUTO_LAMBDA_VISIBILITY_TIMEOUT or 10].")
@click.option("--busy-delay", type=int, default=None,
              help="Least delay before a delivery of a job another worker holds comes "
                   "back (it comes back when that lease would end) "
                   "[default: AUTO_LAMBDA_BUSY_DELAY or 1].")
@click.option("--parent-pid", type=click.IntRange(min=1), default=None, metavar="PID",
              help="Stop, draining as on SIGTERM, once process PID is no longer this "
                   "worker's parent: whoever starts workers and is killed outright leaves "
                   "none behind (`local up` and `demo` pass their own pid).")
def worker(concurrency: int | None, wait: int, drain_seconds: float, lease_seconds: float | None,
           visibility: int | None, busy_delay: int | None, parent_pid: int | None) -> None:
    """Consume the jobs queue until SIGTERM or Ctrl-C.

    On the first signal the worker stops receiving, lets running steps finish (up to
    --drain-seconds), then persists each job and makes its message visible again;
    nothing is lost. A second signal exits at once.

    \b
    Example:
      auto-lambda worker --concurrency 2 --drain-seconds 60
    """
    # imported on use, for start-up time: other commands (and --help) must not load it
    from orchestrator.aws.queue import Queue
    from orchestrator.jobs.runtime import build_runtime
    from worker.instance import InstanceConfig, ScaleInGuard
    from worker.loop import Worker
    from worker.parent import NotTheParent, watch_parent

    stop = threading.Event()
    # Until the Worker exists (waiting out an outage for the queue, say), a parent that
    # is gone just stops the wait; then it drains the worker as SIGTERM would.
    on_parent_gone: list[Callable[[], None]] = [stop.set]
    if parent_pid is not None:
        try:
            watch_parent(parent_pid, lambda: on_parent_gone[0](), stopped=stop)
        except NotTheParent as exc:
            raise click.BadParameter(str(exc), param_hint="--parent-pid") from None
    settings = Settings.from_env()
    concurrency = concurrency or default_concurrency(settings.worker_concurrency)
    rt = build_runtime(settings)
    if lease_seconds is not None:
        rt.runner.lease_seconds = lease_seconds
    # A worker parks a job whose next retry is further off than this, instead of
    # holding a slot through an outage (docs/reliability.md).
    rt.runner.park_after = settings.park_after
    env = os.environ
    vis = visibility or settings.visibility_timeout
    busy = busy_delay if busy_delay is not None else env_int(env, "AUTO_LAMBDA_BUSY_DELAY", 1)
    guard = ScaleInGuard(lambda: rt.aws.scaling, InstanceConfig.from_settings(settings))
    try:
        queue_url = _when_available(rt.aws.queue_url, "the jobs queue's URL", stop)
        redrive_limit = _when_available(Queue(rt.aws, queue_url, "jobs").redrive_limit,
                                        "the jobs queue's redrive limit", stop)
    except _Stopped:
        click.echo("worker stopped before consuming: its parent process is gone", err=True)
        return
    w = Worker(rt.runner, queue_url=queue_url, concurrency=concurrency,
               wait_seconds=wait, visibility=vis, busy_delay=busy,
               expected_bucket=settings.incoming_bucket, drain_seconds=drain_seconds,
               guard=guard, stop=stop, redrive_limit=redrive_limit)
    on_parent_gone[0] = w.request_stop
    signals = {"count": 0}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        signals["count"] += 1
        if signals["count"] > 1:
            log.warning("second signal %s: exiting now; leases and messages expire on "
                        "their own", signum)
            _flush()
            os._exit(128 + signum)
        log.warning("signal %s: stopping; running steps have %.0f s to finish",
                    signum, drain_seconds)
        w.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    click.echo(f"worker {rt.runner.owner} consuming {settings.queue_name} "
               f"(concurrency {concurrency}, lease {rt.runner.lease_seconds:g} s, "
               f"visibility {vis} s)", err=True)
    stats = w.run()
    if guard.config.enabled and w.stop.is_set():
        guard.complete_termination()
    click.echo(f"worker stopped: {stats.received} received, {stats.deleted} done, "
               f"{stats.released} handed back, {stats.abandoned} interrupted", err=True)
    if stats.abandoned:
        # Job threads still run past the deadline; their jobs are already persisted
        # and handed back, so leave without waiting for them.
        _flush()
        os._exit(0)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe must not change the status
            stream.flush()


commands = [worker]


class _Stopped(Exception):
    """The worker was asked to stop while it waited for AWS to answer."""


def _when_available(read: Callable[[], T], what: str, stop: threading.Event) -> T:
    """``read()``, waited for while AWS fails transiently: a worker that starts during
    an outage waits for it to pass instead of exiting (a permanent error still ends it;
    ``stop`` set ends the wait with ``_Stopped``)."""
    from orchestrator.errors import TRANSIENT_CODES, AutoLambdaError
    from orchestrator.retries import WORKFLOW, Backoff, compute_backoff

    backoff = Backoff(WORKFLOW.interval_seconds, WORKFLOW.backoff_rate, 30.0)
    attempt = 0
    while True:
        try:
            return read()
        except AutoLambdaError as exc:
            if exc.code not in TRANSIENT_CODES:
                raise
            attempt += 1
            delay = compute_backoff(attempt, backoff)
            log.warning("could not read %s [%s]; trying again in %.0f s", what, exc.code,
                        delay)
            if stop.wait(delay):
                raise _Stopped(what) from None
