"""Deterministic zip archives: the same files give the same bytes, every time.

Entries are sorted by name; every timestamp is 1980-01-01 00:00; modes are 0o644, or
0o755 when the source is executable; data is deflated at a fixed level; no directory
entries, no extra fields, no comments except the one given. Entries may also be copied
as already-compressed bytes out of another zip (``RawSource``): a cached dependency zip,
or a wheel straight from the package registry, is reused without compressing it again.

The writer is hand-rolled (zipfile cannot copy compressed data, and stamps times and
modes from the file system). It writes sequentially, hashing as it goes, so the sha256
of the result costs no second read; each source archive is opened once. It writes only
the output file it is given.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from orchestrator.codes import Code
from orchestrator.errors import BuildError

DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1
DOS_TIME_MIDNIGHT = 0
COMPRESS_LEVEL = 6
CHUNK = 1024 * 1024
MAX_COMMENT = 65_535
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_EOCD = struct.Struct("<IHHHHIIH")
_EOCD64 = struct.Struct("<IQHHIIQQQQ")
_EOCD64_LOCATOR = struct.Struct("<IIQI")
_U16 = 0xFFFF
_U32 = 0xFFFFFFFF
_MADE_BY_UNIX = (3 << 8) | 20


@dataclass(frozen=True)
class RawSource:
    """Compressed bytes of one member of a zip on disk, ready to copy as they are.

    ``header_offset`` is set for archives this module wrote: their local header is
    exactly the one ``write_zip`` writes for the member, so runs of adjacent members are
    copied header and all, in one go."""

    archive: Path
    data_offset: int
    compress_size: int
    crc: int
    method: int
    header_offset: int | None = None


@dataclass(frozen=True)
class Entry:
    """One file of an archive-to-be: read from ``open()``, held in ``data``, or copied
    from ``raw``."""

    name: str
    size: int
    executable: bool = False
    open: Callable[[], BinaryIO] | None = None
    raw: RawSource | None = None
    data: bytes | None = None


@dataclass(frozen=True)
class ZipSummary:
    path: Path
    size: int
    sha256: str
    unzipped_size: int
    count: int


def _file_opener(path: Path) -> Callable[[], BinaryIO]:
    return lambda: path.open("rb")


def dir_entries(root: Path, prefix: str = "",
                skip: Callable[[str], bool] | None = None) -> list[Entry]:
    """Regular files under ``root`` as entries named ``prefix + relative/posix/path``.
    Symlinks are followed only when they point at a file inside ``root``."""
    root = Path(root)
    real_root = root.resolve()
    out: list[Entry] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(dirpath)
        for fname in sorted(filenames):
            path = base / fname
            rel = path.relative_to(root).as_posix()
            if skip is not None and skip(rel):
                continue
            if path.is_symlink() and not path.resolve().is_relative_to(real_root):
                continue
            try:
                st = path.stat()
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            out.append(Entry(prefix + rel, st.st_size, bool(st.st_mode & 0o111),
                             open=_file_opener(path)))
    return out


def local_data_offset(fh: BinaryIO, header_offset: int) -> int:
    """Where a member's data starts: after its local header, name and extra field
    (whose lengths may differ from the central directory's)."""
    fh.seek(header_offset)
    header = fh.read(_LOCAL.size)
    if len(header) != _LOCAL.size or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"no local header at offset {header_offset}")
    fields = _LOCAL.unpack(header)
    return header_offset + _LOCAL.size + fields[9] + fields[10]


def raw_entries(archive: Path) -> list[Entry]:
    """The members of a zip as entries that copy their compressed bytes unchanged."""
    archive = Path(archive)
    out: list[Entry] = []
    with zipfile.ZipFile(archive) as zf, archive.open("rb") as fh:
        for info in zf.infolist():
            if info.is_dir():
                continue
            mode = info.external_attr >> 16
            out.append(Entry(info.filename, info.file_size, bool(mode & 0o111),
                             raw=RawSource(archive, local_data_offset(fh, info.header_offset),
                                           info.compress_size, info.CRC,
                                           info.compress_type)))
    return out


def entry_bytes(entry: Entry, limit: int | None = None) -> bytes:
    """The content of ``entry`` (at most ``limit`` bytes; more means "too large")."""
    if entry.data is not None:
        return entry.data[:limit] if limit is not None else entry.data
    if entry.raw is not None:
        raw = entry.raw
        with raw.archive.open("rb") as fh:
            fh.seek(raw.data_offset)
            data = fh.read(raw.compress_size)
        if raw.method == zipfile.ZIP_STORED:
            return data[:limit] if limit is not None else data
        inflater = zlib.decompressobj(-15)
        return inflater.decompress(data, limit or 0)
    assert entry.open is not None
    with entry.open() as src:
        return src.read(limit) if limit is not None else src.read()


