"""Processor sharing on an instance's vCPUs: builds slow each other down only when more
of them compute than there are cores, and each finishes exactly when its work is done."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
import simpy

from auto_lambda_dev.sim.cpu import SharedCpu


def _finish_times(cores: int, jobs: list[tuple[float, float]]) -> list[float]:
    """Run (start, cpu seconds) jobs on one SharedCpu; when each finished."""
    env = simpy.Environment()
    cpu = SharedCpu(env, cores)
    done: list[float] = [0.0] * len(jobs)

    def job(i: int, start: float, work: float) -> Generator[Any, Any, None]:
        yield env.timeout(start)
        yield cpu.run(work)
        done[i] = float(env.now)

    for i, (start, work) in enumerate(jobs):
        env.process(job(i, start, work))
    env.run()
    return done


def test_a_build_alone_takes_its_cpu_time() -> None:
    assert _finish_times(2, [(0, 10)]) == [pytest.approx(10)]


def test_no_slowdown_while_builds_fit_the_cores() -> None:
    assert _finish_times(2, [(0, 10), (0, 10)]) == [pytest.approx(10)] * 2


def test_more_builds_than_cores_share_them_evenly() -> None:
    # Four builds of 10 CPU-seconds on two cores: each gets half a core, all end at 20.
    assert _finish_times(2, [(0, 10)] * 4) == [pytest.approx(20)] * 4


def test_rates_change_when_a_build_arrives_or_leaves() -> None:
    # One core. A (10 s of work) runs alone for 5 s, then shares with B (2 s of work):
    # both at half speed, so B ends at 5 + 4 = 9 and A, 3 s of work left at 9, at 12.
    assert _finish_times(1, [(0, 10), (5, 2)]) == [pytest.approx(12), pytest.approx(9)]


def test_no_work_finishes_at_once_and_cores_must_exist() -> None:
    assert _finish_times(1, [(3, 0)]) == [pytest.approx(3)]
    with pytest.raises(ValueError):
        SharedCpu(simpy.Environment(), 0)


def test_busy_core_seconds_add_up_to_the_work() -> None:
    env = simpy.Environment()
    cpu = SharedCpu(env, 2)
    for work in (3.0, 5.0, 7.0):
        cpu.run(work)
    env.run()
    assert cpu.busy_seconds == pytest.approx(15.0)
    assert cpu.running == 0
