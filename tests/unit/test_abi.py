"""ELF machine and glibc-version checks on hand-made ELF bytes and on shared objects
compiled here with gcc (skipped when gcc is missing)."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from orchestrator.errors import BuildError
from orchestrator.steps.build.abi import read_elf, read_elf_path, scan_tree
from orchestrator.steps.build.target import Target

X86_64, AARCH64 = 62, 183
PY312_X86 = Target("python3.12", "x86_64")
PY311_X86 = Target("python3.11", "x86_64")
PY312_ARM = Target("python3.12", "arm64")


def make_elf(machine: int = X86_64, glibc: tuple[str, ...] = ("GLIBC_2.17",),
             elf_class: int = 64, little: bool = True) -> bytes:
    """A minimal ET_DYN ELF with .dynstr and .gnu.version_r sections needing ``glibc``."""
    e = "<" if little else ">"
    if elf_class == 32:
        ident = b"\x7fELF" + bytes([1, 1 if little else 2, 1]) + b"\0" * 9
        return ident + struct.pack(e + "HHIIIIIHHHHHH", 3, machine, 1, 0, 0, 0, 0, 52, 0, 0,
                                   0, 0, 0)
    strtab = b"\0libc.so.6\0" + b"".join(v.encode() + b"\0" for v in glibc)
    name_offsets, pos = [], len(b"\0libc.so.6\0")
    for v in glibc:
        name_offsets.append(pos)
        pos += len(v) + 1
    strtab_off = 64
    verneed_off = strtab_off + len(strtab) + (-len(strtab) % 8)
    verneed = struct.pack(e + "HHIII", 1, len(glibc), 1, 16, 0)
    for i, off in enumerate(name_offsets):
        nxt = 16 if i < len(glibc) - 1 else 0
        verneed += struct.pack(e + "IHHII", 0, 0, 2 + i, off, nxt)
    sh_off = verneed_off + len(verneed)
    shdr = struct.Struct(e + "IIQQQQIIQQ")
    sections = (shdr.pack(0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
                + shdr.pack(0, 3, 0, 0, strtab_off, len(strtab), 0, 0, 1, 0)
                + shdr.pack(0, 0x6FFFFFFE, 0, 0, verneed_off, len(verneed), 1, 1, 8, 0))
    ident = b"\x7fELF" + bytes([2, 1 if little else 2, 1]) + b"\0" * 9
    header = ident + struct.pack(e + "HHIQQQIHHHHHH", 3, machine, 1, 0, 0, sh_off, 0, 64, 0, 0,
                                 shdr.size, 3, 0)
    body = strtab + b"\0" * (verneed_off - strtab_off - len(strtab)) + verneed
    return header + body + sections


def test_reads_machine_and_glibc_needs() -> None:
    info = read_elf(io.BytesIO(make_elf(AARCH64, ("GLIBC_2.17", "GLIBC_2.28", "GLIBC_2.2.5"))))
    assert info.machine == AARCH64 and info.elf_class == 64
    assert info.version_needs == {"libc.so.6": ["GLIBC_2.17", "GLIBC_2.28", "GLIBC_2.2.5"]}
    assert info.glibc_needed == (2, 28)


def test_reads_big_endian() -> None:
    info = read_elf(io.BytesIO(make_elf(X86_64, ("GLIBC_2.34",), little=False)))
    assert info.glibc_needed == (2, 34)


def tree(tmp_path: Path, files: dict[str, bytes]) -> Path:
    root = tmp_path / "pkg"
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def code(root: Path, target: Target) -> str:
    with pytest.raises(BuildError) as info:
        scan_tree(root, target)
    assert str(info.value)
    return info.value.code


def test_wrong_machine_is_abi_mismatch(tmp_path: Path) -> None:
    root = tree(tmp_path, {"lib/fast.so": make_elf(AARCH64)})
    assert code(root, PY312_X86) == "AbiMismatch"
    assert scan_tree(root, PY312_ARM).elf_files == 1


def test_32_bit_and_non_elf_shared_objects_are_abi_mismatch(tmp_path: Path) -> None:
    assert code(tree(tmp_path / "a", {"x.so": make_elf(3, elf_class=32)}), PY312_X86) == \
        "AbiMismatch"
    mach_o = b"\xcf\xfa\xed\xfe" + b"\0" * 60
    assert code(tree(tmp_path / "b", {"x.so": mach_o}), PY312_X86) == "AbiMismatch"


def test_glibc_limits_follow_the_runtimes_os(tmp_path: Path) -> None:
    root = tree(tmp_path, {"m.so": make_elf(X86_64, ("GLIBC_2.17", "GLIBC_2.28"))})
    assert scan_tree(root, PY312_X86).newest_glibc == (2, 28)  # AL2023: glibc 2.34
    assert code(root, PY311_X86) == "GlibcTooNew"  # AL2: glibc 2.26
    newer = tree(tmp_path / "n", {"m.so.1": make_elf(X86_64, ("GLIBC_2.35",))})
    assert code(newer, PY312_X86) == "GlibcTooNew"


def test_extension_module_for_another_python(tmp_path: Path) -> None:
    root = tree(tmp_path, {"mod.cpython-311-x86_64-linux-gnu.so": make_elf()})
    assert code(root, PY312_X86) == "AbiMismatch"
    assert scan_tree(root, PY311_X86).elf_files == 1
    abi3 = tree(tmp_path / "abi3", {"mod.abi3.so": make_elf()})
    assert scan_tree(abi3, PY312_X86).elf_files == 1


def test_wheel_tags(tmp_path: Path) -> None:
    root = tree(tmp_path, {"numpy-2.3.0.dist-info/WHEEL":
                           b"Wheel-Version: 1.0\nTag: cp312-cp312-manylinux_2_27_x86_64\n"
                           b"Tag: cp312-cp312-manylinux_2_28_x86_64\n"})
    assert scan_tree(root, PY312_X86).wheels == 1
    assert code(root, PY311_X86) == "AbiMismatch"
    assert code(root, PY312_ARM) == "AbiMismatch"
    pure = tree(tmp_path / "p",
                {"six-1.0.dist-info/WHEEL": b"Tag: py2-none-any\nTag: py3-none-any\n"})
    assert scan_tree(pure, PY311_X86).wheels == 1


def test_platform_tags_offered_to_pip() -> None:
    assert "manylinux_2_28_x86_64" in PY312_X86.platform_tags()
    assert "manylinux_2_34_x86_64" in PY312_X86.platform_tags()
    assert "manylinux_2_28_x86_64" not in PY311_X86.platform_tags()
    assert PY312_ARM.platform_tags()[-1] == "manylinux2014_aarch64"


def test_malformed_elf_is_refused(tmp_path: Path) -> None:
    data = bytearray(make_elf())
    struct.pack_into("<Q", data, 40, 10**12)  # section headers far beyond the end
    assert code(tree(tmp_path, {"bad.so": bytes(data)}), PY312_X86) == "AbiMismatch"


GCC = shutil.which("gcc")


def compile_so(tmp_path: Path, body: str, name: str = "lib.so") -> Path:
    src = tmp_path / "lib.c"
    src.write_text(body)
    out = tmp_path / name
    subprocess.run([GCC or "gcc", "-shared", "-fPIC", "-O0", "-o", str(out), str(src)],
                   check=True, capture_output=True)
    return out


@pytest.mark.skipif(GCC is None, reason="gcc is not installed")
def test_compiled_shared_objects(tmp_path: Path) -> None:
    old = compile_so(tmp_path, "#include <string.h>\nsize_t f(const char *s){return strlen(s);}\n",
                     "old.so")
    assert read_elf_path(old).machine == X86_64
    assert read_elf_path(old).glibc_needed is not None
    assert read_elf_path(old).glibc_needed <= (2, 17)  # type: ignore[operator]
    # arc4random appeared in glibc 2.36: too new for every Lambda runtime.
    new = compile_so(tmp_path, "#include <stdlib.h>\nunsigned f(void){return arc4random();}\n",
                     "new.so")
    needed = read_elf_path(new).glibc_needed
    if needed is None or needed < (2, 36):
        pytest.skip("this glibc has no arc4random")
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    shutil.copy(new, vendor / "libnew.so")
    assert code(vendor, PY312_X86) == "GlibcTooNew"


@pytest.mark.skipif(GCC is None, reason="gcc is not installed")
def test_section_stripped_file_read_from_dynamic_segment(tmp_path: Path) -> None:
    so = compile_so(tmp_path, "#include <stdlib.h>\nunsigned f(void){return arc4random();}\n")
    data = bytearray(so.read_bytes())
    with_sections = read_elf(io.BytesIO(bytes(data))).glibc_needed
    struct.pack_into("<Q", data, 40, 0)  # e_shoff
    struct.pack_into("<H", data, 60, 0)  # e_shnum
    assert read_elf(io.BytesIO(bytes(data))).glibc_needed == with_sections is not None
