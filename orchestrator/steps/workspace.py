"""A job's work folder on this worker: where the source zip, the unpacked app and the
built package live while the job runs, and how a partly written file is made whole.

Paths and file helpers only: no AWS calls, no decisions about what to fetch or build.
A step that finds its input missing here (the job moved to another worker) rebuilds
it through ``orchestrator.steps.unpack.rehydrate``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

_CHUNK = 1 << 20


class JobFolder:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _ensure(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root

    @property
    def source_zip(self) -> Path:
        return self._ensure() / "source.zip"

    @property
    def app_dir(self) -> Path:
        return self._ensure() / "app"

    @property
    def unpacked_marker(self) -> Path:
        # Next to the app folder, not inside it: inside, it would be packaged.
        return self._ensure() / "app.unpacked"

    @property
    def package_zip(self) -> Path:
        return self._ensure() / "package.zip"

    @property
    def verify_dir(self) -> Path:
        return self._ensure() / "verify"

    def clear_app(self) -> None:
        self.unpacked_marker.unlink(missing_ok=True)
        shutil.rmtree(self.app_dir, ignore_errors=True)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def temp_name(path: Path) -> Path:
    """A sibling name unique to this writer, for write-then-rename."""
    return path.with_name(f".{path.stem}.{os.getpid()}-{uuid.uuid4().hex[:6]}.part{path.suffix}")


@contextlib.contextmanager
def written_whole(path: Path) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``path`` atomically, else vanishes."""
    tmp = temp_name(path)
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
