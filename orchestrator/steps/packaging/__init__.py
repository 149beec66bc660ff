"""Building Lambda packages from unpacked apps: cross-installed wheels, chalice
projects, ABI checks, a dependency cache and deterministic zips.

Public API: build_package, BuildResult, BuildCache, S3RemoteCache, store_artifact.
Nothing in this package deploys or invokes functions.
"""

from __future__ import annotations

from orchestrator.steps.packaging.artifact import code_sha256, store_artifact
from orchestrator.steps.packaging.cache import BuildCache, S3RemoteCache
from orchestrator.steps.packaging.package import BuildResult, build_package

__all__ = ["BuildCache", "BuildResult", "S3RemoteCache", "build_package", "code_sha256",
           "store_artifact"]
