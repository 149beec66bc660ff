"""The build step: turn the unpacked app into a deterministic Lambda package
(``packaging``) and store it in the artifacts bucket under its content hash.

Runs no app code in the worker (chalice projects are packaged in a sandboxed
subprocess) and deploys nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.steps import rehydrate
from orchestrator.steps.context import StepContext
from orchestrator.steps.data import Artifact
from orchestrator.steps.manifest import AppSpec
from orchestrator.steps.packaging.artifact import store_artifact
from orchestrator.steps.packaging.package import BuildResult, build_package
from orchestrator.steps.workspace import written_whole


@dataclass(frozen=True)
class Built:
    artifact: Artifact
    build: BuildResult


def run(ctx: StepContext) -> Built:
    spec = ctx.get(AppSpec)
    out = ctx.folder.package_zip

    def progress(message: str) -> None:
        ctx.heartbeat()
        ctx.progress(message)

    with written_whole(out) as tmp:
        result = build_package(rehydrate.app_dir(ctx), spec, tmp, cache=ctx.env.cache,
                               progress=progress, jail=ctx.env.jail)
    result.zip_path = out
    return Built(store_artifact(ctx.env.aws, result), result)
