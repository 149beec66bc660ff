"""Composition: build the objects a worker (or the demo) needs from Settings.

The one place that knows how the store, steps, runner, tracing and hooks fit
together, so the CLI, tests and benchmarks assemble the pipeline the same way.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from orchestrator.aws.facade import Aws
from orchestrator.config import Settings
from orchestrator.feedback.publish import Publisher
from orchestrator.jobs.extensions import load_hooks
from orchestrator.jobs.notify import JobEndedNotifier
from orchestrator.jobs.pruning import Pruner
from orchestrator.jobs.runner import JobRunner
from orchestrator.jobs.store import JobStore
from orchestrator.steps.tasks import StepEnv, Steps
from orchestrator.tracing import TracingHooks, make_tracer
from states import Hooks


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Runtime:
    aws: Aws
    store: JobStore
    steps: Steps
    runner: JobRunner

    @property
    def settings(self) -> Settings:
        return self.aws.settings


def build_runtime(settings: Settings | None = None, *, aws: Aws | None = None,
                  owner: str | None = None, hooks: Sequence[Hooks] | None = None,
                  work_root: Path | None = None) -> Runtime:
    settings = settings or Settings.from_env()
    aws = aws or Aws(settings)
    store = JobStore(aws)
    # Each function runs as its own role, made at deploy (steps/deploy/approle.py).
    env = StepEnv(aws=aws, work_root=work_root or settings.work_dir / "jobs")
    steps = Steps(env)
    if hooks is None:
        hooks = default_hooks(settings)
    runner = JobRunner(store=store, steps=steps, owner=owner or worker_identity(),
                       lease_seconds=settings.lease_seconds, hooks=tuple(hooks),
                       outage_deadline=settings.outage_deadline,
                       notify=JobEndedNotifier(Publisher(aws)),
                       after_end=Pruner(aws).after_job)
    return Runtime(aws=aws, store=store, steps=steps, runner=runner)


def default_hooks(settings: Settings) -> list[Hooks]:
    """Tracing first (it wraps everything else), then the extra hooks the settings name."""
    return [TracingHooks(make_tracer(settings)), *load_hooks(settings.extra_hooks)]
