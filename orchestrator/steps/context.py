"""What a step runs with.

``StepEnv`` is the worker-wide part: the AWS facade, the folder jobs work in, the build
cache, progress reporting and the sleep a bake
uses. ``StepContext`` is one task call: the states library's ``TaskContext`` (job id,
attempt, heartbeat, read-only data) plus typed reads of the job's input and of what
earlier steps recorded, and the job's work folder.

A step reads through its context and returns its result; it never writes the
execution's data or the job store itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.steps.data import JobInput, S, Stored, read
from orchestrator.steps.workspace import JobFolder
from states import TaskContext

if TYPE_CHECKING:
    from orchestrator.aws.facade import Aws
    from orchestrator.steps.build.cache import BuildCache
    from orchestrator.steps.jail import Jail


@dataclass
class StepEnv:
    aws: Aws
    work_root: Path
    progress: Callable[[str, str], None] = field(default=lambda job_id, msg: None)
    sleep: Callable[[float], None] = time.sleep  # a gradual rollout's bake time
    _cache: BuildCache | None = None
    _jail: Jail | None = None

    @property
    def jail(self) -> Jail:
        """The jail app code runs in (chalice's import of app.py, local verify)."""
        if self._jail is None:
            from orchestrator.steps.jail import Jail

            self._jail = Jail(credentials_method=self.aws.credentials_method)
        return self._jail

    # The build cache is made by the build step (``build.step.cache``) on first use, so
    # that nothing of the build loads until a build runs.


class StepContext:
    """One call of a step: typed views over the TaskContext, and the job's folder."""

    def __init__(self, task: TaskContext, env: StepEnv) -> None:
        self.task = task
        self.env = env

    @property
    def job_id(self) -> str:
        return self.task.execution_id

    @property
    def attempt(self) -> int:
        return self.task.attempt

    @cached_property
    def input(self) -> JobInput:
        return JobInput.from_data(self.task.data)

    @cached_property
    def folder(self) -> JobFolder:
        return JobFolder(self.env.work_root / self.job_id)

    def get(self, kind: type[S]) -> S:
        """What an earlier step recorded as ``kind`` (StepInputMissing if nothing)."""
        return read(self.task.data, kind)

    def has(self, kind: type[Stored]) -> bool:
        return kind.KEY in self.task.data

    def heartbeat(self) -> None:
        """Report that the step is making progress (keeps its lease and deadline)."""
        self.task.heartbeat()

    def progress(self, message: str) -> None:
        self.env.progress(self.job_id, message)
