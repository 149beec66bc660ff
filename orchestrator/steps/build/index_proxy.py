"""The index proxy: the installer jail's one way out, to the operator's package index.

The jail has a network namespace of its own (no route anywhere, not even the host's
loopback). Its only link to the world is a Unix socket the worker binds in a folder it
made and mounts read-only into the jail; a relay inside the jail (``uvjail.RELAY``)
forwards uv's proxy connections to it. This server reads one request per connection:

- ``CONNECT host:port`` (HTTPS): let through only to an allowed (host, port);
- ``GET http://host:port/...`` (an http index): let through the same way, sent on as an
  origin-form request with ``Connection: close``.

Anything else gets 403 (or 400 for a malformed request) and is counted in ``refused``,
so the caller can tell "the index could not be reached" from "something tried to leave".
A name that resolves to a link-local address (the instance metadata service) is refused
unless that literal address is allowed. The request head is capped; the bytes after it
are copied unread in both directions.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import socket
import socketserver
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

Host = tuple[str, int]
HEAD_LIMIT = 16 * 1024
CONNECT_TIMEOUT = 30.0
_CHUNK = 64 * 1024


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while chunk := src.recv(_CHUNK):
            dst.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


def _split_target(target: str) -> Host | None:
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return None
    return host.strip("[]").lower(), int(port)


def _link_local(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    for info in infos:
        with contextlib.suppress(ValueError):
            if ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_link_local:
                return True
    return False


class _Handler(socketserver.StreamRequestHandler):
    server: _Server
    rbufsize = 0  # unbuffered: no byte after the head is read ahead and lost

    def _answer(self, status: str) -> None:
        with contextlib.suppress(OSError):
            self.wfile.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\n"
                             "Connection: close\r\n\r\n".encode())

    def _head(self) -> list[bytes] | None:
        lines: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(HEAD_LIMIT + 1)
            size += len(line)
            if not line or size > HEAD_LIMIT:
                return None
            if line in (b"\r\n", b"\n"):
                return lines
            lines.append(line)

    def handle(self) -> None:
        head = self._head()
        if not head:
            self._answer("400 Bad Request")
            return
        words = head[0].decode("latin-1").split()
        if len(words) != 3:
            self._answer("400 Bad Request")
            return
        method, target, version = words
        if method == "CONNECT":
            dest = _split_target(target)
            rest = b""
        elif target.startswith("http://"):
            authority, _, path = target[len("http://"):].partition("/")
            dest = _split_target(authority if ":" in authority else authority + ":80")
            kept = [h for h in head[1:] if not h.lower().startswith(
                (b"connection:", b"proxy-connection:", b"proxy-authorization:"))]
            rest = (f"{method} /{path} {version}\r\n".encode("latin-1") + b"".join(kept)
                    + b"Connection: close\r\n\r\n")
        else:
            dest = None
            rest = b""
        allowed = dest is not None and dest in self.server.allowed and not (
            _link_local(dest[0]) and dest[0] not in {h for h, _ in self.server.allowed
                                                     if _is_ip(h)})
        if dest is None or not allowed:
            self.server.note_refused(target)
            self._answer("403 Forbidden")
            return
        assert dest is not None
        try:
            upstream = self.server.connect(dest)
        except OSError as exc:
            log.info("index proxy: %s:%s unreachable: %s", dest[0], dest[1], exc)
            self._answer("502 Bad Gateway")
            return
        with upstream:
            if method == "CONNECT":
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                upstream.sendall(rest)
            self.wfile.flush()
            back = threading.Thread(target=_pump, args=(upstream, self.connection),
                                    daemon=True)
            back.start()
            _pump(self.connection, upstream)
            back.join()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, path: str, allowed: frozenset[Host],
                 connect: Callable[[Host], socket.socket]) -> None:
        self.allowed = allowed
        self.connect = connect
        self.refused: list[str] = []
        self._lock = threading.Lock()
        super().__init__(path, _Handler)

    def note_refused(self, target: str) -> None:
        with self._lock:
            if len(self.refused) < 32:
                self.refused.append(target[:200])


def _connect(dest: Host) -> socket.socket:
    return socket.create_connection(dest, timeout=CONNECT_TIMEOUT)


class IndexProxy:
    """A proxy on the Unix socket ``path`` that lets through ``allowed`` only. Use as a
    context manager; ``refused`` lists the destinations it turned away."""

    def __init__(self, path: Path, allowed: frozenset[Host], *,
                 connect: Callable[[Host], socket.socket] = _connect) -> None:
        self.path = path
        self._server = _Server(str(path), allowed, connect)
        os.chmod(path, 0o666)  # the jail's user connects to it (the folder is read-only)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.2},
                                        name="index-proxy", daemon=True)

    @property
    def refused(self) -> list[str]:
        return list(self._server.refused)

    def __enter__(self) -> IndexProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        with contextlib.suppress(OSError):
            self.path.unlink()
