"""MemoryTracer: keeps every job and span in lists, for tests and local inspection.

Spans nest per thread exactly as in the X-Ray backend, so tests written against this
tracer prove what an X-Ray trace would contain. Nothing is sent anywhere.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from orchestrator.tracing.base import (
    AnnotationValue,
    JobTrace,
    NoopSpan,
    Span,
    TraceHeader,
    Tracer,
    annotation_key,
    annotation_value,
    new_span_id,
    trace_id_for,
)


@dataclass
class RecordedSpan(Span):
    """A finished (or open) span as the memory tracer saw it."""

    name: str
    span_id: str
    trace_id: str
    job_id: str
    parent_id: str
    start: float
    end: float | None = None
    annotations: dict[str, AnnotationValue] = field(default_factory=dict)
    error_code: str | None = None
    error_message: str | None = None
    children: list[RecordedSpan] = field(default_factory=list)

    def annotate(self, key: str, value: object) -> None:
        self.annotations[annotation_key(key)] = annotation_value(value)

    def set_error(self, code: str, message: str) -> None:
        self.error_code = code
        self.error_message = message
        self.annotations["error_code"] = code


@dataclass
class RecordedJob:
    job_id: str
    trace_id: str
    segment_id: str
    parent_id: str | None
    start: float
    end: float | None = None
    children: list[RecordedSpan] = field(default_factory=list)


class MemoryTracer(Tracer):
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._local = threading.local()
        self._lock = threading.Lock()
        self.jobs: list[RecordedJob] = []
        self.spans: list[RecordedSpan] = []   # every span, in the order they were opened
        self.flushes = 0

    def _stack(self) -> list[RecordedJob | RecordedSpan]:
        stack: list[RecordedJob | RecordedSpan] | None = getattr(self._local, "stack", None)
        if stack is None:
            stack = []
            self._local.stack = stack
        return stack

    @contextmanager
    def job(self, job_id: str, parent: str | None = None) -> Iterator[JobTrace]:
        header = TraceHeader.parse(parent)
        record = RecordedJob(job_id=job_id, trace_id=trace_id_for(parent),
                             segment_id=new_span_id(), parent_id=header.parent,
                             start=self._clock())
        with self._lock:
            self.jobs.append(record)
        stack = self._stack()
        stack.append(record)
        try:
            yield JobTrace(job_id=job_id, trace_id=record.trace_id, segment_id=record.segment_id)
        finally:
            record.end = self._clock()
            stack.remove(record)

    @contextmanager
    def span(self, name: str, annotations: Mapping[str, object] | None = None) -> Iterator[Span]:
        stack = self._stack()
        if not stack:
            yield NoopSpan(name)
            return
        top = stack[-1]
        job = next(e for e in reversed(stack) if isinstance(e, RecordedJob))
        parent_id = top.segment_id if isinstance(top, RecordedJob) else top.span_id
        record = RecordedSpan(name=name, span_id=new_span_id(), trace_id=job.trace_id,
                              job_id=job.job_id, parent_id=parent_id, start=self._clock())
        for key, value in (annotations or {}).items():
            record.annotate(key, value)
        top.children.append(record)
        with self._lock:
            self.spans.append(record)
        stack.append(record)
        try:
            yield record
        except Exception as exc:
            if record.error_code is None:
                record.set_error(type(exc).__name__, str(exc))
            raise
        finally:
            record.end = self._clock()
            stack.remove(record)

    def flush(self) -> None:
        self.flushes += 1

    def named(self, prefix: str) -> list[RecordedSpan]:
        """Spans whose name starts with ``prefix``, in opening order."""
        return [s for s in self.spans if s.name.startswith(prefix)]
