"""Tracing for auto-lambda behind a small interface of the project's own.

``make_tracer(settings)`` returns a ``Tracer``; ``TracingHooks(tracer, parent=header)``
(a ``states.Hooks``) traces a drive. Only
``tracing.xray`` / ``tracing.xray_patch`` know the aws-xray-sdk; an OpenTelemetry
backend would be one more module implementing ``Tracer``.
"""

from __future__ import annotations

from orchestrator.tracing.base import (
    JobTrace,
    Span,
    TraceHeader,
    Tracer,
    new_trace_id,
    trace_id_for,
)
from orchestrator.tracing.factory import TracingConfigError, make_tracer, tracing_mode
from orchestrator.tracing.hooks import TracingHooks
from orchestrator.tracing.memory import MemoryTracer
from orchestrator.tracing.null import NullTracer

__all__ = [
    "JobTrace", "MemoryTracer", "NullTracer", "Span", "TraceHeader", "Tracer",
    "TracingConfigError", "TracingHooks", "make_tracer", "new_trace_id", "trace_id_for",
    "tracing_mode",
]
