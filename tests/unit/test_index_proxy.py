"""The index proxy lets the installer's jail reach the configured index and nothing
else: not a loopback service, not the metadata address, not another host, whatever the
request says; and the index configuration comes from the operator's settings."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.errors import ConfigError
from orchestrator.steps.build.index import IndexConfig
from orchestrator.steps.build.index_proxy import IndexProxy


@pytest.fixture
def listener() -> Iterator[tuple[socket.socket, list[bytes]]]:
    """A loopback service standing for the index (and, on another port, a victim)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    seen: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(4096)
                seen.append(data)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    threading.Thread(target=serve, daemon=True).start()
    yield srv, seen
    srv.close()


def ask(sock_path: Path, request: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(sock_path))
        s.sendall(request)
        chunks = []
        while data := s.recv(4096):
            chunks.append(data)
    return b"".join(chunks)


def test_only_the_configured_index_is_reached(
        tmp_path: Path, listener: tuple[socket.socket, list[bytes]]) -> None:
    index, seen = listener
    port = index.getsockname()[1]
    victim = socket.socket()
    victim.bind(("127.0.0.1", 0))
    victim.listen(1)
    victim.setblocking(False)
    path = tmp_path / "s"
    with IndexProxy(path, frozenset({("127.0.0.1", port)})) as proxy:
        good = ask(path, f"GET http://127.0.0.1:{port}/simple/six/ HTTP/1.1\r\n"
                         f"Host: 127.0.0.1:{port}\r\nConnection: keep-alive\r\n\r\n".encode())
        assert good.endswith(b"ok")
        for request in [f"GET http://127.0.0.1:{victim.getsockname()[1]}/ HTTP/1.1\r\n\r\n",
                        f"CONNECT 127.0.0.1:{victim.getsockname()[1]} HTTP/1.1\r\n\r\n",
                        "CONNECT 169.254.169.254:80 HTTP/1.1\r\n\r\n",
                        "GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\n\r\n",
                        "GET /simple/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                        f"CONNECT 127.0.0.1:{port}\n-e . HTTP/1.1\r\n\r\n"]:
            answer = ask(path, request.encode())
            assert answer.split(b"\r\n")[0] in (b"HTTP/1.1 403 Forbidden",
                                                b"HTTP/1.1 400 Bad Request"), request[:60]
        assert len(proxy.refused) >= 5
        # an endless head: answered 400 and cut off (a reset, with bytes left unread)
        with contextlib.suppress(ConnectionResetError):
            assert ask(path, b"x" * 20000 + b"\r\n\r\n").startswith(b"HTTP/1.1 400")
    with pytest.raises(BlockingIOError):
        victim.accept()
    victim.close()
    assert len(seen) == 1 and seen[0].startswith(b"GET /simple/six/ HTTP/1.1\r\n")
    assert b"Connection: close" in seen[0] and b"keep-alive" not in seen[0]
    assert not path.exists()


def test_index_settings_come_from_the_operator() -> None:
    cfg = IndexConfig.from_env({})
    assert cfg.hosts == {("pypi.org", 443), ("files.pythonhosted.org", 443)}
    assert cfg.allows_url("https://files.pythonhosted.org/packages/x.whl")
    assert not cfg.allows_url("http://127.0.0.1:8080/x.whl")
    assert not cfg.allows_url("https://pypi.org:8443/x.whl")
    own = IndexConfig.from_env({"UV_DEFAULT_INDEX": "http://10.0.0.5:3141/root/simple",
                                "UV_EXTRA_INDEX_URL": "file:///srv/wheels/simple",
                                "AUTO_LAMBDA_INDEX_HOSTS": "files.example.com"})
    assert own.hosts == {("10.0.0.5", 3141), ("files.example.com", 443)}
    assert own.allows_url("file:///srv/wheels/simple/six/six.whl")
    assert not own.allows_url("file:///srv/wheels/simple/../../../etc/passwd")
    with pytest.raises(ConfigError):
        IndexConfig.from_env({"UV_DEFAULT_INDEX": "ftp://x/simple"})
