"""The OpenTelemetry backend in-process: an in-memory exporter stands in for OTLP. Job
spans carry X-Ray-shaped trace ids, continue a header or a stored trace id, nest per
thread, record errors as X-Ray does, and are flushed when the job ends. Also how the
factory chooses it, and the ExtraMissing error without the extra."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, StatusCode

from orchestrator.config import Settings
from orchestrator.errors import AutoLambdaError
from orchestrator.tracing import TracingHooks, make_tracer, tracing_mode
from orchestrator.tracing.base import is_span_id, is_trace_id
from orchestrator.tracing.factory import otlp_traces_endpoint
from orchestrator.tracing.otel import OTelTracer, otel_trace_id, xray_trace_id
from states import EventType, Execution, TaskContext, drive
from tests.fakes import FETCH_BUILD, FakeClock, Flaky

ROOT = "1-5759e988-bd862e3fe1be46a994272793"


class Keep(SpanExporter):
    """Keeps exported spans; ``fail`` makes every export report failure."""

    def __init__(self, fail: bool = False) -> None:
        self.spans: list[ReadableSpan] = []
        self.exports = 0
        self.fail = fail

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.exports += 1
        if self.fail:
            return SpanExportResult.FAILURE
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans if s.name == name]


class Raising(Keep):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.exports += 1
        raise ConnectionError("collector gone")


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def test_trace_ids_convert_both_ways() -> None:
    assert otel_trace_id(ROOT) == 0x5759E988BD862E3FE1BE46A994272793
    assert xray_trace_id(otel_trace_id(ROOT)) == ROOT


def test_a_job_is_one_trace_exported_when_it_ends() -> None:
    keep = Keep()
    tracer = OTelTracer(exporter=keep, service="demo")
    with tracer.job("j1") as job:
        with tracer.span("fetch", {"job id": "j1", "attempt": 1}):
            pass
        assert keep.spans == []  # nothing leaves before the job ends
    assert is_trace_id(job.trace_id) and is_span_id(job.segment_id)
    (root,) = keep.named("demo")
    (fetch,) = keep.named("fetch")
    assert root.kind is SpanKind.CONSUMER and root.parent is None
    assert attrs(root) == {"job_id": "j1"}
    assert root.resource.attributes["service.name"] == "demo"
    assert xray_trace_id(root.context.trace_id) == job.trace_id
    assert f"{root.context.span_id:016x}" == job.segment_id
    assert fetch.parent is not None and fetch.parent.span_id == root.context.span_id
    assert fetch.context.trace_id == root.context.trace_id
    assert attrs(fetch) == {"job_id": "j1", "attempt": 1}  # keys made X-Ray-safe


def test_a_header_is_continued_and_sampled_even_when_it_says_not_to() -> None:
    keep = Keep()
    tracer = OTelTracer(exporter=keep)
    for n in range(5):
        with tracer.job(f"j{n}", f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=0") as job:
            assert job.trace_id == ROOT
    assert len(keep.spans) == 5
    for span in keep.spans:
        assert span.context.trace_flags.sampled
        assert span.parent is not None and span.parent.is_remote
        assert f"{span.parent.span_id:016x}" == "53995c3f42cd8ad8"


def test_a_stored_trace_id_is_continued_without_a_parent() -> None:
    keep = Keep()
    tracer = OTelTracer(exporter=keep)
    with tracer.job("j1", ROOT) as job, tracer.span("build"):
        pass
    with tracer.job("j2") as fresh:
        pass
    assert job.trace_id == ROOT
    assert fresh.trace_id != ROOT  # the pin held for that one root span only
    root = next(s for s in keep.spans if attrs(s) == {"job_id": "j1"})
    assert root.parent is None
    assert {xray_trace_id(s.context.trace_id) for s in keep.spans[:2]} == {ROOT}


def test_errors_are_recorded_as_codes_and_exceptions_propagate() -> None:
    keep = Keep()
    tracer = OTelTracer(exporter=keep)
    with tracer.job("j1"):
        with tracer.span("build", {"attempt": 2}) as span:
            span.set_error("NoCompatibleWheel", "numpy has no wheel for arm64")
        with pytest.raises(ValueError), tracer.span("verify"):
            raise ValueError("boom")
    (build,) = keep.named("build")
    assert attrs(build) == {"attempt": 2, "error_code": "NoCompatibleWheel"}
    assert build.status.status_code is StatusCode.ERROR
    (event,) = build.events
    assert event.name == "exception"
    assert dict(event.attributes or {}) == {
        "exception.type": "NoCompatibleWheel",
        "exception.message": "numpy has no wheel for arm64"}
    (verify,) = keep.named("verify")
    assert verify.status.status_code is StatusCode.ERROR
    assert dict(verify.events[0].attributes or {})["exception.type"] == "ValueError"


def test_spans_outside_a_job_or_on_another_thread_are_dropped() -> None:
    keep = Keep()
    tracer = OTelTracer(exporter=keep)
    with tracer.span("orphan") as orphan:
        orphan.annotate("a", 1)
    with tracer.job("j1"):
        def elsewhere() -> None:
            with tracer.span("elsewhere"):
                pass

        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
    assert [s.name for s in keep.spans] == ["auto-lambda"]


def test_jobs_on_different_threads_are_separate_traces() -> None:
    keep = Keep()
    tracer = OTelTracer(exporter=keep)
    barrier = threading.Barrier(2)

    def work(name: str) -> None:
        with tracer.job(name):
            barrier.wait()  # both jobs are open at once
            with tracer.span(f"step-{name}"):
                pass

    threads = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    roots = {attrs(s)["job_id"]: s for s in keep.named("auto-lambda")}
    assert set(roots) == {"a", "b"}
    for name in ("a", "b"):
        (step,) = keep.named(f"step-{name}")
        assert step.context.trace_id == roots[name].context.trace_id
        assert step.parent is not None and step.parent.span_id == roots[name].context.span_id
    assert roots["a"].context.trace_id != roots["b"].context.trace_id


@pytest.mark.parametrize("make", [lambda: Keep(fail=True), Raising])
def test_a_failing_exporter_never_fails_the_job_and_job_ends_stop_waiting(
        make: Callable[[], Keep]) -> None:
    keep = make()
    tracer = OTelTracer(exporter=keep)
    with tracer.job("j1"), tracer.span("fetch"):
        pass
    assert keep.exports == 1  # the job's end waited for its export, which failed
    assert tracer.exporter.healthy is False
    with tracer.job("j2"), tracer.span("fetch"):
        pass  # ends without waiting; the batch thread keeps trying
    keep.fail = False
    with tracer.job("j3"):
        pass
    tracer.provider.force_flush()  # returns once j3's spans went out
    assert tracer.exporter.healthy is (make is not Raising)  # waiting resumes once it answers
    tracer.close()


def test_hooks_drive_one_trace_with_the_names_the_xray_backend_uses() -> None:
    keep = Keep()
    tracer = OTelTracer(exporter=keep)
    failures = {"build": 1}

    def build(_ctx: TaskContext) -> None:
        if failures["build"]:
            failures["build"] -= 1
            raise Flaky("throttled, try again")

    clock = FakeClock()
    ex = Execution.start(FETCH_BUILD, "job-1", {}, clock())
    drive(ex, {"fetch": lambda _ctx: {}, "build": build}, persist=lambda _e: None,
          clock=clock, sleep=clock.sleep, hooks=[TracingHooks(tracer)])
    assert ex.state == "built"
    assert ex.trace_id is not None
    assert {xray_trace_id(s.context.trace_id) for s in keep.spans} == {ex.trace_id}
    transitions = [s.name for s in keep.spans if s.name.startswith("transition:")]
    entered = [e for e in ex.history if e.type is EventType.StateEntered]
    assert len(transitions) == len(entered) == 5
    attempts = sorted((s.name, attrs(s)["attempt"], attrs(s).get("error_code"))
                      for s in keep.spans if attrs(s).get("kind") == "attempt")
    assert attempts == [("build", 1, "Transient"), ("build", 2, None), ("fetch", 1, None)]
    (fetch,) = keep.named("fetch")
    assert attrs(fetch) == {"job_id": "job-1", "state": "received", "attempt": 1,
                            "resource": "fetch", "kind": "attempt"}


# ---- choosing it ----
def test_otel_is_a_backend_and_xray_stays_the_default() -> None:
    assert tracing_mode(Settings(tracing="otel")) == "otel"
    assert tracing_mode(Settings(tracing=" OTel ")) == "otel"
    assert tracing_mode(Settings(xray_daemon="127.0.0.1:2000")) == "xray"
    assert tracing_mode(Settings(otel_endpoint="http://c:4318")) == "off"


@pytest.mark.parametrize("settings, url", [
    (Settings(), "http://localhost:4318/v1/traces"),
    (Settings(otel_endpoint="http://collector:4318/"), "http://collector:4318/v1/traces"),
    (Settings(otel_endpoint="http://a:4318", otel_traces_endpoint="https://b/custom"),
     "https://b/custom"),
])
def test_the_endpoint_follows_the_standard_variables(settings: Settings, url: str) -> None:
    assert otlp_traces_endpoint(settings) == url


def test_make_tracer_builds_the_otel_backend() -> None:
    tracer = make_tracer(Settings(prefix="demo", otel_endpoint="http://127.0.0.1:4318",
                                  tracing="otel"))
    assert isinstance(tracer, OTelTracer)
    assert tracer.endpoint == "http://127.0.0.1:4318/v1/traces"
    assert tracer.service == "demo"
    tracer.close()
    with pytest.raises(AutoLambdaError) as err:
        make_tracer(Settings(otel_endpoint="collector:4318", tracing="otel"))
    assert err.value.code == "TracingConfigInvalid"


def test_without_the_extra_otel_is_extra_missing_with_the_pip_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes the import fail as if the package were absent.
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)
    with pytest.raises(AutoLambdaError) as err:
        make_tracer(Settings(tracing="otel"))
    assert err.value.code == "ExtraMissing"
    assert "AUTO_LAMBDA_TRACING=otel" in str(err.value)
    assert "pip install 'auto-lambda[otel]'" in str(err.value)


@pytest.mark.slow  # a fresh interpreter or a large archive: not in `make check`
def test_a_worker_imports_opentelemetry_only_when_it_is_chosen() -> None:
    import subprocess

    code = ("import sys\n"
            "import worker.loop\n"
            "import orchestrator.jobs.runtime\n"
            "from orchestrator.config import Settings\n"
            "from orchestrator.tracing import make_tracer\n"
            "for mode in ('off', 'xray', 'memory'):\n"
            "    make_tracer(Settings(tracing=mode))\n"
            "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
            "make_tracer(Settings(tracing='otel'))\n"
            "print('opentelemetry.sdk.trace' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["[]", "True"], out.stdout + out.stderr


def test_aws_calls_in_a_job_are_client_spans_under_the_active_span() -> None:
    import boto3
    from moto import mock_aws

    keep = Keep()
    tracer = OTelTracer(exporter=keep)
    sent: list[bytes | None] = []
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.meta.events.register(
            "before-send", lambda request, **_: sent.append(request.headers.get("X-Amzn-Trace-Id")))
        s3.list_buckets()  # no job open: not traced, no header
        with tracer.job("j1") as job, tracer.span("fetch"):
            s3.create_bucket(Bucket="traced")
            with pytest.raises(s3.exceptions.NoSuchKey):
                s3.get_object(Bucket="traced", Key="missing")
    tracer.close()

    (fetch,) = keep.named("fetch")
    calls = keep.named("s3")
    assert [attrs(c)["rpc.method"] for c in calls] == ["CreateBucket", "GetObject"]
    for call in calls:
        assert call.kind is SpanKind.CLIENT
        assert call.parent is not None and call.parent.span_id == fetch.context.span_id
        assert attrs(call)["rpc.system"] == "aws-api"
        assert attrs(call)["rpc.service"] == "S3"
        assert attrs(call)["aws.region"] == "us-east-1"
    ok, missing = calls
    assert attrs(ok)["http.response.status_code"] == 200
    assert ok.status.status_code is StatusCode.UNSET
    assert attrs(missing)["http.response.status_code"] == 404
    assert missing.status.status_code is StatusCode.ERROR
    assert missing.events[0].attributes is not None
    assert missing.events[0].attributes["exception.type"].endswith("NoSuchKey")
    assert sent[0] is None
    for header, call in zip(sent[1:], calls, strict=True):
        assert header is not None
        parent = f"{call.context.span_id:016x}"
        assert header.decode() == f"Root={job.trace_id};Parent={parent};Sampled=1"
