"""Downloading one wheel from the package index, checked against the sha256 the
resolver (or the app's lock or hash-pinned requirements) gave for it.

Streams to a temporary file beside the destination, hashing as it writes, and moves
it into place only when the size and sha256 match, so a wheel in the store is always
whole. Only URLs on the configured package index (``index.IndexConfig``: its hosts,
over http(s), or a file in a local index folder) are fetched, and a redirect elsewhere
is refused (``IndexHostRefused``): the URL came from the installer's jail, so it is
hostile data. Proxy and CA settings come from the standard environment variables.
A network failure is a ``TransientError`` (``NetworkError``: the workflow retries it);
a wrong hash is ``HashMismatch``.

Nothing here decides which wheel to fetch or reads what is inside it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.codes import Code
from orchestrator.errors import BuildError, TransientError
from orchestrator.steps.build.index import IndexConfig

CHUNK = 1024 * 1024
DOWNLOAD_TIMEOUT = 120.0
_SCHEMES = ("https://", "http://", "file://")


@dataclass(frozen=True)
class WheelRef:
    """One wheel file on the index: where it is and what its bytes must hash to."""

    url: str
    filename: str
    sha256: str
    size: int | None = None


def _opener(index: IndexConfig) -> Callable[..., object]:
    # urllib is imported here, not at module level: ~25 ms that a warm build never needs.
    import urllib.request

    class _OnIndexOnly(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                             newurl: str) -> Any:
            if not index.allows_url(newurl):
                raise _refused(newurl)
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    return urllib.request.build_opener(_OnIndexOnly()).open


def _refused(url: str) -> BuildError:
    return BuildError(f"refusing to download from {url[:300]!r}: not on the configured "
                      "package index", code=Code.IndexHostRefused,
                      hint="the index serves files from another host: add it to "
                           "AUTO_LAMBDA_INDEX_HOSTS on the workers")


def download(ref: WheelRef, dest: Path, *, timeout: float = DOWNLOAD_TIMEOUT,
             urlopen: Callable[..., object] | None = None,
             index: IndexConfig | None = None) -> Path:
    """Fetch ``ref`` to ``dest`` (atomic); return ``dest``. Raise NetworkError
    (transient), HashMismatch, IndexHostRefused or DownloadFailed."""
    if not ref.url.startswith(_SCHEMES):
        raise BuildError(f"refusing to download {ref.filename} from {ref.url[:300]!r}: only "
                         "index URLs are fetched", code=Code.DownloadFailed,
                         hint="install from a package index, or put the code in vendor/")
    index = index or IndexConfig.from_env()
    if not index.allows_url(ref.url):
        raise _refused(ref.url)
    open_url = urlopen or _opener(index)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}-{os.urandom(4).hex()}.part")
    digest = hashlib.sha256()
    size = 0
    try:
        try:
            response = open_url(ref.url, timeout=timeout)
            with response as body, tmp.open("wb") as out:  # type: ignore[attr-defined]
                while chunk := body.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
        except OSError as exc:  # URLError, HTTPError, timeouts and resets are OSErrors
            code = getattr(exc, "code", None)
            if isinstance(code, int) and 400 <= code < 500 and code not in (408, 429):
                raise BuildError(f"the index answered {code} for {ref.filename} ({ref.url})",
                                 code=Code.DownloadFailed,
                                 hint="the release may have been removed; pin another "
                                      "version") from exc
            raise TransientError(f"could not download {ref.filename}: {exc}",
                                 code=Code.NetworkError) from exc
        got = digest.hexdigest()
        if got != ref.sha256.lower() or (ref.size is not None and size != ref.size):
            raise BuildError(
                f"{ref.filename} does not match its expected sha256 {ref.sha256} "
                f"(got {got}, {size:,} bytes)", code=Code.HashMismatch,
                hint="the file on the index is not the one the lock or the hashes name: "
                     "update the pinned hashes, or check the index for tampering",
                details={"file": ref.filename, "expected": ref.sha256, "got": got})
        os.replace(tmp, dest)
        return dest
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
