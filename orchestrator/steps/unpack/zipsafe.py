"""Safe extraction of an uploaded app zip into a directory.

Every entry is checked before a byte is written: a name that is not clean UTF-8 or
contains control characters or backslashes, a ``..`` component, an absolute or
drive-letter path, a symlink entry, an encrypted entry, entries whose data overlap
(a "zip bomb" built from shared data, CVE-2024-0450), more entries than allowed.
While streaming, bytes actually written are counted (header sizes can be forged) and
extraction stops as soon as the total cap or a compression ratio limit is passed.

Names policy (documented in docs): spaces, ``+``, and any printable Unicode are
accepted; control characters, backslashes, NUL, components longer than 255 bytes,
names that are not valid UTF-8, duplicate names, and a file that is also used as a
directory are refused with ``ZipBadFileName``.

This module writes only under ``dest``, never follows or creates links, and never
runs anything it extracts. Memory stays bounded: data is copied in chunks.
``lift_single_folder`` then moves the contents of a zip that holds just the app's
folder up to ``dest``, renaming within it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from orchestrator.codes import Code
from orchestrator.errors import ZipError
from orchestrator.limits import LAMBDA_UNZIPPED_BYTES, UNPACK_MAX_ENTRIES

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_MAGIC = b"PK\x03\x04"
_EMPTY_MAGIC = b"PK\x05\x06"
_SPANNED_MAGIC = b"PK\x07\x08"
_ENCRYPTED_FLAG = 0x1
_AES_METHOD = 99


@dataclass(frozen=True)
class UnpackLimits:
    """Caps applied while extracting. Ratios apply once an entry (or the whole
    archive) has produced more than ``ratio_floor_bytes``, so small, very compressible
    files (an empty ``__init__.py`` padded with spaces) do not trip them."""

    max_entries: int = UNPACK_MAX_ENTRIES
    max_total_bytes: int = LAMBDA_UNZIPPED_BYTES
    max_entry_ratio: float = 200.0
    max_total_ratio: float = 100.0
    ratio_floor_bytes: int = 2 * 1024 * 1024
    chunk_size: int = 64 * 1024


@dataclass
class UnpackResult:
    """What was extracted: relative POSIX paths of the files, and bytes written."""

    files: list[str] = field(default_factory=list)
    bytes_written: int = 0
    directories: int = 0


def _fail(code: Code, message: str, hint: str | None = None, **details: object) -> ZipError:
    return ZipError(message, code=code, hint=hint, details=dict(details) or None)


def _raw_name(info: zipfile.ZipInfo) -> bytes:
    if info.flag_bits & 0x800:
        return info.filename.encode("utf-8")
    try:
        return info.orig_filename.encode("cp437")
    except UnicodeEncodeError:
        return info.orig_filename.encode("utf-8", "surrogateescape")


def clean_name(info: zipfile.ZipInfo) -> PurePosixPath:
    """The entry's path relative to the destination, or a ZipError saying why not."""
    raw = _raw_name(info)
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail(Code.ZipBadFileName,
                    f"entry name {raw!r} is not valid UTF-8",
                    "re-create the zip with a tool that stores UTF-8 file names") from None
    shown = name.encode("unicode_escape").decode("ascii")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        raise _fail(Code.ZipBadFileName, f"entry name '{shown}' contains control characters",
                    "rename the file")
    if "\\" in name:
        raise _fail(Code.ZipBadFileName,
                    f"entry name '{shown}' contains a backslash",
                    "zip with '/' as the path separator: Windows PowerShell 5.1's "
                    "Compress-Archive writes '\\'; PowerShell 7, `tar -a -c -f app.zip *` "
                    "or Python's zipfile write '/'")
    if name.startswith("/") or (len(name) >= 2 and name[1] == ":" and name[0].isalpha()):
        raise _fail(Code.ZipAbsolutePath, f"entry '{shown}' has an absolute path",
                    "store paths relative to the app root")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _fail(Code.ZipUnsafePath, f"entry '{shown}' climbs out of the app folder with '..'",
                    "store paths relative to the app root, without '..'")
    for part in parts:
        if len(part.encode("utf-8")) > 255:
            raise _fail(Code.ZipBadFileName,
                        f"entry '{shown[:80]}…' has a name part over 255 bytes",
                        "shorten the file name")
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return info.create_system == 3 and stat.S_ISLNK(mode)


def _is_executable(info: zipfile.ZipInfo) -> bool:
    return bool((info.external_attr >> 16) & 0o111) and info.create_system == 3


