"""The build cache: ready-made zips (a resolved dependency set installed for one runtime
and architecture; chalice's packaged app code), the wheels they were made from, and
remembered resolutions, in one folder bounded in size.

- A dependency entry's key is the sha256 of the resolved set (every wheel's name,
  version and sha256), the runtime, the architecture and the builder version. Its zip
  holds the installed files; its comment holds the metadata (installed distributions,
  what was left out, the ABI scan, top-level names). A warm build copies its compressed
  members straight into the package: no resolver, no download, no deflate.
- Wheels are stored by their sha256, so another resolution that needs the same wheel
  does not download it again.
- A resolution (what the app's dependency files resolved to, for a target) is
  remembered under a key made of those files' contents, the target and the installer.
  Files that change give a new key; unpinned requirements keep the versions they
  resolved to until the entry ages out (``resolution_ttl``) or is evicted.

The index (``index.sqlite``, shared safely by every worker process on the machine)
records each entry's sha256 and size apart from the entry: an entry whose bytes no
longer match is dropped and rebuilt, never used. As git's index does, it also records
the file's identity when its bytes were last hashed (size, inode, modification and
change times, which a write always moves and a user cannot set back): an entry whose
identity is unchanged is the file that was hashed, and is not read twice; any other is
hashed again before use. It also records when each entry was last used: past
``max_bytes`` the least recently used go first. uv's own metadata cache
lives in ``uv/`` and is emptied when it outgrows its share.

With a remote (the artifacts bucket, ``cache/<key>.zip``), dependency and chalice
entries are shared by the workers of every instance; their sha256 travels as object
metadata and is checked on download. A remote failure is logged and treated as a miss:
the cache never fails a build.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the build command starts without boto3
    from orchestrator.aws.facade import Aws
    from orchestrator.config import Settings

from orchestrator.types import JsonObject
from orchestrator.steps.build.zipdet import (
    Entry,
    ZipSummary,
    raw_entries,
    read_own_zip,
    write_zip,
)


class _Log:
    """The module's logger, loaded on first use: a warm build logs nothing, and loading
    logging costs ~8 ms of the CLI's start-up."""

    def __getattr__(self, name: str) -> Any:
        import logging

        return getattr(logging.getLogger(__name__), name)


log = _Log()
DEPS = "deps"
CHALICE = "chalice"
WHEELS = "wheels"
MAX_COMMENT = 65_535
DEFAULT_MAX_BYTES = 4 * 1024 ** 3
DEFAULT_RESOLUTION_TTL = 24 * 3600.0
MAX_RESOLUTIONS = 20_000
# Bumped whenever the index's tables change: an index of another version (or one that
# cannot be read) is started afresh, and the entry files it knew are removed with it.
SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (kind TEXT NOT NULL, key TEXT NOT NULL,
    digest TEXT NOT NULL, size INTEGER NOT NULL, last_used REAL NOT NULL,
    hashed_as TEXT NOT NULL DEFAULT '', PRIMARY KEY (kind, key));
CREATE TABLE IF NOT EXISTS resolutions (key TEXT PRIMARY KEY, value TEXT NOT NULL,
    created REAL NOT NULL, last_used REAL NOT NULL);
"""


def cache_key(**parts: Any) -> str:
    """sha256 of the canonical JSON of ``parts``."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def file_digest(path: Path) -> str:
    with Path(path).open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def file_identity(path: Path) -> str:
    """What changes whenever a file's bytes may have: size, inode, mtime and ctime."""
    st = os.stat(path)
    return f"{st.st_size}:{st.st_ino}:{st.st_mtime_ns}:{st.st_ctime_ns}"


@dataclass(frozen=True)
class CachedZip:
    """A cached zip and the metadata stored in its comment."""

    kind: str
    key: str
    path: Path
    meta: JsonObject
    source: str  # "local", "remote" or "new"
    listing: tuple[Entry, ...] | None = field(default=None, compare=False, repr=False)

    def entries(self) -> list[Entry]:
        if self.listing is not None:
            return list(self.listing)
        own = read_own_zip(self.path)
        return own[0] if own is not None else raw_entries(self.path)


