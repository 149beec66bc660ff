"""With the default lease and visibility, a job whose worker is SIGKILLed in the middle of
a step is resumed by another worker within 15 s: it records the dead worker's step as
timed out and runs it again. The figure is kept with the suite's (chaos-figures.json)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.config import DEFAULT_LEASE_SECONDS
from tests.chaos.conftest import ChaosStack, Figures, app_zip, task_starts
from tests.chaos.harness import start_stack, stop_stack
from tests.fault_hooks import fired

pytestmark = pytest.mark.slow

LIMIT_SECONDS = 15.0


@pytest.fixture
def default_stack(tmp_path: Path, aws_env: None) -> Iterator[ChaosStack]:
    stack = start_stack(tmp_path, {"AUTO_LAMBDA_FAULTS": "before:build=sleep:600"},
                        lease_seconds=None, visibility_seconds=None)
    try:
        yield stack
    finally:
        stop_stack(stack)


def test_a_job_whose_worker_is_killed_mid_step_resumes_elsewhere_within_15_s(
        default_stack: ChaosStack, figures: Figures) -> None:
    stack = default_stack
    assert "AUTO_LAMBDA_LEASE_SECONDS" not in stack.env  # the shipped defaults
    first, second = stack.start_worker(), stack.start_worker()
    stack.upload("takeover.zip", app_zip("takeover"))

    def building() -> dict[str, object] | None:
        return next((f for f in fired(stack.fault_dir) if f["action"] == "sleep"), None)

    firing = stack.wait_for("the build to be under way", building, timeout=60)
    victim = first if first.pid == firing["pid"] else second
    victim.proc.send_signal(signal.SIGKILL)
    killed_at = time.time()
    assert victim.wait(timeout=10) == -signal.SIGKILL

    def resumed() -> float | None:
        job = stack.job_for("takeover.zip")
        late = [float(e["time"]) for e in job.history
                if e["type"] == "TaskTimedOut" and float(e["time"]) >= killed_at]
        return min(late) if late else None

    took = stack.wait_for("another worker to resume the job", resumed,
                          timeout=LIMIT_SECONDS + 30) - killed_at
    stack.wait_for("the job to end", lambda: stack.settled(1), timeout=60)
    job = stack.job_for("takeover.zip")
    assert job.state == "verified", (job.error, stack.logs())
    assert task_starts(job)["unpacked"] == 2 and task_starts(job)["received"] == 1
    assert stack.published_versions("takeover") == ["1"] and stack.dlq_depth() == 0
    figures.add("takeover", jobs_run=1, kills=1, jobs_lost=0, duplicate_deployments=0)
    figures.measure("takeover", seconds_kill_to_resume=round(took, 2),
                    lease_seconds=DEFAULT_LEASE_SECONDS)
    assert took <= LIMIT_SECONDS, f"resumed {took:.1f} s after the kill"
