"""``TracingHooks``: the ``states.Hooks`` that turn a drive into a trace.

One job segment per ``drive`` call (execution_scope), continuing the execution's
trace id (and the SQS message's AWSTraceHeader parent when it belongs to that trace);
one span per task attempt (task_scope; name = the task's resource, annotated job_id,
state, attempt, error_code on failure); one short span per transition (on_event:
``transition:<from>-<to>`` for StateEntered, ``<EventType>:<state>`` for starts,
retries, timeouts, redrives and the end). drive() delivers each history event once,
including those recorded by Execution.start and redrive before it ran, so every
transition is traced exactly once across drives and processes.

Tracing must never change a job's outcome: tracer failures are logged and swallowed,
task exceptions always propagate untouched. Talks only to the ``Tracer`` interface.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager

from orchestrator.tracing.base import NoopSpan, Span, TraceHeader, Tracer, is_trace_id
from orchestrator.tracing.names import (
    EVENT_SPAN_TYPES,
    attempt_name,
    event_name,
    transition_name,
)
from states import EventType, Execution, HistoryEvent, Hooks, TaskCall, error_name_of

log = logging.getLogger(__name__)


class TracingHooks(Hooks):
    """Trace one drive. ``parent`` is the SQS message's AWSTraceHeader, if any."""

    def __init__(self, tracer: Tracer, parent: str | None = None) -> None:
        self.tracer = tracer
        self.parent = parent

    def parent_for(self, ex: Execution) -> str | None:
        """The header the job segment continues: the message's when it carries this
        execution's trace, else the execution's own trace id."""
        header = TraceHeader.parse(self.parent)
        if ex.trace_id and header.root != ex.trace_id:
            return ex.trace_id
        return self.parent or ex.trace_id

    # ---- Hooks ----
    def execution_scope(self, ex: Execution) -> AbstractContextManager[None]:
        return self._execution_scope(ex)

    @contextmanager
    def _execution_scope(self, ex: Execution) -> Iterator[None]:
        with ExitStack() as stack:
            try:
                job = stack.enter_context(self.tracer.job(ex.id, self.parent_for(ex)))
                if not is_trace_id(ex.trace_id):
                    # None, or a whole AWSTraceHeader passed as the id: events recorded
                    # from now on (and the job record) carry the bare trace id.
                    ex.trace_id = job.trace_id
            except Exception:
                log.warning("tracing: could not open the job segment of %s", ex.id,
                            exc_info=True)
            yield

    def task_scope(self, ex: Execution, call: TaskCall) -> AbstractContextManager[None]:
        return self._task_scope(ex, call)

    @contextmanager
    def _task_scope(self, ex: Execution, call: TaskCall) -> Iterator[None]:
        annotations = {"job_id": ex.id, "state": call.state, "attempt": call.attempt,
                       "resource": call.resource, "kind": "attempt"}
        with ExitStack() as stack:
            span: Span
            try:
                span = stack.enter_context(
                    self.tracer.span(attempt_name(call.resource), annotations))
            except Exception:
                log.warning("tracing: could not open the span of %s/%s", ex.id, call.state,
                            exc_info=True)
                span = NoopSpan(call.resource)
            try:
                yield
            except Exception as exc:
                try:
                    span.set_error(error_name_of(exc), str(exc))
                except Exception:
                    log.warning("tracing: could not record an error", exc_info=True)
                raise

    def on_event(self, ex: Execution, event: HistoryEvent) -> None:
        history = ex.history
        index = len(history) - 1
        while index >= 0 and history[index] is not event:
            index -= 1
        try:
            self._trace_event(ex, event, index if index >= 0 else len(history))
        except Exception:
            log.warning("tracing: could not record %s of %s", event.type.value, ex.id,
                        exc_info=True)

    # ---- internals ----
    def _trace_event(self, ex: Execution, event: HistoryEvent, index: int) -> None:
        kind = event.type.value
        if event.type is EventType.StateEntered:
            source = event.details.get("from") or ex.state_before(ex.history_base + index)
            name = transition_name(source, event.state)
        elif kind in EVENT_SPAN_TYPES:
            source = None
            name = event_name(kind, event.state)
        else:
            return
        annotations: dict[str, object] = {"job_id": ex.id, "state": event.state,
                                          "attempt": event.attempt, "event": kind,
                                          "kind": "transition"}
        if source is not None:
            annotations["from_state"] = source
        redrives = event.details.get("redrive_count")
        if redrives is not None:
            annotations["redrive_count"] = redrives
        with self.tracer.span(name, annotations) as span:
            if event.error:
                span.set_error(event.error, event.cause or "")
