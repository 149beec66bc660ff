"""The pure parts of telling teams: the documented schemas are the ones sent, signatures,
the result's error parts, and what a result object may never carry (a worker secret)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from orchestrator import redact
from orchestrator.feedback import schema, signing
from orchestrator.jobs.notify import output_tail, result_of, split_hint
from orchestrator.jobs.record import JobRecord

DOCS = Path(__file__).resolve().parents[2] / "docs" / "results.md"
_BLOCK = re.compile(r"<!-- schema: (\S+) -->\s*```json\n(.*?)```", re.S)


def test_the_documented_schemas_are_the_ones_sent() -> None:
    documented = {sid: json.loads(body) for sid, body in _BLOCK.findall(DOCS.read_text())}
    assert documented == schema.SCHEMAS


def test_docs_name_every_detail_type_and_exit_code() -> None:
    text = DOCS.read_text()
    for detail_type in schema.DETAIL_TYPES:
        assert f"`{detail_type}`" in text
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |"):
        assert code in text


def test_a_signature_checks_only_with_its_secret_body_and_time() -> None:
    body = b'{"detail":{}}'
    headers = signing.sign("s3cret-value", 1_000, body, "e1", schema.JOB_ENDED)
    assert signing.verify("s3cret-value", body, headers, 1_010)
    assert not signing.verify("s3cret-value", body, headers, 1_000 + signing.TOLERANCE + 1)
    assert not signing.verify("other", body, headers, 1_010)
    assert not signing.verify("s3cret-value", body + b"x", headers, 1_010)
    rotated = {**headers, signing.SIGNATURE_HEADER:
               f"v1=deadbeef, {headers[signing.SIGNATURE_HEADER]}"}
    assert signing.verify("s3cret-value", body, rotated, 1_010)


@pytest.mark.parametrize(("cause", "message", "hint"), [
    ("no handler (set [function] handler)", "no handler", "set [function] handler"),
    ("f(x) failed", "f(x) failed", None),
    ("plain", "plain", None),
    ("a (b (c) d)", "a", "b (c) d"),
])
def test_a_cause_splits_into_message_and_hint(cause: str, message: str,
                                              hint: str | None) -> None:
    assert split_hint(cause) == (message, hint)


def _failed_record(cause: str) -> JobRecord:
    rec = JobRecord(job_id="j1", bucket="in", key="alpha/app.zip", version_id="v9",
                    state="failed", status="FAILED", created_at=10.0, finished_at=20.0)
    rec.snapshot = {"error": {"error": "BuildFailed", "cause": cause, "state": "unpacked"},
                    "data": {}}
    return rec


def test_a_failed_result_keeps_a_redacted_tail_of_the_output(
        monkeypatch: pytest.MonkeyPatch) -> None:
    planted = "planted-worker-secret-9f8e7d"
    monkeypatch.setenv("AUTO_LAMBDA_TEST_SECRET_TOKEN", planted)
    redact.refresh()
    try:
        lines = [f"line {i}" for i in range(100)] + [f"token={planted}"]
        cause = "the build failed\n" + "\n".join(lines) + " (see the build log)"
        result = result_of(_failed_record(cause))
    finally:
        monkeypatch.delenv("AUTO_LAMBDA_TEST_SECRET_TOKEN")
        redact.refresh()
    assert schema.validate(result, schema.RESULT_SCHEMA) == []
    assert planted not in json.dumps(result)
    assert result["error"] == {"code": "BuildFailed", "message": "the build failed",
                               "hint": "see the build log", "state": "unpacked"}
    tail = result["output_tail"]
    assert tail is not None and "line 99" in tail and "line 0\n" not in tail
    assert len(tail.splitlines()) <= schema.OUTPUT_TAIL_LINES
    assert (result["team"], result["ok"], result["alias"]) == ("alpha", False, None)


def test_one_line_errors_have_no_tail() -> None:
    assert output_tail("just one line") is None


def test_results_of_a_job_run_share_one_event_id_and_a_redrive_gets_another() -> None:
    rec = _failed_record("boom")
    first = result_of(rec)
    assert result_of(rec)["event_id"] == first["event_id"]
    rec.redrive_count = 1
    assert result_of(rec)["event_id"] != first["event_id"]


def test_validate_names_what_is_wrong() -> None:
    doc = result_of(_failed_record("boom"))
    doc.pop("state")
    doc["ok"] = "no"
    doc["surprise"] = 1
    problems = schema.validate(doc, schema.RESULT_SCHEMA)
    assert any("'state' is missing" in p for p in problems)
    assert any("$.ok" in p for p in problems)
    assert any("'surprise'" in p for p in problems)


def test_result_keys_follow_the_upload() -> None:
    assert schema.result_key("alpha/hello.zip") == "alpha/hello.result.json"
    assert schema.result_key("hello.ZIP") == "hello.result.json"


def test_rollout_step_details_conform() -> None:
    detail = schema.rollout_step_detail(
        job_id="j", team="alpha", app="hello", function_arn=None, version="3",
        previous_version="2", step=1, steps=4, weight=0.25, action="shifted",
        at="2026-12-07T10:00:00+00:00")
    assert schema.validate(detail, schema.ROLLOUT_STEP_SCHEMA) == []
