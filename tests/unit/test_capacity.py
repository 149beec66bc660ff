"""The worker's default concurrency (its job slots): from the machine's vCPUs and
memory, or AUTO_LAMBDA_WORKER_CONCURRENCY."""

from __future__ import annotations

import pytest

from orchestrator import capacity
from orchestrator.capacity import concurrency_for, default_concurrency
from orchestrator.config import Settings
from orchestrator.errors import ConfigError


@pytest.mark.parametrize(("vcpus", "memory_mb", "slots"), [
    (2, 4096, int(2 * capacity.JOBS_PER_VCPU)),   # t3.medium: CPU-bound
    (2, 1024, 1),                            # t3.micro: memory-bound
    (2, 2048, min(int(2 * capacity.JOBS_PER_VCPU), 3)),
    (8, 32768, int(8 * capacity.JOBS_PER_VCPU)),
    (1, 0, 1),                               # unknown memory: one at a time
])
def test_concurrency_follows_cpus_and_memory(vcpus: int, memory_mb: int, slots: int) -> None:
    assert concurrency_for(vcpus, memory_mb) == slots


def test_more_memory_or_cpus_never_means_fewer_slots() -> None:
    for vcpus in range(1, 9):
        for memory_mb in range(0, 20_000, 256):
            here = concurrency_for(vcpus, memory_mb)
            assert here >= 1
            assert concurrency_for(vcpus + 1, memory_mb) >= here
            assert concurrency_for(vcpus, memory_mb + 256) >= here


def test_a_configured_value_wins_over_the_machine() -> None:
    assert default_concurrency(7) == 7
    derived = default_concurrency(None)
    assert derived == concurrency_for(capacity.machine_vcpus(), capacity.machine_memory_mb())


@pytest.mark.parametrize(("raw", "expected"), [("", None), ("3", 3), (" 6 ", 6)])
def test_setting_is_read_from_the_environment(raw: str, expected: int | None) -> None:
    env = {"AUTO_LAMBDA_WORKER_CONCURRENCY": raw} if raw else {}
    assert Settings.from_env(env).worker_concurrency == expected


@pytest.mark.parametrize("raw", ["0", "-2", "four"])
def test_a_bad_setting_is_refused_with_a_hint(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"AUTO_LAMBDA_WORKER_CONCURRENCY": raw})
    assert caught.value.code == "ConfigInvalid"
    assert "AUTO_LAMBDA_WORKER_CONCURRENCY" in str(caught.value)
