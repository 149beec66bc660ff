"""A worker started with ``--parent-pid`` (as ``local up`` and ``demo`` start theirs)
drains and exits once its parent is killed outright, instead of polling a stack that is
gone for ever, whether it is consuming or still waiting for AWS to answer at start; a
pid that is not its parent is refused."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from auto_lambda_dev.emulator import LocalEndpoint, start_server
from orchestrator.aws.facade import Aws
from orchestrator.aws.resources import ensure_resources
from orchestrator.config import Settings
from tests.processes import running
from tests.waiting import wait_for

# starts the worker in its own session, as the local stack's pool does, and waits
PARENT = """
import os, subprocess, sys, time
log = open(sys.argv[1], "wb")
child = subprocess.Popen([sys.executable, "-m", "orchestrator.cli.main", "-v", "worker",
                          "--wait", "1", "--concurrency", "1", "--drain-seconds", "5",
                          "--parent-pid", str(os.getpid())],
                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
print(child.pid, flush=True)
time.sleep(300)
"""


@pytest.fixture
def worker_env(tmp_path: Path, aws_env: None) -> Iterator[dict[str, str]]:
    endpoint: LocalEndpoint = start_server(0)
    endpoint.reset()
    try:
        env = {**os.environ, "AWS_ENDPOINT_URL": endpoint.url,
               "AUTO_LAMBDA_WORK_DIR": str(tmp_path / "work"),
               "AUTO_LAMBDA_CACHE_DIR": str(tmp_path / "cache")}
        settings = Settings.from_env(env)
        ensure_resources(Aws(settings))
        yield {**env, **endpoint.env(settings)}
    finally:
        endpoint.reset()
        endpoint.stop()


def _orphaned(env: dict[str, str], log: Path, ready: str) -> tuple[int, str]:
    """Start a parent that starts a worker, SIGKILL the parent once the worker's log
    shows ``ready``, and wait for the orphaned worker to exit: the parent's pid and the
    worker's log."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(log)], env=env,
                              stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    try:
        wait_for(f"{ready!r} in the worker's log", lambda: ready in log.read_text(), 60)
        assert running(pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        wait_for("the orphaned worker to exit", lambda: not running(pid), 60)
    finally:
        if parent.poll() is None:
            parent.kill()
        if running(pid):
            os.kill(pid, signal.SIGKILL)
    return parent.pid, log.read_text()


def test_a_worker_whose_parent_is_killed_drains_and_exits(worker_env: dict[str, str],
                                                         tmp_path: Path) -> None:
    parent, text = _orphaned(worker_env, tmp_path / "worker.log", "consuming")
    assert f"parent process {parent} is gone" in text, text
    assert "worker stopped:" in text, text


def test_a_worker_still_waiting_for_aws_stops_when_its_parent_is_killed(
        tmp_path: Path, aws_env: None) -> None:
    with socket.socket() as unused:  # nothing listens there once it is closed
        unused.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{unused.getsockname()[1]}"
    env = {**os.environ, "AWS_ENDPOINT_URL": down,
           "AUTO_LAMBDA_WORK_DIR": str(tmp_path / "work"),
           "AUTO_LAMBDA_CACHE_DIR": str(tmp_path / "cache")}
    _, text = _orphaned(env, tmp_path / "worker.log", "could not read the jobs queue's URL")
    assert "worker stopped before consuming: its parent process is gone" in text, text


def test_a_pid_that_is_not_the_workers_parent_is_a_usage_error(
        worker_env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli.main", "worker",
                           "--parent-pid", "1"], env=worker_env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "--parent-pid" in done.stderr and "is not this worker's parent" in done.stderr
