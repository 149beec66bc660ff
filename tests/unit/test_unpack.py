"""Hostile and broken zips: each is refused with its own code, nothing lands outside
the destination, nothing half-extracted is left behind, and bombs stop early."""

from __future__ import annotations

import io
import os
import stat
import struct
import warnings
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest

from orchestrator.errors import ZipError
from orchestrator.steps.unpack.zipsafe import UnpackLimits, unpack_zip


def make_zip(path: Path, entries: Iterable[tuple[str | zipfile.ZipInfo, bytes]],
             compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on duplicate names
        with zipfile.ZipFile(path, "w", compression) as zf:
            for name, data in entries:
                zf.writestr(name, data)
    return path


def all_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() or p.is_symlink()}


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """(zip path, dest) with dest nested so escapes would land in tmp_path."""
    (tmp_path / "in").mkdir()
    return tmp_path / "in" / "app.zip", tmp_path / "out" / "nested" / "dest"


def expect_code(zip_path: Path, dest: Path, code: str, limits: UnpackLimits | None = None
                ) -> ZipError:
    with pytest.raises(ZipError) as info:
        unpack_zip(zip_path, dest, limits or UnpackLimits())
    assert info.value.code == code, str(info.value)
    assert str(info.value)  # a message for the user
    root = zip_path.parent.parent
    leftovers = all_files(root) - {zip_path}
    assert leftovers == set(), f"files left behind: {leftovers}"
    return info.value


def test_extracts_a_normal_app_with_modes_and_counts(layout: tuple[Path, Path]) -> None:
    zip_path, dest = layout
    run = zipfile.ZipInfo("bin/run.sh")
    run.create_system = 3
    run.external_attr = (stat.S_IFREG | 0o755) << 16
    code = b"def handler(e, c):\n    return 1\n"
    make_zip(zip_path, [("app.py", code), (run, b"#!/bin/sh\n"),
                        ("pkg/", b""), ("pkg/__init__.py", b"")])
    result = unpack_zip(zip_path, dest)
    assert sorted(result.files) == ["app.py", "bin/run.sh", "pkg/__init__.py"]
    assert result.bytes_written == len(code) + 10
    assert (dest / "app.py").read_bytes() == code
    assert (dest / "bin/run.sh").stat().st_mode & 0o777 == 0o755
    assert (dest / "app.py").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("name", ["../evil.py", "a/../../evil.py", "ok/../../../etc/passwd"])
def test_traversal_is_refused(layout: tuple[Path, Path], name: str) -> None:
    zip_path, dest = layout
    make_zip(zip_path, [("app.py", b"x"), (name, b"owned")])
    expect_code(zip_path, dest, "ZipUnsafePath")


@pytest.mark.parametrize("name", ["/etc/evil.py", "C:/evil.py", "//server/share.py"])
def test_absolute_paths_are_refused(layout: tuple[Path, Path], name: str) -> None:
    zip_path, dest = layout
    make_zip(zip_path, [("app.py", b"x"), (name, b"owned")])
    expect_code(zip_path, dest, "ZipAbsolutePath")


def test_symlink_entry_is_refused(layout: tuple[Path, Path]) -> None:
    zip_path, dest = layout
    link = zipfile.ZipInfo("lib")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    make_zip(zip_path, [("app.py", b"x"), (link, b"/etc")])
    expect_code(zip_path, dest, "ZipLinkEntry")


def test_existing_symlink_in_dest_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "lib").symlink_to(outside)
    zip_path = make_zip(tmp_path / "a.zip", [("lib/x.py", b"owned")])
    with pytest.raises(ZipError) as info:
        unpack_zip(zip_path, dest)
    assert info.value.code == "ZipUnsafePath"
    assert list(outside.iterdir()) == []


def test_ratio_bomb_stops_early(layout: tuple[Path, Path]) -> None:
    zip_path, dest = layout
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf, \
            zf.open("zeros.bin", "w", force_zip64=True) as fh:
        block = b"\0" * (1024 * 1024)
        for _ in range(64):
            fh.write(block)
    assert zip_path.stat().st_size < 200_000
    err = expect_code(zip_path, dest, "ZipBomb")
    assert "zeros.bin" in str(err)


def test_ratio_bomb_writes_little_before_stopping(tmp_path: Path) -> None:
    zip_path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("z", "w") as fh:
        for _ in range(32):
            fh.write(b"\0" * (1024 * 1024))
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    limits = UnpackLimits(ratio_floor_bytes=1024 * 1024)
    with pytest.raises(ZipError) as info:
        unpack_zip(zip_path, dest, limits)
    assert info.value.code == "ZipBomb"
    compressed = zipfile.ZipFile(zip_path).getinfo("z").compress_size
    cap = max(limits.ratio_floor_bytes, compressed * limits.max_entry_ratio)
    written = int(info.value.details["bytes_written"])
    assert written <= cap + limits.chunk_size < 32 * 1024 * 1024 // 4
    # The partial file is removed; what existed before stays.
    assert sorted(p.name for p in dest.iterdir()) == ["keep.txt"]


