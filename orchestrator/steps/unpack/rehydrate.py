"""Inputs a step needs from earlier steps, made again on this worker when the job
moved here: the source zip by its pinned version, the unpacked app from it, the built
package by its content hash from the artifacts bucket. Earlier steps are never rerun
(their history is untouched); their products are fetched again.

Each function returns a path whose content was checked; none decides anything about
the workflow.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from orchestrator.config import Settings
from orchestrator.steps.context import StepContext
from orchestrator.steps.data import Artifact, Source, read_optional
from orchestrator.steps.fetch.step import download_source
from orchestrator.steps.unpack.zipsafe import UnpackLimits, lift_single_folder, unpack_zip
from orchestrator.steps.workspace import md5_of, sha256_of, written_whole


def unpack_limits(settings: Settings) -> UnpackLimits:
    """The unzip limits, lowered by the settings where asked (for drills and tests of the
    limits: AUTO_LAMBDA_UNPACK_MAX_BYTES, AUTO_LAMBDA_UNPACK_MAX_ENTRIES); never raised."""
    base = UnpackLimits()
    changes: dict[str, int] = {}
    for lowered, attr in ((settings.unpack_max_bytes, "max_total_bytes"),
                          (settings.unpack_max_entries, "max_entries")):
        if lowered is not None:
            changes[attr] = min(lowered, getattr(base, attr))
    return replace(base, **changes) if changes else base


def source_zip(ctx: StepContext) -> Path:
    """The job's source zip, downloaded again unless a whole copy is here."""
    path = ctx.folder.source_zip
    fetched = read_optional(ctx.task.data, Source)
    if not (path.exists() and _whole(path, fetched)):
        download_source(ctx.env.aws, ctx.input, path,
                        pinned=fetched.version_id if fetched else None)
    return path


def app_dir(ctx: StepContext) -> Path:
    """The unpacked app, unpacked again from the source unless already here."""
    folder = ctx.folder
    if not folder.unpacked_marker.exists():
        folder.clear_app()
        unpack_zip(source_zip(ctx), folder.app_dir, unpack_limits(ctx.env.aws.settings))
        lift_single_folder(folder.app_dir)  # as the unpack step did
        folder.unpacked_marker.touch()
    return folder.app_dir


def package_zip(ctx: StepContext) -> Path:
    """The built package, downloaded from the artifacts bucket unless it is here."""
    path = ctx.folder.package_zip
    artifact = ctx.get(Artifact)
    if path.exists() and sha256_of(path) == artifact.sha256:
        return path
    with written_whole(path) as tmp:
        ctx.env.aws.objects.download(artifact.bucket, artifact.key, tmp,
                                     where="s3.download_file(artifact)")
    return path


def _whole(path: Path, source: Source | None) -> bool:
    """A source zip left by an earlier attempt is reused only if it is whole."""
    if source is None:
        return False
    if path.stat().st_size != source.size:
        return False
    etag = source.etag
    if etag and "-" not in etag and len(etag) == 32:  # single-part upload: etag is the MD5
        return md5_of(path) == etag
    return True
