"""SIGTERM in the middle of a build: the worker exits 0 within its drain deadline, hands
the job back, and another worker finishes it."""

from __future__ import annotations

import signal

import pytest

from tests.chaos.conftest import ChaosStack, Figures, app_zip, task_starts
from tests.fault_hooks import fired

pytestmark = pytest.mark.slow


def _sleeping(stack: ChaosStack) -> bool:
    return any(f["action"] == "sleep" for f in fired(stack.fault_dir))


@pytest.mark.parametrize(("sleep", "drain", "builds"), [
    (3, 20, 1),   # the build finishes within the drain: the job resumes at "built"
    (60, 1, 2),   # it does not: the interruption is persisted and the build reruns
], ids=["step-finishes", "deadline-passes"])
def test_sigterm_during_build_hands_the_job_over(stack: ChaosStack, figures: Figures,
                                                 sleep: int, drain: int, builds: int) -> None:
    stack.upload("term.zip", app_zip("term"))
    first = stack.start_worker(drain=drain,
                               env={"AUTO_LAMBDA_FAULTS": f"during:build=sleep:{sleep}"})
    stack.wait_for("the build to be under way", lambda: _sleeping(stack), timeout=60)
    first.signal(signal.SIGTERM)
    assert first.wait(timeout=drain + 15) == 0, first.tail()

    job = stack.job_for("term.zip")
    assert not job.is_terminal and job.lease_owner is None
    if builds == 2:
        timed_out = [e for e in job.history if e["type"] == "TaskTimedOut"]
        assert timed_out and "shut down" in str(timed_out[-1]["cause"]), job.history[-5:]
    else:
        assert job.state == "built", job.state

    stack.start_worker()
    stack.wait_for("the job to end", lambda: stack.settled(1), timeout=60)
    job = stack.job_for("term.zip")
    assert job.state == "verified", (job.error, stack.logs())
    assert task_starts(job)["unpacked"] == builds  # "unpacked" runs the build
    assert task_starts(job)["received"] == 1
    assert stack.published_versions("term") == ["1"]
    assert stack.dlq_depth() == 0
    figures.add("sigterm", jobs_run=1, sigterm_drains=1,
                jobs_lost=0 if job.state == "verified" else 1,
                duplicate_deployments=len(stack.published_versions("term")) - 1)


def test_a_second_sigterm_exits_at_once_and_loses_nothing(stack: ChaosStack,
                                                          figures: Figures) -> None:
    stack.upload("twice.zip", app_zip("twice"))
    first = stack.start_worker(drain=60, env={"AUTO_LAMBDA_FAULTS": "during:build=sleep:60"})
    stack.wait_for("the build to be under way", lambda: _sleeping(stack), timeout=60)
    first.signal(signal.SIGTERM)
    # Pending signals coalesce: send the second once the first was handled.
    stack.wait_for("the first signal to be handled",
                   lambda: "stopping; running steps" in first.log_path.read_text(), timeout=15)
    first.signal(signal.SIGTERM)
    assert first.wait(timeout=15) == 128 + signal.SIGTERM, first.tail()

    stack.start_worker()  # the lease and the message expire on their own
    stack.wait_for("the job to end", lambda: stack.settled(1), timeout=60)
    job = stack.job_for("twice.zip")
    assert job.state == "verified", (job.error, stack.logs())
    assert task_starts(job)["unpacked"] == 2 and task_starts(job)["received"] == 1
    assert stack.published_versions("twice") == ["1"]
    figures.add("sigterm-twice", jobs_run=1, sigterm_drains=1, jobs_lost=0,
                duplicate_deployments=len(stack.published_versions("twice")) - 1)
