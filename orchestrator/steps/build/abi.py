"""Checks that native code in a package can load on the Lambda target.

Reads ELF files by hand (no external tools): the class (64-bit), the machine (x86_64
= 62, AArch64 = 183), and the glibc symbol versions they need, from the
``.gnu.version_r`` section (SHT_GNU_verneed) or, for section-stripped files, from the
dynamic segment's DT_VERNEED. Also checks CPython extension-module file names
(``.cpython-312-x86_64-linux-gnu.so``) and the tags in every ``*.dist-info/WHEEL``.

Raises ``AbiMismatch`` (wrong machine, 32-bit, not ELF, wrong Python or platform tag)
or ``GlibcTooNew`` (needs a GLIBC_x.y newer than the runtime's OS offers). Reads only
headers and version tables; never loads or runs anything.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from orchestrator.codes import Code
from orchestrator.errors import BuildError
from orchestrator.steps.build.target import Target

ELF_MAGIC = b"\x7fELF"
MACHINE_NAMES = {3: "x86 (32-bit)", 8: "MIPS", 20: "PowerPC", 21: "PowerPC64", 22: "S390",
                 40: "ARM (32-bit)", 62: "x86_64", 183: "AArch64", 243: "RISC-V"}
_SHT_GNU_VERNEED = 0x6FFFFFFE
_DT_STRTAB = 5
_DT_VERNEED = 0x6FFFFFFE
_DT_VERNEEDNUM = 0x6FFFFFFF
_PT_LOAD = 1
_PT_DYNAMIC = 2
_GLIBC_RE = re.compile(r"^GLIBC_(\d+)\.(\d+)(?:\.\d+)?$")
_EXT_RE = re.compile(r"\.cpython-(?P<ver>\d+)-(?P<plat>[A-Za-z0-9_]+)-(?P<os>[a-z0-9_-]+)\.so$")
_MAX_ITEMS = 4096


class ElfError(ValueError):
    """The bytes are not a well-formed ELF file."""


@dataclass
class ElfInfo:
    elf_class: int
    machine: int
    elf_type: int
    version_needs: dict[str, list[str]] = field(default_factory=dict)

    @property
    def glibc_needed(self) -> tuple[int, int] | None:
        best: tuple[int, int] | None = None
        for names in self.version_needs.values():
            for name in names:
                m = _GLIBC_RE.match(name)
                if m:
                    ver = (int(m.group(1)), int(m.group(2)))
                    best = ver if best is None or ver > best else best
        return best


class _Reader:
    def __init__(self, fh: BinaryIO, little: bool, is64: bool) -> None:
        self.fh = fh
        self.end = "<" if little else ">"
        self.is64 = is64
        self.size = fh.seek(0, os.SEEK_END)

    def unpack(self, fmt: str, offset: int) -> tuple[int, ...]:
        st = struct.Struct(self.end + fmt)
        if offset < 0 or offset + st.size > self.size:
            raise ElfError("a table points outside the file")
        self.fh.seek(offset)
        return st.unpack(self.fh.read(st.size))

    def cstring(self, offset: int, limit: int = 256) -> str:
        if offset < 0 or offset >= self.size:
            raise ElfError("a string points outside the file")
        self.fh.seek(offset)
        data = self.fh.read(limit)
        return data.split(b"\0", 1)[0].decode("ascii", errors="replace")


def _verneed(r: _Reader, offset: int, count: int, strtab: int) -> dict[str, list[str]]:
    needs: dict[str, list[str]] = {}
    pos = offset
    for _ in range(min(count, _MAX_ITEMS)):
        _ver, cnt, file_off, aux, nxt = r.unpack("HHIII", pos)
        names = needs.setdefault(r.cstring(strtab + file_off), [])
        apos = pos + aux
        for _ in range(min(cnt, _MAX_ITEMS)):
            _hash, _flags, _other, name_off, anext = r.unpack("IHHII", apos)
            names.append(r.cstring(strtab + name_off))
            if anext == 0:
                break
            apos += anext
        if nxt == 0:
            break
        pos += nxt
    return needs


def _from_sections(r: _Reader, shoff: int, shentsize: int,
                   shnum: int) -> dict[str, list[str]] | None:
    fmt = "IIQQQQIIQQ" if r.is64 else "IIIIIIIIII"
    headers = [r.unpack(fmt, shoff + i * shentsize) for i in range(min(shnum, _MAX_ITEMS))]
    for sh in headers:
        if sh[1] == _SHT_GNU_VERNEED:
            link = sh[6]
            if link >= len(headers):
                raise ElfError("version section links to a missing string table")
            return _verneed(r, sh[4], sh[7], headers[link][4])
    return None


def _from_dynamic(r: _Reader, phoff: int, phentsize: int, phnum: int) -> dict[str, list[str]]:
    fmt = "IIQQQQQQ" if r.is64 else "IIIIIIII"
    loads: list[tuple[int, int, int]] = []
    dynamic: tuple[int, int] | None = None
    for i in range(min(phnum, _MAX_ITEMS)):
        ph = r.unpack(fmt, phoff + i * phentsize)
        if r.is64:
            p_type, p_offset, p_vaddr, p_filesz = ph[0], ph[2], ph[3], ph[5]
        else:
            p_type, p_offset, p_vaddr, p_filesz = ph[0], ph[1], ph[2], ph[4]
        if p_type == _PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == _PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return {}

    def to_offset(addr: int) -> int:
        for vaddr, off, size in loads:
            if vaddr <= addr < vaddr + size:
                return addr - vaddr + off
        raise ElfError("a dynamic address is outside every loaded segment")

    tags: dict[int, int] = {}
    entry = "qQ" if r.is64 else "iI"
    step = 16 if r.is64 else 8
    for pos in range(dynamic[0], dynamic[0] + min(dynamic[1], _MAX_ITEMS * step), step):
        tag, val = r.unpack(entry, pos)
        if tag == 0:
            break
        tags[tag] = val
    if _DT_VERNEED not in tags or _DT_STRTAB not in tags:
        return {}
    return _verneed(r, to_offset(tags[_DT_VERNEED]), tags.get(_DT_VERNEEDNUM, 0),
                    to_offset(tags[_DT_STRTAB]))


def read_elf(fh: BinaryIO) -> ElfInfo:
    """Parse an ELF file's header and version needs; raise ElfError if malformed."""
    fh.seek(0)
    ident = fh.read(16)
    if len(ident) < 16 or ident[:4] != ELF_MAGIC:
        raise ElfError("not an ELF file")
    elf_class, data = ident[4], ident[5]
    if elf_class not in (1, 2) or data not in (1, 2):
        raise ElfError("unknown ELF class or byte order")
    r = _Reader(fh, little=data == 1, is64=elf_class == 2)
    if r.is64:
        (e_type, machine, _v, _entry, phoff, shoff, _flags, _eh, phentsize, phnum,
         shentsize, shnum, _shstrndx) = r.unpack("HHIQQQIHHHHHH", 16)
    else:
        (e_type, machine, _v, _entry, phoff, shoff, _flags, _eh, phentsize, phnum,
         shentsize, shnum, _shstrndx) = r.unpack("HHIIIIIHHHHHH", 16)
    info = ElfInfo(elf_class=32 if elf_class == 1 else 64, machine=machine, elf_type=e_type)
    needs = None
    if shoff and shnum and shentsize:
        needs = _from_sections(r, shoff, shentsize, shnum)
    if needs is None and phoff and phnum and phentsize:
        needs = _from_dynamic(r, phoff, phentsize, phnum)
    info.version_needs = needs or {}
    return info


