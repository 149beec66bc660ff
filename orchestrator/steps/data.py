"""The typed values a job's steps pass to each other through the execution's data.

The execution's data stays plain JSON in the job record (so a job resumes anywhere
and ``show --json`` prints it); each value here owns one top-level key of it and
converts itself to and from JSON. A step returns a dataclass of such values
(``output_data`` turns it into what the states library merges), and reads earlier
steps' values with ``read``. Pure: no I/O, no AWS.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol, Self, TypeVar

from orchestrator.codes import Code
from orchestrator.errors import AutoLambdaError
from orchestrator.types import JsonMapping, JsonObject

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


class Stored(Protocol):
    """A value kept under ``KEY`` in the execution's data."""

    KEY: ClassVar[str]

    def to_json(self) -> JsonObject: ...

    @classmethod
    def from_json(cls, raw: JsonMapping) -> Self: ...


S = TypeVar("S", bound=Stored)


class StepInputMissing(AutoLambdaError):
    """A step needs what an earlier step records, and the execution has none of it."""

    code = Code.StepInputMissing


def read(data: JsonMapping, kind: type[S]) -> S:
    """The ``kind`` value an earlier step stored; StepInputMissing when there is none."""
    raw = data.get(kind.KEY)
    if not isinstance(raw, Mapping):
        raise StepInputMissing(
            f"the job has no {kind.KEY!r} recorded by an earlier step",
            hint="the workflow changed under this job; restart it with "
                 "`auto-lambda replay --restart JOB`")
    return kind.from_json(raw)


def read_optional(data: JsonMapping, kind: type[S]) -> S | None:
    """As ``read``, None when the value is absent."""
    return read(data, kind) if isinstance(data.get(kind.KEY), Mapping) else None


def output_data(result: DataclassInstance) -> JsonObject:
    """A step's dataclass result as the data it adds: ``{value.KEY: value.to_json()}``
    for each of its fields."""
    out: JsonObject = {}
    for f in dataclasses.fields(result):
        value = getattr(result, f.name)
        out[value.KEY] = value.to_json()
    return out


@dataclass(frozen=True)
class JobInput:
    """The execution's input: the uploaded object, pinned to its version where known."""

    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None

    @classmethod
    def from_data(cls, data: JsonMapping) -> JobInput:
        return cls(bucket=str(data["bucket"]), key=str(data["key"]),
                   version_id=data.get("version_id") or None, etag=data.get("etag") or None)

    def to_data(self) -> JsonObject:
        return asdict(self)


@dataclass(frozen=True)
class Source:
    """The upload as fetched: its version, etag and size in bytes."""

    KEY: ClassVar[str] = "source"
    version_id: str | None
    etag: str
    size: int

    def to_json(self) -> JsonObject:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: JsonMapping) -> Source:
        return cls(version_id=raw.get("version_id") or None, etag=str(raw.get("etag") or ""),
                   size=int(raw.get("size") or 0))


@dataclass(frozen=True)
class Unpacked:
    """What unpacking wrote: the number of files and bytes, and the folder the app was
    lifted out of when the zip held just that folder."""

    KEY: ClassVar[str] = "unpacked"
    files: int
    bytes: int
    lifted_from: str | None = None

    def to_json(self) -> JsonObject:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: JsonMapping) -> Unpacked:
        return cls(files=int(raw.get("files") or 0), bytes=int(raw.get("bytes") or 0),
                   lifted_from=raw.get("lifted_from") or None)


@dataclass(frozen=True)
class Artifact:
    """A built package in the artifacts bucket, addressed by its content."""

    KEY: ClassVar[str] = "artifact"
    uri: str
    bucket: str
    key: str
    sha256: str
    size: int
    code_sha256: str
    version_id: str | None = None

    def to_json(self) -> JsonObject:
        out = asdict(self)
        if out["version_id"] is None:
            del out["version_id"]
        return out

    @classmethod
    def from_json(cls, raw: JsonMapping) -> Artifact:
        return cls(uri=str(raw.get("uri") or f"s3://{raw['bucket']}/{raw['key']}"),
                   bucket=str(raw["bucket"]), key=str(raw["key"]), sha256=str(raw["sha256"]),
                   size=int(raw["size"]), code_sha256=str(raw.get("code_sha256") or ""),
                   version_id=raw.get("version_id") or None)


@dataclass(frozen=True)
class Rollout:
    """How ``live`` moved to the verified version."""

    KEY: ClassVar[str] = "rollout"
    requested: str
    strategy: str
    weights: tuple[float, ...] = ()
    bake_seconds: int = 0
    previous_live: str | None = None
    rechecks: int = 0

    def to_json(self) -> JsonObject:
        out = asdict(self)
        out["weights"] = list(self.weights)
        return out

    @classmethod
    def from_json(cls, raw: JsonMapping) -> Rollout:
        return cls(requested=str(raw.get("requested") or ""),
                   strategy=str(raw.get("strategy") or ""),
                   weights=tuple(float(w) for w in raw.get("weights") or ()),
                   bake_seconds=int(raw.get("bake_seconds") or 0),
                   previous_live=raw.get("previous_live"),
                   rechecks=int(raw.get("rechecks") or 0))
