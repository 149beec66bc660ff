"""A worker SIGKILLed while a rollout bakes: the job was parked (its message waits in
SQS as a fresh delayed copy, its wake-up time in the record), so another worker resumes
it on time, the rollout finishes, and nothing reaches the DLQ."""

from __future__ import annotations

import signal

import pytest

from tests.chaos.conftest import ChaosStack
from tests.chaos.harness import app_zip

pytestmark = pytest.mark.slow

BAKE_SECONDS = 8
CANARY = ("[deploy]\nstrategy = 'canary'\n"
          f"steps = [{{ weight = 0.5, bake_seconds = {BAKE_SECONDS} }}]\nrecheck = false\n")
# A bake longer than this parks the job (the default is 5 s; 2 s keeps the test short).
ENV = {"AUTO_LAMBDA_PARK_AFTER": "2"}


def _zip(version: int) -> bytes:
    toml = ("[function]\nname = 'bake'\nruntime = 'python3.11'\ntimeout = 5\n"
            "[verify]\nevent = { n = 1 }\n"
            f"expect = {{ app = 'bake', n = 2 }}\n[function.environment]\nV = '{version}'\n"
            + CANARY)
    return app_zip("bake", {"auto-lambda.toml": toml})


def test_a_worker_killed_during_a_bake_loses_nothing_and_resumes_on_time(
        stack: ChaosStack) -> None:
    first = stack.start_worker(env=ENV)
    stack.upload("bake.zip", _zip(1))
    stack.wait_for("v1 live", lambda: stack.settled(1), timeout=60)
    assert stack.live_version("bake") == "1"

    stack.upload("bake.zip", _zip(2))

    def baking() -> bool:
        jobs = [j for j in stack.jobs() if j.state == "baking"]
        return bool(jobs) and jobs[0].lease_owner is None
    stack.wait_for("v2 parked in its bake", baking, timeout=60)
    job = next(j for j in stack.jobs() if j.state == "baking")
    due = float(job.snapshot["wait_until"])
    first.signal(signal.SIGKILL)
    assert first.wait(timeout=10) == -signal.SIGKILL

    stack.start_worker(env=ENV)
    stack.wait_for("the rollout to end", lambda: stack.settled(2), timeout=60)
    done = stack.store.get(job.job_id)
    assert done is not None and done.state == "verified", (done and done.error, stack.logs())
    assert stack.live_version("bake") == "2"
    history = list(stack.store.history(done))
    woke = [e for e in history if e["type"] == "WaitStateExited"]
    assert len(woke) == 1 and woke[0]["details"]["due"] == due
    # on time: when the parked message came back (1 s receive wait, a poll's latency)
    assert 0 <= woke[0]["time"] - due < 4, woke[0]["time"] - due
    # nothing ran twice, nothing was lost or dead-lettered
    assert sum(1 for e in history if e["type"] == "TaskStarted"
               and e["state"] == "shifting") == 1
    assert stack.dlq_depth() == 0 and stack.queue_depth() == 0
