"""``auto-lambda demo --example platform-app --serve`` deploys the app that uses every
trigger, prints its function URL (served by the local stand-in), and a GET on that URL
returns the app's answer; the HTTP API (auth iam) refuses an unsigned request. The stack
stays up until SIGTERM, then the demo exits with its status."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.test_demo_ui import REPO, _lines, _wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_the_demo_prints_a_url_whose_answer_is_the_apps(tmp_path: Path, aws_env: None) -> None:
    env = dict(os.environ) | {
        "AUTO_LAMBDA_WORK_DIR": str(tmp_path / "work"),
        "AUTO_LAMBDA_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONUNBUFFERED": "1", "COLUMNS": "250"}
    env.pop("AWS_ENDPOINT_URL", None)
    env.pop("AUTO_LAMBDA_TEAM_POLICY", None)  # the stack gives team payments the examples'
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli.main", "demo", "--example", "platform-app",
         "--serve", "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=REPO)
    seen: list[str] = []
    try:
        lines = _lines(proc)
        url = _wait_for(lines, r"platform-app url \(auth none\): (http://127\.0\.0\.1:\d+/\w+/)",
                        seen, 240)
        api = _wait_for(lines, r"platform-app http \(auth iam\): (http://127\.0\.0\.1:\d+/\w+/)",
                        seen, 30)
        _wait_for(lines, r"(the function URLs above stay up until Ctrl-C)", seen, 60)

        with urllib.request.urlopen(url + "orders?id=7", timeout=60) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "application/json"
            answer = json.loads(resp.read())
        assert answer == {"app": "platform-app", "method": "GET", "path": "/orders",
                          "configured": answer["configured"]}

        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(api, timeout=60)
        assert refused.value.code == 403
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode == 0, "".join(seen[-40:])
