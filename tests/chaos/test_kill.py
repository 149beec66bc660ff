"""SIGKILL a worker at every state boundary and inside every step: after restarts every
job ends verified exactly once, resumed from its last persisted state."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.chaos.conftest import ChaosStack, Figures, app_zip, task_starts
from tests.chaos.harness import DEPLOYMENT_KILL_POINTS, PIPELINE, KilledWorkers
from tests.fault_hooks import fired

pytestmark = pytest.mark.slow

STATE_OF_STEP = {step: state for state, step in PIPELINE.items()}
STEPS = tuple(STATE_OF_STEP)
POINTS = DEPLOYMENT_KILL_POINTS


def _app(point: str) -> str:
    return "k-" + point.replace(":", "-")


def test_sigkill_at_every_boundary_and_inside_every_step(stack: ChaosStack,
                                                         figures: Figures) -> None:
    rules = ";".join(f"{p}=kill/{_app(p)}.zip" for p in POINTS)
    env = {"AUTO_LAMBDA_FAULTS": rules}
    for point in POINTS:
        stack.upload(f"{_app(point)}.zip", app_zip(_app(point)))
    workers = KilledWorkers(stack, env)
    stack.wait_for("every job to settle", lambda: stack.settled(len(POINTS)), timeout=150,
                   tick=workers.supervise, interval=0.3)
    kills = [f for f in fired(stack.fault_dir) if f["action"] == "kill"]
    assert sorted(str(f["point"]) for f in kills) == sorted(POINTS)  # each fired once

    jobs = stack.jobs()
    assert sorted(j.key for j in jobs) == sorted(f"{_app(p)}.zip" for p in POINTS)
    duplicates = 0
    for point in POINTS:
        app = _app(point)
        job = stack.job_for(f"{app}.zip")
        assert job.state == "verified", (point, job.error, stack.logs())
        versions = stack.published_versions(app)
        duplicates += len(versions) - 1
        assert versions == ["1"], (point, versions)
        assert job.published_version == "1" and stack.live_version(app) == "1"
        starts = task_starts(job)
        when, _, where = point.partition(":")
        rerun = STATE_OF_STEP[where] if when in ("during", "before") else None
        expected = Counter({STATE_OF_STEP[s]: 1 for s in STEPS})
        if rerun:
            expected[rerun] = 2
        # Resumed where it was: only the interrupted step ran twice, none before it.
        assert starts == expected, (point, starts)
        assert sum(1 for e in job.history if e["type"] == "ExecutionStarted") == 1
    assert stack.dlq_depth() == 0
    figures.add("kill", jobs_run=len(jobs), kills=len(kills), worker_restarts=workers.restarts,
                jobs_lost=sum(1 for j in jobs if j.state != "verified"),
                duplicate_deployments=duplicates)
