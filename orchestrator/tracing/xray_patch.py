"""Makes botocore calls appear under the active X-Ray subsegment of *our* recorder.

The SDK's own ``aws_xray_sdk.ext.botocore.patch`` always reports to the SDK's global
recorder; this project keeps its own recorder instance, so it installs an equivalent
wrapper (once per process) that reports to whichever recorder has a job open on the
calling thread, and does nothing at all on threads without one. X-Ray API calls are never
traced (the collector forwarding segments must not create more segments).

Must not: create recorders, open segments, or change what a botocore call returns/raises.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from orchestrator.tracing.botocore_wrap import BotocoreWrap

_active = threading.local()


def active_recorder() -> Any | None:
    """The recorder with a job open on this thread, if any."""
    return getattr(_active, "recorder", None)


@contextmanager
def activate(recorder: Any) -> Iterator[None]:
    """Route this thread's botocore calls to ``recorder`` while the block runs."""
    previous = getattr(_active, "recorder", None)
    _active.recorder = recorder
    try:
        yield
    finally:
        _active.recorder = previous


def _traced_api_call(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    recorder = active_recorder()
    service = instance._service_model.metadata.get("endpointPrefix", "aws")
    if recorder is None or service == "xray":
        return wrapped(*args, **kwargs)
    # the SDK's helpers load with the first traced call, not with the CLI
    from aws_xray_sdk.ext.boto_utils import aws_meta_processor

    return recorder.record_subsegment(
        wrapped, instance, args, kwargs,
        name=service, namespace="aws", meta_processor=aws_meta_processor,
    )


def _inject_header(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    recorder = active_recorder()
    if recorder is not None:
        from aws_xray_sdk.ext.util import inject_trace_header

        entity = recorder.context.get_trace_entity() if recorder.context else None
        if entity is not None and getattr(entity, "sampled", False):
            inject_trace_header(args[0].headers, entity)
    return wrapped(*args, **kwargs)


_WRAP = BotocoreWrap(_traced_api_call, _inject_header)


def patch_botocore() -> bool:
    """Install the wrappers once per process; returns True if this call installed them."""
    return _WRAP.install()
