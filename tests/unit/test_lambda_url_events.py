"""HTTP request -> payload 2.0 event -> HTTP answer, as function URLs and HTTP APIs do it
(the local stand-in's translation)."""

from __future__ import annotations

import base64
import json

from auto_lambda_dev.lambdaurl import HttpRequest, to_answer, to_event


def _request(**kw: object) -> HttpRequest:
    base: dict[str, object] = {
        "method": "POST", "path": "/orders/7", "query": "a=1&a=2&b=",
        "headers": (("Content-Type", "application/json"), ("X-Tag", "one"), ("X-Tag", "two"),
                    ("Cookie", "s=1; t=2"), ("User-Agent", "curl/8")),
        "body": b'{"qty": 3}'}
    base.update(kw)
    return HttpRequest(**base)  # type: ignore[arg-type]


def test_a_request_becomes_a_payload_2_event() -> None:
    event = to_event(_request(), api_id="abc", domain="abc.lambda-url.us-east-1.on.aws",
                     now=1_700_000_000.5)
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == "/orders/7" and event["rawQueryString"] == "a=1&a=2&b="
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["headers"] == {"content-type": "application/json", "x-tag": "one,two",
                                "user-agent": "curl/8"}
    assert event["cookies"] == ["s=1", "t=2"]
    http = event["requestContext"]["http"]
    assert (http["method"], http["path"], http["userAgent"]) == ("POST", "/orders/7", "curl/8")
    assert event["requestContext"]["timeEpoch"] == 1_700_000_000_500
    assert event["body"] == '{"qty": 3}' and event["isBase64Encoded"] is False


def test_a_binary_body_is_base64() -> None:
    event = to_event(_request(headers=(("Content-Type", "image/png"),), body=b"\x89PNG\xff"),
                     api_id="abc", domain="d")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x89PNG\xff"
    assert "body" not in to_event(_request(body=b""), api_id="abc", domain="d")


def test_a_status_code_answer_sets_status_headers_cookies_and_body() -> None:
    answer = to_answer({"statusCode": 201, "headers": {"content-type": "text/plain"},
                        "cookies": ["a=1"], "body": "made"})
    assert answer.status == 201 and answer.body == b"made" and answer.cookies == ("a=1",)
    assert answer.headers == (("content-type", "text/plain"),)
    binary = to_answer({"statusCode": 200, "isBase64Encoded": True,
                        "body": base64.b64encode(b"\x00\x01").decode()})
    assert binary.body == b"\x00\x01"


def test_any_other_value_is_a_json_200() -> None:
    answer = to_answer({"message": "hi"})
    assert answer.status == 200 and json.loads(answer.body) == {"message": "hi"}
    assert ("Content-Type", "application/json") in answer.headers
    assert to_answer("text").body == b'"text"'


def test_a_broken_answer_is_a_502() -> None:
    assert to_answer({"statusCode": "x"}).status == 502
    assert to_answer({"statusCode": 200, "isBase64Encoded": True, "body": "!!"}).status == 502
