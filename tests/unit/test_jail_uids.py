"""Each running jail of a root worker gets its own user id, so the kernel's per-user
process limit is per jail: one upload's fork bomb cannot starve another's build."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.errors import ConfigError, SandboxUnavailable
from orchestrator.steps.jail.settings import JailSettings
from orchestrator.steps.jail.uids import UidPool

HOLD = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


def test_running_jails_never_share_a_uid_and_a_released_one_comes_back(tmp_path: Path) -> None:
    pool = UidPool(500_000, 3, lock_dir=tmp_path)
    leases = [pool.acquire() for _ in range(3)]
    assert sorted(lease.uid for lease in leases) == [500_000, 500_001, 500_002]
    with pytest.raises(SandboxUnavailable, match="all 3 jail user ids"):
        pool.acquire()
    leases[1].release()
    leases[1].release()  # twice is harmless
    assert pool.acquire().uid == leases[1].uid


def test_a_uid_held_by_another_process_on_the_host_is_skipped(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "600000.lock")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        pool = UidPool(600_000, 2, lock_dir=tmp_path)
        assert [pool.acquire().uid for _ in range(1)] == [600_001]
        with pytest.raises(SandboxUnavailable):
            pool.acquire()
    finally:
        holder.kill()
        holder.wait()
    # the holder died: its uid is free again, crash or not
    assert UidPool(600_000, 1, lock_dir=tmp_path).acquire().uid == 600_000


def test_the_uid_range_is_read_from_the_environment() -> None:
    settings = JailSettings.from_env({"AUTO_LAMBDA_JAIL_UID": "300000",
                                      "AUTO_LAMBDA_JAIL_UID_COUNT": "8"})
    assert (settings.jail_uid, settings.jail_uid_count) == (300_000, 8)
    assert JailSettings.from_env({}).jail_uid_count == 256
    for bad in ({"AUTO_LAMBDA_JAIL_UID_COUNT": "0"}, {"AUTO_LAMBDA_JAIL_UID": "x"}):
        with pytest.raises(ConfigError):
            JailSettings.from_env(bad)
