"""Parse SQS message bodies into the S3 objects they announce.

Handles S3 event notifications (several Records per message), the ``s3:TestEvent``
S3 sends when a notification is configured, and S3 events wrapped in an SNS envelope.
Keys arrive URL-encoded with ``+`` for spaces (``quote_plus``) and are decoded here.
A record may carry ``"autoLambda": {"jobId": ...}``: ``replay`` re-enqueues a job that
way so the delivery reaches exactly that job whatever became of the object since.
``s3_event_body`` writes such a message. ObjectRemoved records (a delete, or a delete
marker in a versioned bucket) announce a deleted zip: their refs are ``removed`` and get
job ids of their own (from the delete marker's or deleted version's id, else the
event's sequencer), so a deletion never shares a job with the upload it removes. The
uploader's identity (the principal and source IP S3 recorded) is kept as the event says
it (``Uploader``). Pure: no AWS calls. Anything else raises :class:`BadEvent` with what
was wrong.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import quote_plus, unquote_plus

from orchestrator.errors import BadEvent
from orchestrator.types import JsonObject

MAX_BODY_PREVIEW = 200
CREATED_PREFIX = "ObjectCreated"
REMOVED_PREFIX = "ObjectRemoved"


MAX_IDENTITY_CHARS = 256
_PRINTABLE = re.compile(r"[^\x20-\x7e]")


@dataclass(frozen=True)
class Uploader:
    """The principal and source address S3 recorded for an upload."""

    principal: str | None = None
    source_ip: str | None = None

    def to_json(self) -> JsonObject:
        return {"principal": self.principal, "source_ip": self.source_ip}

    def describe(self) -> str:
        return f"{self.principal or '?'} from {self.source_ip or '?'}"


def _identity_field(value: object) -> str | None:
    """An identity field of the event, printable ASCII and capped (events may be forged
    by whoever can send to the queue: this is what S3 said, not proof)."""
    if not isinstance(value, str) or not value.strip():
        return None
    return _PRINTABLE.sub("?", value.strip())[:MAX_IDENTITY_CHARS]


def uploader_of(record: JsonObject) -> Uploader | None:
    """``userIdentity.principalId`` and ``requestParameters.sourceIPAddress`` of one
    S3 event record; None when it has neither."""
    identity = record.get("userIdentity")
    params = record.get("requestParameters")
    principal = _identity_field(identity.get("principalId")) if isinstance(
        identity, dict) else None
    source = _identity_field(params.get("sourceIPAddress")) if isinstance(
        params, dict) else None
    if principal is None and source is None:
        return None
    return Uploader(principal, source)


@dataclass(frozen=True)
class ObjectRef:
    """One uploaded object: what a job is about."""

    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None
    size: int | None = None
    event_name: str = "ObjectCreated:Put"
    pinned_job_id: str | None = None  # set by replay: this delivery is for that job
    sequencer: str | None = None      # S3's order of events on one key

    @property
    def removed(self) -> bool:
        """True for a delete (or a delete marker): the app's zip is gone."""
        return self.event_name.startswith(REMOVED_PREFIX)
    # Who uploaded it, as S3 tells: userIdentity.principalId, requestParameters.
    # sourceIPAddress (cleaned: printable, capped); None when the event names nobody.
    uploader: Uploader | None = None

    @property
    def job_id(self) -> str:
        if self.pinned_job_id:
            return self.pinned_job_id
        if self.removed:
            return job_id_for(self.bucket, self.key, "removed\0" + (
                self.version_id or self.sequencer or self.etag or ""))
        return job_id_for(self.bucket, self.key, self.version_id or self.etag or "")


@dataclass(frozen=True)
class ParsedMessage:
    refs: list[ObjectRef] = field(default_factory=list)
    test_event: bool = False
    # records that are neither ObjectCreated nor ObjectRemoved
    ignored: list[str] = field(default_factory=list)


