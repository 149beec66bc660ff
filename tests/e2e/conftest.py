"""Run the real ``auto-lambda local up`` as a subprocess and talk to it from outside."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest

ENDPOINT_RE = re.compile(r"local stack on (http://127\.0\.0\.1:\d+)")


@dataclass
class LocalUp:
    proc: subprocess.Popen[str]
    endpoint: str
    env: dict[str, str]
    lines: list[str] = field(default_factory=list)
    _q: queue.Queue[str] = field(default_factory=queue.Queue)

    def client(self, service: str):  # type: ignore[no-untyped-def]
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1")

    def wait_for_line(self, pattern: str, timeout: float) -> re.Match[str]:
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._q.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.lines.append(line)
            m = rx.search(line)
            if m:
                return m
        raise AssertionError(f"no line matching {pattern!r}; output so far:\n"
                             + "".join(self.lines[-40:]))


def start_local_up(tmp_path: Path, *args: str) -> LocalUp:
    env = dict(os.environ)
    env.pop("AWS_ENDPOINT_URL", None)
    env["AUTO_LAMBDA_WORK_DIR"] = str(tmp_path / "work")
    env["AUTO_LAMBDA_CACHE_DIR"] = str(tmp_path / "cache")  # its own, as is its moto server
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli.main", "local", "up", "--port", "0",
         "--xray-port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        cwd=Path(__file__).resolve().parents[2])
    up = LocalUp(proc=proc, endpoint="", env=env)

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            up._q.put(line)

    threading.Thread(target=pump, daemon=True).start()
    up.endpoint = up.wait_for_line(ENDPOINT_RE.pattern, timeout=60).group(1)
    up.env = env | {"AWS_ENDPOINT_URL": up.endpoint}
    return up


@pytest.fixture
def local_up_factory(tmp_path: Path, aws_env: None) -> Iterator:  # type: ignore[type-arg]
    started: list[LocalUp] = []

    def factory(*args: str) -> LocalUp:
        up = start_local_up(tmp_path, *args)
        started.append(up)
        return up

    yield factory
    for up in started:
        stop_local_up(up)


def stop_local_up(up: LocalUp) -> None:
    """Ctrl-C, as a person would; killed if it has not stopped within a minute."""
    if up.proc.poll() is None:
        up.proc.send_signal(signal.SIGINT)
        try:
            up.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            up.proc.kill()
            up.proc.wait()
