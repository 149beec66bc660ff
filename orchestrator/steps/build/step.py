"""The build step: turn the unpacked app into a deterministic Lambda package (the
modules beside this one) and store it in the artifacts bucket under its content hash.

Runs no app code in the worker (chalice projects are packaged in a sandboxed
subprocess) and deploys nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.steps.unpack import rehydrate
from orchestrator.steps.build.cache import BuildCache, S3RemoteCache
from orchestrator.steps.context import StepContext, StepEnv
from orchestrator.steps.data import Artifact
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.steps.build.artifact import store_artifact
from orchestrator.steps.build.package import BuildResult, build_package
from orchestrator.steps.workspace import written_whole


@dataclass(frozen=True)
class Built:
    artifact: Artifact
    build: BuildResult


def cache(env: StepEnv) -> BuildCache:
    """The worker's build cache (made on first use, kept on ``env``)."""
    if env._cache is None:
        env._cache = BuildCache.from_settings(env.aws.settings, remote=S3RemoteCache(env.aws))
    return env._cache


def run(ctx: StepContext) -> Built:
    spec = ctx.get(AppSpec)
    out = ctx.folder.package_zip

    def progress(message: str) -> None:
        ctx.heartbeat()
        ctx.progress(message)

    with written_whole(out) as tmp:
        result = build_package(rehydrate.app_dir(ctx), spec, tmp, cache=cache(ctx.env),
                               progress=progress, jail=ctx.env.jail)
    result.zip_path = out
    return Built(store_artifact(ctx.env.aws, result), result)
