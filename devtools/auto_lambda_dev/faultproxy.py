"""A fault proxy in front of the local endpoint: every AWS call passes through it, and a
``FaultPlan`` (``auto_lambda_dev.faultplan``) decides which ones fail before they reach
the service, which take effect and then lose their answer (a 500, or a reset
connection), and which are slowed down.

It is an HTTP/1.1 proxy on 127.0.0.1 (keep-alive, one upstream connection per client
connection) that names each request's service (from its signature's credential scope)
and operation (``X-Amz-Target``, a query ``Action``, an RPC path, or the REST route of
botocore's own service model), so rules can target ``lambda.PublishVersion`` as easily
as all traffic. ``GET /_auto-lambda/faults`` answers the plan and what fired, per kind
and operation; ``POST`` there with a spec as the body replaces the plan.

Used by ``auto-lambda local up --faults``, the chaos suite and ``bench/soak.py``. It only
ever breaks requests; with an empty plan it passes everything through unchanged.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from auto_lambda_dev.faultplan import Fault, FaultPlan, parse_faults

log = logging.getLogger(__name__)

CONTROL_PATH = "/_auto-lambda/faults"
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer",
                         "transfer-encoding", "upgrade", "content-length"})
# Signing names that are not botocore service names.
_SERVICE_OF_SIGNING_NAME = {"monitoring": "cloudwatch", "email": "ses"}
_CREDENTIAL = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")
_RPC_PATH = re.compile(r"^/service/[^/]+/operation/([A-Za-z0-9]+)$")


# ---- naming a request ----
@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    pattern: re.Pattern[str]
    query_keys: frozenset[str]
    required_query: frozenset[str]
    required_headers: frozenset[str]
    score: int


@lru_cache(maxsize=64)
def _routes(service: str) -> tuple[_Route, ...]:
    """The REST routes of ``service`` from botocore's model (empty if it has none)."""
    import botocore.session

    try:
        model = botocore.session.get_session().get_service_model(service)
    except Exception:
        return ()
    if model.protocol not in ("rest-json", "rest-xml"):
        return ()
    routes = []
    for name in model.operation_names:
        op = model.operation_model(name)
        uri = op.http.get("requestUri", "/")
        path, _, query = uri.partition("?")
        regex = ""
        literal = 0
        for piece in re.split(r"(\{[^}]+\})", path):
            if piece.startswith("{"):
                regex += ".+" if piece.endswith("+}") else "[^/]+"
            else:
                regex += re.escape(piece)
                literal += len(piece)
        keys = frozenset(k.partition("=")[0] for k in query.split("&") if k)
        required: dict[str, set[str]] = {"querystring": set(), "header": set()}
        shape = op.input_shape
        if shape is not None:
            for member_name, member in shape.members.items():
                where = member.serialization.get("location")
                if where in required and member_name in shape.required_members:
                    wire = str(member.serialization.get("name", member_name))
                    required[where].add(wire.lower() if where == "header" else wire)
        qs, hs = frozenset(required["querystring"]), frozenset(required["header"])
        routes.append(_Route(name, op.http.get("method", "POST"),
                             re.compile(f"^{regex}/?$"), keys, qs, hs,
                             literal + 1000 * len(keys) + 10 * (len(qs) + len(hs))))
    return tuple(sorted(routes, key=lambda r: -r.score))


def name_request(method: str, target: str, headers: dict[str, str],
                 body: bytes) -> tuple[str, str]:
    """(service, operation) of one AWS request; the operation is ``METHOD /path`` when
    no model names it."""
    url = urlsplit(target)
    query = parse_qs(url.query, keep_blank_values=True)
    auth = headers.get("authorization", "") or " ".join(query.get("X-Amz-Credential", []))
    found = _CREDENTIAL.search(auth.replace("%2F", "/"))
    if found is None and "X-Amz-Credential" in query:
        found = re.search(r"[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request",
                          query["X-Amz-Credential"][0])
    signing = found.group(1) if found else "unknown"
    service = _SERVICE_OF_SIGNING_NAME.get(signing, signing)
    amz_target = headers.get("x-amz-target")
    if amz_target:
        return service, amz_target.rpartition(".")[2]
    rpc = _RPC_PATH.match(url.path)
    if rpc:
        return service, rpc.group(1)
    if "form-urlencoded" in headers.get("content-type", "") and body:
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return service, action[0]
    if "Action" in query:
        return service, query["Action"][0]
    path = unquote(url.path) or "/"
    for route in _routes(service):
        if (route.method == method and route.query_keys <= query.keys()
                and route.required_query <= query.keys()
                and route.required_headers <= headers.keys() and route.pattern.match(path)):
            return service, route.operation
    return service, f"{method} {url.path}"