def read_own_zip(archive: Path) -> tuple[list[Entry], bytes] | None:
    """Entries and comment of a zip ``write_zip`` wrote, from its central directory alone
    (no local header is read); None when it does not look like one (read it with
    ``raw_entries`` then)."""
    archive = Path(archive)
    with archive.open("rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        tail_len = min(size, _EOCD.size + MAX_COMMENT)
        fh.seek(size - tail_len)
        tail = fh.read(tail_len)
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or at + _EOCD.size > len(tail):
            return None
        (_sig, _disk, _cd_disk, _n1, count, cd_size, cd_offset,
         comment_len) = _EOCD.unpack_from(tail, at)
        comment = tail[at + _EOCD.size: at + _EOCD.size + comment_len]
        if count == _U16 or cd_offset == _U32 or len(comment) != comment_len:
            return None  # zip64: leave it to zipfile
        fh.seek(cd_offset)
        directory = fh.read(cd_size)
    entries: list[Entry] = []
    pos = 0
    for _ in range(count):
        if directory[pos:pos + 4] != b"PK\x01\x02":
            return None
        fields = _CENTRAL.unpack_from(directory, pos)
        (method, crc, csize, usize, name_len, extra_len, comment_len2, mode,
         offset) = (fields[4], fields[7], fields[8], fields[9], fields[10], fields[11],
                    fields[12], fields[15] >> 16, fields[16])
        if extra_len or comment_len2 or method not in (zipfile.ZIP_STORED,
                                                       zipfile.ZIP_DEFLATED):
            return None
        name = directory[pos + _CENTRAL.size: pos + _CENTRAL.size + name_len].decode("utf-8")
        entries.append(Entry(name, usize, bool(mode & 0o111),
                             raw=RawSource(archive, offset + _LOCAL.size + name_len, csize,
                                           crc, method, header_offset=offset)))
        pos += _CENTRAL.size + name_len
    return entries, comment


class _Out:
    """The output file, its position and the sha256 of everything written so far."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.pos = 0
        self.digest = hashlib.sha256()

    def write(self, data: bytes | memoryview) -> None:
        self.fh.write(data)
        self.digest.update(data)
        self.pos += len(data)


class _Sources:
    """Source archives opened once each, for the whole write."""

    def __init__(self) -> None:
        self.open_files: dict[Path, BinaryIO] = {}

    def copy(self, out: _Out, raw: RawSource) -> None:
        self.copy_span(out, raw.archive, raw.data_offset, raw.compress_size)

    def copy_span(self, out: _Out, archive: Path, offset: int, length: int) -> None:
        src = self.open_files.get(archive)
        if src is None:
            src = self.open_files[archive] = archive.open("rb")
        src.seek(offset)
        left = length
        while left:
            chunk = src.read(min(CHUNK, left))
            if not chunk:
                raise BuildError(f"archive {archive.name} is truncated",
                                 code=Code.BuildCacheCorrupt,
                                 hint="build again: the damaged entry is dropped")
            out.write(chunk)
            left -= len(chunk)

    def close(self) -> None:
        for fh in self.open_files.values():
            fh.close()


def _deflate(entry: Entry, level: int) -> tuple[int, int, list[bytes]]:
    """crc, size and the deflated chunks of an ``open``/``data`` entry."""
    comp = zlib.compressobj(level, zlib.DEFLATED, -15)
    crc = 0
    size = 0
    chunks: list[bytes] = []
    if entry.data is not None:
        crc, size = zlib.crc32(entry.data), len(entry.data)
        chunks.append(comp.compress(entry.data))
    else:
        assert entry.open is not None
        with entry.open() as src:
            while chunk := src.read(CHUNK):
                size += len(chunk)
                crc = zlib.crc32(chunk, crc)
                chunks.append(comp.compress(chunk))
    chunks.append(comp.flush())
    return crc, size, chunks


class _Span:
    """Adjacent members of one archive written here, copied header and all in one go."""

    def __init__(self) -> None:
        self.archive: Path | None = None
        self.start = 0       # source offset of the first local header
        self.end = 0         # source offset just past the last member's data
        self.length = 0      # bytes pending

    def joins(self, raw: RawSource) -> bool:
        return self.length > 0 and raw.archive == self.archive and raw.header_offset == self.end

    def add(self, raw: RawSource) -> None:
        assert raw.header_offset is not None
        if self.length == 0:
            self.archive, self.start = raw.archive, raw.header_offset
        self.end = raw.data_offset + raw.compress_size
        self.length = self.end - self.start

    def flush(self, out: _Out, sources: _Sources) -> None:
        if self.length:
            assert self.archive is not None
            sources.copy_span(out, self.archive, self.start, self.length)
            self.length = 0


def write_zip(entries: Iterable[Entry], out_path: Path, *, comment: bytes = b"",
              level: int = COMPRESS_LEVEL) -> ZipSummary:
    """Write ``entries`` (sorted here; names must be unique) to ``out_path``."""
    ordered = sorted(entries, key=lambda e: e.name)
    for a, b in itertools.pairwise(ordered):
        if a.name == b.name:
            raise BuildError(f"two files would be packaged as '{a.name}'", code=Code.BuildFailed)
    out_path = Path(out_path)
    tmp = out_path.with_name(out_path.name + ".part")
    central: list[bytes] = []
    unzipped = 0
    sources = _Sources()
    span = _Span()
    try:
        with tmp.open("wb") as fh:
            out = _Out(fh)
            for entry in ordered:
                name = entry.name.encode("utf-8")
                flags = 0x800 if not entry.name.isascii() else 0
                raw = entry.raw
                own = raw is not None and raw.header_offset is not None
                if not (own and raw is not None and span.joins(raw)):
                    span.flush(out, sources)
                offset = out.pos + span.length
                if offset >= _U32:
                    raise BuildError("the package is over 4 GB", code=Code.PackageTooLarge)
                chunks: list[bytes] = []
                if raw is not None:
                    crc, size, csize, method = raw.crc, entry.size, raw.compress_size, raw.method
                elif entry.size == 0 and entry.data is None:
                    crc, size, csize, method = 0, 0, 0, zipfile.ZIP_STORED
                else:
                    crc, size, chunks = _deflate(entry, level)
                    csize, method = sum(len(c) for c in chunks), zipfile.ZIP_DEFLATED
                if size >= _U32 or csize >= _U32:
                    raise BuildError(f"'{entry.name}' is over 4 GB", code=Code.PackageTooLarge)
                if own and raw is not None:
                    # written here before: its local header is the one this loop would
                    # write, so it joins the run of adjacent members copied as they are
                    span.add(raw)
                else:
                    out.write(_LOCAL.pack(0x04034B50, 20, flags, method, DOS_TIME_MIDNIGHT,
                                          DOS_DATE_1980_01_01, crc, csize, size, len(name), 0))
                    out.write(name)
                    if raw is not None:
                        sources.copy(out, raw)
                    for chunk in chunks:
                        out.write(chunk)
                mode = (stat.S_IFREG | (0o755 if entry.executable else 0o644)) << 16
                central.append(_CENTRAL.pack(0x02014B50, _MADE_BY_UNIX, 20, flags, method,
                                             DOS_TIME_MIDNIGHT, DOS_DATE_1980_01_01, crc, csize,
                                             size, len(name), 0, 0, 0, 0, mode, offset) + name)
                unzipped += size
            span.flush(out, sources)
            cd_offset = out.pos
            for record in central:
                out.write(record)
            cd_size = out.pos - cd_offset
            count = len(central)
            if count >= _U16 or cd_offset >= _U32:
                eocd64_offset = out.pos
                out.write(_EOCD64.pack(0x06064B50, _EOCD64.size - 12, _MADE_BY_UNIX, 45, 0, 0,
                                       count, count, cd_size, cd_offset))
                out.write(_EOCD64_LOCATOR.pack(0x07064B50, 0, eocd64_offset, 1))
            out.write(_EOCD.pack(0x06054B50, 0, 0, min(count, _U16), min(count, _U16),
                                 min(cd_size, _U32), min(cd_offset, _U32), len(comment)))
            out.write(comment)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        sources.close()
    os.replace(tmp, out_path)
    return ZipSummary(out_path, out.pos, out.digest.hexdigest(), unzipped, count)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def zip_directory(root: Path, out_path: Path,
                  skip: Callable[[str], bool] | None = None) -> ZipSummary:
    """Deterministic zip of a folder (what the examples and tests use)."""
    return write_zip(dir_entries(root, skip=skip), out_path)
