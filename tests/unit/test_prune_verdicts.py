"""What the jobs say about each version: a running job pins its version, a verified one
beats a failed one for the same (reused) version, the job that just ended is trusted over
its lagging index row, and a job at its deploy step defers every deletion."""

from __future__ import annotations

from orchestrator.jobs.listing import JobSummary
from orchestrator.jobs.prune import Verdict
from orchestrator.jobs.pruning import verdicts
from orchestrator.jobs.record import JobRecord


def _job(job_id: str, state: str, version: str | None, status: str | None = None
         ) -> JobSummary:
    status = status or {"verified": "SUCCEEDED", "failed": "FAILED"}.get(state, "RUNNING")
    return JobSummary(job_id=job_id, key="payments/hello.zip", state=state, created_at=1.0,
                      status=status, deployed_version=version)


def test_a_reused_version_is_judged_by_its_most_favourable_job() -> None:
    said, wait = verdicts([_job("a", "verified", "3"), _job("b", "failed", "3"),
                           _job("c", "failed", "4"), _job("d", "tested", "4"),
                           _job("e", "failed", "5")])
    assert said == {3: Verdict.VERIFIED, 4: Verdict.UNKNOWN, 5: Verdict.FAILED}
    assert wait is None


def test_older_records_name_their_version_by_published_version() -> None:
    old = JobSummary(job_id="old", key="k", state="verified", created_at=1.0,
                     status="SUCCEEDED", published_version="2")
    assert verdicts([old])[0] == {2: Verdict.VERIFIED}


def test_the_job_that_just_ended_is_trusted_over_its_index_row() -> None:
    ended = JobRecord(job_id="a", bucket="b", key="payments/hello.zip", state="failed",
                      status="FAILED", deployed_version="7")
    said, _ = verdicts([_job("a", "deployed", "7")], ended)  # the index still says running
    assert said == {7: Verdict.FAILED}
    said, _ = verdicts([], ended)  # not in the index yet at all
    assert said == {7: Verdict.FAILED}


def test_a_job_at_its_deploy_step_defers_deletion_but_earlier_ones_do_not() -> None:
    assert verdicts([_job("x", "built", None)])[1] is not None
    assert verdicts([_job("x", "retrying", None)])[1] is not None
    assert verdicts([_job("x", "unpacked", None)])[1] is None
    assert verdicts([_job("x", "failed", None)])[1] is None
