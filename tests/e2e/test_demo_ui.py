"""``auto-lambda demo --ui`` prints the console's address; the page it names shows the
demo's job turning verified while the demo runs, and the demo keeps the console up
after the jobs end, until Ctrl-C, then exits with the demo's status."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from queue import Empty, Queue

import pytest

from auto_lambda_dev.examples import example_dir, zip_example

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _lines(proc: subprocess.Popen[str]) -> Queue[str]:
    out: Queue[str] = Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return out


def _wait_for(lines: Queue[str], pattern: str, seen: list[str], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except Empty:
            continue
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match.group(1)
    raise AssertionError(f"no {pattern!r} in:\n" + "".join(seen[-30:]))


def test_demo_ui_prints_an_address_whose_page_shows_the_job_turn_verified(
        tmp_path: Path, aws_env: None) -> None:
    app = zip_example(example_dir("hello"), tmp_path)
    env = dict(os.environ) | {
        "AUTO_LAMBDA_WORK_DIR": str(tmp_path / "work"),
        "AUTO_LAMBDA_CACHE_DIR": str(Path(".auto-lambda/test-cache/build").resolve()),
        "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    env.pop("AWS_ENDPOINT_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli.main", "demo", str(app), "--ui",
         "--ui-port", "0", "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=REPO)
    seen: list[str] = []
    try:
        lines = _lines(proc)
        url = _wait_for(lines, r"web console on (http://127\.0\.0\.1:\d+/)", seen, 90)
        states: list[str] = []
        page = ""
        deadline = time.monotonic() + 180
        while not {"verified", "failed"} & set(states) and time.monotonic() < deadline:
            with urllib.request.urlopen(url + "?fragment=live", timeout=30) as resp:
                page = resp.read().decode()
            states = re.findall(r'<tr data-job="[0-9a-f]+" data-state="(\w+)">', page)
            time.sleep(0.3)
        errors = re.findall(r'<span class="code">([^<]+)</span> ([^<]*)', page)
        assert states == ["verified"], (states, errors)
        _wait_for(lines, r"(the console stays on http://\S+ until Ctrl-C)", seen, 120)
        with urllib.request.urlopen(url, timeout=30) as resp:  # still up after the jobs
            assert resp.status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0, "".join(seen[-30:])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
