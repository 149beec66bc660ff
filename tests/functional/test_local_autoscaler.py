"""The local autoscaler against the emulator (moto in-process): a burst in the queue
makes it grow a pool and, once fake workers drain the queue, shrink it again. The
clock is injected; nothing waits for real time. Also: the process pool itself."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auto_lambda_dev.autoscaler import LocalAutoscaler, format_decision
from auto_lambda_dev.localloop import LoopStep, run_local_scaling_loop
from auto_lambda_dev.pool import ProcessPool
from checker.rule import ScalingPolicy
from checker.sources import read_in_service
from orchestrator.aws.facade import Aws
from tests.functional.conftest import emulated_group

NOW = 1_900_000_000.0
POLICY = ScalingPolicy(target=5, min_capacity=1, max_capacity=10, scale_in_window=30,
                       scale_in_cooldown=10, warmup=5)


class FakePool:
    """Remembers every size it was asked for."""

    def __init__(self, n: int = 1) -> None:
        self.n = n
        self.sizes = [n]

    def size(self) -> int:
        return self.n

    def resize(self, n: int) -> None:
        self.n = n
        self.sizes.append(n)


@pytest.fixture
def aws() -> Iterator[Aws]:
    with emulated_group(min_size=1) as client:
        yield client


def _burst(aws: Aws, count: int) -> None:
    url = aws.queue_url()
    for start in range(0, count, 10):
        batch = range(start, min(count, start + 10))
        aws.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": f"job {i}"} for i in batch])


def _work(aws: Aws, workers: int) -> None:
    """Each worker finishes one job per simulated second."""
    url = aws.queue_url()
    got = aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(10, workers),
                                  WaitTimeSeconds=0).get("Messages", [])
    if got:
        aws.sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])


def run_loop(aws: Aws, pool: FakePool, max_ticks: int, **options: Any) -> list[LoopStep]:
    """The local scaling loop on a fake clock, the workers taking one message each per
    second of it (``_work``); returns every step."""
    clock = [NOW]
    steps: list[LoopStep] = []

    def sleep(seconds: float) -> None:
        _work(aws, pool.size())
        clock[0] += max(seconds, 1.0)

    run_local_scaling_loop(aws, pool, period=1.0, clock=lambda: clock[0], sleep=sleep,
                           on_step=steps.append, max_ticks=max_ticks, **options)
    return steps


def test_burst_scales_the_pool_out_then_back_in(aws: Aws) -> None:
    _burst(aws, 60)
    pool = FakePool(1)
    steps = run_loop(aws, pool, 90, policy=POLICY)

    assert max(pool.sizes) == 10          # 60 messages / target 5 = 12, capped at max 10
    assert pool.sizes[1] == 10            # straight from 1 to the cap in one decision
    assert pool.size() == 1               # back to min once the queue is empty
    out_at = next(i for i, s in enumerate(steps) if s.decision.action == "out")
    in_at = next(i for i, s in enumerate(steps) if s.decision.action == "in")
    assert out_at == 0 and in_at > out_at
    assert steps[out_at].decision.source == "cloudwatch"
    # never scaled in while the metric was above the target
    assert all(s.decision.metric is None or s.decision.metric <= POLICY.target
               for s in steps if s.decision.action == "in")
    # the emulator group follows the pool, so the checker reads the same InService count
    assert read_in_service(aws, aws.settings.worker_group_name) == 1
    assert "workers=" in format_decision(steps[out_at].decision)


def test_without_a_checker_it_reads_the_queue(aws: Aws) -> None:
    _burst(aws, 23)
    pool = FakePool(1)
    scaler = LocalAutoscaler(aws, aws.settings, pool, POLICY, clock=lambda: NOW)
    decision = scaler.tick()
    assert decision.source == "queue"
    assert decision.desired == 5
    assert pool.size() == 5
    assert read_in_service(aws, aws.settings.worker_group_name) == 5


def test_process_pool_starts_and_stops_processes(tmp_path: Path) -> None:
    pool = ProcessPool([sys.executable, "-c", "import time; time.sleep(120)"], {"X": "1"},
                       tmp_path / "logs")
    try:
        pool.resize(3)
        assert pool.size() == 3
        first = pool.pids()
        pool.resize(1)
        assert pool.size() == 1
        assert pool.pids() == first[:1]   # the newest ones were stopped
    finally:
        pool.stop(timeout=10)
    assert pool.size() == 0 and pool.draining() == 0
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == [
        "worker-1.log", "worker-2.log", "worker-3.log"]
