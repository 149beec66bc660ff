"""Build logs, uploader identity and who replayed, on in-process moto: a failing smoke
test's whole stdout is read back from the job's log object after the job ended, a worker
secret the app prints appears in no log, record or history, every step leaves its block,
and ``show`` and ``logs`` point at it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from orchestrator import redact
from orchestrator.cli.main import cli
from orchestrator.errors import BuildLogMissing
from orchestrator.intake.events import s3_event_body
from orchestrator.jobs.logs import job_log_uri, read_job_log
from orchestrator.jobs.record import JobRecord
from tests.functional.conftest import Pipeline, make_zip

SECRET = "w0rker-pl4nted-s3cret-7f3a9c"
LINES = 1500  # ~40 KB of stdout: ten times what the record keeps of it

NOISY_APP = {
    "app.py": (
        "import sys\n"
        "def handler(event, context):\n"
        f"    for i in range({LINES}):\n"
        f"        print(f'stdout line {{i:04d}} of {LINES}')\n"
        # the app prints the worker's secret (as if it had guessed it), once plainly and
        # once split by an escape sequence a terminal would swallow
        f"    print('leak: {SECRET}')\n"
        f"    print('split: {SECRET[:6]}' + chr(27) + '[0m' + '{SECRET[6:]}')\n"
        "    print('to stderr: about to fail', file=sys.stderr)\n"
        "    raise ValueError('the smoke event broke it')\n"),
    "auto-lambda.toml": "[function]\nname = 'noisy'\nruntime = 'python3.11'\n"
                        "[verify]\nevent = { name = 'x' }\n",
}


@pytest.fixture
def planted_secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A secret of the worker's environment, as docs/security.md defines them."""
    monkeypatch.setenv("AUTO_LAMBDA_PLANTED_TOKEN", SECRET)
    redact.refresh()
    yield SECRET
    monkeypatch.delenv("AUTO_LAMBDA_PLANTED_TOKEN")
    redact.refresh()


def _job(pipeline: Pipeline, key: str) -> JobRecord:
    [job] = [j for j in pipeline.drain() if j.key == key]
    return job


def test_a_failing_smoke_tests_whole_stdout_is_in_the_log_and_the_secret_nowhere(
        pipeline: Pipeline, planted_secret: str) -> None:
    pipeline.upload("teama/noisy.zip", make_zip(NOISY_APP))
    job = _job(pipeline, "teama/noisy.zip")
    assert job.state == "failed" and job.error and job.error["code"] == "HandlerRaised"
    text = read_job_log(pipeline.aws, job)
    assert text is not None
    assert job_log_uri(pipeline.aws.settings, job) == (
        f"s3://{pipeline.aws.settings.artifacts_bucket}/logs/teama/noisy/{job.job_id}.log")
    # every line the handler printed, the first as well as the last
    for i in range(LINES):
        assert f"| stdout line {i:04d} of {LINES}\n" in text
    assert "to stderr: about to fail" in text
    # each step's run has its block, the failing one last, with its traceback
    for step in ("fetch", "unpack", "build", "deploy"):
        assert f"=== {step} · attempt 1 · " in text and " · ok · run " in text
    verify = text[text.index("=== verify · attempt 1"):]
    assert "failed HandlerRaised" in verify.splitlines()[0]
    assert "--- import check ---" in text and "--- traceback ---" in verify
    assert "smoke event 'default': stdout" in verify and "VerifyError" in verify
    # the planted secret: masked in the log, absent from the record and its history
    assert planted_secret not in text and "leak: [redacted]" in text
    assert "split: [redacted]" in text and "\x1b" not in text
    stored = pipeline.runtime.store.get(job.job_id)
    assert stored is not None
    assert planted_secret not in json.dumps(stored.to_json(), default=str)
    assert planted_secret not in json.dumps(stored.to_item(), default=str)


def test_show_and_logs_point_at_the_log_and_name_the_uploader(
        pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTO_LAMBDA_WORK_DIR", str(pipeline.aws.settings.work_dir))
    s3 = pipeline.aws.s3
    bucket = pipeline.aws.settings.incoming_bucket
    put = s3.put_object(Bucket=bucket, Key="teamb/third.zip", Body=b"not a zip")
    # moto's notification carries no identity; AWS's does: send the one S3 would instead
    pipeline.aws.sqs.purge_queue(QueueUrl=pipeline.info.queue_url)
    body = json.loads(s3_event_body(bucket, "teamb/third.zip", version_id=put["VersionId"],
                                    etag=put["ETag"].strip('"')))
    body["Records"][0]["userIdentity"] = {"principalId": "AWS:AROAEXAMPLE:ci-bot"}
    body["Records"][0]["requestParameters"] = {"sourceIPAddress": "203.0.113.7"}
    pipeline.aws.sqs.send_message(QueueUrl=pipeline.info.queue_url, MessageBody=json.dumps(body))
    job = _job(pipeline, "teamb/third.zip")
    assert job.uploader == {"principal": "AWS:AROAEXAMPLE:ci-bot", "source_ip": "203.0.113.7"}

    shown = CliRunner().invoke(cli, ["show", job.job_id])
    assert shown.exit_code == 0, shown.output
    assert "uploaded by: AWS:AROAEXAMPLE:ci-bot from 203.0.113.7" in shown.output
    assert f"build log: s3://{pipeline.aws.settings.artifacts_bucket}/logs/teamb/third/" \
           in shown.output
    as_json = json.loads(CliRunner().invoke(cli, ["show", job.job_id, "--json"]).output)
    assert as_json["uploader"]["source_ip"] == "203.0.113.7"
    assert as_json["log_uri"].endswith(f"/logs/teamb/third/{job.job_id}.log")

    printed = CliRunner().invoke(cli, ["logs", job.job_id[:10]])
    assert printed.exit_code == 0, printed.output
    assert "=== fetch · attempt 1" in printed.output and "=== unpack" in printed.output
    doc = json.loads(CliRunner().invoke(cli, ["logs", job.job_id, "--json"]).output)
    assert doc["log_uri"] == as_json["log_uri"] and doc["log"] == printed.output


def test_logs_of_a_rejected_message_fail_with_a_code(
        pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTO_LAMBDA_WORK_DIR", str(pipeline.aws.settings.work_dir))
    pipeline.aws.sqs.send_message(QueueUrl=pipeline.info.queue_url, MessageBody="not json")
    [rejected] = [j for j in pipeline.drain() if j.job_id.startswith("rejected-")]
    result = CliRunner().invoke(cli, ["logs", rejected.job_id])
    assert isinstance(result.exception, BuildLogMissing)
    assert "no build log" in result.exception.message
