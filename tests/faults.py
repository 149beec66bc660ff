"""Transient AWS faults for tests, injected through botocore's event hooks on one client.

- ``error_response`` answers ``before-call``: the call fails at once with the given error
  code and status, without botocore's own retries (each injected fault is one failed
  API call), so the workflow's Retry sees it.
- ``status_response`` answers ``before-send`` with an HTTP status (500/503): botocore's
  standard retries apply, so a few are absorbed and more outlast them.
- ``connection_reset`` raises ``ConnectionClosedError`` from ``before-send`` (retried
  by botocore like any connection error).
- ``slow`` delays ``before-send`` and lets the request through.

Each injector fires ``times`` times, then lets calls through; ``fired`` counts firings.
Handlers are registered first, ahead of moto's own ``before-send`` hook.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError


class Injector:
    def __init__(self, client: Any, event: str, times: int,
                 respond: Callable[[dict[str, Any]], Any]) -> None:
        self.client, self.event, self.times = client, event, times
        self._respond = respond
        self._lock = threading.Lock()
        self.fired = 0
        self.calls = 0
        self._unique = f"fault-{id(self)}"
        client.meta.events.register_first(event, self._handler, unique_id=self._unique)

    def _handler(self, **kwargs: Any) -> Any:
        with self._lock:
            self.calls += 1
            if self.fired >= self.times:
                return None
            self.fired += 1
        return self._respond(kwargs)

    def remove(self) -> None:
        self.client.meta.events.unregister(self.event, unique_id=self._unique)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._body


class _Http:
    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}
        self.content = b""


def _event(kind: str, client: Any, operation: str) -> str:
    service = client.meta.service_model.service_id.hyphenize()
    return f"{kind}.{service}.{operation}"


def error_response(client: Any, operation: str, *, times: int,
                   code: str = "ThrottlingException", status: int = 400) -> Injector:
    """``operation`` fails ``times`` times with ``code`` (no botocore retry)."""
    def respond(kwargs: dict[str, Any]) -> tuple[_Http, dict[str, Any]]:
        return _Http(status), {
            "Error": {"Code": code, "Message": f"injected {code}"},
            "ResponseMetadata": {"HTTPStatusCode": status, "RetryAttempts": 0}}
    return Injector(client, _event("before-call", client, operation), times, respond)


def status_response(client: Any, operation: str, *, times: int,
                    status: int = 503) -> Injector:
    """The next ``times`` HTTP attempts of ``operation`` answer ``status``."""
    def respond(kwargs: dict[str, Any]) -> AWSResponse:
        request = kwargs["request"]
        return AWSResponse(request.url, status, {}, _Raw(b""))
    return Injector(client, _event("before-send", client, operation), times, respond)


def connection_reset(client: Any, operation: str, *, times: int) -> Injector:
    """The next ``times`` HTTP attempts of ``operation`` lose their connection."""
    def respond(kwargs: dict[str, Any]) -> None:
        raise ConnectionClosedError(endpoint_url=kwargs["request"].url)
    return Injector(client, _event("before-send", client, operation), times, respond)


def slow(client: Any, operation: str, *, times: int, seconds: float,
         sleep: Callable[[float], None] = time.sleep) -> Injector:
    """The next ``times`` attempts of ``operation`` take ``seconds`` longer."""
    def respond(kwargs: dict[str, Any]) -> None:
        sleep(seconds)
        return None
    return Injector(client, _event("before-send", client, operation), times, respond)
