"""Running trusted build tools (pip) as subprocesses: a scrubbed environment without
AWS credentials, a timeout that kills the whole process group, a memory limit, and
output read back as a bounded tail (a tool printing hundreds of megabytes costs the
worker neither memory nor disk).

Only tools that run no uploaded code belong here (pip installs wheels only and never
imports what it installs); anything that imports or runs app code goes through the
jail (``orchestrator.steps.jail``). This module does not interpret tool output;
callers turn it into error codes.
"""

from __future__ import annotations

import contextlib
import os
import resource
import select
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from orchestrator.errors import BuildError
from orchestrator.steps.jail.output import TailCapture

_KEEP_EXACT = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR",
               "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NO_PROXY", "no_proxy", "HTTP_PROXY",
               "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"}
_KEEP_PREFIXES = ("PIP_",)
_T = TypeVar("_T")
TOOL_OUTPUT_KEEP = 256 * 1024


def scrubbed_env(extra: Mapping[str, str] | None = None,
                 base: Mapping[str, str] | None = None) -> dict[str, str]:
    """PATH, HOME, locale, CA and proxy settings and PIP_* only: never AWS_* or secrets."""
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items()
           if k in _KEEP_EXACT or k.startswith(_KEEP_PREFIXES)}
    env.setdefault("PATH", "/usr/bin:/bin")
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env = {k: v for k, v in env.items() if not k.startswith("AWS_")}
    if extra:  # callers may add harmless AWS settings (a region), never credentials
        env.update(extra)
    return env


@dataclass(frozen=True)
class RunResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + "\n" + self.stderr


def _limit(pid: int, memory_bytes: int | None) -> None:
    # prlimit on the started child rather than preexec_fn, which is unsafe in threaded
    # callers (the worker runs jobs on threads).
    with contextlib.suppress(OSError, ValueError):
        resource.prlimit(pid, resource.RLIMIT_CORE, (0, 0))
        if memory_bytes:
            resource.prlimit(pid, resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def _wait_exit(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """``proc.wait(timeout)``, but woken by the exit itself (a pidfd) rather than by
    Popen's polling, which sleeps up to 50 ms at a time."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # not Linux >= 5.3, or already reaped
        proc.wait(timeout=timeout)
        return
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        if not poller.poll(timeout * 1000):
            raise subprocess.TimeoutExpired(proc.args, timeout)
    finally:
        os.close(fd)
    proc.wait(timeout=10)  # it has exited: reap it


def _wait_or_kill(wait: Callable[[float], _T], kill: Callable[[], None], *, what: str,
                  timeout: float, tick: Callable[[str], None] | None,
                  tick_seconds: float) -> _T:
    """``wait(step)`` until it returns, calling ``tick`` every ``tick_seconds``; past
    ``timeout``, ``kill()`` and raise BuildError(BuildTimeout)."""
    waited = 0.0
    while True:
        step = min(tick_seconds, timeout - waited) if tick else timeout - waited
        try:
            return wait(max(step, 0.01))
        except subprocess.TimeoutExpired:
            waited += step
            if waited < timeout and tick is not None:
                tick(f"{what} still running ({waited:.0f} s)")
                continue
            kill()
            raise BuildError(f"{what} did not finish within {timeout:g} s", code="BuildTimeout",
                             hint="reduce the dependencies or retry later") from None


def run_tool(cmd: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float,
             what: str, memory_bytes: int | None = None,
             tick: Callable[[str], None] | None = None, tick_seconds: float = 10.0,
             keep_bytes: int = TOOL_OUTPUT_KEEP) -> RunResult:
    """Run ``cmd``; on timeout kill its process group and raise BuildError(BuildTimeout).
    ``tick`` is called every ``tick_seconds`` while it runs (the worker's heartbeat).
    Only the last ``keep_bytes`` of stdout and of stderr are kept."""
    proc = subprocess.Popen(list(cmd), cwd=cwd, env=dict(env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    _limit(proc.pid, memory_bytes)
    assert proc.stdout is not None and proc.stderr is not None
    out = TailCapture(os.dup(proc.stdout.fileno()), name="tool-stdout", keep=keep_bytes,
                      limit=1 << 62)
    err = TailCapture(os.dup(proc.stderr.fileno()), name="tool-stderr", keep=keep_bytes,
                      limit=1 << 62)
    proc.stdout.close()
    proc.stderr.close()

    def kill() -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    try:
        _wait_or_kill(lambda step: _wait_exit(proc, step), kill, what=what, timeout=timeout,
                      tick=tick, tick_seconds=tick_seconds)
    finally:
        if proc.poll() is None:
            kill()
        out.join()
        err.join()
    return RunResult(proc.returncode, out.tail(), err.tail())
