"""OpenTelemetry end to end on this machine: the otel backend, chosen through settings
as a worker chooses it, exports OTLP/HTTP protobuf to a small receiver on 127.0.0.1;
each job is one trace with a span per transition and attempt, an X-Ray-shaped trace id
and its job id, and the AWS calls a task makes under that task's span. A collector
that refuses connections, or accepts and never answers, does not fail the job."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from moto import mock_aws
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from orchestrator.config import Settings
from orchestrator.tracing import TracingHooks, make_tracer
from orchestrator.tracing.base import Tracer
from orchestrator.tracing.otel import OTelTracer
from states import EventType, Execution, TaskContext, drive
from tests.fakes import FETCH_BUILD, FakeClock, Flaky


class Receiver(ThreadingHTTPServer):
    """An OTLP/HTTP traces endpoint keeping every span it is sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[ExportTraceServiceRequest] = []
        self.paths: list[str] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def spans(self) -> list[dict[str, Any]]:
        out = []
        with self.lock:
            for request in self.requests:
                for resource_spans in request.resource_spans:
                    resource = attributes(resource_spans.resource.attributes)
                    for scope_spans in resource_spans.scope_spans:
                        for span in scope_spans.spans:
                            out.append({
                                "name": span.name, "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent_id": span.parent_span_id.hex(),
                                "attributes": attributes(span.attributes),
                                "status": span.status.code, "resource": resource})
        return out


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        with self.server.lock:
            self.server.requests.append(request)
            self.server.paths.append(self.path)
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        return None


def attributes(kvs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in kvs:
        value: AnyValue = kv.value
        out[kv.key] = getattr(value, value.WhichOneof("value") or "string_value")
    return out


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def otel_tracer(endpoint: str) -> Tracer:
    """The backend exactly as a worker's settings choose it."""
    settings = Settings.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
                                  "AUTO_LAMBDA_PREFIX": "auto-lambda",
                                  "AUTO_LAMBDA_TRACING": "otel"})
    tracer = make_tracer(settings)
    assert isinstance(tracer, OTelTracer)
    return tracer


def fetch(_ctx: TaskContext) -> dict[str, Any]:
    with mock_aws():  # AWS calls as a fetch makes them, in-process
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="uploads")
        s3.put_object(Bucket="uploads", Key="app.zip", Body=b"zip")
    return {"fetched": True}


def run_job(tracer: Tracer, job_id: str) -> Execution:
    failures = {"build": 1}

    def build(_ctx: TaskContext) -> None:
        if failures["build"]:
            failures["build"] -= 1
            raise Flaky("throttled, try again")

    clock = FakeClock()
    ex = Execution.start(FETCH_BUILD, job_id, {}, clock())
    return drive(ex, {"fetch": fetch, "build": build},
                 persist=lambda _e: None, clock=clock, sleep=clock.sleep,
                 hooks=[TracingHooks(tracer)])


def test_each_job_is_one_trace_with_a_span_per_transition_and_attempt(
        receiver: Receiver) -> None:
    tracer = otel_tracer(receiver.url)
    before = int(time.time())
    jobs = [run_job(tracer, "job-a"), run_job(tracer, "job-b")]
    after = int(time.time())
    tracer.close()  # exports anything still queued before we read

    assert set(receiver.paths) == {"/v1/traces"}
    spans = receiver.spans()
    by_trace: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        by_trace.setdefault(span["trace_id"], []).append(span)
    assert len(by_trace) == 2  # one trace per job

    for ex in jobs:
        assert ex.state == "built"
        assert ex.trace_id is not None
        _v, epoch, rand = ex.trace_id.split("-")
        trace = by_trace[epoch + rand]  # the stored X-Ray id is the OTel trace id
        assert before <= int(epoch, 16) <= after  # X-Ray ids start with the epoch second

        (root,) = [s for s in trace if s["parent_id"] == ""]
        assert root["name"] == "auto-lambda"
        assert root["attributes"] == {"job_id": ex.id}
        assert root["resource"]["service.name"] == "auto-lambda"
        (fetch_span,) = [s for s in trace if s["name"] == "fetch"]
        calls = [s for s in trace if s["name"] == "s3"]
        assert [c["attributes"]["rpc.method"] for c in calls] == ["CreateBucket", "PutObject"]
        assert all(c["parent_id"] == fetch_span["span_id"] for c in calls)
        steps = [s for s in trace if s is not root and s not in calls]
        assert all(s["parent_id"] == root["span_id"] for s in steps)
        assert all(s["attributes"]["job_id"] == ex.id for s in steps)

        transitions = [s["name"] for s in trace if s["name"].startswith("transition:")]
        entered = [e for e in ex.history if e.type is EventType.StateEntered]
        assert len(transitions) == len(entered) == 5
        assert sorted(transitions) == sorted([
            "transition:start-received", "transition:received-fetched",
            "transition:fetched-retrying", "transition:retrying-fetched",
            "transition:fetched-built"])
        assert {s["name"] for s in trace} >= {
            "ExecutionStarted:received", "RetryScheduled:fetched", "ExecutionSucceeded:built"}
        attempts = sorted((s["name"], s["attributes"]["attempt"],
                           s["attributes"].get("error_code")) for s in trace
                          if s["attributes"].get("kind") == "attempt")
        assert attempts == [("build", 1, "Transient"), ("build", 2, None), ("fetch", 1, None)]
        (failed,) = [s for s in trace if s["attributes"].get("error_code")
                     and s["name"] == "build"]
        assert failed["status"] == 2  # STATUS_CODE_ERROR


def test_the_traces_endpoint_variable_is_used_as_given(receiver: Receiver) -> None:
    settings = Settings.from_env({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT":
                                  f"{receiver.url}/custom/traces",
                                  "AUTO_LAMBDA_TRACING": "otel"})
    tracer = make_tracer(settings)
    assert run_job(tracer, "job-c").state == "built"
    tracer.close()
    assert set(receiver.paths) == {"/custom/traces"}
    roots = [s for s in receiver.spans() if s["parent_id"] == ""]
    assert [r["attributes"]["job_id"] for r in roots] == ["job-c"]


@pytest.fixture
def refusing() -> str:
    """An address nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def silent() -> Iterator[str]:
    """An address that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


@pytest.mark.parametrize("collector", ["refusing", "silent"])
def test_a_collector_that_is_down_does_not_fail_the_jobs(
        collector: str, request: pytest.FixtureRequest) -> None:
    tracer = otel_tracer(request.getfixturevalue(collector))
    for n in range(3):
        ex = run_job(tracer, f"job-{collector}-{n}")
        assert ex.state == "built"
        assert ex.trace_id is not None
