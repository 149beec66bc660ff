"""The job store's leases and record mapping on in-process DynamoDB (moto)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from orchestrator.aws.facade import Aws
from orchestrator.aws.resources import ensure_resources
from orchestrator.config import Settings
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.store import JobStore, LeaseLost


@pytest.fixture
def store(aws_env: None) -> Iterator[JobStore]:
    with mock_aws():
        aws = Aws(Settings())
        ensure_resources(aws)
        yield JobStore(aws)


def test_a_record_round_trips_with_its_previous_runs_and_tail() -> None:
    rec = JobRecord(job_id="j", bucket="b", key="k", snapshot={"format": 2, "event_count": 7},
                    previous_runs=[{"run": 1, "state": "failed", "history_from": 0,
                                    "events": 5}], history_offset=5, tail_seq=10,
                    tail=[{"type": "x"}], error={"code": "ZipBomb", "message": "m"},
                    lease_expires=12.5)
    back = JobRecord.from_item(rec.to_item())
    assert back == rec and back.events_written == 7
    assert JobRecord.from_item(JobRecord(job_id="j", bucket="b", key="k").to_item()
                               ).previous_runs == []


def test_an_earlier_releases_record_reads_its_inline_events_as_the_uncopied_tail() -> None:
    events = [{"type": "ExecutionStarted"}, {"type": "StateEntered"}]
    rec = JobRecord(job_id="j", bucket="b", key="k", snapshot={"format": 1, "history": events},
                    previous_runs=[{"run": 1, "state": "failed", "history": []}])
    item = rec.to_item()
    assert "tail" not in item  # the inline events are not stored twice
    back = JobRecord.from_item(item)
    assert not back.paged and back.history == events and back.uncopied == (0, events)
    assert back.previous_runs == rec.previous_runs


def test_a_live_lease_blocks_other_claims_until_it_expires(store: JobStore) -> None:
    store.create(JobRecord(job_id="j", bucket="b", key="k"))
    assert store.claim("j", "w1/a", now=100, ttl=10) is not None
    assert store.claim("j", "w1/b", now=105, ttl=10) is None  # even the same worker
    taken = store.claim("j", "w2/c", now=111, ttl=10)
    assert taken is not None and taken.lease_owner == "w2/c"


def test_heartbeats_extend_without_bumping_the_version(store: JobStore) -> None:
    store.create(JobRecord(job_id="j", bucket="b", key="k"))
    claimed = store.claim("j", "w1/a", now=100, ttl=10)
    assert claimed is not None
    assert store.extend_lease("j", "w1/a", now=108, ttl=10)
    after = store.get("j")
    assert after is not None and after.lease_expires == 118 and after.version == claimed.version
    assert store.claim("j", "w2/b", now=112, ttl=10) is None
    assert not store.extend_lease("j", "w2/b", now=112, ttl=10)


def test_a_save_after_another_claim_is_refused(store: JobStore) -> None:
    store.create(JobRecord(job_id="j", bucket="b", key="k"))
    mine = store.claim("j", "w1/a", now=100, ttl=10)
    assert mine is not None
    assert store.claim("j", "w2/b", now=200, ttl=10) is not None
    mine.state = "fetched"
    with pytest.raises(LeaseLost):
        store.save(mine)
    current = store.get("j")
    assert current is not None and current.state == "received"
