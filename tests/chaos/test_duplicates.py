"""Each message delivered three times, concurrently, to three workers: one job, one
deployment and one run of every step per upload."""

from __future__ import annotations

from collections import Counter

import pytest

from orchestrator.intake.events import s3_event_body
from tests.chaos.conftest import ChaosStack, Figures, app_zip, task_starts

pytestmark = pytest.mark.slow

APPS = ("dup-a", "dup-b", "dup-c")


def test_three_deliveries_to_three_workers_deploy_once(stack: ChaosStack,
                                                       figures: Figures) -> None:
    bucket = stack.settings.incoming_bucket
    for app in APPS:
        put = stack.aws.s3.put_object(Bucket=bucket, Key=f"{app}.zip", Body=app_zip(app))
        for _ in range(2):  # S3 sent one event; two more copies of it
            stack.send(s3_event_body(bucket, f"{app}.zip", etag=put["ETag"].strip('"')))
    for _ in range(3):
        stack.start_worker(concurrency=2)

    stack.wait_for("every job to settle", lambda: stack.settled(len(APPS)), timeout=90)
    jobs = stack.jobs()
    assert sorted(j.key for j in jobs) == sorted(f"{a}.zip" for a in APPS)
    for app in APPS:
        job = stack.job_for(f"{app}.zip")
        assert job.state == "verified", (job.error, stack.logs())
        assert stack.published_versions(app) == ["1"]
        assert set(task_starts(job).values()) == {1}, task_starts(job)
        assert Counter(e["type"] for e in job.history)["ExecutionStarted"] == 1
    assert stack.dlq_depth() == 0
    assert all(w.alive() for w in stack.workers)
    figures.add("duplicates", jobs_run=len(jobs), duplicate_deliveries=2 * len(APPS),
                jobs_lost=sum(1 for j in jobs if j.state != "verified"),
                duplicate_deployments=sum(len(stack.published_versions(a)) - 1 for a in APPS))
