"""A deploy outage that outlasts the retries fails the job at "built"; ``replay --failed``
redrives it there (earlier steps not rerun). ``replay --dlq`` brings back messages that
exhausted their receives."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.chaos.conftest import ChaosStack, Figures, app_zip, task_starts

pytestmark = pytest.mark.slow


def test_deploy_outage_then_replay_failed_resumes_at_deploy(stack: ChaosStack,
                                                            figures: Figures) -> None:
    stack.upload("outage.zip", app_zip("outage"))
    # Deploy keeps failing for longer than this worker's outage deadline (1 s).
    broken = stack.start_worker(env={"AUTO_LAMBDA_FAULTS": "before:deploy=raise:AwsServerError",
                                     "AUTO_LAMBDA_OUTAGE_DEADLINE": "1s"})
    stack.wait_for("the job to fail", lambda: stack.settled(1), timeout=90)
    job = stack.job_for("outage.zip")
    assert job.state == "failed" and job.error is not None
    assert job.error["code"] == "AwsUnavailable" and job.error["state"] == "built"
    assert "AwsServerError" in str(job.error["message"])
    retried = Counter(e["type"] for e in job.history)["RetryScheduled"]
    assert retried >= 1
    broken.stop()
    stack.start_worker()  # the outage is over

    dry = stack.cli("replay", "--failed", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert job.job_id in dry.stdout and "redrive" in dry.stdout and "built" in dry.stdout
    assert stack.job_for("outage.zip").version == job.version  # the dry run wrote nothing

    done = stack.cli("replay", "--failed", "--json", "--wait", "--timeout", "90")
    assert done.returncode == 0, done.stdout + done.stderr + stack.logs()
    doc = json.loads(done.stdout)
    assert [r["ok"] for r in doc["results"]] == [True]
    assert [j["state"] for j in doc["jobs"]] == ["verified"]
    stack.wait_for("the replayed job's message to go", lambda: stack.settled(1), timeout=60)

    job = stack.job_for("outage.zip")
    assert job.state == "verified", (job.error, stack.logs())
    redriven = [e for e in job.history if e["type"] == "ExecutionRedriven"]
    assert len(redriven) == 1 and redriven[0]["details"]["redrive_count"] == 1
    assert job.redrive_count == 1
    starts = task_starts(job)
    assert (starts["received"], starts["fetched"], starts["unpacked"]) == (1, 1, 1)
    assert starts["built"] == retried + 2 and starts["deployed"] == 1
    assert stack.published_versions("outage") == ["1"]
    again = stack.cli("replay", "--failed", "--dry-run")
    assert again.returncode == 0 and "nothing to replay" in again.stdout
    figures.add("replay", jobs_run=1, replays=1, jobs_lost=0,
                duplicate_deployments=len(stack.published_versions("outage")) - 1)


@pytest.mark.parametrize("chaos_env", [{"AUTO_LAMBDA_MAX_RECEIVE_COUNT": "1"}])
def test_replay_dlq_brings_back_messages_that_exhausted_their_receives(
        stack: ChaosStack, figures: Figures, chaos_env: dict[str, str]) -> None:
    sqs, url = stack.aws.sqs, stack.info.queue_url
    sqs.purge_queue(QueueUrl=url)  # the s3:TestEvent of the notification setup
    for app in ("dlq-a", "dlq-b"):
        stack.upload(f"{app}.zip", app_zip(app))
    # Nobody acknowledges: receive until the queue has handed every message to the DLQ.
    def drained_to_dlq() -> bool:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                  WaitTimeSeconds=0)
        return "Messages" not in got and stack.dlq_depth() == 2

    stack.wait_for("both messages to reach the DLQ", drained_to_dlq, timeout=30)

    dry = stack.cli("replay", "--dlq", "--dry-run")
    assert dry.returncode == 0 and dry.stdout.count("move-dlq") == 2, dry.stdout + dry.stderr
    assert stack.dlq_depth() == 2

    moved = stack.cli("replay", "--dlq")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert stack.dlq_depth() == 0
    stack.start_worker()
    stack.wait_for("the jobs to end", lambda: stack.settled(2), timeout=60)
    for app in ("dlq-a", "dlq-b"):
        assert stack.job_for(f"{app}.zip").state == "verified", stack.logs()
    assert stack.dlq_depth() == 0
    figures.add("dlq", jobs_run=2, dlq_moved=2, jobs_lost=0, duplicate_deployments=0)