class S3RemoteCache:
    """Cache entries in the artifacts bucket, shared by every worker."""

    def __init__(self, aws: Aws, bucket: str | None = None) -> None:
        self.aws = aws
        self.bucket = bucket or aws.settings.artifacts_bucket

    @staticmethod
    def object_key(kind: str, key: str) -> str:
        return f"cache/{key}.zip" if kind == DEPS else f"cache/{kind}/{key}.zip"

    def fetch(self, kind: str, key: str, dest: Path) -> str | None:
        """Download an entry to ``dest``; its sha256 when it matches the recorded one."""
        part = dest.with_name(f"{dest.name}.{os.urandom(4).hex()}.download")
        try:
            got = self.aws.objects.get(self.bucket, self.object_key(kind, key))
            if got is None:
                return None
            expected = got.head.metadata.get("sha256", "")
            digest = hashlib.sha256()
            with part.open("wb") as out:
                for chunk in got.chunks(1024 * 1024):
                    digest.update(chunk)
                    out.write(chunk)
        except Exception as exc:  # a miss, a missing bucket or a network error: build anyway
            log.debug("remote cache miss %s/%s: %s", kind, key, exc)
            part.unlink(missing_ok=True)
            return None
        actual = digest.hexdigest()
        if actual != expected:
            log.warning("remote cache entry %s/%s does not match its recorded sha256; "
                        "ignoring it", kind, key)
            part.unlink(missing_ok=True)
            return None
        os.replace(part, dest)
        return actual

    def store(self, kind: str, key: str, path: Path, digest: str) -> None:
        try:
            self.aws.objects.upload(path, self.bucket, self.object_key(kind, key),
                                    metadata={"sha256": digest})
        except Exception as exc:
            log.warning("could not store cache entry %s/%s remotely: %s", kind, key, exc)


