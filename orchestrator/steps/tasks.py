"""The task table the workflows' runner drives: one entry per ``resource`` named in
``orchestrator.jobs.workflow`` and ``orchestrator.jobs.workflows`` (deletion, rollback),
each calling the step module of that name with a typed ``StepContext`` and turning its
dataclass result into the data the states library merges into the execution. Every
task is guarded (``orchestrator.steps.guard``): what escapes a step leaves it with a
stable code, AWS failures included.

``Steps`` binds the steps to one ``StepEnv``. Its methods are the seams a test (or an
embedding) overrides; the dynamic check of a version is one of them
(``verify_version``), used by both verify and the rollout's re-checks; so is the
invocation of a rollout's traffic hooks (``invoke_hook``). Steps never decide
what happens next and never retry: retries, catches and timeouts come from the
declaration. Each run of a step is recorded (its jailed programs' output, notes, the
traceback of a failure) and added to the job's build log when it ends
(``orchestrator.steps.buildlog``). Every step is idempotent, and one that runs on
another machine than the step before rehydrates its inputs
(``orchestrator.steps.unpack.rehydrate``).
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.config import LIVE_ALIAS
from orchestrator.steps.build import step as build_step
from orchestrator.steps.buildlog import BuildLogs
from orchestrator.steps.context import StepContext, StepEnv
from orchestrator.steps.data import output_data
from orchestrator.steps.delete import step as delete_step
from orchestrator.steps.deploy import step as deploy_step
from orchestrator.steps.deploy.step import DeployResult
from orchestrator.steps.fetch import step as fetch_step
from orchestrator.steps.guard import guard_tasks
from orchestrator.steps.promote import rollout
from orchestrator.steps.promote import step as promote_step
from orchestrator.steps.promote.hooks import HookAnswer
from orchestrator.steps.rollback import step as rollback_step
from orchestrator.steps.transcript import Transcript, recording
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
log = logging.getLogger(__name__)

__all__ = ["StepContext", "StepEnv", "Steps"]


class Steps:
    def __init__(self, env: StepEnv) -> None:
        self.env = env
        self._logs: BuildLogs | None = None

    def tasks(self) -> dict[str, TaskFn]:
        """Resource name -> what ``states.drive`` calls."""
        steps: dict[str, Callable[[StepContext], DataclassInstance]] = {
            "fetch": self.fetch, "unpack": self.unpack, "build": self.build,
            "deploy": self.deploy, "verify": self.verify, "promote": self.promote,
            # the deletion workflow's
            "recheck": delete_step.recheck, "untrigger": delete_step.untrigger,
            "unalias": delete_step.unalias, "undeploy": delete_step.undeploy,
            "unrole": delete_step.unrole,
            # the rollback workflow's
            "choose": rollback_step.choose, "repoint": rollback_step.repoint,
            # the deployment's rollout
            "shift": self.shift, "check": self.check, "finish": self.finish,
            "revert": self.revert}
        return guard_tasks({name: self._task(step, name) for name, step in steps.items()})

    def finished(self, job_id: str, *, failed: bool) -> None:
        """The job is terminal: its folder goes (a failed one stays only when
        AUTO_LAMBDA_KEEP_FAILED_JOB_DIRS asks for it, to debug)."""
        if failed and self.env.aws.settings.keep_failed_job_dirs:
            return
        JobFolder(self.env.work_root / job_id).remove()

    def _task(self, step: Callable[[StepContext], DataclassInstance],
              name: str | None = None) -> TaskFn:
        name = name or getattr(step, "__name__", "step")

        def task(ctx: TaskContext) -> JsonObject:
            transcript = Transcript()
            started = time.monotonic()
            outcome = "stopped"
            try:
                with recording(transcript):
                    out = output_data(step(StepContext(ctx, self.env)))
                outcome = "ok"
                return out
            except Exception as exc:
                # the code the guard gives it (orchestrator.steps.guard) is what the
                # record shows; the log names the failure as it left the step
                code = getattr(exc, "code", None) or type(exc).__name__
                outcome = f"failed {code}"
                transcript.add("traceback", "".join(traceback.format_exception(exc)))
                raise
            finally:
                self._log(ctx, str(name), outcome, time.monotonic() - started, transcript)
        return task

    def _log(self, ctx: TaskContext, name: str, outcome: str, seconds: float,
             transcript: Transcript) -> None:
        """The step's block in the job's build log (``steps/buildlog.py``); never
        changes how the step ended."""
        key = str(ctx.data.get("key") or "")
        if not key:
            return
        try:
            if self._logs is None:
                self._logs = BuildLogs(self.env.aws.objects,
                                       self.env.aws.settings.artifacts_bucket)
            self._logs.add(key, ctx.execution_id, name, ctx.attempt, outcome, seconds,
                           transcript.parts)
        except Exception:
            log.warning("job %s: its %s step's build log was not written", ctx.execution_id,
                        name, exc_info=True)

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
        return promote_step.run(ctx, invoke_hook=self.invoke_hook)

    def shift(self, ctx: StepContext) -> rollout.RolloutStep:
        return rollout.shift(ctx)

    def check(self, ctx: StepContext) -> rollout.RolloutStep:
        return rollout.check(ctx, recheck=self.verify_version)

    def finish(self, ctx: StepContext) -> rollout.RolloutStep:
        return rollout.finish(ctx, invoke_hook=self.invoke_hook)

    def revert(self, ctx: StepContext) -> rollout.RolloutStep:
        return rollout.revert(ctx)

    def invoke_hook(self, ctx: StepContext, function_name: str,
                    event: JsonObject) -> HookAnswer:
        """Invoke a pre- or post-traffic hook (a team function auto-lambda manages, at
        its ``live`` alias: its verified version) with ``event``. On AWS, through the
        Lambda door; the emulator never runs Lambda code, so tests override this seam."""
        answer = self.env.aws.functions.invoke(function_name, LIVE_ALIAS,
                                               json.dumps(event).encode("utf-8"))
        try:
            payload: object = json.loads(answer.payload) if answer.payload else None
        except ValueError:
            payload = answer.payload[:2000].decode("utf-8", "replace")
        return HookAnswer(answer.function_error, payload)

    def verify_version(self, ctx: StepContext, spec: AppSpec, deployed: DeployResult,
                       package_zip: Path) -> VerifyResult:
        """The dynamic check of one published version (sandbox run locally, invoke on AWS)."""
        return verify_step.check_version(ctx, spec, deployed, package_zip)
