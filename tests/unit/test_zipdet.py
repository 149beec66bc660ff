"""Deterministic zips: same files, same bytes; fixed times and modes; raw copies of
cached members give the same archive as compressing again."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from auto_lambda_dev.examples import example_dirs, zip_example
from orchestrator.steps.build.zipdet import (
    Entry,
    dir_entries,
    raw_entries,
    write_zip,
    zip_directory,
)


def populate(root: Path, mtime: int) -> Path:
    files = {"app.py": b"print('hi')\n" * 50, "pkg/__init__.py": b"", "pkg/data.bin":
             os.urandom(3000), "z/last.txt": b"z", "run.sh": b"#!/bin/sh\necho\n",
             "ünï code+x.py": b"x = 1\n"}
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (mtime, mtime))
    (root / "run.sh").chmod(0o700)
    (root / "app.py").chmod(0o600)
    return root


def test_same_input_identical_bytes(tmp_path: Path) -> None:
    a = populate(tmp_path / "a", 1_000_000)
    b = tmp_path / "b"
    # Same content, different times, permissions and creation order.
    for path in sorted(a.rglob("*"), reverse=True):
        if path.is_file():
            target = b / path.relative_to(a)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
            target.chmod(0o755 if os.access(path, os.X_OK) else 0o664)
    first = zip_directory(a, tmp_path / "1.zip")
    second = zip_directory(b, tmp_path / "2.zip")
    assert first.sha256 == second.sha256
    assert (tmp_path / "1.zip").read_bytes() == (tmp_path / "2.zip").read_bytes()


def test_different_content_different_bytes(tmp_path: Path) -> None:
    a = populate(tmp_path / "a", 1)
    first = zip_directory(a, tmp_path / "1.zip")
    (a / "z" / "last.txt").write_bytes(b"y")
    assert zip_directory(a, tmp_path / "2.zip").sha256 != first.sha256


def test_entries_sorted_fixed_time_and_modes(tmp_path: Path) -> None:
    root = populate(tmp_path / "a", 1_700_000_000)
    summary = zip_directory(root, tmp_path / "out.zip")
    with zipfile.ZipFile(summary.path) as zf:
        assert zf.testzip() is None
        infos = zf.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in infos}
        assert modes["run.sh"] == 0o755 and modes["app.py"] == 0o644
        assert zf.read("ünï code+x.py") == b"x = 1\n"
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in infos if i.file_size)
    assert summary.count == 6
    assert summary.unzipped_size == sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def test_raw_copy_equals_recompression(tmp_path: Path) -> None:
    root = populate(tmp_path / "a", 5)
    cached = zip_directory(root, tmp_path / "cached.zip", skip=lambda rel: rel == "app.py")
    app_only = [e for e in dir_entries(root) if e.name == "app.py"]
    merged = write_zip(raw_entries(cached.path) + app_only, tmp_path / "merged.zip")
    fresh = zip_directory(root, tmp_path / "fresh.zip")
    assert merged.sha256 == fresh.sha256


@pytest.mark.slow  # a fresh interpreter or a large archive: not in `make check`
def test_many_entries_use_zip64_end_records(tmp_path: Path) -> None:
    entries = [Entry(f"f{i:05d}", 0, open=lambda: io.BytesIO(b"")) for i in range(70_000)]
    summary = write_zip(entries, tmp_path / "many.zip")
    with zipfile.ZipFile(summary.path) as zf:
        assert len(zf.infolist()) == 70_000


def test_examples_zip_deterministically(tmp_path: Path) -> None:
    for path in example_dirs():
        one = zip_example(path, tmp_path / "one")
        two = zip_example(path, tmp_path / "two")
        assert one.read_bytes() == two.read_bytes()
        with zipfile.ZipFile(one) as zf:
            assert not any("__pycache__" in n for n in zf.namelist())
