"""``Jail``: start a command in the jail, feed it, wait for it, stop it, read the tail
of its output.

Each run gets: the binds the caller names (inputs read-only, one writable output
folder), the interpreter's own folders read-only, a cleared environment rebuilt from
``env`` (HOME and TMPDIR are the jail's private /tmp), the limits applied inside by the
launcher, stdout and stderr as pipes drained into bounded tails. The launcher process
(``bwrap``) itself gets a bare environment, never the app's variables nor the worker's.

Fails closed: when no jail can be built, ``start`` raises SandboxUnavailable, unless the
insecure escape (settings.py) is on, which runs the same command and limits without
namespaces and says so in ``JailProcess.jailed``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from orchestrator.codes import Code
from orchestrator.errors import BuildError, SandboxUnavailable
from orchestrator.steps.jail import bwrap as bw
from orchestrator.steps.jail.limits import LAUNCHER, Limits, launcher_config
from orchestrator.steps.jail.output import DEFAULT_LIMIT, TailCapture
from orchestrator.steps.jail.pyroots import python_roots
from orchestrator.steps.jail.settings import JailSettings, refuse_insecure_with_role
from orchestrator.steps.jail.uids import UidLease, UidPool

log = logging.getLogger(__name__)

TMP_BYTES = 512 * 1024 * 1024  # Lambda's default /tmp
_LAUNCHER_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}
_warned = threading.Event()


@dataclass(frozen=True)
class JailResult:
    returncode: int | None
    stdout: str
    stderr: str
    output_exceeded: bool
    jailed: bool

    @property
    def output(self) -> str:
        return self.stdout + "\n" + self.stderr


class JailProcess:
    """One started jail. ``kill`` stops everything in it (the PID namespace goes with
    bwrap); it is safe to call more than once."""

    def __init__(self, proc: subprocess.Popen[bytes], *, jailed: bool,
                 output_limit: int, on_end: Callable[[], None] = lambda: None) -> None:
        self.proc = proc
        self.jailed = jailed
        self._on_end = on_end
        assert proc.stdout is not None and proc.stderr is not None
        self._killed = False
        self._lock = threading.Lock()
        out_fd, err_fd = os.dup(proc.stdout.fileno()), os.dup(proc.stderr.fileno())
        proc.stdout.close()
        proc.stderr.close()
        self.stdout = TailCapture(out_fd, name="stdout", limit=output_limit,
                                  on_overflow=self.kill)
        self.stderr = TailCapture(err_fd, name="stderr", limit=output_limit,
                                  on_overflow=self.kill)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def send(self, data: bytes, *, close: bool = True) -> None:
        """Write to its stdin (it may have ended already: then nothing happens)."""
        if self.proc.stdin is None:
            return
        with contextlib.suppress(BrokenPipeError, OSError, ValueError):
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
            if close:
                self.proc.stdin.close()

    def wait(self, timeout: float) -> bool:
        """True once it has exited (woken by the exit itself, via a pidfd), False when
        ``timeout`` passed first."""
        if self.proc.poll() is not None:
            return True
        try:
            fd = os.pidfd_open(self.proc.pid)
        except (AttributeError, OSError):
            try:
                self.proc.wait(timeout=max(timeout, 0))
                return True
            except subprocess.TimeoutExpired:
                return False
        try:
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            if not poller.poll(max(timeout, 0) * 1000):
                return False
        finally:
            os.close(fd)
        self.proc.wait(timeout=10)
        return True

    def finish(self, timeout: float, *, what: str, hint: str,
               tick: Callable[[str], None] | None = None, tick_seconds: float = 10.0) -> None:
        """Wait until it exits, calling ``tick`` every ``tick_seconds`` (the worker's
        heartbeat); past ``timeout`` kill it and raise BuildError(BuildTimeout)."""
        waited = 0.0
        while not self.wait(min(tick_seconds, timeout - waited)):
            waited += min(tick_seconds, timeout - waited)
            if waited >= timeout:
                self.kill()
                raise BuildError(f"{what} did not finish within {timeout:g} s",
                                 code=Code.BuildTimeout, hint=hint)
            if tick is not None:
                tick(f"{what} still running ({waited:.0f} s)")

    def kill(self) -> None:
        with self._lock:
            if self.proc.poll() is None:
                self._killed = True
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        if self.proc.poll() is not None:
            self._on_end()  # e.g. give the jail's user id back
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()

    @property
    def output_exceeded(self) -> bool:
        return self.stdout.overflowed or self.stderr.overflowed

    def result(self) -> JailResult:
        """After it exited (or was killed): the exit status and the output's tails."""
        self.stdout.join()
        self.stderr.join()
        return JailResult(self.proc.returncode, self.stdout.tail(), self.stderr.tail(),
                          self.output_exceeded, self.jailed)


