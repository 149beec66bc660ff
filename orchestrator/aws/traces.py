"""The X-Ray door: reading a job's trace back (``trace``, the web console). Sending
segments is the tracing package's (the SDK, or the local collector)."""

from __future__ import annotations

from orchestrator.aws.errors import aws_call
from orchestrator.aws.types import BotoClient
from orchestrator.types import JsonObject


class Traces:
    def __init__(self, client: BotoClient) -> None:
        self._xray = client

    def batch_get(self, trace_ids: list[str]) -> JsonObject:
        """X-Ray's BatchGetTraces answer, as it came (``tracing.timeline`` reads it)."""
        with aws_call("xray.batch_get_traces"):
            return dict(self._xray.batch_get_traces(TraceIds=trace_ids))
