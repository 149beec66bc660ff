"""HTTP request <-> Lambda event, as function URLs and HTTP APIs translate them (payload
format 2.0), for the local stand-in (``auto_lambda_dev.urlserver``). Pure: no I/O.

Request: ``version`` 2.0, ``routeKey`` ``$default``, ``rawPath``, ``rawQueryString``,
``cookies``, lower-cased ``headers`` (repeated ones joined with commas),
``queryStringParameters``, ``requestContext`` (``http`` method, path, protocol, source
IP, user agent; ``requestId``, ``time``), ``body`` (base64 when not UTF-8 text) and
``isBase64Encoded``.

Response: a dict with ``statusCode`` gives the status, ``headers``, ``cookies``
(Set-Cookie) and ``body`` (decoded from base64 when ``isBase64Encoded``); any other
JSON value is a 200 ``application/json`` answer with that value as its body, as AWS
does.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript",
               "application/x-www-form-urlencoded")


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str            # without the stand-in's /<id> prefix
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    source_ip: str = "127.0.0.1"


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    cookies: tuple[str, ...] = field(default=())


def _is_text(content_type: str, body: bytes) -> bool:
    if content_type and not content_type.lower().startswith(_TEXT_TYPES):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def to_event(request: HttpRequest, *, api_id: str, domain: str, account: str = "anonymous",
             now: float | None = None) -> dict[str, Any]:
    """The payload 2.0 event a function URL or HTTP API hands the function."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(request.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    text = _is_text(headers.get("content-type", ""), request.body)
    when = time.time() if now is None else now
    event: dict[str, Any] = {
        "version": "2.0", "routeKey": "$default", "rawPath": request.path or "/",
        "rawQueryString": request.query, "headers": headers,
        "requestContext": {
            "accountId": account, "apiId": api_id, "domainName": domain,
            "domainPrefix": api_id,
            "http": {"method": request.method, "path": request.path or "/",
                     "protocol": "HTTP/1.1", "sourceIp": request.source_ip,
                     "userAgent": headers.get("user-agent", "")},
            "requestId": str(uuid.uuid4()), "routeKey": "$default", "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(when)),
            "timeEpoch": int(when * 1000),
        },
        "isBase64Encoded": not text,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if request.body:
        event["body"] = request.body.decode("utf-8") if text else \
            base64.b64encode(request.body).decode("ascii")
    return event


def _headers(raw: Any) -> Iterable[tuple[str, str]]:
    if isinstance(raw, dict):
        return ((str(k), str(v)) for k, v in raw.items())
    return ()


def to_answer(result: Any) -> HttpAnswer:
    """The HTTP answer for what the function returned."""
    if isinstance(result, dict) and "statusCode" in result:
        try:
            status = int(result["statusCode"])
        except (TypeError, ValueError):
            return error_answer(502, "the function's statusCode is not a number")
        body = result.get("body")
        if body is None:
            data = b""
        elif result.get("isBase64Encoded"):
            try:
                data = base64.b64decode(str(body), validate=True)
            except ValueError:
                return error_answer(502, "the function's body is not base64")
        else:
            data = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
        headers = tuple(_headers(result.get("headers")))
        multi = result.get("multiValueHeaders")
        if isinstance(multi, dict):
            headers += tuple((str(k), str(v)) for k, values in multi.items()
                             for v in (values if isinstance(values, list) else [values]))
        cookies = tuple(str(c) for c in result.get("cookies") or ())
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers += (("Content-Type", "application/json"),)
        return HttpAnswer(status, headers, data, cookies)
    return HttpAnswer(200, (("Content-Type", "application/json"),),
                      json.dumps(result).encode("utf-8"))


def error_answer(status: int, message: str) -> HttpAnswer:
    return HttpAnswer(status, (("Content-Type", "application/json"),),
                      json.dumps({"message": message}).encode("utf-8"))
