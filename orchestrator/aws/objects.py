"""The S3 door: the object reads and writes of the pipeline, typed.

A missing object (or version, or bucket) is ``None`` from ``head``/``get``, caught here
once (``MISSING_CODES``); every other failure leaves as an ``AwsError`` with its code.
Uploads and downloads of whole files go through boto3's transfer manager (multipart
above its threshold). Decides nothing about what an object means.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from orchestrator.aws.errors import AwsError, aws_call
from orchestrator.aws.types import BotoClient

__all__ = ["MISSING_CODES", "ObjectBody", "ObjectHead", "Objects", "version_etag"]

# What S3 answers (GetObject, HeadObject) when the object, its version or its bucket is gone.
MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket", "NoSuchVersion"})
# What it answers for an object this role may not read (HeadObject says 403, no code).
_UNREADABLE_CODES = frozenset({"403", "AccessDenied"})


SINGLE_PUT_LIMIT = 8 * 1024 * 1024  # boto3's multipart threshold


def _extra(content_type: str | None, metadata: Mapping[str, str] | None) -> dict[str, object]:
    extra: dict[str, object] = {"ContentType": content_type} if content_type else {}
    if metadata:
        extra["Metadata"] = dict(metadata)
    return extra


def version_etag(resp: Mapping[str, object]) -> tuple[str | None, str | None]:
    """The version id and unquoted etag of a PutObject/HeadObject/GetObject answer; None
    for absent values and for the ``"null"`` version of an unversioned bucket."""
    version = resp.get("VersionId")
    etag = str(resp.get("ETag", "") or "").strip('"')
    return (str(version) if version and version != "null" else None), (etag or None)


@dataclass(frozen=True)
class ObjectHead:
    """An object's version id (None: unversioned bucket), unquoted etag, and (from
    ``head``) its size and user metadata."""

    version_id: str | None
    etag: str | None
    size: int | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


def _head(resp: Mapping[str, object]) -> ObjectHead:
    size = resp.get("ContentLength")
    metadata = resp.get("Metadata")
    return ObjectHead(*version_etag(resp), size=int(size) if isinstance(size, int) else None,
                      metadata={str(k): str(v) for k, v in metadata.items()}
                      if isinstance(metadata, dict) else {})


class _Stream(Protocol):
    def iter_chunks(self, chunk_size: int) -> Iterator[bytes]: ...


@dataclass(frozen=True)
class ObjectBody:
    """A GetObject answer: what was read, and its body to stream."""

    head: ObjectHead
    body: _Stream

    def chunks(self, size: int) -> Iterator[bytes]:
        return self.body.iter_chunks(size)


class Objects:
    """S3, one method per call auto-lambda makes."""

    def __init__(self, client: BotoClient) -> None:
        self._s3 = client

    def head(self, bucket: str, key: str, *, unreadable_is_missing: bool = False
             ) -> ObjectHead | None:
        """The object's version and etag; None when it is gone (or, with
        ``unreadable_is_missing``, when this role may not read it)."""
        gone = MISSING_CODES | _UNREADABLE_CODES if unreadable_is_missing else MISSING_CODES
        try:
            with aws_call(f"s3.head_object({key})"):
                resp = self._s3.head_object(Bucket=bucket, Key=key)
        except AwsError as exc:
            if exc.aws_code in gone:
                return None
            raise
        return _head(resp)

    def get(self, bucket: str, key: str, version_id: str | None = None) -> ObjectBody | None:
        """The object (that version, when given) to stream; None when it is gone."""
        kwargs = {"Bucket": bucket, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            with aws_call(f"s3.get_object({key})"):
                resp = self._s3.get_object(**kwargs)
        except AwsError as exc:
            if exc.aws_code in MISSING_CODES:
                return None
            raise
        return ObjectBody(_head(resp), resp["Body"])

    def put(self, bucket: str, key: str, body: BinaryIO | bytes, *,
            content_type: str | None = None, metadata: Mapping[str, str] | None = None
            ) -> ObjectHead:
        """Put one object (one request); its version and etag."""
        extra = _extra(content_type, metadata)
        with aws_call(f"s3.put_object({key})"):
            resp = self._s3.put_object(Bucket=bucket, Key=key, Body=body, **extra)
        return ObjectHead(*version_etag(resp))

    def upload(self, path: Path, bucket: str, key: str, *, content_type: str | None = None,
               metadata: Mapping[str, str] | None = None) -> None:
        """File ``path`` as one object: one PutObject below boto3's multipart threshold
        (without starting a transfer manager and its threads for every package), the
        transfer manager's multipart upload above it."""
        if path.stat().st_size < SINGLE_PUT_LIMIT:
            with path.open("rb") as body:
                self.put(bucket, key, body, content_type=content_type, metadata=metadata)
            return
        with aws_call(f"s3.upload_file({key})"):
            self._s3.upload_file(str(path), bucket, key,
                                 ExtraArgs=_extra(content_type, metadata))

    def download(self, bucket: str, key: str, dest: Path, *, where: str | None = None) -> None:
        """The object into file ``dest`` (the transfer manager; ranged gets if large)."""
        with aws_call(where or f"s3.download_file({key})"):
            self._s3.download_file(bucket, key, str(dest))
