"""The OpenTelemetry backend of ``Tracer``: spans over OTLP/HTTP, with X-Ray ids.

One job drive is one root span (``SpanKind.CONSUMER``, named after the service like
the X-Ray segment, attribute ``job_id``); every span the hooks open (transitions, task
attempts) nests under the span active on this thread, with the same names and
attributes the X-Ray backend records as annotations. Trace ids come from
``AwsXRayIdGenerator`` (the first 8 hex digits are the epoch second), so the id a job
stores (``1-<8 hex>-<24 hex>``) is the OTel trace id split after 8 digits, and an ADOT
collector can forward the spans to X-Ray unchanged. An incoming ``AWSTraceHeader`` is
read with ``AwsXRayPropagator``; a stored bare trace id (a job resumed by another
drive) is continued by handing that id to the id generator for the root span, so the
resumed drive joins the same trace without a made-up parent.

Delivery: a ``BatchSpanProcessor`` exports from a thread of its own, one request per
job rather than one per span, and the end of each job asks for its spans to be
flushed, waiting at most ``flush_timeout`` seconds. ``SimpleSpanProcessor`` was the
alternative: it posts every span from the worker's own thread as the span ends (some
twenty requests a job), and with the collector down every one of them waits out the
exporter's retries. The SDK's ``force_flush`` ignores its timeout (it exports on the
caller's thread until done), so the flush runs on a helper thread and the job only
waits for it, bounded. After a failed export, job ends stop waiting altogether until an
export succeeds again; the spans stay queued (bounded; the SDK drops the oldest) and
are retried in the background. Export failures are logged, never raised into a job.

AWS calls: botocore is wrapped once per process (as ``xray_patch`` does for X-Ray) so a
call made on a thread with one of our jobs open is a ``CLIENT`` span under the active
span, named like the X-Ray subsegment (the service: ``s3``, ``dynamodb``) with the
attributes the ADOT X-Ray exporter turns into an AWS subsegment (``rpc.system=aws-api``,
``rpc.service``, ``rpc.method``, ``aws.region``, ``aws.request_id``), and the request
carries the ``X-Amzn-Trace-Id`` header of that span. Threads without a job, and the
X-Ray API, are left alone; a call's result or exception is never changed.

Every sampling decision is "record": like the X-Ray backend, every job is traced,
even under an upstream ``Sampled=0``. The provider is this tracer's own, never the
global one, so nothing else in the process reports through it.

Keep every OpenTelemetry detail in this module; nothing else imports ``opentelemetry``,
and this module is imported only when ``AUTO_LAMBDA_TRACING=otel`` chooses it.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.propagators.aws import AwsXRayPropagator
from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import SpanKind, Status, StatusCode

from orchestrator.tracing.base import (
    AnnotationValue,
    JobTrace,
    NoopSpan,
    Span,
    TraceHeader,
    Tracer,
    annotation_key,
    annotation_value,
)
from orchestrator.tracing.botocore_wrap import BotocoreWrap
from orchestrator.types import JsonMapping

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "http://localhost:4318/v1/traces"
# Seconds one export may take, retries included (the exporter's own deadline).
DEFAULT_EXPORT_TIMEOUT = 5.0
# Seconds a job's end waits for its spans to leave while the collector answers (a
# collector beside the worker answers in milliseconds).
DEFAULT_FLUSH_TIMEOUT = 1.0
_XRAY_HEADER = "X-Amzn-Trace-Id"

# The tracer with a job open in this thread's context: spans outside one are dropped,
# and botocore calls are traced only inside one.
_ACTIVE: contextvars.ContextVar[OTelTracer | None] = contextvars.ContextVar(
    "auto_lambda_otel_tracer", default=None)


def xray_trace_id(trace_id: int) -> str:
    """The X-Ray form of a 128-bit trace id: ``1-<first 8 hex>-<last 24 hex>``."""
    text = f"{trace_id:032x}"
    return f"1-{text[:8]}-{text[8:]}"


def otel_trace_id(xray_id: str) -> int:
    """The 128-bit trace id of an X-Ray trace id (``1-<8 hex>-<24 hex>``)."""
    _version, epoch, rand = xray_id.split("-")
    return int(epoch + rand, 16)


class _JobIdGenerator(AwsXRayIdGenerator):
    """X-Ray-shaped ids, except that a root span opened while ``pinned`` holds a trace
    id takes that id: how a resumed job continues the trace it already has."""

    def __init__(self) -> None:
        super().__init__()
        self.pinned: contextvars.ContextVar[int | None] = contextvars.ContextVar(
            "auto_lambda_pinned_trace_id", default=None)

    def generate_trace_id(self) -> int:
        pinned = self.pinned.get()
        return pinned if pinned is not None else super().generate_trace_id()


class _WatchedExporter(SpanExporter):
    """Wraps the OTLP exporter: remembers whether the collector answered last time, and
    turns any exception into a logged failure (an export must never raise)."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.healthy = True
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception:
            log.warning("tracing: exporting %d spans failed", len(spans), exc_info=True)
            result = SpanExportResult.FAILURE
        ok = result is SpanExportResult.SUCCESS
        with self._lock:
            if ok != self.healthy:
                if ok:
                    log.info("tracing: the OTLP collector answers again")
                else:
                    log.warning("tracing: %d spans not delivered to the OTLP collector; job "
                                "ends no longer wait for it until an export succeeds",
                                len(spans))
            self.healthy = ok
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