class BuildCache:
    """A size-bounded local cache folder, optionally backed by an S3RemoteCache.

    ``download_dir`` holds the wheels and uv's metadata cache (default: inside
    ``local_dir``); tests share one between caches so the registry is asked less often.
    """

    def __init__(self, local_dir: Path, remote: S3RemoteCache | None = None,
                 download_dir: Path | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 resolution_ttl: float = DEFAULT_RESOLUTION_TTL,
                 clock: Callable[[], float] = time.time) -> None:
        self.local_dir = Path(local_dir)
        self.remote = remote
        self.download_dir = Path(download_dir) if download_dir else self.local_dir
        self.max_bytes = max_bytes
        self.resolution_ttl = resolution_ttl
        self.clock = clock
        self._ready = False

    @classmethod
    def from_settings(cls, settings: Settings, remote: S3RemoteCache | None = None,
                      local_dir: Path | None = None) -> BuildCache:
        """The cache a worker or the CLI uses: AUTO_LAMBDA_CACHE_DIR, _CACHE_MAX_MB and
        _RESOLVE_TTL (``orchestrator.config.Settings``)."""
        return cls(local_dir or settings.cache_dir, remote,
                   max_bytes=settings.cache_max_mb * 1024 * 1024,
                   resolution_ttl=float(settings.resolve_ttl))

    # ---- the index ----
    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.local_dir.mkdir(parents=True, exist_ok=True)
        index = self.local_dir / "index.sqlite"
        if not self._ready:
            self._prepare(index)
        conn = sqlite3.connect(index, timeout=60, isolation_level=None)
        try:
            yield conn
        finally:
            conn.close()

    def _prepare(self, index: Path) -> None:
        """Create the index, or start it afresh when it is of another version or
        unreadable (its entries, which nothing would find any more, go with it)."""
        try:
            conn = sqlite3.connect(index, timeout=60, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if tables and version != SCHEMA_VERSION:
                    log.warning("build cache index %s is of another version: starting afresh",
                                index)
                    conn.execute("DROP TABLE IF EXISTS entries")
                    conn.execute("DROP TABLE IF EXISTS resolutions")
                    self._drop_entry_files()
                conn.execute("COMMIT")
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:  # not a database: replace it
            log.warning("build cache index %s is unreadable (%s): starting afresh", index, exc)
            index.unlink(missing_ok=True)
            self._drop_entry_files()
            conn = sqlite3.connect(index, timeout=60, isolation_level=None)
            try:
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            finally:
                conn.close()
        self._ready = True

    def _drop_entry_files(self) -> None:
        for kind in (DEPS, CHALICE):
            shutil.rmtree(self.local_dir / kind, ignore_errors=True)

    def path(self, kind: str, key: str) -> Path:
        if kind == WHEELS:
            return self.download_dir / WHEELS / f"{key}.whl"
        return self.local_dir / kind / f"{key}.zip"

    def _record(self, kind: str, key: str, digest: str, size: int) -> None:
        """Record an entry whose bytes were just hashed to ``digest``."""
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?)",
                       (kind, key, digest, size, self.clock(),
                        file_identity(self.path(kind, key))))

    def _forget(self, kind: str, key: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM entries WHERE kind = ? AND key = ?", (kind, key))
        with contextlib.suppress(OSError):
            self.path(kind, key).unlink()

    def _checked(self, kind: str, key: str) -> Path | None:
        """The entry's file if the index knows it and its bytes match the digest."""
        path = self.path(kind, key)
        with self._db() as db:
            row = db.execute("SELECT digest, hashed_as FROM entries WHERE kind = ? AND key = ?",
                             (kind, key)).fetchone()
            if row is None:
                return None
            try:
                identity = file_identity(path)
                ok = identity == row[1] or file_digest(path) == row[0]
            except OSError:
                ok = False
            if ok:
                db.execute("UPDATE entries SET last_used = ?, hashed_as = ? "
                           "WHERE kind = ? AND key = ?", (self.clock(), identity, kind, key))
        if not ok:
            log.warning("dropping cache entry %s/%s: its bytes do not match the digest the "
                        "index recorded", kind, key)
            self._forget(kind, key)
            return None
        return path

    # ---- zips ----
    def get(self, kind: str, key: str) -> CachedZip | None:
        path = self._checked(kind, key)
        source = "local"
        if path is None:
            if self.remote is None:
                return None
            path = self.path(kind, key)
            path.parent.mkdir(parents=True, exist_ok=True)
            digest = self.remote.fetch(kind, key, path)
            if digest is None:
                return None
            self._record(kind, key, digest, path.stat().st_size)
            source = "remote"
        own = read_own_zip(path)
        meta = _read_meta(own[1] if own is not None else None)
        if own is None or meta is None or meta.get("key") != key:
            log.warning("dropping unreadable cache entry %s", path)
            self._forget(kind, key)
            return None
        return CachedZip(kind, key, path, meta, source, tuple(own[0]))

    def put(self, kind: str, key: str, entries: list[Entry], meta: JsonObject) -> CachedZip:
        path = self.path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        full = {**meta, "key": key, "kind": kind}
        comment = json.dumps(full, sort_keys=True, separators=(",", ":")).encode("utf-8")
        if len(comment) > MAX_COMMENT:
            full = {k: full[k] for k in ("key", "kind", "installed", "left_out", "top_level",
                                         "newest_glibc") if k in full}
            comment = json.dumps(full, sort_keys=True).encode("utf-8")[:MAX_COMMENT]
        # Unique per writer: threads of one worker may build the same key at once.
        tmp = path.with_name(f"{path.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
        summary: ZipSummary = write_zip(entries, tmp, comment=comment)
        os.replace(summary.path, path)
        self._record(kind, key, summary.sha256, summary.size)
        if self.remote is not None:
            self.remote.store(kind, key, path, summary.sha256)
        self.evict(keep={(kind, key)})
        return CachedZip(kind, key, path, full, "new")

    # ---- wheels ----
    def wheel(self, sha256: str) -> Path | None:
        """The stored wheel with this sha256, checked, or None. A wheel's name is its
        digest (given by the resolver or the app's lock), so a file another cache put in
        a shared download folder is adopted once its bytes are checked."""
        found = self._checked(WHEELS, sha256)
        if found is not None:
            return found
        path = self.path(WHEELS, sha256)
        try:
            ok = file_digest(path) == sha256
        except OSError:
            return None
        if not ok:
            self._forget(WHEELS, sha256)
            return None
        self._record(WHEELS, sha256, sha256, path.stat().st_size)
        return path

    def add_wheel(self, sha256: str, path: Path) -> Path:
        """Record a wheel already written (checked) at ``self.path(WHEELS, sha256)``."""
        self._record(WHEELS, sha256, sha256, path.stat().st_size)
        return path

    # ---- resolutions ----
    def resolution(self, key: str) -> JsonObject | None:
        now = self.clock()
        with self._db() as db:
            row = db.execute("SELECT value, created FROM resolutions WHERE key = ?",
                             (key,)).fetchone()
            if row is None:
                return None
            value = json.loads(row[0])
            if not value.get("pinned") and now - row[1] > self.resolution_ttl:
                db.execute("DELETE FROM resolutions WHERE key = ?", (key,))
                return None
            db.execute("UPDATE resolutions SET last_used = ? WHERE key = ?", (now, key))
        return value if isinstance(value, dict) else None

    def remember(self, key: str, value: JsonObject) -> None:
        now = self.clock()
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO resolutions VALUES (?, ?, ?, ?)",
                       (key, json.dumps(value, sort_keys=True), now, now))
            db.execute("DELETE FROM resolutions WHERE key NOT IN (SELECT key FROM resolutions "
                       "ORDER BY last_used DESC LIMIT ?)", (MAX_RESOLUTIONS,))

    # ---- size bound ----
    def total_bytes(self) -> int:
        with self._db() as db:
            return int(db.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0])

    def evict(self, keep: set[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
        """Remove least recently used entries until the cache fits ``max_bytes``."""
        keep = keep or set()
        removed: list[tuple[str, str]] = []
        with self._db() as db:
            rows = db.execute("SELECT kind, key, size FROM entries ORDER BY last_used").fetchall()
        total = sum(r[2] for r in rows)
        for kind, key, size in rows:
            if total <= self.max_bytes:
                break
            if (kind, key) in keep:
                continue
            self._forget(kind, key)
            removed.append((kind, key))
            total -= size
        if removed:
            log.info("build cache over %d bytes: evicted %d entries", self.max_bytes,
                     len(removed))
        return removed


def _read_meta(comment: bytes | None) -> JsonObject | None:
    if comment is None:
        return None
    try:
        data = json.loads(comment.decode("utf-8"))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
