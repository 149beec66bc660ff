"""Running build tools (pip, chalice) as subprocesses: a scrubbed environment without
AWS credentials, a timeout that kills the whole process group, resource limits, and
no network where ``unshare -n`` works and the step needs none.

This module does not interpret tool output; callers turn it into error codes.
"""

from __future__ import annotations

import contextlib
import os
import resource
import select
import shutil
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypeVar

from orchestrator.errors import BuildError

_KEEP_EXACT = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR",
               "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NO_PROXY", "no_proxy", "HTTP_PROXY",
               "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"}
_KEEP_PREFIXES = ("PIP_",)
_T = TypeVar("_T")


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


@cache
def offline_prefix() -> tuple[str, ...]:
    """``("unshare", "-n")`` when a network namespace can be created here, else ()."""
    exe = shutil.which("unshare")
    if exe is None:
        return ()
    try:
        ok = subprocess.run([exe, "-n", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return (exe, "-n") if ok else ()


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


class StartedTool:
    """A tool started ahead of time (``start_tool``) that waits on its stdin for a go-ahead.

    Its output goes to files (it may print while it waits; a pipe could fill up).
    ``finish`` sends the go-ahead and waits like ``run_tool``; ``kill`` stops it at once.
    """

    def __init__(self, proc: subprocess.Popen[bytes], out_path: Path, err_path: Path,
                 what: str) -> None:
        self.proc = proc
        self.out_path = out_path
        self.err_path = err_path
        self.what = what

    def finish(self, message: bytes, *, timeout: float,
               tick: Callable[[str], None] | None = None,
               tick_seconds: float = 10.0) -> RunResult:
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError):  # it may have ended already
            self.proc.stdin.write(message)
            self.proc.stdin.close()
        _wait_or_kill(lambda step: _wait_exit(self.proc, step), self.kill, what=self.what,
                      timeout=timeout, tick=tick, tick_seconds=tick_seconds)
        return RunResult(self.proc.returncode, _read_text(self.out_path),
                         _read_text(self.err_path))

    def kill(self) -> None:
        """Stop its process group, unless it has ended and been reaped (then its group id
        may belong to someone else)."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()


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


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return ""


def start_tool(cmd: Sequence[str], *, cwd: Path, env: Mapping[str, str], what: str,
               log_dir: Path, offline: bool = False,
               memory_bytes: int | None = None) -> StartedTool:
    """Start ``cmd`` now, with its stdin a pipe it waits on; ``finish`` lets it go on.
    Same environment, session, limits and isolation rules as ``run_tool``."""
    argv = [*offline_prefix(), *cmd] if offline else list(cmd)
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / "stdout.log", log_dir / "stderr.log"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(argv, cwd=cwd, env=dict(env), stdout=out, stderr=err,
                                stdin=subprocess.PIPE, start_new_session=True)
    _limit(proc.pid, memory_bytes)
    return StartedTool(proc, out_path, err_path, what)


def run_tool(cmd: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float,
             what: str, offline: bool = False, memory_bytes: int | None = None,
             tick: Callable[[str], None] | None = None, tick_seconds: float = 10.0) -> RunResult:
    """Run ``cmd``; on timeout kill its process group and raise BuildError(BuildTimeout).
    ``tick`` is called every ``tick_seconds`` while it runs (the worker's heartbeat)."""
    argv = [*offline_prefix(), *cmd] if offline else list(cmd)
    proc = subprocess.Popen(argv, cwd=cwd, env=dict(env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, errors="replace",
                            stdin=subprocess.DEVNULL, start_new_session=True)
    _limit(proc.pid, memory_bytes)

    def kill() -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()

    out, err = _wait_or_kill(lambda step: proc.communicate(timeout=step), kill, what=what,
                             timeout=timeout, tick=tick, tick_seconds=tick_seconds)
    return RunResult(proc.returncode, out, err)