class _Flusher:
    """Runs ``flush`` on a helper thread on request; a caller waits for a flush that
    started after its request, for at most a timeout. Requests made while a flush runs
    are served together by the next one."""

    def __init__(self, flush: Callable[[], object]) -> None:
        self._flush = flush
        self._cond = threading.Condition()
        self._requested = 0
        self._done = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    def request(self, timeout: float) -> bool:
        """Ask for a flush; True once one that started after this call has finished,
        False if ``timeout`` seconds passed first (0: do not wait)."""
        with self._cond:
            if self._stopping:
                return False
            self._requested += 1
            ticket = self._requested
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="otel-flush",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._done >= ticket, timeout)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stopping or self._requested > self._done)
                if self._stopping:
                    return
                target = self._requested
            try:
                self._flush()
            except Exception:
                log.warning("tracing: flushing spans failed", exc_info=True)
            with self._cond:
                self._done = target
                self._cond.notify_all()


class _OTelSpan(Span):
    def __init__(self, span: trace.Span, name: str) -> None:
        self._span = span
        self.name = name
        self.errored = False

    def annotate(self, key: str, value: object) -> None:
        self._span.set_attribute(annotation_key(key), annotation_value(value))

    def set_error(self, code: str, message: str) -> None:
        self.errored = True
        span = self._span
        span.set_attribute("error_code", code)
        # The exception event's convention: ADOT turns it into the X-Ray cause.
        span.add_event("exception", {"exception.type": code, "exception.message": message})
        span.set_status(Status(StatusCode.ERROR, f"{code}: {message}"))


