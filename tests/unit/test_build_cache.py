"""The build cache: entries checked against the digest its index recorded (a changed
or unknown file is a miss, and removed), least-recently-used eviction to a size bound,
remembered resolutions that age out unless pinned, and S3 entries checked on download."""

from __future__ import annotations

import os
from pathlib import Path

from moto import mock_aws

from orchestrator.aws.facade import Aws
from orchestrator.config import Settings
from orchestrator.steps.build.cache import BuildCache, S3RemoteCache
from orchestrator.steps.build.zipdet import Entry
from tests.fakes import FakeClock


def entries(size: int) -> list[Entry]:
    data = os.urandom(size)  # incompressible: the entry is about ``size`` bytes
    return [Entry("pkg/blob.bin", len(data), data=data)]


def test_an_entry_changed_after_it_was_stored_is_dropped(tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "c")
    put = cache.put("deps", "k1", entries(1000), {"installed": [["pkg", "1"]]})
    assert cache.get("deps", "k1") is not None
    data = bytearray(put.path.read_bytes())
    data[40] ^= 0xFF  # one flipped bit inside the stored member
    put.path.write_bytes(bytes(data))
    assert cache.get("deps", "k1") is None
    assert not put.path.exists()
    assert cache.total_bytes() == 0


def test_a_file_the_index_does_not_know_is_a_miss(tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "c")
    cache.put("deps", "k1", entries(10), {})
    planted = cache.path("deps", "k2")
    planted.write_bytes(cache.path("deps", "k1").read_bytes())
    assert cache.get("deps", "k2") is None


def test_least_recently_used_entries_go_first(tmp_path: Path) -> None:
    clock = FakeClock(1000.0)
    cache = BuildCache(tmp_path / "c", max_bytes=25_000, clock=clock)
    for key in ("a", "b", "c"):
        clock.sleep(1)
        cache.put("deps", key, entries(10_000), {})
    # three ~10 KB entries in a 25 KB cache: the oldest ("a") went when "c" came in
    assert cache.get("deps", "a") is None
    clock.sleep(1)
    assert cache.get("deps", "b") is not None  # "b" is now the most recently used
    clock.sleep(1)
    cache.put("deps", "d", entries(10_000), {})
    assert cache.get("deps", "c") is None and cache.get("deps", "b") is not None
    assert cache.total_bytes() <= 25_000
    assert sorted(p.name for p in (tmp_path / "c" / "deps").glob("*.zip")) == ["b.zip", "d.zip"]


def test_an_entry_larger_than_the_bound_is_kept_for_its_build(tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "c", max_bytes=1_000)
    put = cache.put("deps", "big", entries(5_000), {})
    assert put.path.exists() and cache.get("deps", "big") is not None


def test_remembered_resolutions_age_out_unless_pinned(tmp_path: Path) -> None:
    clock = FakeClock(0.0)
    cache = BuildCache(tmp_path / "c", resolution_ttl=100.0, clock=clock)
    cache.remember("loose", {"deps_key": "x", "pinned": False})
    cache.remember("pinned", {"deps_key": "y", "pinned": True})
    clock.sleep(99)
    assert cache.resolution("loose") == {"deps_key": "x", "pinned": False}
    clock.sleep(2)
    assert cache.resolution("loose") is None
    assert cache.resolution("pinned") == {"deps_key": "y", "pinned": True}


def test_remote_entries_are_checked_against_their_recorded_digest(tmp_path: Path) -> None:
    with mock_aws():
        aws = Aws(Settings())
        bucket = aws.settings.artifacts_bucket
        aws.s3.create_bucket(Bucket=bucket)
        first = BuildCache(tmp_path / "one", S3RemoteCache(aws))
        put = first.put("deps", "k" * 64, entries(500), {"installed": [["pkg", "1"]]})
        head = aws.s3.head_object(Bucket=bucket, Key=f"cache/{'k' * 64}.zip")
        assert head["Metadata"]["sha256"]
        second = BuildCache(tmp_path / "two", S3RemoteCache(aws))
        got = second.get("deps", "k" * 64)
        assert got is not None and got.source == "remote"
        assert got.path.read_bytes() == put.path.read_bytes()
        # an object replaced behind the cache's back no longer matches its digest
        aws.s3.put_object(Bucket=bucket, Key=f"cache/{'m' * 64}.zip",
                          Body=put.path.read_bytes(), Metadata={"sha256": "0" * 64})
        assert BuildCache(tmp_path / "three", S3RemoteCache(aws)).get("deps", "m" * 64) is None


def test_an_index_of_another_version_or_unreadable_starts_afresh(tmp_path: Path) -> None:
    import sqlite3

    root = tmp_path / "c"
    cache = BuildCache(root)
    cache.put("deps", "k1", entries(100), {})
    with sqlite3.connect(root / "index.sqlite") as db:
        db.execute("PRAGMA user_version = 1")
    again = BuildCache(root)
    assert again.get("deps", "k1") is None and not list((root / "deps").glob("*.zip"))
    again.put("deps", "k2", entries(100), {})
    assert BuildCache(root).get("deps", "k2") is not None
    (root / "index.sqlite").write_bytes(b"not a database at all" * 100)
    third = BuildCache(root)
    assert third.get("deps", "k2") is None
    assert third.put("deps", "k3", entries(100), {}).path.exists()
    assert BuildCache(root).get("deps", "k3") is not None
