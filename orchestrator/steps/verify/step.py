"""The verify step: check the published version before anything points at it, with
the static checks and one smoke-test run (``checks``: a local sandbox against the
emulator, an invoke on AWS), compared with the manifest's ``[verify]`` table.

Never moves ``live``: that is the promote step, which runs only after this one passed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.steps.context import StepContext
from orchestrator.steps.deploy.step import DeployResult
from orchestrator.steps.unpack import rehydrate
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.steps.verify.deployment import VerifyResult, verify_deployment

# One dynamic check of a published version: (context, spec, deployed version, package).
Check = Callable[[StepContext, AppSpec, DeployResult, Path], VerifyResult]


@dataclass(frozen=True)
class Verified:
    verify: VerifyResult


def check_version(ctx: StepContext, spec: AppSpec, deployed: DeployResult,
                  package_zip: Path) -> VerifyResult:
    """The check of one published version (sandbox run locally, invoke on AWS)."""
    return verify_deployment(ctx.env.aws, spec, deployed, package_zip,
                             work_dir=ctx.folder.verify_dir, jail=ctx.env.jail)


def run(ctx: StepContext, check: Check = check_version) -> Verified:
    spec, deployed = ctx.get(AppSpec), ctx.get(DeployResult)
    return Verified(check(ctx, spec, deployed, rehydrate.package_zip(ctx)))