# ---- the proxy ----
class FaultProxy:
    """A running proxy: ``url`` to point clients at, ``plan`` to change what breaks,
    ``stats()`` for what fired. Stop it with ``stop()`` (or use it as a context)."""

    def __init__(self, upstream: str, plan: FaultPlan | None = None, *, port: int = 0,
                 host: str = "127.0.0.1",
                 sleep: Callable[[float], None] = time.sleep) -> None:
        up = urlsplit(upstream)
        if up.scheme != "http" or not up.hostname:
            raise ValueError(f"the fault proxy forwards to http://HOST:PORT, not {upstream!r}")
        self.upstream = (up.hostname, up.port or 80)
        self.plan = plan or FaultPlan()
        self.sleep = sleep
        self._lock = threading.Lock()
        self.requests = 0
        self.fired: Counter[tuple[str, str]] = Counter()
        self.seen: Counter[str] = Counter()
        self._server = _Server((host, port), _Handler)
        self._server.proxy = self
        self.port = int(self._server.server_address[1])
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="fault-proxy", daemon=True)

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_plan(self, plan: FaultPlan | str) -> None:
        self.plan = parse_faults(plan) if isinstance(plan, str) else plan

    def record(self, service: str, operation: str, fault: Fault) -> None:
        name = f"{service}.{operation}"
        with self._lock:
            self.requests += 1
            self.seen[name] += 1
            if fault.kind:
                self.fired[(fault.kind, name)] += 1
            if fault.delay:
                self.fired[("delay", name)] += 1

    def stats(self) -> dict[str, Any]:
        """The plan, requests seen, and firings per kind and ``service.Operation``."""
        with self._lock:
            fired: dict[str, dict[str, int]] = {}
            for (kind, name), n in sorted(self.fired.items()):
                fired.setdefault(kind, {})[name] = n
            return {"plan": self.plan.text, "requests": self.requests, "fired": fired,
                    "totals": {k: sum(v.values()) for k, v in fired.items()},
                    "operations": dict(sorted(self.seen.items()))}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: FaultProxy

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that went away mid-answer (stopped, killed, timed out) is no error
        log.debug("fault proxy: a client connection ended early", exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    _upstream: http.client.HTTPConnection | None = None

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("fault proxy: " + format, *args)

    def _body(self) -> bytes | None:
        """The whole request body; None when the client went away before sending it all
        (a half request must never reach the service)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = bytearray()
            while True:
                line = self.rfile.readline()
                if not line:
                    return None
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                chunk = self.rfile.read(size)
                if len(chunk) < size:
                    return None
                out += chunk
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        return body if len(body) == length else None

    def _handle(self) -> None:
        proxy = self.server.proxy
        body = self._body()
        if body is None:
            self.close_connection = True
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        if self.path.startswith(CONTROL_PATH):
            self._control(proxy, body)
            return
        service, operation = name_request(self.command, self.path, headers, body)
        fault = proxy.plan.decide(service, operation)
        proxy.record(service, operation, fault)
        if fault.delay:
            proxy.sleep(fault.delay)
        if fault.kind == "before":
            self._fail(service, operation, "before")
            return
        try:
            status, reason, out_headers, out_body = self._forward(body)
        except OSError as exc:
            self._upstream = None
            self._send(502, "Bad Gateway", [("Content-Type", "text/plain")],
                       f"fault proxy: the endpoint did not answer: {exc}".encode())
            return
        if fault.kind == "after":
            self._fail(service, operation, "after")
            return
        if fault.kind == "reset":
            self._reset()
            return
        self._send(status, reason, out_headers, out_body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle

    def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers["Content-Length"] = str(len(body))
        for attempt in (1, 2):
            conn = self._upstream or http.client.HTTPConnection(*self.server.proxy.upstream,
                                                                timeout=300)
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # a kept-alive upstream connection the server closed: open a new one
                conn.close()
                self._upstream = None
                if attempt == 2:
                    raise
                continue
            self._upstream = conn
            if resp.will_close:
                conn.close()
                self._upstream = None
            kept = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP]
            return resp.status, resp.reason, kept, data
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, status: int, reason: str, headers: list[tuple[str, str]],
              body: bytes) -> None:
        self.send_response(status, reason)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _fail(self, service: str, operation: str, kind: str) -> None:
        message = (f"injected by the fault proxy ({kind}: "
                   f"{'the request took effect' if kind == 'after' else 'never sent on'})")
        rid = f"fault-proxy-{kind}-{time.monotonic_ns():x}"
        if "x-amz-target" in {k.lower() for k in self.headers} or service in (
                "lambda", "xray"):
            body = json.dumps({"__type": "ServiceException", "message": message}).encode()
            headers = [("Content-Type", "application/x-amz-json-1.0"),
                       ("x-amzn-ErrorType", "ServiceException"), ("x-amzn-RequestId", rid)]
        else:
            body = (f"<?xml version='1.0' encoding='UTF-8'?><ErrorResponse><Error>"
                    f"<Code>InternalError</Code><Message>{message}</Message></Error>"
                    f"<RequestId>{rid}</RequestId></ErrorResponse>").encode()
            headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid),
                       ("x-amz-request-id", rid)]
        self._send(500, "Internal Server Error", headers, body)

    def _reset(self) -> None:
        """Close the client's connection with a TCP reset and no answer."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _control(self, proxy: FaultProxy, body: bytes) -> None:
        if self.command == "POST":
            try:
                proxy.set_plan(body.decode("utf-8"))
            except Exception as exc:
                self._send(400, "Bad Request", [("Content-Type", "application/json")],
                           json.dumps({"error": str(exc)}).encode())
                return
        self._send(200, "OK", [("Content-Type", "application/json")],
                   json.dumps(proxy.stats()).encode())