class OTelTracer(Tracer):
    """Spans to an OTLP/HTTP collector (``endpoint`` is the full ``/v1/traces`` URL).

    ``exporter`` replaces the OTLP one (tests pass an in-memory exporter).
    """

    def __init__(self, endpoint: str | None = None, *, service: str = "auto-lambda",
                 exporter: SpanExporter | None = None,
                 export_timeout: float = DEFAULT_EXPORT_TIMEOUT,
                 flush_timeout: float = DEFAULT_FLUSH_TIMEOUT, patch_aws: bool = True) -> None:
        self.endpoint = endpoint or DEFAULT_ENDPOINT
        self.service = service
        self.flush_timeout = flush_timeout
        inner = exporter if exporter is not None else OTLPSpanExporter(
            endpoint=self.endpoint, timeout=export_timeout)
        self.exporter = _WatchedExporter(inner)
        self._ids = _JobIdGenerator()
        self.provider = TracerProvider(resource=Resource.create({"service.name": service}),
                                       sampler=ALWAYS_ON, id_generator=self._ids)
        self.provider.add_span_processor(BatchSpanProcessor(
            self.exporter, export_timeout_millis=int(export_timeout * 1000)))
        self._tracer = self.provider.get_tracer("auto-lambda")
        self._flusher = _Flusher(self.provider.force_flush)
        self._propagator = AwsXRayPropagator()
        if patch_aws:
            patch_botocore()

    def _parent_context(self, header: TraceHeader) -> otel_context.Context:
        if header.root and header.parent:
            return self._propagator.extract({_XRAY_HEADER: header.to_header()},
                                            context=otel_context.Context())
        return otel_context.Context()  # a root span (its trace id pinned, when known)

    @contextmanager
    def job(self, job_id: str, parent: str | None = None) -> Iterator[JobTrace]:
        header = TraceHeader.parse(parent)
        parent_ctx = self._parent_context(header)
        pin = None
        if header.root and not trace.get_current_span(parent_ctx).get_span_context().is_valid:
            pin = self._ids.pinned.set(otel_trace_id(header.root))
        try:
            root = self._tracer.start_span(self.service, context=parent_ctx,
                                           kind=SpanKind.CONSUMER,
                                           attributes={"job_id": job_id})
        finally:
            if pin is not None:
                self._ids.pinned.reset(pin)
        span_ctx = root.get_span_context()
        active_token = _ACTIVE.set(self)
        ctx_token = otel_context.attach(trace.set_span_in_context(root, parent_ctx))
        try:
            yield JobTrace(job_id=job_id, trace_id=xray_trace_id(span_ctx.trace_id),
                           segment_id=f"{span_ctx.span_id:016x}")
        except Exception as exc:
            root.record_exception(exc)
            root.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            otel_context.detach(ctx_token)
            _ACTIVE.reset(active_token)
            root.end()
            self.flush()

    @contextmanager
    def span(self, name: str, annotations: Mapping[str, object] | None = None) -> Iterator[Span]:
        if _ACTIVE.get() is not self:
            yield NoopSpan(name)  # no job of ours open on this thread
            return
        attributes = {annotation_key(k): annotation_value(v)
                      for k, v in (annotations or {}).items()}
        with self._tracer.start_as_current_span(
                name, attributes=attributes, record_exception=False,
                set_status_on_exception=False) as otel_span:
            span = _OTelSpan(otel_span, name)
            try:
                yield span
            except Exception as exc:
                if not span.errored:
                    otel_span.record_exception(exc)
                    otel_span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise

    def aws_call(self, service: str, service_id: str, operation: str, region: str | None,
                 call: Callable[[], Any]) -> Any:
        """Run one botocore API call inside a ``CLIENT`` span (see the module docstring)."""
        attributes: dict[str, AnnotationValue] = {
            "rpc.system": "aws-api", "rpc.service": service_id, "rpc.method": operation}
        if region:
            attributes["aws.region"] = region
        with self._tracer.start_as_current_span(
                service, kind=SpanKind.CLIENT, attributes=attributes, record_exception=False,
                set_status_on_exception=False) as span:
            try:
                result = call()
            except Exception as exc:
                response = getattr(exc, "response", None)
                if isinstance(response, dict):
                    _record_response(span, response)
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise
            if isinstance(result, dict):
                _record_response(span, result)
            return result

    def flush(self) -> None:
        """Send the spans that have ended; wait at most ``flush_timeout`` seconds for
        them to leave, and not at all while exports are failing. Never raises."""
        wait = self.flush_timeout if self.exporter.healthy else 0.0
        try:
            if not self._flusher.request(wait) and wait:
                log.warning("tracing: spans not exported within %.1f s; they stay queued",
                            wait)
        except Exception:
            log.warning("tracing: flushing spans failed", exc_info=True)

    def close(self) -> None:
        """Export what is left (bounded by the export timeout) and stop the threads."""
        self._flusher.stop()
        try:
            self.provider.shutdown()
        except Exception:
            log.warning("tracing: shutting the span exporter down failed", exc_info=True)


def _record_response(span: trace.Span, response: JsonMapping) -> None:
    meta = response.get("ResponseMetadata") or {}
    if meta.get("RequestId"):
        span.set_attribute("aws.request_id", str(meta["RequestId"]))
    if isinstance(meta.get("HTTPStatusCode"), int):
        span.set_attribute("http.response.status_code", meta["HTTPStatusCode"])


def _traced_api_call(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    tracer = _ACTIVE.get()
    if tracer is None:
        return wrapped(*args, **kwargs)
    metadata = instance.meta.service_model.metadata
    service = metadata.get("endpointPrefix", "aws")
    if service == "xray":  # never trace the traces
        return wrapped(*args, **kwargs)
    operation = args[0] if args else kwargs.get("operation_name", "")
    return tracer.aws_call(service, str(metadata.get("serviceId", service)), str(operation),
                           instance.meta.region_name, lambda: wrapped(*args, **kwargs))


def _inject_header(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    if _ACTIVE.get() is not None and args:
        try:
            AwsXRayPropagator().inject(args[0].headers)
        except Exception:
            log.warning("tracing: could not add the trace header to an AWS call", exc_info=True)
    return wrapped(*args, **kwargs)


_WRAP = BotocoreWrap(_traced_api_call, _inject_header)


def patch_botocore() -> bool:
    """Install the wrappers once per process; returns True if this call installed them."""
    return _WRAP.install()