def _check_overlaps(fp: zipfile.ZipFile, infos: list[zipfile.ZipInfo], archive: Path,
                    source: BinaryIO | None = None) -> None:
    """Refuse entries whose local header + data overlap another entry or the central
    directory: the trick behind non-recursive zip bombs. Reads only local headers."""
    start_dir = int(getattr(fp, "start_dir", _size(archive, source)))
    spans: list[tuple[int, int, str]] = []
    with contextlib.ExitStack() as stack:
        raw = source if source is not None else stack.enter_context(archive.open("rb"))
        for info in infos:
            raw.seek(info.header_offset)
            header = raw.read(_LOCAL_HEADER.size)
            if len(header) < _LOCAL_HEADER.size or header[:4] != _LOCAL_MAGIC:
                raise _fail(Code.ZipCorrupt, f"entry '{info.filename}' has no local header",
                            "the file is damaged or truncated; upload it again")
            fields = _LOCAL_HEADER.unpack(header)
            data_start = info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10]
            spans.append((info.header_offset, data_start + info.compress_size, info.filename))
    spans.sort()
    for (start, end, name), nxt in zip(spans, [*spans[1:], (start_dir, start_dir, "")],
                                       strict=True):
        if end > nxt[0] or start >= start_dir:
            other = f"entry {nxt[2]!r}" if nxt[2] else "the central directory"
            raise _fail(Code.ZipBomb, f"entry '{name}' overlaps {other}",
                        "zips whose entries share data are refused (possible zip bomb)")


def _size(zip_path: Path, source: BinaryIO | None) -> int:
    return os.fstat(source.fileno()).st_size if source is not None else zip_path.stat().st_size


def _open(zip_path: Path, source: BinaryIO | None = None) -> zipfile.ZipFile:
    try:
        size = _size(zip_path, source)
    except OSError as exc:
        raise _fail(Code.ZipNotAZip, f"cannot read {zip_path.name}: {exc.strerror}") from exc
    if size == 0:
        raise _fail(Code.ZipEmpty, f"{zip_path.name} is an empty file", "upload a zip of your app")
    if source is not None:
        source.seek(0)
        head = source.read(4)
        source.seek(0)
    else:
        with zip_path.open("rb") as fh:
            head = fh.read(4)
    try:
        return zipfile.ZipFile(source if source is not None else zip_path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        if head in (_LOCAL_MAGIC, _EMPTY_MAGIC, _SPANNED_MAGIC):
            raise _fail(Code.ZipCorrupt, f"{zip_path.name} is a damaged or truncated zip ({exc})",
                        "upload the complete file again") from exc
        raise _fail(Code.ZipNotAZip, f"{zip_path.name} is not a zip archive",
                    "upload a .zip file (zip -r app.zip . inside the app folder)") from exc


def _preflight(fp: zipfile.ZipFile, zip_path: Path, limits: UnpackLimits,
               source: BinaryIO | None = None) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    infos = fp.infolist()
    if len(infos) > limits.max_entries:
        raise _fail(Code.ZipTooManyEntries,
                    f"the zip has {len(infos)} entries, more than the limit of "
                    f"{limits.max_entries}",
                    "remove files the function does not need")
    if not any(not i.is_dir() for i in infos):
        raise _fail(Code.ZipEmpty, f"{zip_path.name} contains no files", "add your app's files")
    plan: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    seen: dict[PurePosixPath, bool] = {}
    for info in infos:
        if info.flag_bits & _ENCRYPTED_FLAG or info.compress_type == _AES_METHOD:
            raise _fail(Code.ZipEncrypted, f"entry '{info.filename}' is encrypted",
                        "upload the zip without a password")
        if _is_symlink(info):
            raise _fail(Code.ZipLinkEntry, f"entry '{info.filename}' is a symbolic link",
                        "replace links with the files they point to")
        rel = clean_name(info)
        is_dir = info.is_dir()
        if rel == PurePosixPath("."):
            if is_dir:
                continue
            raise _fail(Code.ZipBadFileName, f"entry '{info.filename}' has no file name")
        if rel in seen and not (is_dir and seen[rel]):
            raise _fail(Code.ZipBadFileName, f"entry '{rel}' appears twice in the zip",
                        "each path may appear once")
        seen[rel] = is_dir
        plan.append((info, rel))
    for rel in seen:
        for parent in rel.parents:
            if seen.get(parent) is False:
                raise _fail(Code.ZipBadFileName, f"'{parent}' is both a file and a folder",
                            "rename one of them")
    _check_overlaps(fp, [i for i, _ in plan], zip_path, source)
    return plan


def _safe_target(root: Path, rel: PurePosixPath) -> Path:
    target = root.joinpath(*rel.parts)
    resolved = target.resolve(strict=False)
    if not resolved.is_relative_to(root):
        raise _fail(Code.ZipUnsafePath, f"entry '{rel}' resolves outside the destination")
    return target


def unpack_zip(zip_path: Path, dest: Path, limits: UnpackLimits = UnpackLimits(), *,
               source: BinaryIO | None = None) -> UnpackResult:
    """Extract ``zip_path`` into ``dest`` or raise ZipError with a stable code.

    ``source``, when given, is the archive already opened (a file a jail wrote, opened
    without following links): it is read instead of the path, which then only names it.
    On failure nothing extracted so far is left behind in ``dest``."""
    zip_path = Path(zip_path)
    dest = Path(dest)
    created_dest = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    before = set(os.listdir(root))
    result = UnpackResult()
    try:
        with _open(zip_path, source) as fp:
            plan = _preflight(fp, zip_path, limits, source)
            archive_size = max(_size(zip_path, source), 1)
            for info, rel in plan:
                target = _safe_target(root, rel)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    result.directories += 1
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                _safe_target(root, rel)  # parents exist now: re-check nothing redirects
                result.bytes_written += _extract_one(fp, info, target, result.bytes_written,
                                                     archive_size, limits)
                result.files.append(rel.as_posix())
    except BaseException:
        _cleanup(root, before, created_dest)
        raise
    return result


def _extract_one(fp: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, total_before: int,
                 archive_size: int, limits: UnpackLimits) -> int:
    mode = 0o755 if _is_executable(info) else 0o644
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(target, flags, mode)
    except FileExistsError:
        raise _fail(Code.ZipBadFileName, f"entry '{info.filename}' would overwrite another entry",
                    "each path may appear once") from None
    except (IsADirectoryError, NotADirectoryError):
        raise _fail(Code.ZipBadFileName,
                    f"'{info.filename}' clashes with a folder of that name") from None
    written = 0
    entry_cap = max(limits.ratio_floor_bytes,
                    int(max(info.compress_size, 1) * limits.max_entry_ratio))
    total_cap = max(limits.ratio_floor_bytes, int(archive_size * limits.max_total_ratio))
    try:
        with os.fdopen(fd, "wb") as out, fp.open(info) as src:
            while True:
                chunk = src.read(limits.chunk_size)
                if not chunk:
                    break
                written += len(chunk)
                total = total_before + written
                if total > limits.max_total_bytes:
                    raise _fail(Code.ZipTooLarge,
                                f"the app unzips to more than {limits.max_total_bytes:,} bytes "
                                f"(stopped at '{info.filename}')",
                                "Lambda allows 250 MB unzipped: remove large files or dependencies",
                                bytes_written=total)
                if written > entry_cap or total > total_cap:
                    raise _fail(Code.ZipBomb,
                                f"entry '{info.filename}' expands more than "
                                f"{limits.max_entry_ratio:g}x its compressed size "
                                "(or the archive more than "
                                f"{limits.max_total_ratio:g}x)",
                                "this looks like a zip bomb; remove padding or huge blank files",
                                bytes_written=total)
                out.write(chunk)
    except ZipError:
        raise
    except NotImplementedError as exc:
        raise _fail(Code.ZipCorrupt, f"entry '{info.filename}': {exc}",
                    "use deflate or store compression") from exc
    except RuntimeError as exc:  # zipfile raises this for a password-protected entry
        raise _fail(Code.ZipEncrypted, f"entry '{info.filename}' is encrypted: {exc}") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, struct.error) as exc:
        text = str(exc)
        code = Code.ZipBomb if "zip bomb" in text.lower() else Code.ZipCorrupt
        raise _fail(code, f"entry '{info.filename}' cannot be read: {text}",
                    "the file is damaged or truncated; upload it again") from exc
    return written


