"""Installing a wheel into a Lambda package without unpacking it: its members become
package entries whose compressed bytes are copied as they are (``zipdet.RawSource``).

What pip's ``--target`` install does, done on the archive: ``<name>.data/purelib`` and
``platlib`` go to the package root, ``data`` to the root as well, ``scripts`` and
``headers`` are dropped (nothing on Lambda runs them); the ``.dist-info/RECORD`` is
rewritten only when paths moved, so it still lists every installed file with its hash.
Native code is checked on the members themselves: the wheel's tags, and every shared
library or executable member's ELF header (machine, glibc versions) read from the
archive. Also reads what the builder needs later: name, version, Requires-Dist and the
top-level import names.

Names in a wheel are untrusted: absolute paths, ``..``, backslashes and NUL bytes are
refused (``WheelInvalid``), as are encrypted members. Nothing here downloads, writes
files or runs code from the wheel.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.codes import Code
from orchestrator.errors import BuildError
from orchestrator.steps.build.abi import AbiReport, check_stream, check_tags, looks_like_so
from orchestrator.steps.build.names import add_top_level
from orchestrator.steps.build.target import Target
from orchestrator.steps.build.zipdet import Entry, RawSource, local_data_offset

_DATA_TO_ROOT = ("purelib", "platlib", "data")
_DATA_DROPPED = ("scripts", "headers")


@dataclass
class WheelContent:
    """A wheel read for installation into a package."""

    name: str
    version: str
    filename: str
    entries: list[Entry]
    unzipped_size: int
    requires_dist: list[str]
    top_level: set[str]
    abi: AbiReport = field(default_factory=AbiReport)


def _invalid(filename: str, what: str) -> BuildError:
    return BuildError(f"wheel {filename} {what}", code=Code.WheelInvalid,
                      hint="the package index served a malformed wheel; pin another version "
                           "of it, or report it to its maintainers")


def _check_name(filename: str, name: str) -> None:
    if (not name or name.startswith("/") or "\\" in name or "\0" in name
            or any(part in ("..", "") for part in name.rstrip("/").split("/"))
            or re.match(r"^[A-Za-z]:", name)):
        raise _invalid(filename, f"holds a member with an unsafe name: {name!r}")


def _headers(text: str) -> list[tuple[str, str]]:
    """``Key: value`` lines of a METADATA/WHEEL file up to the first blank line."""
    out: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.strip():
            break
        if line[:1] in (" ", "\t") and out:  # a folded continuation line
            key, value = out[-1]
            out[-1] = (key, value + " " + line.strip())
            continue
        key, sep, value = line.partition(":")
        if sep:
            out.append((key.strip(), value.strip()))
    return out


def _dist_info_dir(filename: str, names: list[str]) -> str:
    tops = {n.split("/", 1)[0] for n in names if "/" in n}
    found = sorted(t for t in tops if t.endswith(".dist-info"))
    if len(found) != 1:
        raise _invalid(filename, f"has {len(found)} .dist-info folders, not one")
    return found[0]


def _record_rewrite(record: bytes, moved: dict[str, str | None]) -> bytes:
    """RECORD with moved paths renamed and dropped ones removed (hashes unchanged)."""
    rows = list(csv.reader(io.StringIO(record.decode("utf-8", errors="replace"))))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        if not row:
            continue
        path = row[0]
        if path in moved:
            new = moved[path]
            if new is None:
                continue
            row = [new, *row[1:]]
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def read_wheel(path: Path, target: Target, *, filename: str | None = None) -> WheelContent:
    """Read ``path`` (a .whl) for ``target``: entries placed as pip --target would, the
    native code checked; raise WheelInvalid, AbiMismatch or GlibcTooNew."""
    path = Path(path)
    filename = filename or path.name
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _invalid(filename, f"is not a readable zip ({exc})") from exc
    with zf, path.open("rb") as fh:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        for info in infos:
            _check_name(filename, info.filename)
            if info.flag_bits & 0x1:
                raise _invalid(filename, f"holds an encrypted member {info.filename!r}")
        dist_info = _dist_info_dir(filename, [i.filename for i in infos])
        data_dir = dist_info.removesuffix(".dist-info") + ".data"
        try:
            meta = _headers(zf.read(f"{dist_info}/METADATA").decode("utf-8", "replace"))
            wheel_text = zf.read(f"{dist_info}/WHEEL").decode("utf-8", "replace")
        except KeyError as exc:
            raise _invalid(filename, f"lacks {exc.args[0]}") from exc
        name = next((v for k, v in meta if k == "Name"), "")
        version = next((v for k, v in meta if k == "Version"), "")
        if not name or not version:
            raise _invalid(filename, "has no Name or Version in its METADATA")
        check_tags([v for k, v in _headers(wheel_text) if k == "Tag"], filename, target)

        report = AbiReport(wheels=1)
        entries: list[Entry] = []
        moved: dict[str, str | None] = {}
        top: set[str] = set()
        size = 0
        record_info: zipfile.ZipInfo | None = None
        for info in infos:
            member = info.filename
            dest: str | None = member
            if member.startswith(data_dir + "/"):
                scheme, _, rest = member[len(data_dir) + 1:].partition("/")
                if scheme in _DATA_TO_ROOT and rest:
                    dest = rest
                elif scheme in _DATA_DROPPED:
                    dest = None
                else:
                    raise _invalid(filename, f"has {member!r} in an unknown .data scheme")
                moved[member] = dest
            if dest is None:
                continue
            if member == f"{dist_info}/RECORD":
                record_info = info
                continue
            executable = bool((info.external_attr >> 16) & 0o111)
            if looks_like_so(dest) or executable:
                with zf.open(info) as member_fh:
                    check_stream(io.BytesIO(member_fh.read()), f"{filename}:{dest}", target,
                                 report)
            if info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raw = RawSource(path, local_data_offset(fh, info.header_offset),
                                info.compress_size, info.CRC, info.compress_type)
                entries.append(Entry(dest, info.file_size, executable, raw=raw))
            else:  # not allowed by the wheel format, but readable: compress it again
                entries.append(Entry(dest, info.file_size, executable,
                                     data=zf.read(info)))
            size += info.file_size
            add_top_level(dest, top)
        if record_info is not None:
            record_name = f"{dist_info}/RECORD"
            if moved:
                data = _record_rewrite(zf.read(record_info), moved)
                entries.append(Entry(record_name, len(data), data=data))
                size += len(data)
            else:
                raw = RawSource(path, local_data_offset(fh, record_info.header_offset),
                                record_info.compress_size, record_info.CRC,
                                record_info.compress_type)
                entries.append(Entry(record_name, record_info.file_size, raw=raw))
                size += record_info.file_size
    requires = [v for k, v in meta if k == "Requires-Dist"]
    return WheelContent(name=name, version=version, filename=filename, entries=entries,
                        unzipped_size=size, requires_dist=requires, top_level=top, abi=report)
