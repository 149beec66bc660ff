"""The task table the workflow's runner drives: one entry per ``resource`` named in
``orchestrator.jobs.workflow``, each calling the step module of that name with a typed
``StepContext`` and turning its dataclass result into the data the states library
merges into the execution. Every task is guarded (``orchestrator.steps.guard``): what
escapes a step leaves it with a stable code, AWS failures included.

``Steps`` binds the steps to one ``StepEnv``. Its methods are the seams a test (or an
embedding) overrides; the dynamic check of a version is one of them
(``verify_version``), used by both verify and promote's re-checks. Steps never decide
what happens next and never retry: retries, catches and timeouts come from the
declaration. Every step is idempotent, and one that runs on another machine than the
step before rehydrates its inputs (``orchestrator.steps.unpack.rehydrate``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.steps.build import step as build_step
from orchestrator.steps.context import StepContext, StepEnv
from orchestrator.steps.data import output_data
from orchestrator.steps.deploy import step as deploy_step
from orchestrator.steps.deploy.step import DeployResult
from orchestrator.steps.fetch import step as fetch_step
from orchestrator.steps.guard import guard_tasks
from orchestrator.steps.promote import step as promote_step
from orchestrator.steps.unpack import step as unpack_step
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.steps.verify import step as verify_step
from orchestrator.steps.verify.deployment import VerifyResult
from orchestrator.steps.workspace import JobFolder
from orchestrator.types import JsonObject
from states import TaskContext

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

TaskFn = Callable[[TaskContext], JsonObject]

__all__ = ["StepContext", "StepEnv", "Steps"]


class Steps:
    def __init__(self, env: StepEnv) -> None:
        self.env = env

    def tasks(self) -> dict[str, TaskFn]:
        """Resource name -> what ``states.drive`` calls."""
        steps: dict[str, Callable[[StepContext], DataclassInstance]] = {
            "fetch": self.fetch, "unpack": self.unpack, "build": self.build,
            "deploy": self.deploy, "verify": self.verify, "promote": self.promote}
        return guard_tasks({name: self._task(step) for name, step in steps.items()})

    def finished(self, job_id: str, *, failed: bool) -> None:
        """The job is terminal: its folder goes (a failed one stays only when
        AUTO_LAMBDA_KEEP_FAILED_JOB_DIRS asks for it, to debug)."""
        if failed and self.env.aws.settings.keep_failed_job_dirs:
            return
        JobFolder(self.env.work_root / job_id).remove()

    def _task(self, step: Callable[[StepContext], DataclassInstance]) -> TaskFn:
        def task(ctx: TaskContext) -> JsonObject:
            return output_data(step(StepContext(ctx, self.env)))
        return task

    def fetch(self, ctx: StepContext) -> fetch_step.Fetched:
        return fetch_step.run(ctx)

    def unpack(self, ctx: StepContext) -> unpack_step.UnpackOutput:
        return unpack_step.run(ctx)

    def build(self, ctx: StepContext) -> build_step.Built:
        return build_step.run(ctx)

    def deploy(self, ctx: StepContext) -> deploy_step.Deployed:
        return deploy_step.run(ctx)

    def verify(self, ctx: StepContext) -> verify_step.Verified:
        return verify_step.run(ctx, check=self.verify_version)

    def promote(self, ctx: StepContext) -> promote_step.Promoted:
        return promote_step.run(ctx, check=self.verify_version)

    def verify_version(self, ctx: StepContext, spec: AppSpec, deployed: DeployResult,
                       package_zip: Path) -> VerifyResult:
        """The dynamic check of one published version (sandbox run locally, invoke on AWS)."""
        return verify_step.check_version(ctx, spec, deployed, package_zip)
