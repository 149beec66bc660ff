"""Transient AWS faults (throttling, 5xx, connection resets, slow responses) are retried
and the job still ends verified: by botocore's own retries when they pass quickly, by
the workflow's Retry (RetryScheduled events) when they outlast those."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from orchestrator.jobs.record import JobRecord
from tests import faults
from tests.fakes import FakeClock
from tests.functional.conftest import HELLO_APP, Pipeline, make_zip

HELLO_FUNCTION = "auto-lambda-default-hello"  # an upload at the bucket root: team default


@pytest.fixture
def fast_retries(pipeline: Pipeline) -> Iterator[FakeClock]:
    import time

    clock = FakeClock(time.time())
    runner = pipeline.runtime.runner
    runner.clock, runner.sleep = clock, clock.sleep
    yield clock


def _hello() -> bytes:
    files: dict[str, str | bytes] = dict(HELLO_APP)
    return make_zip(files)


def _job(pipeline: Pipeline) -> JobRecord:
    jobs = [j for j in pipeline.drain() if j.key == "hello.zip"]
    assert len(jobs) == 1
    return jobs[0]


def _retries(job: JobRecord) -> list[str]:
    return [str(e["error"]) for e in job.history if e["type"] == "RetryScheduled"]


def test_a_few_5xx_are_absorbed_by_botocore_retries(pipeline: Pipeline,
                                                    fast_retries: FakeClock) -> None:
    inj = faults.status_response(pipeline.aws.s3, "GetObject", times=2, status=503)
    pipeline.upload("hello.zip", _hello())
    job = _job(pipeline)
    assert inj.fired == 2
    assert job.state == "verified", job.error
    assert _retries(job) == []


def test_5xx_outlasting_botocore_retries_are_retried_by_the_workflow(
        pipeline: Pipeline, fast_retries: FakeClock) -> None:
    inj = faults.status_response(pipeline.aws.s3, "GetObject", times=4, status=500)
    pipeline.upload("hello.zip", _hello())
    job = _job(pipeline)
    assert inj.fired == 4
    assert job.state == "verified", job.error
    assert _retries(job) == ["AwsServerError"]
    assert fast_retries.slept  # the backoff was waited (on the injected clock)


def test_throttled_publish_is_retried_and_publishes_once(pipeline: Pipeline,
                                                         fast_retries: FakeClock) -> None:
    inj = faults.error_response(pipeline.aws.lambda_, "PublishVersion", times=2,
                                code="TooManyRequestsException", status=429)
    pipeline.upload("hello.zip", _hello())
    job = _job(pipeline)
    assert inj.fired == 2
    assert job.state == "verified", job.error
    assert _retries(job) == ["AwsThrottled", "AwsThrottled"]
    versions = pipeline.aws.lambda_.list_versions_by_function(FunctionName=HELLO_FUNCTION)
    assert [v["Version"] for v in versions["Versions"]] == ["$LATEST", "1"]


def test_connection_resets_on_the_job_store_and_a_slow_download(pipeline: Pipeline,
                                                               fast_retries: FakeClock) -> None:
    db = pipeline.aws.dynamodb
    reset = faults.connection_reset(db, "PutItem", times=2)
    lag = faults.slow(pipeline.aws.s3, "GetObject", times=1, seconds=0.05)
    pipeline.upload("hello.zip", _hello())
    job = _job(pipeline)
    assert (reset.fired, lag.fired) == (2, 1)
    assert job.state == "verified", job.error


def test_a_fault_that_outlasts_the_outage_deadline_fails_the_job_as_aws_unavailable(
        pipeline: Pipeline, fast_retries: FakeClock) -> None:
    pipeline.runtime.runner.outage_deadline = 300.0
    faults.error_response(pipeline.aws.s3, "GetObject", times=100_000, code="SlowDown",
                          status=503)
    pipeline.upload("hello.zip", _hello())
    job = _job(pipeline)
    assert job.state == "failed"
    assert job.error is not None and job.error["code"] == "AwsUnavailable"
    assert "GetObject" in str(job.error["message"]) and "AwsThrottled" in str(
        job.error["message"])
    retries = Counter(_retries(job))
    assert set(retries) == {"AwsThrottled"} and retries["AwsThrottled"] > 4  # not a count
    assert pipeline.queue_depth() == 0


def test_a_fault_shorter_than_the_deadline_is_waited_out_however_many_retries_it_takes(
        pipeline: Pipeline, fast_retries: FakeClock) -> None:
    faults.error_response(pipeline.aws.s3, "GetObject", times=40, code="InternalError",
                          status=500)
    pipeline.upload("hello.zip", _hello())
    job = _job(pipeline)
    assert job.state == "verified", job.error
    assert len(_retries(job)) >= 9  # 40 failed sends, up to four each run: past the old 4


def test_lost_answers_at_a_steady_rate_never_use_up_botocores_retries(
        pipeline: Pipeline) -> None:
    # Calls that fail for good keep the retry quota botocore's standard mode took for
    # their retries (14 units a retry, 500 in all): 13 such calls would empty it, and
    # from then on botocore would not retry at all. auto-lambda's clients have no quota:
    # the 14th call is still sent four times and succeeds.
    sqs = pipeline.aws.sqs
    url = pipeline.info.queue_url
    sends = faults.status_response(sqs, "GetQueueAttributes", times=13 * 4, status=500)
    for _ in range(13):
        with pytest.raises(Exception, match="500"):
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    sends.remove()
    again = faults.status_response(sqs, "GetQueueAttributes", times=3, status=500)
    answer = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    assert again.fired == 3 and answer["ResponseMetadata"]["RetryAttempts"] == 3
