"""The AWS X-Ray backend of ``Tracer`` (aws-xray-sdk 2.x).

It owns its own ``AWSXRayRecorder`` (never the SDK's global one), configured so every
job is recorded (sampling off; each segment forced sampled), context per thread, and
an emitter sending each finished segment as one UDP datagram to the daemon address
(``Settings.xray_daemon`` / ``AWS_XRAY_DAEMON_ADDRESS``; locally, the development tools'
``auto_lambda_dev.collector``).
A segment is emitted when the job closes; subsegments beyond ``streaming_threshold`` are
streamed out earlier as their own documents, keeping each datagram small. botocore is
patched once so AWS calls made inside a span nest under it.

The SDK is in maintenance mode: keep every SDK detail in this module and
``xray_patch``; nothing else imports ``aws_xray_sdk``.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from aws_xray_sdk.core.context import Context
from aws_xray_sdk.core.emitters.udp_emitter import UDPEmitter
from aws_xray_sdk.core.models.throwable import Throwable
from aws_xray_sdk.core.recorder import AWSXRayRecorder

from orchestrator.tracing import xray_patch
from orchestrator.tracing.base import (
    JobTrace,
    NoopSpan,
    Span,
    TraceHeader,
    Tracer,
    annotation_key,
    annotation_value,
    is_trace_id,
    new_span_id,
    new_trace_id,
)

log = logging.getLogger(__name__)

DEFAULT_DAEMON_ADDRESS = "127.0.0.1:2000"
DEFAULT_STREAMING_THRESHOLD = 20


class _XRaySpan(Span):
    def __init__(self, entity: Any) -> None:
        self._entity = entity
        self.name = str(entity.name)
        self.errored = False

    def annotate(self, key: str, value: object) -> None:
        self._entity.put_annotation(annotation_key(key), annotation_value(value))

    def set_error(self, code: str, message: str) -> None:
        self.errored = True
        entity = self._entity
        entity.put_annotation("error_code", code)
        entity.put_metadata("error", {"code": code, "message": message}, "auto_lambda")
        entity.add_error_flag()
        throwable = Throwable(RuntimeError(message), [], remote=False)
        throwable.type = code
        if not isinstance(entity.cause, dict):
            entity.cause = {}
        entity.cause.setdefault("exceptions", []).append(throwable)
        entity.cause.setdefault("working_directory", "")


def make_recorder(emitter: Any, service: str,
                  streaming_threshold: int = DEFAULT_STREAMING_THRESHOLD) -> AWSXRayRecorder:
    """A private recorder: no sampling, thread-local context, silent outside a job."""
    recorder = AWSXRayRecorder()
    recorder.configure(
        sampling=False,
        context=Context(context_missing="IGNORE_ERROR"),
        emitter=emitter,
        service=service,
        plugins=(),
        streaming_threshold=streaming_threshold,
    )
    # configure() lets AWS_XRAY_CONTEXT_MISSING override; outside a job we want silence.
    recorder.context.context_missing = "IGNORE_ERROR"
    return recorder


class XRayTracer(Tracer):
    def __init__(self, daemon_address: str | None = None, *, service: str = "auto-lambda",
                 emitter: Any = None, patch_aws: bool = True,
                 streaming_threshold: int = DEFAULT_STREAMING_THRESHOLD) -> None:
        self.daemon_address = daemon_address or DEFAULT_DAEMON_ADDRESS
        self.emitter = emitter if emitter is not None else UDPEmitter(self.daemon_address)
        self.service = service
        self.recorder = make_recorder(self.emitter, service, streaming_threshold)
        if patch_aws:
            xray_patch.patch_botocore()

    @contextmanager
    def job(self, job_id: str, parent: str | None = None) -> Iterator[JobTrace]:
        header = TraceHeader.parse(parent)
        trace_id = header.root or new_trace_id()
        # sampling=1: every job is kept, whatever the upstream header decided.
        segment = self.recorder.begin_segment(name=self.service, traceid=trace_id,
                                              parent_id=header.parent, sampling=1)
        segment.put_annotation("job_id", job_id)
        seg_trace = segment.trace_id if is_trace_id(segment.trace_id) else trace_id
        seg_id = str(segment.id) if segment.id else new_span_id()
        try:
            with xray_patch.activate(self.recorder):
                yield JobTrace(job_id=job_id, trace_id=seg_trace, segment_id=seg_id)
        except Exception as exc:
            segment.add_exception(exc, traceback.extract_stack(limit=10))
            raise
        finally:
            self.recorder.end_segment()

    @contextmanager
    def span(self, name: str, annotations: Mapping[str, object] | None = None) -> Iterator[Span]:
        recorder = xray_patch.active_recorder()
        if recorder is None or recorder is not self.recorder:
            yield NoopSpan(name)  # no job of ours open on this thread
            return
        subsegment = recorder.begin_subsegment(name)
        if subsegment is None:
            yield NoopSpan(name)
            return
        span = _XRaySpan(subsegment)
        for key, value in (annotations or {}).items():
            span.annotate(key, value)
        try:
            yield span
        except Exception as exc:
            if not span.errored:
                subsegment.add_exception(exc, traceback.extract_stack(limit=10))
            raise
        finally:
            recorder.end_subsegment()
