"""The unpack step: extract the source zip safely (``zipsafe``) and read the app's
contract (``manifest``): name, handler, runtime, verify event, rollout.

Never imports or runs the app: the handler check here is static.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from orchestrator.steps import rehydrate
from orchestrator.steps.context import StepContext
from orchestrator.steps.data import Unpacked
from orchestrator.steps.manifest import AppSpec, load_app_spec
from orchestrator.steps.zipsafe import unpack_zip


@dataclass(frozen=True)
class UnpackOutput:
    app: AppSpec
    unpacked: Unpacked


def run(ctx: StepContext) -> UnpackOutput:
    folder = ctx.folder
    folder.clear_app()
    result = unpack_zip(rehydrate.source_zip(ctx), folder.app_dir, rehydrate.unpack_limits())
    spec = load_app_spec(folder.app_dir, PurePosixPath(ctx.input.key).name)
    folder.unpacked_marker.touch()
    return UnpackOutput(spec, Unpacked(files=len(result.files), bytes=result.bytes_written))
