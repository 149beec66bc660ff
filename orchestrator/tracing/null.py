"""NullTracer: records nothing, but still hands out valid X-Ray trace ids.

Used when tracing is off. Jobs keep a trace id in their history either way, so a job
traced later (or in another process) continues the same trace. No I/O, no SDK import.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from orchestrator.tracing.base import JobTrace, NoopSpan, Span, Tracer, new_span_id, trace_id_for


class NullTracer(Tracer):
    @contextmanager
    def job(self, job_id: str, parent: str | None = None) -> Iterator[JobTrace]:
        yield JobTrace(job_id=job_id, trace_id=trace_id_for(parent), segment_id=new_span_id())

    @contextmanager
    def span(self, name: str, annotations: Mapping[str, object] | None = None) -> Iterator[Span]:
        yield NoopSpan(name)
