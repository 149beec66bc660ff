"""The tracing interface the workflow codes against, and X-Ray trace-id helpers.

``Tracer`` is this project's own small protocol: a job is one root trace entity, and
everything inside it (a state transition, a task attempt, an AWS call) is a ``Span``
nested under whatever span is active on the current thread. Backends (``null``,
``memory``, ``xray``; an OpenTelemetry one later) implement it; workflow code and hooks
never import a tracing SDK. Trace ids use the X-Ray format (``1-<8 hex epoch>-<24 hex>``),
which maps one-to-one onto a 128-bit W3C/OpenTelemetry trace id.

This module does no I/O and keeps no global state.
"""

from __future__ import annotations

import os
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass

AnnotationValue = str | int | float | bool

_TRACE_ID_RE = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")
_SPAN_ID_RE = re.compile(r"^[0-9a-f]{16}$")
_KEY_RE = re.compile(r"[^A-Za-z0-9_]")


def new_trace_id(now: float | None = None, random_hex: Callable[[int], str] | None = None) -> str:
    """A fresh X-Ray trace id: version 1, the epoch second in hex, 96 random bits."""
    seconds = int(time.time() if now is None else now)
    rand = random_hex(12) if random_hex is not None else os.urandom(12).hex()
    return f"1-{seconds & 0xFFFFFFFF:08x}-{rand}"


def new_span_id() -> str:
    """A fresh 64-bit span / segment id in hex (X-Ray and OpenTelemetry agree on this)."""
    return os.urandom(8).hex()


def is_trace_id(value: object) -> bool:
    return isinstance(value, str) and bool(_TRACE_ID_RE.match(value))


def is_span_id(value: object) -> bool:
    return isinstance(value, str) and bool(_SPAN_ID_RE.match(value))


@dataclass(frozen=True)
class TraceHeader:
    """The parts of an ``X-Amzn-Trace-Id`` / SQS ``AWSTraceHeader`` value we use."""

    root: str | None = None
    parent: str | None = None
    sampled: bool | None = None

    @classmethod
    def parse(cls, header: str | None) -> TraceHeader:
        """Parse ``Root=1-...;Parent=...;Sampled=1``; invalid parts are ignored, never raised.

        A bare trace id (``1-...``) is accepted as a root, so a stored trace id can be
        continued the same way as an incoming header.
        """
        if not header:
            return cls()
        text = header.strip()
        if is_trace_id(text):
            return cls(root=text)
        fields: dict[str, str] = {}
        for part in text.split(";"):
            key, sep, value = part.strip().partition("=")
            if sep:
                fields[key.strip()] = value.strip()
        root = fields.get("Root")
        parent = fields.get("Parent")
        sampled_raw = fields.get("Sampled")
        return cls(
            root=root if is_trace_id(root) else None,
            parent=parent if is_span_id(parent) else None,
            sampled=None if sampled_raw not in ("0", "1") else sampled_raw == "1",
        )

    def to_header(self) -> str:
        parts = []
        if self.root:
            parts.append(f"Root={self.root}")
        if self.parent:
            parts.append(f"Parent={self.parent}")
        if self.sampled is not None:
            parts.append(f"Sampled={1 if self.sampled else 0}")
        return ";".join(parts)


def trace_id_for(parent: str | None, now: float | None = None) -> str:
    """The trace id a new job should carry: the incoming header's root, or a new one."""
    return TraceHeader.parse(parent).root or new_trace_id(now)


def annotation_key(key: str) -> str:
    """X-Ray accepts only letters, digits and ``_`` in annotation keys."""
    return _KEY_RE.sub("_", key) or "_"


def annotation_value(value: object) -> AnnotationValue:
    """Annotations are indexed scalars; anything else is recorded as its string form."""
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


@dataclass(frozen=True)
class JobTrace:
    """The root trace entity of one job (one drive of its state machine)."""

    job_id: str
    trace_id: str
    segment_id: str

    @property
    def header(self) -> str:
        """An ``AWSTraceHeader`` value that continues this trace under this segment."""
        return TraceHeader(self.trace_id, self.segment_id, True).to_header()


class Span(ABC):
    """One timed unit of work inside a job: a transition, a task attempt."""

    name: str

    @abstractmethod
    def annotate(self, key: str, value: object) -> None:
        """Attach an indexed key/value (job_id, state, attempt, error_code...)."""

    @abstractmethod
    def set_error(self, code: str, message: str) -> None:
        """Mark the span failed with the workflow's stable error code."""


class Tracer(ABC):
    """The backend-neutral tracer. Context is per thread: spans nest under the active one."""

    @abstractmethod
    def job(self, job_id: str, parent: str | None = None) -> AbstractContextManager[JobTrace]:
        """Open the job's root entity, continuing ``parent`` (an AWSTraceHeader or a trace id)."""

    @abstractmethod
    def span(self, name: str,
             annotations: Mapping[str, object] | None = None) -> AbstractContextManager[Span]:
        """Open a span under the active job/span of this thread (a no-op span outside a job)."""

    def flush(self) -> None:  # noqa: B027 - optional for backends that send on close
        """Push out anything buffered; backends that send on close need nothing here."""

    def close(self) -> None:
        self.flush()


class NoopSpan(Span):
    """A span that records nothing; backends hand it out when there is no active job."""

    def __init__(self, name: str = "") -> None:
        self.name = name

    def annotate(self, key: str, value: object) -> None:
        return None

    def set_error(self, code: str, message: str) -> None:
        return None