def read_elf_path(path: Path) -> ElfInfo:
    with Path(path).open("rb") as fh:
        return read_elf(fh)


@dataclass
class AbiReport:
    """What the scan saw: ELF files checked and the newest glibc any of them needs."""

    elf_files: int = 0
    newest_glibc: tuple[int, int] | None = None
    wheels: int = 0

    def to_dict(self) -> dict[str, object]:
        glibc = "%d.%d" % self.newest_glibc if self.newest_glibc else None  # noqa: UP031
        return {"elf_files": self.elf_files, "newest_glibc": glibc, "wheels": self.wheels}


def _looks_like_so(name: str) -> bool:
    return name.endswith(".so") or ".so." in name


def looks_like_so(name: str) -> bool:
    """A file name the dynamic loader would open: ``x.so`` or ``x.so.1.2``."""
    return _looks_like_so(name.rsplit("/", 1)[-1])


def check_file(path: Path, rel: str, target: Target, report: AbiReport) -> None:
    """Check one file; raise AbiMismatch or GlibcTooNew."""
    with path.open("rb") as fh:
        check_stream(fh, rel, target, report)


def check_stream(fh: BinaryIO, rel: str, target: Target, report: AbiReport) -> None:
    """Check one file's bytes (seekable, from its start); raise AbiMismatch or GlibcTooNew."""
    name = rel.rsplit("/", 1)[-1]
    magic = fh.read(4)
    if magic != ELF_MAGIC:
        if _looks_like_so(name) and magic:
            raise _mismatch(rel, "is not a Linux ELF shared library (built for another OS?)",
                            target)
        return
    try:
        info = read_elf(fh)
    except (ElfError, struct.error) as exc:
        raise _mismatch(rel, f"is a malformed ELF file ({exc})", target) from exc
    if info.elf_type not in (2, 3):  # executables and shared objects only
        return
    report.elf_files += 1
    if info.elf_class != 64 or info.machine != target.elf_machine:
        got = MACHINE_NAMES.get(info.machine, f"machine {info.machine}")
        if info.elf_class != 64:
            got += " 32-bit"
        raise _mismatch(rel, f"is built for {got}, not {target.architecture}", target)
    glibc = info.glibc_needed
    if glibc is not None:
        if report.newest_glibc is None or glibc > report.newest_glibc:
            report.newest_glibc = glibc
        if glibc > target.glibc:
            raise BuildError(
                f"{rel} needs GLIBC_{glibc[0]}.{glibc[1]}, but {target.runtime} runs on "
                f"{target.os_name} with glibc {target.glibc_text}",
                code=Code.GlibcTooNew,
                hint=("use a wheel tagged manylinux_2_"
                      f"{target.glibc[1]} or older (rebuild it on an older distribution), "
                      "or choose a runtime on a newer OS (python3.12+ has glibc 2.34)"),
                details={"file": rel, "needs": f"{glibc[0]}.{glibc[1]}",
                         "has": target.glibc_text})
    m = _EXT_RE.search(name)
    if m:
        ver, plat, osname = m.group("ver"), m.group("plat"), m.group("os")
        if ver != target.python_nodot or plat != target.pip_arch or osname != "linux-gnu":
            raise _mismatch(rel, f"is an extension module for cpython-{ver}-{plat}-{osname}, "
                                 f"not cpython-{target.python_nodot}-{target.pip_arch}-linux-gnu",
                            target)


