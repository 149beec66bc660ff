"""The local stand-in serves a function's URL by running ``live``'s version: moving the
alias (a rollback) moves the URL at once; auth iam wants a SigV4 header; an unknown id is
a 404. The run itself is the verify runner's (``tests/e2e/test_demo_urls.py`` runs it
for real); here a runner that answers with the version it was asked to run."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auto_lambda_dev.urlserver import LiveRunner, UrlStandIn
from orchestrator.config import LIVE_ALIAS
from orchestrator.steps.triggers.reconcile import reconcile
from orchestrator.steps.unpack.platform import HttpTrigger, UrlTrigger
from tests.functional.test_triggers import Env, env  # noqa: F401 (the fixture)


class VersionRunner(LiveRunner):
    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        return {"version": self.live_version(name), "path": event["rawPath"]}


@pytest.fixture
def stand_in(env: Env, tmp_path: Path) -> Iterator[UrlStandIn]:  # noqa: F811
    server = UrlStandIn(env.aws, work_dir=tmp_path,
                        runner=VersionRunner(env.aws, tmp_path)).start()
    yield server
    server.stop()


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_url_follows_live(env: Env, stand_in: UrlStandIn) -> None:  # noqa: F811
    report = reconcile(env.aws, env.target, (UrlTrigger("none"),))
    url = stand_in.local_url(report.urls()[0])
    assert _get(url + "a/b") == (200, {"version": "1", "path": "/a/b"})
    new = env.publish("def handler(e, c):\n    return 2\n")
    env.aws.functions.point_alias(env.target.function_name, LIVE_ALIAS, new)
    assert _get(url) == (200, {"version": new, "path": "/"})
    env.aws.functions.point_alias(env.target.function_name, LIVE_ALIAS, "1")  # rollback
    assert _get(url)[1]["version"] == "1"


def test_auth_iam_wants_a_signed_request(env: Env, stand_in: UrlStandIn) -> None:  # noqa: F811
    report = reconcile(env.aws, env.target, (HttpTrigger("iam"),))
    [api] = [t for t in report.triggers if t["type"] == "http"]
    url = stand_in.local_url(str(api["url"]))
    status, body = _get(url)
    assert status == 403 and "SigV4" in body["message"]
    signed = {"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261207/us-east-1/"
                               "execute-api/aws4_request, SignedHeaders=host, Signature=00"}
    assert _get(url, signed)[0] == 200
    assert _get(f"{stand_in.base_url}/nosuchid/")[0] == 404


def test_a_handler_that_raises_is_a_502_and_the_server_keeps_serving(
        env: Env, tmp_path: Path) -> None:  # noqa: F811
    from orchestrator.errors import VerifyError

    class Raising(LiveRunner):
        calls = 0

        def invoke(self, name: str, event: dict[str, Any]) -> Any:
            Raising.calls += 1
            if Raising.calls == 1:
                raise VerifyError("boom", code="HandlerRaised")
            raise RuntimeError("the emulator went away")

    server = UrlStandIn(env.aws, work_dir=tmp_path, runner=Raising(env.aws, tmp_path)).start()
    try:
        report = reconcile(env.aws, env.target, (UrlTrigger("none"),))
        url = server.local_url(report.urls()[0])
        assert _get(url) == (502, {"message": "Internal Server Error"})
        assert _get(url) == (502, {"message": "Internal Server Error"})
    finally:
        server.stop()