def _cleanup(root: Path, before: set[str], created_dest: bool) -> None:
    if created_dest:
        shutil.rmtree(root, ignore_errors=True)
        return
    with contextlib.suppress(OSError):
        for name in set(os.listdir(root)) - before:
            path = root / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


# Left by macOS's "Compress" beside the folder it zipped; never part of an app.
_FINDER_JUNK = ("__MACOSX", ".DS_Store")


# Folders that mean something at an app's root, so a zip holding only one is not lifted.
_ROOT_FOLDERS = ("vendor", ".chalice")


def lift_single_folder(dest: Path, keep_at_root: tuple[str, ...] = _ROOT_FOLDERS) -> str | None:
    """A zip made by compressing the app's folder (macOS "Compress", Windows "Send to",
    `zip -r app.zip app/`) holds that one folder: move its contents up to ``dest`` so the
    app's root is where the code is, and return the folder's name. Nothing moves when
    ``dest`` holds anything else (a file, a second folder, one of ``keep_at_root``)
    besides Finder's leftovers, which stay where they are. Moves only within ``dest``."""
    entries = [p for p in dest.iterdir() if not _junk(p.name)]
    if (len(entries) != 1 or not entries[0].is_dir() or entries[0].is_symlink()
            or entries[0].name in keep_at_root):
        return None
    folder = entries[0]
    staging = dest / f".lift-{os.getpid()}-{folder.name}"
    folder.rename(staging)
    for child in staging.iterdir():
        if (dest / child.name).exists():  # only a leftover can be: never overwrite
            continue
        child.rename(dest / child.name)
    shutil.rmtree(staging)  # empty, or only leftovers
    return folder.name


def _junk(name: str) -> bool:
    return name in _FINDER_JUNK or name.startswith("._")
