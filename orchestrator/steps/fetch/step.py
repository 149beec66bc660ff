"""The fetch step: download the uploaded zip, pinned to its version, into the job's
folder, counting bytes as they arrive so an oversized upload stops early.

Reads S3 only; never unpacks or inspects the archive (the unpack step does).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestrator.aws.facade import Aws
from orchestrator.codes import Code
from orchestrator.errors import ObjectMissing, ZipError
from orchestrator.limits import UPLOAD_MAX_BYTES
from orchestrator.steps.context import StepContext
from orchestrator.steps.data import JobInput, Source
from orchestrator.steps.workspace import written_whole

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Fetched:
    source: Source


def run(ctx: StepContext) -> Fetched:
    source = download_source(ctx.env.aws, ctx.input, ctx.folder.source_zip)
    ctx.progress(f"fetched {source.size:,} bytes")
    return Fetched(source)


def download_source(aws: Aws, job: JobInput, dest: Path, pinned: str | None = None) -> Source:
    """Download the job's object to ``dest`` (whole or not at all). ``pinned`` (the
    version fetched before) wins over the input's version id."""
    version = pinned or job.version_id
    resp = aws.objects.get(job.bucket, job.key, version)
    if resp is None:
        raise ObjectMissing(
            f"s3://{job.bucket}/{job.key} no longer exists",
            hint="it was deleted before it could be fetched; upload it again")
    etag = resp.head.etag or ""
    if job.etag and not version and etag and etag != job.etag:
        raise ObjectMissing(
            f"s3://{job.bucket}/{job.key} changed since the upload that started "
            f"this job (etag {job.etag} -> {etag})",
            hint="the newer upload has its own job")
    written = 0
    with written_whole(dest) as tmp, tmp.open("wb") as out:
        for chunk in resp.chunks(_CHUNK):
            written += len(chunk)
            if written > UPLOAD_MAX_BYTES:
                raise ZipError(f"the upload is over {UPLOAD_MAX_BYTES:,} bytes",
                               code=Code.ZipTooLarge,
                               hint="Lambda packages are at most 250 MB unzipped")
            out.write(chunk)
    return Source(version_id=resp.head.version_id, etag=etag, size=written)
