"""S3 event parsing: key decoding, several records, test events, bad bodies."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.errors import BadEvent
from orchestrator.intake.events import job_id_for, parse_message


def _event(*keys: str, etag: str = "abc", name: str = "ObjectCreated:Put") -> str:
    return json.dumps({"Records": [
        {"eventName": name, "s3": {"bucket": {"name": "b"},
                                   "object": {"key": k, "size": 3, "eTag": etag}}}
        for k in keys]})


def test_keys_arrive_quote_plus_encoded_and_are_decoded() -> None:
    parsed = parse_message(_event("incoming%2Fmy+app%2B1.zip"))
    assert [r.key for r in parsed.refs] == ["incoming/my app+1.zip"]


def test_several_records_become_several_refs_and_duplicates_collapse() -> None:
    parsed = parse_message(_event("a.zip", "b.zip", "a.zip"))
    assert [r.key for r in parsed.refs] == ["a.zip", "b.zip"]


def test_s3_test_event_is_recognised() -> None:
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent",
                       "Time": "2026-01-01T00:00:00Z", "Bucket": "b"})
    parsed = parse_message(body)
    assert parsed.test_event and parsed.refs == []


def test_other_records_are_ignored_not_failed() -> None:
    parsed = parse_message(_event("a.zip", name="ObjectRestore:Completed"))
    assert parsed.refs == [] and parsed.ignored == ["ObjectRestore:Completed"]


def test_removed_records_are_deletions_with_job_ids_of_their_own() -> None:
    created = parse_message(_event("t/a.zip", name="ObjectCreated:Put")).refs[0]
    deleted = parse_message(_event("t/a.zip", name="ObjectRemoved:Delete")).refs[0]
    marker = json.loads(_event("t/a.zip", name="ObjectRemoved:DeleteMarkerCreated"))
    marker["Records"][0]["s3"]["object"].update(versionId="m1", sequencer="0A1")
    [marked] = parse_message(json.dumps(marker)).refs
    assert not created.removed and deleted.removed and marked.removed
    assert marked.version_id == "m1" and marked.sequencer == "0A1"
    # same etag, but a delete is never the upload's job, and each delete is its own
    assert len({created.job_id, deleted.job_id, marked.job_id}) == 3
    again = parse_message(json.dumps(marker)).refs[0]
    assert again.job_id == marked.job_id  # a duplicate delivery maps to the same job


def test_sns_envelope_is_unwrapped() -> None:
    body = json.dumps({"Type": "Notification", "Message": _event("x.zip")})
    assert [r.key for r in parse_message(body).refs] == ["x.zip"]


@pytest.mark.parametrize("body", ["", "not json", "[1, 2]", '{"hello": 1}',
                                  '{"Records": "nope"}',
                                  '{"Records": [{"eventName": "ObjectCreated:Put"}]}',
                                  '{"Records": [42]}'])
def test_bodies_that_are_not_s3_events_raise_bad_event(body: str) -> None:
    with pytest.raises(BadEvent) as info:
        parse_message(body)
    assert info.value.code == "BadEvent"


@given(st.text(min_size=1, max_size=60))
def test_any_key_round_trips_through_quote_plus(key: str) -> None:
    from urllib.parse import quote_plus

    parsed = parse_message(_event(quote_plus(key)))
    assert parsed.refs[0].key == key


def test_job_id_depends_on_bucket_key_and_version() -> None:
    base = job_id_for("b", "k.zip", "v1")
    assert base == job_id_for("b", "k.zip", "v1")
    assert len({base, job_id_for("b", "k.zip", "v2"), job_id_for("c", "k.zip", "v1"),
                job_id_for("b", "j.zip", "v1")}) == 4


def _with_identity(principal: object, source: object) -> str:
    record = {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
              "userIdentity": {"principalId": principal},
              "requestParameters": {"sourceIPAddress": source},
              "s3": {"bucket": {"name": "b"}, "object": {"key": "team%2Fapp.zip"}}}
    return json.dumps({"Records": [record]})


def test_the_uploaders_principal_and_address_are_kept() -> None:
    [ref] = parse_message(_with_identity("AWS:AROAEXAMPLE:ci-bot", "203.0.113.7")).refs
    assert ref.uploader is not None
    assert ref.uploader.to_json() == {"principal": "AWS:AROAEXAMPLE:ci-bot",
                                      "source_ip": "203.0.113.7"}
    assert ref.uploader.describe() == "AWS:AROAEXAMPLE:ci-bot from 203.0.113.7"


def test_identity_fields_are_printable_and_capped_and_may_be_absent() -> None:
    [ref] = parse_message(_with_identity("evil\x1b[2J\nname" + "x" * 1000, 42)).refs
    assert ref.uploader is not None and ref.uploader.source_ip is None
    principal = ref.uploader.principal or ""
    assert "\x1b" not in principal and "\n" not in principal and len(principal) == 256
    [bare] = parse_message(_with_identity(None, "")).refs
    assert bare.uploader is None
