"""A team learns what happened to its upload: the result object, the "Job Ended" event
(one per terminal state, routed by a rule to a queue), and `auto-lambda wait`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from orchestrator.cli.main import cli
from orchestrator.feedback import schema
from orchestrator.feedback.publish import Publisher
from orchestrator.feedback.waiting import Target, find_result, wait_for
from orchestrator.jobs.notify import notice_id, result_of
from tests.fakes import FakeClock
from tests.faults import error_response
from tests.functional.conftest import HELLO_APP, Pipeline, make_zip

BROKEN_APP = {"app.py": "def handler(event, context):\n    return 1\n",
              "auto-lambda.toml": "[function]\nname = 'broken'\nhandler = 'nothere.handler'\n"}


def _tap(pipeline: Pipeline) -> str:
    """A queue that a rule on the bus feeds with every auto-lambda event (moto delivers)."""
    aws = pipeline.aws
    url = aws.sqs.create_queue(QueueName="events-tap")["QueueUrl"]
    arn = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    aws.events.ensure_rule(aws.settings.event_bus_name, "tap", {"source": ["auto-lambda"]}, arn)
    return str(url)


def _drain_tap(pipeline: Pipeline, url: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        got = pipeline.aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
        msgs = got.get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            out.append(json.loads(m["Body"]))
            pipeline.aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def _result(pipeline: Pipeline, key: str) -> dict[str, Any] | None:
    body = pipeline.aws.objects.get(pipeline.aws.settings.results_bucket, key)
    return None if body is None else json.loads(b"".join(body.chunks(65536)))


def _job(pipeline: Pipeline, key: str):  # type: ignore[no-untyped-def]
    return next(r for r in pipeline.runtime.store.list() if r.key == key)


def test_each_terminal_state_sends_one_event_and_writes_the_result(pipeline: Pipeline) -> None:
    tap = _tap(pipeline)
    pipeline.upload("alpha/hello.zip", make_zip(HELLO_APP))
    pipeline.upload("alpha/broken.zip", make_zip(BROKEN_APP))
    pipeline.drain()
    events = _drain_tap(pipeline, tap)
    assert sorted((e["detail-type"], e["detail"]["state"]) for e in events) == [
        (schema.JOB_ENDED, "failed"), (schema.JOB_ENDED, "verified")]
    for event in events:
        assert event["source"] == "auto-lambda"
        assert schema.validate(event["detail"], schema.JOB_ENDED_SCHEMA) == []

    good = _result(pipeline, "alpha/hello.result.json")
    assert good is not None and schema.validate(good, schema.RESULT_SCHEMA) == []
    job = _job(pipeline, "alpha/hello.zip")
    assert (good["ok"], good["state"], good["alias"], good["version"]) == (
        True, "verified", "live", job.published_version)
    assert good["function_arn"] == job.function_arn and good["job_id"] == job.job_id
    assert good["upload"]["version_id"] == job.version_id and good["error"] is None
    assert job.notified == good["event_id"]

    bad = _result(pipeline, "alpha/broken.result.json")
    assert bad is not None and (bad["ok"], bad["state"]) == (False, "failed")
    assert bad["error"]["code"] == _job(pipeline, "alpha/broken.zip").error["code"]
    assert bad["alias"] is None
    sent = next(e for e in events if e["detail"]["state"] == "failed")["detail"]
    assert sent["event_id"] == bad["event_id"]
    assert sent["result_object"].endswith(f"alpha/broken.results/{bad['upload']['version_id']}"
                                          ".json")

    # a second delivery of a finished job's message tells nobody again
    record = _job(pipeline, "alpha/hello.zip")
    body = json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": record.bucket}, "object": {"key": record.key,
                                                      "eTag": record.etag}}}]})
    pipeline.aws.sqs.send_message(QueueUrl=pipeline.info.queue_url, MessageBody=body)
    pipeline.drain()
    assert _drain_tap(pipeline, tap) == []


def test_a_failed_notice_never_fails_the_job_and_the_next_delivery_sends_it(
        pipeline: Pipeline) -> None:
    aws = pipeline.aws
    tap = _tap(pipeline)
    refused = error_response(aws.client("events"), "PutEvents", times=100,
                             code="AccessDeniedException", status=400)
    pipeline.upload("alpha/hello.zip", make_zip(HELLO_APP))
    pipeline.drain()
    job = _job(pipeline, "alpha/hello.zip")
    assert job.state == "verified" and job.notified is None
    assert refused.fired == 1  # a refusal that will not pass is not retried
    refused.remove()
    body = json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": job.bucket}, "object": {"key": job.key, "eTag": job.etag}}}]})
    aws.sqs.send_message(QueueUrl=pipeline.info.queue_url, MessageBody=body)
    pipeline.drain()
    events = _drain_tap(pipeline, tap)
    assert [e["detail"]["event_id"] for e in events] == [notice_id(job)]
    after = _job(pipeline, "alpha/hello.zip")
    assert after.notified == notice_id(job) and after.state == "verified"
    assert after.history == job.history  # the job's past is untouched


def test_throttled_puts_are_retried_with_backoff_and_send_one_event(pipeline: Pipeline) -> None:
    tap = _tap(pipeline)
    pipeline.upload("alpha/hello.zip", make_zip(HELLO_APP))
    pipeline.drain()
    _drain_tap(pipeline, tap)
    result = result_of(_job(pipeline, "alpha/hello.zip"))
    clock = FakeClock()
    throttled = error_response(pipeline.aws.client("events"), "PutEvents", times=2)
    notice = Publisher(pipeline.aws, sleep=clock.sleep, rand=lambda: 1.0).job_ended(result)
    assert notice.complete and throttled.fired == 2
    assert clock.slept == [0.5, 1.0]
    assert [e["detail"]["event_id"] for e in _drain_tap(pipeline, tap)] == [result["event_id"]]


def test_an_older_upload_never_replaces_a_newer_result_and_wait_tells_them_apart(
        pipeline: Pipeline) -> None:
    pipeline.upload("alpha/hello.zip", make_zip(HELLO_APP))
    pipeline.drain()
    first = _job(pipeline, "alpha/hello.zip")
    old = result_of(first)
    pipeline.upload("alpha/hello.zip", make_zip({**HELLO_APP, "extra.py": "x = 1\n"}))
    pipeline.drain()
    second = next(r for r in pipeline.runtime.store.list()
                  if r.key == "alpha/hello.zip" and r.job_id != first.job_id)
    assert second.version_id != first.version_id
    # the older job's notice arrives last (say, it was redelivered): the latest stays
    Publisher(pipeline.aws).job_ended(old)
    latest = _result(pipeline, "alpha/hello.result.json")
    assert latest is not None and latest["job_id"] == second.job_id
    aws = pipeline.aws
    assert find_result(aws, Target("alpha/hello.zip", first.version_id))["job_id"] == \
        first.job_id  # type: ignore[index]
    assert find_result(aws, Target("alpha/hello.zip", second.version_id))["job_id"] == \
        second.job_id  # type: ignore[index]
    # without a version, only a job created after the wait began answers
    assert find_result(aws, Target("alpha/hello.zip", None,
                                   since=second.created_at + 60)) is None


def test_wait_times_out_without_a_result(pipeline: Pipeline) -> None:
    clock = FakeClock()
    waited: list[float] = []
    found = wait_for(pipeline.aws, Target("alpha/none.zip", "v1"), 30.0, clock=clock,
                     sleep=clock.sleep, progress=waited.append)
    assert found is None and clock.now - 1_000.0 >= 30.0
    assert waited and waited == sorted(waited)


@pytest.mark.parametrize(("key", "files", "status", "code"), [
    ("alpha/hello.zip", HELLO_APP, 0, None),
    ("alpha/broken.zip", BROKEN_APP, 1, "HandlerNotFound"),
])
def test_wait_command_exits_with_the_outcome(pipeline: Pipeline, key: str,
                                             files: dict[str, str], status: int,
                                             code: str | None,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTO_LAMBDA_LOCAL", "1")
    pipeline.upload(key, make_zip(files))
    pipeline.drain()
    got = CliRunner().invoke(cli, ["wait", key, "--json", "--timeout", "5s", "-q"])
    assert got.exit_code == status, got.output
    result = json.loads(got.stdout)
    assert result["upload"]["key"] == key
    assert (result["error"] or {}).get("code") == code