def _mismatch(rel: str, what: str, target: Target) -> BuildError:
    return BuildError(f"{rel} {what}", code=Code.AbiMismatch,
                      hint=f"install a wheel built for {target.runtime} on "
                           f"{target.architecture} Linux (manylinux), or remove the file",
                      details={"file": rel})


def wheel_tags(wheel_text: str) -> list[str]:
    """The ``Tag:`` values of a ``.dist-info/WHEEL`` file."""
    return [line.split(":", 1)[1].strip() for line in wheel_text.splitlines()
            if line.startswith("Tag:")]


def tags_fit(tags: list[str], target: Target) -> bool:
    """Whether any of a wheel's tags (``cp312-cp312-manylinux_2_28_x86_64``) fits."""
    for tag in tags:
        parts = tag.split("-")
        if len(parts) != 3:
            continue
        for python_tag in parts[0].split("."):
            for abi in parts[1].split("."):
                if target.python_fits(python_tag, abi) and any(
                        target.platform_fits(p) for p in parts[2].split(".")):
                    return True
    return False


def check_tags(tags: list[str], where: str, target: Target) -> None:
    """AbiMismatch unless one of ``tags`` fits the target (no tags: nothing to check)."""
    if tags and not tags_fit(tags, target):
        raise _mismatch(where,
                        f"comes from a wheel tagged {', '.join(tags)}, which does not fit "
                        f"cp{target.python_nodot} {target.pip_arch} glibc {target.glibc_text}",
                        target)


def check_wheel_tags(dist_info: Path, target: Target, prefix: str = "") -> None:
    wheel = dist_info / "WHEEL"
    if not wheel.is_file():
        return
    check_tags(wheel_tags(wheel.read_text("utf-8", errors="replace")), prefix + dist_info.name,
               target)


def scan_tree(root: Path, target: Target, prefix: str = "",
              skip: Callable[[str], bool] | None = None) -> AbiReport:
    """Check every file under ``root``; names in errors are ``prefix + relative path``."""
    root = Path(root)
    report = AbiReport()
    for dist_info in sorted(root.glob("*.dist-info")):
        report.wheels += 1
        check_wheel_tags(dist_info, target, prefix)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for fname in sorted(filenames):
            path = Path(dirpath) / fname
            rel = path.relative_to(root).as_posix()
            if (skip is not None and skip(rel)) or path.is_symlink() or not path.is_file():
                continue
            check_file(path, prefix + rel, target, report)
    return report
