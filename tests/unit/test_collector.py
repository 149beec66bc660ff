"""The UDP collector: datagram parsing, garbage dropped and counted, batching,
X-Ray rejections and outages, and the real socket path."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from auto_lambda_dev.collector import Collector, parse_datagram

HEADER = b'{"format":"json","version":1}\n'


def segment(n: int = 0, **extra: Any) -> dict[str, Any]:
    doc = {"trace_id": "1-5759e988-bd862e3fe1be46a994272793", "id": f"{n:016x}",
           "name": "auto-lambda", "start_time": 1.0, "end_time": 2.0}
    doc.update(extra)
    return doc


def datagram(doc: Any) -> bytes:
    return HEADER + json.dumps(doc).encode()


class FakeXRay:
    """Records PutTraceSegments calls; can reject ids or fail the next calls."""

    def __init__(self, reject: set[str] | None = None, fail_times: int = 0) -> None:
        self.calls: list[list[str]] = []
        self.reject = reject or set()
        self.fail_times = fail_times

    def put_trace_segments(self, TraceSegmentDocuments: list[str]) -> dict[str, Any]:
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionError("endpoint down")
        self.calls.append(list(TraceSegmentDocuments))
        ids = [json.loads(d)["id"] for d in TraceSegmentDocuments]
        return {"UnprocessedTraceSegments": [
            {"Id": i, "ErrorCode": "Bad", "Message": "rejected"} for i in ids if i in self.reject]}

    @property
    def documents(self) -> list[dict[str, Any]]:
        return [json.loads(d) for call in self.calls for d in call]


def test_a_well_formed_datagram_yields_its_document_text() -> None:
    body = json.dumps(segment(subsegments=[{"id": "a" * 16, "name": "build"}]))
    assert parse_datagram(HEADER + body.encode()) == body


def test_an_in_progress_segment_is_accepted_without_end_time() -> None:
    doc = segment()
    del doc["end_time"]
    doc["in_progress"] = True
    assert parse_datagram(datagram(doc)) is not None


@pytest.mark.parametrize("data", [
    b"",
    b"\xff\xfe\x00garbage",
    b"no newline at all",
    b'{"format":"json","version":1}',                       # header only
    b'{"format":"json","version":2}\n' + json.dumps(segment()).encode(),
    b'{"format":"xml","version":1}\n' + json.dumps(segment()).encode(),
    b"not json\n" + json.dumps(segment()).encode(),
    HEADER + b"{truncated",
    HEADER + b"[1, 2, 3]",
    HEADER + json.dumps({k: v for k, v in segment().items() if k != "trace_id"}).encode(),
    HEADER + json.dumps({k: v for k, v in segment().items() if k != "end_time"}).encode(),
])
def test_garbage_is_not_a_document(data: bytes) -> None:
    assert parse_datagram(data) is None


def test_garbage_datagrams_are_counted_and_never_forwarded() -> None:
    xray = FakeXRay()
    collector = Collector(xray, port=0, batch_size=10)
    assert collector.handle(b"garbage") is False
    assert collector.handle(HEADER + b"{") is False
    assert collector.handle(datagram(segment(1))) is True
    assert collector.flush() == 1

    assert collector.stats.received == 3
    assert collector.stats.dropped == 2
    assert collector.stats.forwarded == 1
    assert [d["id"] for d in xray.documents] == [f"{1:016x}"]


def test_documents_are_forwarded_in_batches_of_batch_size() -> None:
    xray = FakeXRay()
    collector = Collector(xray, port=0, batch_size=3)
    for n in range(7):
        collector.handle(datagram(segment(n)))
    # Two full batches went out as they filled; one document waits for a flush.
    assert [len(c) for c in xray.calls] == [3, 3]
    assert collector.pending == 1
    assert collector.flush() == 1
    assert [len(c) for c in xray.calls] == [3, 3, 1]
    assert [d["id"] for d in xray.documents] == [f"{n:016x}" for n in range(7)]
    assert collector.stats.batches == 3
    assert collector.flush() == 0  # nothing left, no empty call
    assert len(xray.calls) == 3


def test_documents_xray_rejects_are_counted() -> None:
    xray = FakeXRay(reject={f"{2:016x}"})
    collector = Collector(xray, port=0, batch_size=10)
    for n in range(3):
        collector.handle(datagram(segment(n)))
    assert collector.flush() == 2
    assert (collector.stats.forwarded, collector.stats.rejected) == (2, 1)


def test_a_failed_call_keeps_the_batch_for_the_next_flush() -> None:
    xray = FakeXRay(fail_times=1)
    collector = Collector(xray, port=0, batch_size=10)
    collector.handle(datagram(segment(1)))
    assert collector.flush() == 0
    assert collector.stats.send_errors == 1
    assert collector.pending == 1
    assert collector.flush() == 1
    assert [d["id"] for d in xray.documents] == [f"{1:016x}"]


def test_waiting_documents_are_capped_while_xray_is_down() -> None:
    xray = FakeXRay(fail_times=100)
    collector = Collector(xray, port=0, batch_size=2, max_pending=3)
    for n in range(6):
        collector.handle(datagram(segment(n)))
    assert collector.pending == 3
    assert collector.stats.overflow == 3
    xray.fail_times = 0
    collector.flush()
    # The newest documents survive.
    assert [d["id"] for d in xray.documents] == [f"{n:016x}" for n in (3, 4, 5)]


def test_the_collector_accepts_the_aws_facade() -> None:
    class Facade:
        xray = FakeXRay()

    assert Collector(Facade(), port=0).client is Facade.xray


def test_over_udp_garbage_is_dropped_and_segments_reach_xray_on_stop() -> None:
    xray = FakeXRay()
    collector = Collector(xray, port=0, batch_size=50, flush_interval=30.0)
    port = collector.start()
    assert port != 0
    assert collector.address == f"127.0.0.1:{port}"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"\x00\x01garbage", ("127.0.0.1", port))
        for n in range(3):
            sock.sendto(datagram(segment(n)), ("127.0.0.1", port))
    assert collector.wait_received(4, timeout=10)
    assert xray.calls == []  # below batch size and not idle yet: still queued
    collector.stop()

    assert collector.stats.dropped == 1
    assert collector.stats.forwarded == 3
    assert [d["id"] for d in xray.documents] == [f"{n:016x}" for n in range(3)]


def test_stop_reads_every_datagram_already_sent() -> None:
    xray = FakeXRay()
    with Collector(xray, port=0, batch_size=7, flush_interval=30.0) as collector, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for n in range(20):
            sock.sendto(datagram(segment(n)), ("127.0.0.1", collector.port))
    assert collector.stats.forwarded == 20
    assert [len(c) for c in xray.calls] == [7, 7, 6]
