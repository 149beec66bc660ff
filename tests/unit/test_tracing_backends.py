"""Choosing a backend (make_tracer), the null tracer's trace ids, the memory tracer's
nesting, and the X-Ray backend's segments captured in-process by a custom emitter."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from typing import Any

import pytest

from orchestrator.config import Settings
from orchestrator.tracing import (
    MemoryTracer,
    NullTracer,
    TracingConfigError,
    make_tracer,
    tracing_mode,
)
from orchestrator.tracing.base import is_span_id, is_trace_id
from orchestrator.tracing.xray import XRayTracer

ROOT = "1-5759e988-bd862e3fe1be46a994272793"


@pytest.mark.parametrize("env, daemon, mode", [
    ({}, None, "off"),
    ({"AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000"}, None, "xray"),
    ({}, "127.0.0.1:2999", "xray"),
    ({"AUTO_LAMBDA_TRACING": "xray"}, None, "xray"),
    ({"AUTO_LAMBDA_TRACING": "off", "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000"},
     "127.0.0.1:2000", "off"),
    ({"AUTO_LAMBDA_TRACING": "memory"}, None, "memory"),
])
def test_the_backend_follows_the_environment(env: dict[str, str], daemon: str | None,
                                             mode: str) -> None:
    settings = Settings.from_env(env)
    if daemon is not None:
        settings = replace(settings, xray_daemon=daemon)
    assert tracing_mode(settings) == mode


def test_make_tracer_builds_the_chosen_backend() -> None:
    assert isinstance(make_tracer(Settings()), NullTracer)
    assert isinstance(make_tracer(Settings(tracing="memory")), MemoryTracer)
    tracer = make_tracer(Settings(xray_daemon="127.0.0.1:2999", prefix="demo"))
    assert isinstance(tracer, XRayTracer)
    assert tracer.daemon_address == "127.0.0.1:2999"
    assert tracer.service == "demo"


def test_an_unknown_backend_or_a_bad_address_is_a_config_error() -> None:
    with pytest.raises(TracingConfigError) as err:
        make_tracer(Settings.from_env({"AUTO_LAMBDA_TRACING": "zipkin"}))
    assert err.value.code == "TracingConfigInvalid"
    with pytest.raises(TracingConfigError):
        make_tracer(Settings(xray_daemon="not an address"))


def test_the_null_tracer_hands_out_valid_ids_and_continues_a_parent() -> None:
    tracer = NullTracer()
    with tracer.job("j") as fresh:
        assert is_trace_id(fresh.trace_id) and is_span_id(fresh.segment_id)
        with tracer.span("x", {"a": 1}) as span:
            span.annotate("b", 2)
            span.set_error("Code", "message")
    with tracer.job("j", f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=0") as cont:
        assert cont.trace_id == ROOT
        assert cont.header.startswith(f"Root={ROOT};Parent={cont.segment_id}")


def test_memory_spans_nest_per_thread_and_outside_a_job_are_dropped() -> None:
    tracer = MemoryTracer()
    with tracer.span("orphan", {}):
        pass
    with tracer.job("j1") as job, tracer.span("outer", {"job id": "j1"}) as outer:
        seen: list[int] = []

        def other_thread() -> None:  # no job open there: nothing recorded
            with tracer.span("elsewhere", {}):
                seen.append(len(tracer.spans))

        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
        with tracer.span("inner", {}):
            pass
    assert [s.name for s in tracer.spans] == ["outer", "inner"]
    assert tracer.spans[0].parent_id == job.segment_id
    assert tracer.spans[1].parent_id == tracer.spans[0].span_id
    assert tracer.spans[0].annotations == {"job_id": "j1"}  # key made X-Ray-safe
    assert outer is tracer.spans[0]
    assert seen == [1]


class Capture:
    """A custom emitter: keeps what the UDP emitter would send."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_entity(self, entity: Any) -> None:
        self.sent.append(json.loads(entity.serialize()))


def test_xray_samples_every_job_even_when_the_header_says_not_to() -> None:
    capture = Capture()
    tracer = XRayTracer(emitter=capture, patch_aws=False)
    for n in range(30):  # the SDK's default sampler would keep ~1/s + 5 %
        header = f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=0"
        with tracer.job(f"j{n}", header), tracer.span("fetch", {"job_id": f"j{n}"}):
            pass
    assert len(capture.sent) == 30
    first = capture.sent[0]
    assert first["trace_id"] == ROOT
    assert first["parent_id"] == "53995c3f42cd8ad8"
    assert first["subsegments"][0]["annotations"] == {"job_id": "j0"}


def test_xray_segment_is_emitted_when_the_job_closes_with_errors_recorded() -> None:
    capture = Capture()
    tracer = XRayTracer(emitter=capture, patch_aws=False)
    with tracer.job("j1") as job:
        with tracer.span("build", {"attempt": 2}) as span:
            span.set_error("NoCompatibleWheel", "numpy has no wheel for arm64")
        with pytest.raises(ValueError), tracer.span("verify", {}):
            raise ValueError("boom")
        assert capture.sent == []  # nothing leaves before the segment closes
    (doc,) = capture.sent
    assert doc["id"] == job.segment_id and doc["trace_id"] == job.trace_id
    build, verify = doc["subsegments"]
    assert build["annotations"] == {"attempt": 2, "error_code": "NoCompatibleWheel"}
    assert build["error"] is True
    assert build["cause"]["exceptions"][0]["type"] == "NoCompatibleWheel"
    assert verify["fault"] is True
    assert verify["cause"]["exceptions"][0]["type"] == "ValueError"


def test_xray_jobs_on_different_threads_are_separate_segments() -> None:
    capture = Capture()
    tracer = XRayTracer(emitter=capture, patch_aws=False)
    barrier = threading.Barrier(2)

    def work(name: str) -> None:
        with tracer.job(name):
            barrier.wait()  # both segments are open at once
            with tracer.span(f"step-{name}", {}):
                pass

    threads = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    by_job = {d["annotations"]["job_id"]: d for d in capture.sent}
    assert set(by_job) == {"a", "b"}
    assert [s["name"] for s in by_job["a"]["subsegments"]] == ["step-a"]
    assert [s["name"] for s in by_job["b"]["subsegments"]] == ["step-b"]