class Jail:
    """Runs commands in the jail. One per worker; ``credentials_method`` tells how the
    worker's AWS credentials were obtained (botocore's ``method``), consulted only when
    the insecure escape is on."""

    def __init__(self, settings: JailSettings | None = None, *,
                 credentials_method: Callable[[], str | None] = lambda: None,
                 root_mode: bool | None = None) -> None:
        self.settings = settings or JailSettings.from_env()
        self.credentials_method = credentials_method
        self.root_mode = (os.geteuid() == 0) if root_mode is None else root_mode
        self._bwrap: bw.Bwrap | None = None
        self.uids = UidPool(self.settings.jail_uid, self.settings.jail_uid_count)

    @property
    def insecure(self) -> bool:
        return self.settings.insecure_no_jail

    def check(self) -> None:
        """Raise SandboxUnavailable unless a jail can be built here (probed once)."""
        if self.insecure:
            refuse_insecure_with_role(self.credentials_method())
            if not _warned.is_set():
                _warned.set()
                log.warning("AUTO_LAMBDA_INSECURE_NO_JAIL is on: uploaded app code runs "
                            "WITHOUT the jail, with this worker's user and file system. "
                            "Never use this on a shared worker.")
            return
        if self._bwrap is None:
            self._bwrap = bw.describe(bw.find_bwrap(self.settings.bwrap))
        bw.probe(self._bwrap, root_mode=self.root_mode, jail_uid=self.settings.jail_uid)

    def prepare_output(self, folder: Path) -> None:
        """Create ``folder``; ``start`` hands it (and what is in it) to the jail's user."""
        folder.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _hand_over(folder: Path, uid: int) -> None:
        """Make ``folder`` (and what is in it) writable by ``uid`` only."""
        folder.mkdir(parents=True, exist_ok=True)
        gid = uid
        for root, dirs, files in os.walk(folder):
            for name in (*dirs, *files):
                with contextlib.suppress(FileNotFoundError):
                    os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)
        os.chown(folder, uid, gid)

    def start(self, command: Sequence[str], *, python: str, env: Mapping[str, str],
              cwd: Path, inputs: Sequence[Path] = (), outputs: Sequence[Path] = (),
              limits: Limits, pass_fds: Sequence[int] = (), stdin: bool = False,
              output_limit: int = DEFAULT_LIMIT, tmp_bytes: int = TMP_BYTES) -> JailProcess:
        """Start ``command`` (its first item a Python program run by ``python``) in a new
        jail. ``inputs`` are bound read-only and ``outputs`` writable, each at its own
        path; ``cwd`` must be one of them (or inside one)."""
        self.check()
        lease = self.uids.acquire() if self.root_mode and not self.insecure else None
        try:
            if lease is not None:
                for folder in outputs:
                    self._hand_over(Path(folder), lease.uid)
            return self._start(command, lease, python=python, env=env, cwd=cwd,
                               inputs=inputs, outputs=outputs, limits=limits,
                               pass_fds=pass_fds, stdin=stdin, output_limit=output_limit,
                               tmp_bytes=tmp_bytes)
        except BaseException:
            if lease is not None:
                lease.release()
            raise

    def _start(self, command: Sequence[str], lease: UidLease | None, *, python: str,
               env: Mapping[str, str], cwd: Path, inputs: Sequence[Path],
               outputs: Sequence[Path], limits: Limits, pass_fds: Sequence[int],
               stdin: bool, output_limit: int, tmp_bytes: int) -> JailProcess:
        config_uid = lease.uid if lease is not None else None
        launcher = [python, "-I", "-S", "-c", LAUNCHER,
                    launcher_config(limits, cwd=str(cwd), uid=config_uid, gid=config_uid),
                    *command]
        full_env = dict(env)
        if self.insecure:
            scratch = Path(outputs[0] if outputs else cwd) / ".home"
            scratch.mkdir(parents=True, exist_ok=True)
            full_env.update({"HOME": str(scratch), "TMPDIR": str(scratch)})
            argv, popen_env = launcher, full_env
        else:
            full_env.update({"HOME": "/tmp", "TMPDIR": "/tmp"})
            assert self._bwrap is not None
            binds = [bw.Bind(p) for p in python_roots(python)]
            binds += [bw.Bind(Path(p).resolve()) for p in inputs]
            binds += [bw.Bind(Path(p).resolve(), writable=True) for p in outputs]
            argv = bw.jail_argv(self._bwrap, root_mode=self.root_mode,
                                binds=bw.unique_binds(binds), env=full_env, cwd=str(cwd),
                                command=launcher, tmp_bytes=tmp_bytes)
            popen_env = dict(_LAUNCHER_ENV)
        try:
            proc = subprocess.Popen(argv, env=popen_env, cwd="/",
                                    stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    pass_fds=tuple(pass_fds), start_new_session=True,
                                    close_fds=True)
        except OSError as exc:
            raise SandboxUnavailable(f"could not start the jail: {exc}", hint=bw.HINT) from exc
        return JailProcess(proc, jailed=not self.insecure, output_limit=output_limit,
                           on_end=lease.release if lease is not None else lambda: None)

    def run(self, command: Sequence[str], *, timeout: float, input: bytes | None = None,
            **kwargs: object) -> tuple[JailResult, bool]:
        """Start, feed ``input``, wait up to ``timeout``; (result, timed_out)."""
        process = self.start(command, stdin=input is not None, **kwargs)  # type: ignore[arg-type]
        try:
            if input is not None:
                process.send(input)
            finished = process.wait(timeout)
        finally:
            process.kill()
        return process.result(), not finished


_default: Jail | None = None
_default_lock = threading.Lock()


def default_jail() -> Jail:
    """A process-wide Jail from the environment's settings (what the CLI's ``build``
    and callers without an injected jail use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Jail()
        return _default
