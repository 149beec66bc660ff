"""``auto-lambda worker``: what each Auto Scaling instance runs."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import click

from orchestrator.config import Settings


@click.command()
@click.option("--concurrency", "-c", default=1, show_default=True,
              help="Jobs run at once by this worker.")
@click.option("--wait", default=20, show_default=True,
              help="SQS long-poll wait in seconds.")
def worker(concurrency: int, wait: int) -> None:
    """Consume the jobs queue until SIGTERM or Ctrl-C.

    On the first signal the worker stops receiving, lets running steps finish, then
    persists each job and makes its message visible again; nothing is lost.
    """
    from orchestrator.runtime import build_runtime
    from worker.loop import Worker

    settings = Settings.from_env()
    rt = build_runtime(settings)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        logging.getLogger("worker").warning("signal %s: stopping after the current steps",
                                            signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    w = Worker(rt.runner, queue_url=rt.aws.queue_url(), concurrency=concurrency,
               wait_seconds=wait, visibility=settings.visibility_timeout,
               expected_bucket=settings.incoming_bucket, stop=stop)
    click.echo(f"worker {rt.runner.owner} consuming {settings.queue_name} "
               f"(concurrency {concurrency})", err=True)
    stats = w.run()
    click.echo(f"worker stopped: {stats.received} received, {stats.deleted} done", err=True)


commands = [worker]
