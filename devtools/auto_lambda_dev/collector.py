"""A local stand-in for the X-Ray daemon: receives segment datagrams over UDP and
forwards them, in batches, to the endpoint's X-Ray API (``PutTraceSegments``).

Datagram format (what the SDK's UDP emitter sends)::

    {"format":"json","version":1}\\n{...segment or subsegment document...}

A background daemon thread receives; a batch is forwarded when it reaches
``batch_size`` documents, when the socket has been idle for ``flush_interval``
seconds, on ``flush()`` and on ``stop()``. Anything that is not a well-formed segment
document is counted and dropped, never forwarded and never fatal. Documents X-Ray
rejects are counted as rejected. Must not trace its own calls or buffer unboundedly
(at most ``max_pending`` documents wait; older ones are dropped when the API is down).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

HEADER = {"format": "json", "version": 1}
DEFAULT_PORT = 2000
MAX_DATAGRAM = 65535
_REQUIRED = ("trace_id", "id", "name", "start_time")


def parse_datagram(data: bytes) -> str | None:
    """The segment document of one datagram, or None if it is not one."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    header, sep, body = text.partition("\n")
    if not sep:
        return None
    try:
        head = json.loads(header)
        doc = json.loads(body)
    except ValueError:
        return None
    if head != HEADER or not isinstance(doc, dict):
        return None
    if any(key not in doc for key in _REQUIRED):
        return None
    if "end_time" not in doc and not doc.get("in_progress"):
        return None
    return body


@dataclass
class CollectorStats:
    received: int = 0     # datagrams read from the socket (or handed to handle())
    accepted: int = 0     # well-formed segment documents queued
    dropped: int = 0      # datagrams that were not segment documents
    forwarded: int = 0    # documents X-Ray accepted
    rejected: int = 0     # documents X-Ray returned as unprocessed
    send_errors: int = 0  # PutTraceSegments calls that failed
    overflow: int = 0     # documents dropped because too many were waiting
    batches: int = 0      # PutTraceSegments calls made


class Collector:
    """UDP segment collector forwarding to ``xray_client.put_trace_segments``."""

    def __init__(self, xray_client: Any, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 batch_size: int = 50, flush_interval: float = 1.0,
                 max_pending: int = 10_000) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        # An X-Ray client, or the Aws facade (its ``.xray`` client is used).
        self.client = xray_client if hasattr(xray_client, "put_trace_segments") \
            else xray_client.xray
        self.host, self.port = host, port
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_pending = max_pending
        self.stats = CollectorStats()
        self._pending: list[str] = []
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def address(self) -> str:
        """``host:port``, the value for AWS_XRAY_DAEMON_ADDRESS."""
        return f"{self.host}:{self.port}"

    @property
    def pending(self) -> int:
        """Documents received and not yet forwarded."""
        with self._cond:
            return len(self._pending)

    # ---- lifecycle ----
    def start(self) -> int:
        """Bind (port 0 picks a free one) and start receiving; returns the bound port."""
        if self._thread is not None:
            return self.port
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((self.host, self.port))
        sock.settimeout(self.flush_interval)
        self._sock = sock
        self.port = int(sock.getsockname()[1])
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="xray-collector", daemon=True)
        self._thread.start()
        log.info("X-Ray collector listening on udp://%s", self.address)
        return self.port

    def stop(self) -> None:
        """Stop receiving, then forward whatever is still queued."""
        self._stopping.set()
        thread, sock = self._thread, self._sock
        if sock is not None:
            # Wake the receiver without waiting for its timeout.
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as poke:
                poke.sendto(b"", (self.host, self.port))
        if thread is not None:
            thread.join()
        if sock is not None:
            sock.close()
        self._thread, self._sock = None, None
        self.flush()

    def __enter__(self) -> Collector:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- receiving ----
    def handle(self, data: bytes) -> bool:
        """Queue one datagram's document; False if it was dropped as garbage."""
        doc = parse_datagram(data)
        with self._cond:
            self.stats.received += 1
            if doc is None:
                self.stats.dropped += 1
                self._cond.notify_all()
                return False
            self.stats.accepted += 1
            self._pending.append(doc)
            if len(self._pending) > self.max_pending:
                del self._pending[0]
                self.stats.overflow += 1
            full = len(self._pending) >= self.batch_size
            self._cond.notify_all()
        if full:
            self.flush()
        return True

    def wait_received(self, count: int, timeout: float = 5.0) -> bool:
        """Block until ``count`` datagrams were received (or ``timeout`` passes)."""
        with self._cond:
            return self._cond.wait_for(lambda: self.stats.received >= count, timeout)

    def _run(self) -> None:
        # Runs until stop()'s empty wake-up datagram (or an idle timeout after stop()),
        # so every datagram sent before stop() is read first (loopback keeps order).
        assert self._sock is not None
        sock = self._sock
        while True:
            try:
                data = sock.recv(MAX_DATAGRAM)
            except TimeoutError:
                if self._stopping.is_set():
                    break
                self.flush()  # idle: do not let a partial batch wait
                continue
            except OSError:
                if self._stopping.is_set():
                    break
                log.warning("X-Ray collector: receive failed", exc_info=True)
                continue
            if not data and self._stopping.is_set():
                break
            try:
                self.handle(data)
            except Exception:  # a forwarding bug must not kill the receiver
                log.exception("X-Ray collector: could not handle a datagram")

    # ---- forwarding ----
    def flush(self) -> int:
        """Forward everything queued now; returns how many documents X-Ray accepted.
        If the API call fails the batch stays queued (oldest dropped past max_pending)."""
        accepted = 0
        with self._send_lock:
            while True:
                with self._cond:
                    batch = self._pending[: self.batch_size]
                    del self._pending[: len(batch)]
                if not batch:
                    return accepted
                sent = self._send(batch)
                if sent is None:
                    return accepted  # the API is down: try again at the next flush
                accepted += sent

    def _send(self, batch: list[str]) -> int | None:
        try:
            resp = self.client.put_trace_segments(TraceSegmentDocuments=batch)
        except Exception as exc:
            with self._cond:
                self.stats.send_errors += 1
                self.stats.batches += 1
                self._pending[:0] = batch
                excess = len(self._pending) - self.max_pending
                if excess > 0:
                    del self._pending[:excess]
                    self.stats.overflow += excess
            log.warning("X-Ray collector: PutTraceSegments failed, %d documents kept for "
                        "the next try: %s", len(batch), exc)
            return None
        unprocessed = list(resp.get("UnprocessedTraceSegments") or [])
        for item in unprocessed:
            log.warning("X-Ray rejected segment %s: %s %s", item.get("Id"),
                        item.get("ErrorCode"), item.get("Message"))
        ok = len(batch) - len(unprocessed)
        with self._cond:
            self.stats.batches += 1
            self.stats.forwarded += ok
            self.stats.rejected += len(unprocessed)
            self._cond.notify_all()
        return ok

