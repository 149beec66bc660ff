"""The replay planner is pure: a request and the facts in, a list of actions out."""

from __future__ import annotations

import pytest

from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.replay import Action, DlqMessage, Facts, ObjectNow, Request, plan, plan_job


def failed(at: str = "built", code: str = "AwsServerError", **kw: object) -> JobRecord:
    rec = JobRecord(job_id="job1", bucket="b", key="app.zip", version_id="v1", etag="e1",
                    state="failed", status="FAILED",
                    error={"code": code, "message": "m", "state": at})
    for key, value in kw.items():
        setattr(rec, key, value)
    return rec


SAME = ObjectNow(True, "v1", "e1")


def test_a_failed_job_is_redriven_at_the_state_that_failed() -> None:
    action = plan_job(failed("built"), SAME, restart=False)
    assert (action.kind, action.from_state) == ("redrive", "built")


@pytest.mark.parametrize(("rec", "obj", "restart", "kind", "words"), [
    (failed(), ObjectNow(True, "v2", "e2"), False, "skip", ("changed", "--restart")),
    (failed(), ObjectNow(True, "v2", "e2"), True, "restart", ("version v1",)),
    (failed(version_id=None), ObjectNow(True, None, "e2"), True, "skip", ("no versions",)),
    (failed("received", "ObjectMissing"), ObjectNow(False), False, "skip",
     ("no longer exists", "fetching", "upload the app again")),
    (failed("built"), ObjectNow(False), False, "redrive", ("resume at built",)),
    (failed("fetched"), ObjectNow(False), False, "skip", ("no longer exists",)),
    (failed(state="verified", status="SUCCEEDED", error=None), SAME, False, "skip",
     ("already verified", "--restart")),
    (failed(state="verified", status="SUCCEEDED", error=None), SAME, True, "restart", ()),
    (failed(state="deployed", status="RUNNING", error=None), SAME, True, "skip",
     ("still running",)),
    (failed(job_id="rejected-abc"), None, False, "skip", ("rejected",)),
    (failed("built", "WorkflowChanged"), SAME, False, "skip", ("--restart",)),
])
def test_what_cannot_be_redriven_says_why(rec: JobRecord, obj: ObjectNow | None,
                                          restart: bool, kind: str,
                                          words: tuple[str, ...]) -> None:
    action = plan_job(rec, obj, restart=restart)
    assert action.kind == kind, action
    for word in words:
        assert word in action.reason, (word, action.reason)


def test_the_plan_lists_unknown_ids_jobs_and_dlq_messages_in_order() -> None:
    facts = Facts(jobs=[failed()], not_found=["nope"], objects={"job1": SAME},
                  dlq=[DlqMessage("m1", "r1", "{}", 3, "s3://b/k.zip")])
    actions = plan(Request(job_ids=("nope", "job1"), dlq=True), facts)
    assert [a.kind for a in actions] == ["skip", "redrive", "move-dlq"]
    assert "received 3 times" in actions[2].reason
    assert Action("skip", "r", job_id="x").to_dict() == {"kind": "skip", "reason": "r",
                                                         "job_id": "x"}
