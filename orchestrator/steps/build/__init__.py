"""Building Lambda packages from unpacked apps: the app's dependency files read and
checked, versions resolved with uv for the target runtime, wheels installed straight into
the package (no recompression), chalice projects, ABI and import checks, a size-bounded
dependency cache and deterministic zips.

Public API: build_package, BuildResult, BuildCache, S3RemoteCache, store_artifact,
code_sha256. Nothing in this package deploys or invokes functions. ``store_artifact``
(the one AWS call) is imported on first use, so a local build never loads boto3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.steps.build.cache import BuildCache, S3RemoteCache
from orchestrator.steps.build.package import BuildResult, build_package

if TYPE_CHECKING:
    from orchestrator.steps.build.artifact import code_sha256, store_artifact

__all__ = ["BuildCache", "BuildResult", "S3RemoteCache", "build_package", "code_sha256",
           "store_artifact"]


def __getattr__(name: str) -> Any:
    # artifact.py talks to S3 through the Aws facade, which imports boto3 (~0.1 s):
    # loaded only when a caller asks for it.
    if name in ("code_sha256", "store_artifact"):
        from orchestrator.steps.build import artifact

        return getattr(artifact, name)
    raise AttributeError(name)