def _overlapping_zip(path: Path) -> Path:
    """Two central-directory records pointing at the same local entry."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.txt", b"A" * 10_000)
    data = buf.getvalue()
    cd_start = data.index(b"PK\x01\x02")
    eocd_start = data.index(b"PK\x05\x06")
    central = data[cd_start:eocd_start]
    twin = central.replace(b"a.txt", b"b.txt")
    new_cd = central + twin
    eocd = bytearray(data[eocd_start:])
    struct.pack_into("<HHII", eocd, 8, 2, 2, len(new_cd), cd_start)
    path.write_bytes(data[:cd_start] + new_cd + bytes(eocd))
    return path


def test_overlapping_entries_are_a_bomb(layout: tuple[Path, Path]) -> None:
    zip_path, dest = layout
    _overlapping_zip(zip_path)
    expect_code(zip_path, dest, "ZipBomb")


def test_total_cap_counts_bytes_written(layout: tuple[Path, Path]) -> None:
    zip_path, dest = layout
    make_zip(zip_path, [(f"f{i}.bin", os.urandom(400_000)) for i in range(4)])
    limits = UnpackLimits(max_total_bytes=1_000_000)
    err = expect_code(zip_path, dest, "ZipTooLarge", limits)
    assert "f2.bin" in str(err)  # stopped in the third file, not after the fourth


def test_default_total_cap_is_lambdas_250_mb() -> None:
    assert UnpackLimits().max_total_bytes == 262_144_000
    assert UnpackLimits().max_entries == 10_000


def test_too_many_entries(layout: tuple[Path, Path]) -> None:
    zip_path, dest = layout
    make_zip(zip_path, [(f"f{i}.py", b"") for i in range(10_001)], zipfile.ZIP_STORED)
    expect_code(zip_path, dest, "ZipTooManyEntries")


def test_encrypted_flag_is_refused(layout: tuple[Path, Path]) -> None:
    zip_path, dest = layout
    make_zip(zip_path, [("app.py", b"secret")], zipfile.ZIP_STORED)
    data = bytearray(zip_path.read_bytes())
    data[6] |= 0x1  # general purpose flag of the local header
    data[data.index(b"PK\x01\x02") + 8] |= 0x1  # and of the central directory record
    zip_path.write_bytes(bytes(data))
    expect_code(zip_path, dest, "ZipEncrypted")


def test_not_a_zip(layout: tuple[Path, Path]) -> None:
    zip_path, dest = layout
    zip_path.write_text("def handler(event, context): pass\n")
    expect_code(zip_path, dest, "ZipNotAZip")


def test_truncated_zip_is_corrupt(layout: tuple[Path, Path]) -> None:
    zip_path, dest = layout
    make_zip(zip_path, [("app.py", os.urandom(5000))])
    data = zip_path.read_bytes()
    zip_path.write_bytes(data[: len(data) // 2])
    expect_code(zip_path, dest, "ZipCorrupt")


def test_damaged_data_is_corrupt(layout: tuple[Path, Path]) -> None:
    zip_path, dest = layout
    make_zip(zip_path, [("app.py", b"print('hello')\n" * 200)])
    data = bytearray(zip_path.read_bytes())
    start = 30 + len("app.py")
    for i in range(start + 5, start + 25):
        data[i] ^= 0xFF
    zip_path.write_bytes(bytes(data))
    expect_code(zip_path, dest, "ZipCorrupt")


def test_empty_file_and_empty_zip(layout: tuple[Path, Path]) -> None:
    zip_path, dest = layout
    zip_path.write_bytes(b"")
    expect_code(zip_path, dest, "ZipEmpty")
    make_zip(zip_path, [])
    expect_code(zip_path, dest, "ZipEmpty")
    make_zip(zip_path, [("only/", b""), ("dirs/", b"")])
    expect_code(zip_path, dest, "ZipEmpty")


def test_non_utf8_name_is_refused(layout: tuple[Path, Path]) -> None:
    zip_path, dest = layout
    make_zip(zip_path, [("cafX.py", b"x")], zipfile.ZIP_STORED)
    zip_path.write_bytes(zip_path.read_bytes().replace(b"cafX", b"caf\xe9"))
    expect_code(zip_path, dest, "ZipBadFileName")


@pytest.mark.parametrize("name", ["a\x01b.py", "dir\\app.py", "x\x7f.py", "a" * 300 + ".py"])
def test_odd_names_are_refused(layout: tuple[Path, Path], name: str) -> None:
    zip_path, dest = layout
    make_zip(zip_path, [("app.py", b"x"), (name, b"x")])
    expect_code(zip_path, dest, "ZipBadFileName")


def test_duplicate_and_clashing_names_are_refused(layout: tuple[Path, Path]) -> None:
    zip_path, dest = layout
    make_zip(zip_path, [("app.py", b"1"), ("app.py", b"2")])
    expect_code(zip_path, dest, "ZipBadFileName")
    make_zip(zip_path, [("lib", b"file"), ("lib/x.py", b"x")])
    expect_code(zip_path, dest, "ZipBadFileName")


def test_odd_but_safe_names_are_accepted(layout: tuple[Path, Path]) -> None:
    zip_path, dest = layout
    names = ["my app+v1 (copy).py", "dir with space/ünïcode.py", "./dotted.py", "a//b.py"]
    make_zip(zip_path, [(n, b"x") for n in names])
    result = unpack_zip(zip_path, dest)
    assert sorted(result.files) == sorted(["my app+v1 (copy).py", "dir with space/ünïcode.py",
                                           "dotted.py", "a/b.py"])
    assert (dest / "dir with space" / "ünïcode.py").read_bytes() == b"x"
