"""Running build tools (pip, chalice) as subprocesses: a scrubbed environment without
AWS credentials, a timeout that kills the whole process group, resource limits, and
no network where ``unshare -n`` works and the step needs none.

This module does not interpret tool output; callers turn it into error codes.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from orchestrator.errors import BuildError

_KEEP_EXACT = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR",
               "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NO_PROXY", "no_proxy", "HTTP_PROXY",
               "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"}
_KEEP_PREFIXES = ("PIP_",)


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
    waited = 0.0
    while True:
        step = min(tick_seconds, timeout - waited) if tick else timeout - waited
        try:
            out, err = proc.communicate(timeout=max(step, 0.01))
            break
        except subprocess.TimeoutExpired:
            waited += step
            if waited < timeout and tick is not None:
                tick(f"{what} still running ({waited:.0f} s)")
                continue
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise BuildError(f"{what} did not finish within {timeout:g} s", code="BuildTimeout",
                             hint="reduce the dependencies or retry later") from None
    return RunResult(proc.returncode, out, err)
