"""X-Ray end to end on this machine: the xray backend sends segments over UDP to the
collector, which forwards them to a moto server's X-Ray API; BatchGetTraces then
returns one subsegment per transition, and botocore calls made inside a task nested
under that task's subsegment. Also ``auto-lambda trace`` reading it all back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from auto_lambda_dev.collector import Collector
from auto_lambda_dev.emulator import LocalEndpoint, start_server
from orchestrator.aws.facade import Aws
from orchestrator.aws.resources import ensure_resources
from orchestrator.cli.main import cli
from orchestrator.config import Settings
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.store import JobStore
from orchestrator.tracing import TracingHooks
from orchestrator.tracing.timeline import build_timeline, summarize_trace
from orchestrator.tracing.xray import XRayTracer
from states import (
    EventType,
    Execution,
    TaskContext,
    drive,
)
from tests.fakes import FETCH_BUILD, FakeClock, Flaky


@pytest.fixture(scope="module")
def endpoint() -> Iterator[LocalEndpoint]:
    server = start_server(0)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def aws(endpoint: LocalEndpoint) -> Aws:
    aws = Aws(Settings(endpoint_url=endpoint.url))
    ensure_resources(aws)
    return aws


@pytest.fixture
def collector(aws: Aws) -> Iterator[Collector]:
    collector = Collector(aws.xray, port=0, flush_interval=30.0)
    collector.start()
    try:
        yield collector
    finally:
        collector.stop()


def run_job(aws: Aws, collector: Collector, job_id: str,
            streaming_threshold: int = 20) -> Execution:
    tracer = XRayTracer(collector.address, streaming_threshold=streaming_threshold)
    failures = {"build": 1}

    def fetch(_ctx: TaskContext) -> dict[str, Any]:
        aws.s3.create_bucket(Bucket=f"trace-{job_id}")
        aws.s3.put_object(Bucket=f"trace-{job_id}", Key="app.zip", Body=b"zip")
        return {"fetched": True}

    def build(_ctx: TaskContext) -> None:
        if failures["build"]:
            failures["build"] -= 1
            raise Flaky("throttled, try again")

    clock = FakeClock()
    ex = Execution.start(FETCH_BUILD, job_id, {}, clock())
    drive(ex, {"fetch": fetch, "build": build}, persist=lambda _e: None, clock=clock,
          sleep=clock.sleep, hooks=[TracingHooks(tracer)])
    collector.stop()  # reads every datagram sent so far and forwards them
    return ex


def documents(aws: Aws, trace_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    resp = aws.xray.batch_get_traces(TraceIds=[trace_id])
    assert resp["UnprocessedTraceIds"] == []
    docs = [json.loads(s["Document"]) for t in resp["Traces"] for s in t["Segments"]]
    return resp, docs


def all_subsegments(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def walk(doc: dict[str, Any]) -> None:
        for sub in doc.get("subsegments") or []:
            out.append(sub)
            walk(sub)

    for doc in docs:
        if doc.get("type") == "subsegment":
            out.append(doc)
        walk(doc)
    return out


@pytest.mark.parametrize("streaming_threshold", [20, 2])
def test_the_trace_holds_one_subsegment_per_transition(
        aws: Aws, collector: Collector, streaming_threshold: int) -> None:
    ex = run_job(aws, collector, f"job-{streaming_threshold}", streaming_threshold)
    assert ex.state == "built"
    assert ex.trace_id is not None
    assert collector.stats.dropped == 0
    assert collector.stats.rejected == 0

    resp, docs = documents(aws, ex.trace_id)
    segments = [d for d in docs if d.get("type") != "subsegment"]
    assert len(segments) == 1
    assert segments[0]["annotations"]["job_id"] == ex.id
    subs = all_subsegments(docs)
    transitions = [s["name"] for s in subs if s["name"].startswith("transition:")]
    entered = [e for e in ex.history if e.type is EventType.StateEntered]
    assert len(transitions) == len(entered) == 5
    assert sorted(transitions) == sorted([
        "transition:start-received", "transition:received-fetched",
        "transition:fetched-retrying", "transition:retrying-fetched",
        "transition:fetched-built"])

    attempts = sorted(((s["name"], s["annotations"]["attempt"],
                        s["annotations"].get("error_code")) for s in subs
                       if s.get("annotations", {}).get("kind") == "attempt"),
                      key=lambda a: (a[0], a[1]))
    assert attempts == [("build", 1, "Transient"), ("build", 2, None), ("fetch", 1, None)]

    summary = summarize_trace(resp, ex.trace_id, build_timeline(e.to_dict() for e in ex.history))
    assert summary["matches"] is True
    assert summary["segments"] == 1
    assert summary["transition_subsegments"] == 5
    assert summary["attempt_subsegments"] == 3


def test_aws_calls_inside_a_task_nest_under_its_subsegment(
        aws: Aws, collector: Collector) -> None:
    ex = run_job(aws, collector, "job-aws")
    assert ex.trace_id is not None
    _resp, docs = documents(aws, ex.trace_id)
    subs = all_subsegments(docs)

    (fetch,) = [s for s in subs if s["name"] == "fetch"]
    assert fetch["annotations"] == {"job_id": "job-aws", "state": "received", "attempt": 1,
                                    "resource": "fetch", "kind": "attempt"}
    calls = [(c["name"], c["namespace"], c["aws"]["operation"])
             for c in fetch.get("subsegments", [])]
    assert calls == [("s3", "aws", "CreateBucket"), ("s3", "aws", "PutObject")]
    # Nowhere else: the build task made no AWS call, and nothing leaked to the segment.
    assert [s for s in subs if s.get("namespace") == "aws"] == fetch["subsegments"]


def test_calls_outside_a_job_are_not_traced(aws: Aws, collector: Collector) -> None:
    XRayTracer(collector.address)
    aws.s3.list_buckets()
    collector.stop()
    assert collector.stats.received == 0


def test_the_trace_command_shows_the_timeline_and_the_matching_trace(
        aws: Aws, collector: Collector, endpoint: LocalEndpoint) -> None:
    ex = run_job(aws, collector, "job-cli")
    record = JobRecord(job_id="job-cli", bucket="b", key="app.zip", state=ex.state,
                       status=ex.status.value, trace_id=ex.trace_id, snapshot=ex.snapshot())
    assert JobStore(aws).create(record)
    env = {"AWS_ENDPOINT_URL": endpoint.url}

    result = CliRunner().invoke(cli, ["trace", "job-cli", "--json"], env=env)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["job_id"] == "job-cli"
    assert doc["trace_id"] == ex.trace_id
    assert [r["state"] for r in doc["timeline"]] == [
        "received", "fetched", "retrying", "fetched", "built"]
    assert [r["error"] for r in doc["timeline"]] == [None, "Transient", None, None, None]
    assert doc["timeline"][3]["attempt"] == 2
    assert doc["xray"]["matches"] is True
    assert doc["xray"]["transition_subsegments"] == 5

    offline = CliRunner().invoke(cli, ["trace", "job-cli", "--json", "--no-xray"], env=env)
    assert json.loads(offline.output)["xray"] is None

    table = CliRunner().invoke(cli, ["trace", "job-c"], env=env)
    assert table.exit_code == 0, table.output
    assert "retrying" in table.output
    assert "matches the transitions" in table.output
