"""The build cache: ready-made zips of installed dependency trees (and of chalice's
packaged app code), keyed by the sha256 of everything that decides their content.

A dependency entry is keyed by (normalized requirements, runtime, architecture, the
platform tags offered to pip, builder version) and stored as a deterministic zip whose
archive comment holds the metadata (installed distributions, ABI scan, sizes). A warm
build copies its compressed members straight into the package: no pip, no deflate.

Entries live under ``<local_dir>/<kind>/<key>.zip`` (written atomically) and, with a
remote, in the artifacts bucket under ``cache/<key>.zip`` (``cache/<kind>/<key>.zip``
for kinds other than dependencies), so workers on other instances share them. A remote
failure is logged and treated as a miss: the cache never fails a build.

Unpinned requirements (``numpy``) keep the version cached first until the entry is
removed; pin versions for reproducible builds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.steps.packaging.zipdet import Entry, ZipSummary, raw_entries, write_zip

log = logging.getLogger(__name__)
DEPS = "deps"
MAX_COMMENT = 65_535


def cache_key(**parts: Any) -> str:
    """sha256 of the canonical JSON of ``parts``."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedZip:
    """A cached zip and the metadata stored in its comment."""

    kind: str
    key: str
    path: Path
    meta: dict[str, Any]
    source: str  # "local" or "remote"

    def entries(self) -> list[Entry]:
        return raw_entries(self.path)


class S3RemoteCache:
    """Cache entries in the artifacts bucket, shared by every worker."""

    def __init__(self, aws: Any, bucket: str | None = None) -> None:
        self.aws = aws
        self.bucket = bucket or aws.settings.artifacts_bucket

    @staticmethod
    def object_key(kind: str, key: str) -> str:
        return f"cache/{key}.zip" if kind == DEPS else f"cache/{kind}/{key}.zip"

    def fetch(self, kind: str, key: str, dest: Path) -> bool:
        part = dest.with_name(dest.name + ".download")
        try:
            self.aws.s3.download_file(self.bucket, self.object_key(kind, key), str(part))
        except Exception as exc:  # a miss, a missing bucket or a network error: build anyway
            log.debug("remote cache miss %s/%s: %s", kind, key, exc)
            part.unlink(missing_ok=True)
            return False
        os.replace(part, dest)
        return True

    def store(self, kind: str, key: str, path: Path) -> None:
        try:
            self.aws.s3.upload_file(str(path), self.bucket, self.object_key(kind, key))
        except Exception as exc:
            log.warning("could not store cache entry %s/%s remotely: %s", kind, key, exc)


class BuildCache:
    """Local directory of cached zips, optionally backed by an S3RemoteCache."""

    def __init__(self, local_dir: Path, remote: S3RemoteCache | None = None,
                 pip_cache_dir: Path | None = None) -> None:
        self.local_dir = Path(local_dir)
        self.remote = remote
        self.pip_cache_dir = pip_cache_dir

    def path(self, kind: str, key: str) -> Path:
        return self.local_dir / kind / f"{key}.zip"

    def get(self, kind: str, key: str) -> CachedZip | None:
        path = self.path(kind, key)
        source = "local"
        if not path.is_file():
            if self.remote is None:
                return None
            path.parent.mkdir(parents=True, exist_ok=True)
            if not self.remote.fetch(kind, key, path):
                return None
            source = "remote"
        meta = _read_meta(path)
        if meta is None or meta.get("key") != key:
            log.warning("dropping unreadable cache entry %s", path)
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        return CachedZip(kind, key, path, meta, source)

    def put(self, kind: str, key: str, entries: list[Entry], meta: dict[str, Any]) -> CachedZip:
        path = self.path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        full = {**meta, "key": key, "kind": kind}
        comment = json.dumps(full, sort_keys=True, separators=(",", ":")).encode("utf-8")
        if len(comment) > MAX_COMMENT:
            full = {"key": key, "kind": kind, "installed": meta.get("installed", [])}
            comment = json.dumps(full, sort_keys=True).encode("utf-8")[:MAX_COMMENT]
        # Unique per writer: threads of one worker may build the same key at once.
        tmp = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
        summary: ZipSummary = write_zip(entries, tmp, comment=comment)
        os.replace(summary.path, path)
        if self.remote is not None:
            self.remote.store(kind, key, path)
        return CachedZip(kind, key, path, full, "new")


def _read_meta(path: Path) -> dict[str, Any] | None:
    try:
        with zipfile.ZipFile(path) as zf:
            data = json.loads(zf.comment.decode("utf-8"))
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