def job_id_for(bucket: str, key: str, version: str) -> str:
    """Stable id for (bucket, key, object version or etag): duplicates map to one job."""
    digest = hashlib.sha256(f"{bucket}\0{key}\0{version}".encode()).hexdigest()
    return digest[:24]


def _preview(body: str) -> str:
    return body if len(body) <= MAX_BODY_PREVIEW else body[:MAX_BODY_PREVIEW] + "…"


def _record_to_ref(record: object, index: int) -> ObjectRef | None:
    if not isinstance(record, dict):
        raise BadEvent(f"Records[{index}] is not an object")
    name = str(record.get("eventName", ""))
    if not name.startswith((CREATED_PREFIX, REMOVED_PREFIX)):
        return None
    s3 = cast(JsonObject, record.get("s3"))  # a wrong shape fails the lookups below
    try:
        bucket = s3["bucket"]["name"]
        obj = s3["object"]
        raw_key = obj["key"]
    except (KeyError, TypeError) as exc:
        raise BadEvent(f"Records[{index}] has no s3.bucket.name / s3.object.key",
                       hint="send S3 event notifications to this queue") from exc
    if not isinstance(bucket, str) or not isinstance(raw_key, str) or not raw_key:
        raise BadEvent(f"Records[{index}] has an empty or non-string bucket or key")
    etag = obj.get("eTag") or obj.get("etag")
    size = obj.get("size")
    sequencer = obj.get("sequencer")
    pinned = (record.get("autoLambda") or {}).get("jobId") if isinstance(
        record.get("autoLambda"), dict) else None
    return ObjectRef(
        bucket=bucket,
        key=unquote_plus(raw_key),
        version_id=obj.get("versionId") or None,
        etag=str(etag).strip('"') if etag else None,
        size=int(size) if isinstance(size, int | float) else None,
        event_name=name,
        pinned_job_id=str(pinned) if pinned else None,
        sequencer=str(sequencer) if sequencer else None,
        uploader=uploader_of(record),
    )


def s3_event_body(bucket: str, key: str, *, version_id: str | None = None,
                  etag: str | None = None, job_id: str | None = None,
                  event_name: str = "ObjectCreated:Put") -> str:
    """An S3 event notification body for one object, as S3 would send it."""
    obj: JsonObject = {"key": quote_plus(key)}
    if version_id:
        obj["versionId"] = version_id
    if etag:
        obj["eTag"] = etag
    record: JsonObject = {"eventSource": "aws:s3", "eventName": event_name,
                              "s3": {"bucket": {"name": bucket}, "object": obj}}
    if job_id:
        record["autoLambda"] = {"jobId": job_id}
    return json.dumps({"Records": [record]})


def parse_message(body: str) -> ParsedMessage:
    try:
        doc = json.loads(body)
    except (json.JSONDecodeError, TypeError) as exc:
        raise BadEvent(f"message body is not JSON: {_preview(str(body))!r}",
                       hint="only S3 event notifications belong on this queue") from exc
    if isinstance(doc, dict) and doc.get("Type") == "Notification" and "Message" in doc:
        return parse_message(str(doc["Message"]))  # SNS fan-out in front of the queue
    if not isinstance(doc, dict):
        raise BadEvent(f"message body is JSON but not an object: {_preview(body)!r}")
    if doc.get("Event") == "s3:TestEvent":
        return ParsedMessage(test_event=True)
    records = doc.get("Records")
    if not isinstance(records, list):
        raise BadEvent(f"message is not an S3 event (no Records list): {_preview(body)!r}",
                       hint="only S3 event notifications belong on this queue")
    refs: list[ObjectRef] = []
    ignored: list[str] = []
    seen: set[str] = set()
    for i, record in enumerate(records):
        ref = _record_to_ref(record, i)
        if ref is None:
            ignored.append(str(record.get("eventName", "?")))
        elif ref.job_id not in seen:  # Put + CompleteMultipartUpload in one message
            seen.add(ref.job_id)
            refs.append(ref)
    return ParsedMessage(refs=refs, ignored=ignored)
