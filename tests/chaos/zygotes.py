"""The test process's side of ``tests/chaos/zygote.py``: ``Zygote.spawn`` starts a worker
as a fork of a pre-warmed process and returns a ``ForkedProcess``, which answers as the
``subprocess.Popen`` it replaces does (``pid``, ``returncode``, ``poll``, ``wait``,
``send_signal``; a child killed by signal N has ``returncode`` -N).

A zygote serves the workers whose environment agrees with its own on what was read
before any request came: the interpreter's start-up variables (``PYTHON*``, locale) and
what the imports read (``HOME``: botocore keeps paths under it in class attributes).
The zygote reports the variables its imports read; ``spawn`` refuses to fork if one of
them is not among those it was started with, so a new import-time read fails loudly
instead of leaving workers with the zygote's value. ``ChaosStack`` keeps one zygote per
such environment (in practice one per stack: ``HOME`` is the stack's) and closes them
when it stops.

A thread reads the zygote's answers and the exit statuses of its children. If the
zygote dies, every call about its children raises ``ZygoteDied`` with what it wrote
to stderr: nothing waits for an answer that cannot come. The zygote ends when the test
process closes its stdin (``close``, ``close_all`` at exit, or the process ending
however it ends), killing and reaping the children it still has.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[2]
READY_SECONDS = 120.0
ANSWER_SECONDS = 30.0
# Read before any request: by the interpreter as it starts, and by the imports (botocore
# keeps ~/.aws paths in class attributes). A worker whose environment differs in one of
# these cannot be a fork of a zygote started without it.
_IMPORT_PREFIXES = ("PYTHON", "LC_")
_IMPORT_NAMES = frozenset({"LANG", "LANGUAGE", "HOME"})


class ZygoteDied(RuntimeError):
    """The zygote process is gone: its children's fates are unknown."""


class ZygoteUnfit(RuntimeError):
    """The zygote's imports read a variable a child may set otherwise."""


def _is_import_variable(name: str) -> bool:
    return name.startswith(_IMPORT_PREFIXES) or name in _IMPORT_NAMES


def import_env(env: Mapping[str, str]) -> dict[str, str]:
    """The part of ``env`` read before a zygote forks (what it must share with the
    workers it forks)."""
    return {k: v for k, v in env.items() if _is_import_variable(k)}


def zygote_key(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """Which zygote serves a worker with ``env``: its ``import_env``, as a key."""
    return tuple(sorted(import_env(env).items()))


class ForkedProcess:
    """A worker forked by a zygote, with the part of ``subprocess.Popen`` tests use."""

    def __init__(self, zygote: Zygote, pid: int, args: list[str]) -> None:
        self.zygote, self.pid, self.args = zygote, pid, args
        self.returncode: int | None = None
        self.cpu_seconds: float | None = None  # once it ended: its and its children's

    def poll(self) -> int | None:
        with self.zygote.changed:
            return self._status()

    def _status(self) -> int | None:
        if self.returncode is None and self.zygote.dead is not None:
            raise ZygoteDied(f"worker pid {self.pid}: {self.zygote.dead}")
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.zygote.changed:
            while self._status() is None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
                self.zygote.changed.wait(left)
            assert self.returncode is not None
            return self.returncode

    def send_signal(self, signum: int) -> None:
        """Sent by the zygote, which has not reaped the child if it sends: never to a
        pid the system has given to another process since."""
        if self.poll() is None:
            self.zygote.request({"op": "signal", "pid": self.pid, "signal": int(signum)})

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class Zygote:
    def __init__(self, env: Mapping[str, str], preload: Sequence[str] = ()) -> None:
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.imported_with = import_env(env)
        zygote_env = {**self.imported_with, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.chaos.zygote", *preload],
                                     env=zygote_env, cwd=REPO, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr)
        self.changed = threading.Condition()
        self.ready = False
        self.read: list[str] = []  # the variables its imports read
        self.dead: str | None = None
        self.closing = False
        self.finished = False  # the reader saw it exit
        self.children: dict[int, ForkedProcess] = {}
        self.answers: dict[int, dict[str, Any]] = {}
        self.pending: dict[int, list[str]] = {}  # spawn requests' argv by id
        self._ids = 0
        self._write = threading.Lock()
        threading.Thread(target=self._read, name=f"zygote-{self.proc.pid}",
                         daemon=True).start()
        _open.add(self)

    # ---- requests ----
    def spawn(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path,
              log: Path, stderr: Path | None = None) -> ForkedProcess:
        """Fork a child that is ``argv`` (``[sys.executable, "-m", MODULE, ...]``, as
        ``Popen`` would run it) with ``env`` and ``cwd``, stdout to ``log`` (appended)
        and stderr too unless to ``stderr``."""
        if list(argv[:2]) != [sys.executable, "-m"] or len(argv) < 3:
            raise ValueError(f"a zygote forks `{sys.executable} -m MODULE ...` only: {argv}")
        if import_env(env) != self.imported_with:
            raise ValueError("the variables read before a fork differ from the zygote's")
        with self.changed:
            self._wait_ready()
        unfit = [name for name in self.read if not _is_import_variable(name)]
        if unfit:
            raise ZygoteUnfit(f"importing the worker's modules read {unfit} ('*': the whole "
                              "environment); a forked worker would keep the zygote's value. "
                              "Add the variable to zygotes._IMPORT_NAMES, or read it on use")
        message = {"op": "spawn", "argv": list(argv), "env": dict(env), "cwd": str(cwd),
                   "log": str(log), "stderr": str(stderr or log)}
        answer = self.request(message, argv=list(argv))
        if "error" in answer:
            raise OSError(f"the zygote could not start {list(argv)}: {answer['error']}")
        return self.children[int(answer["pid"])]

    def request(self, message: dict[str, Any], argv: list[str] | None = None
                ) -> dict[str, Any]:
        with self._write:
            with self.changed:
                self._ids += 1
                ident = self._ids
                if argv is not None:
                    self.pending[ident] = argv
            data = (json.dumps({**message, "id": ident}) + "\n").encode()
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError) as exc:
                raise ZygoteDied(self._died_text()) from exc
        with self.changed:
            self._wait_alive(lambda: ident in self.answers, ANSWER_SECONDS,
                             f"no answer to {message['op']}")
            return self.answers.pop(ident)

    def imports_read(self) -> list[str]:
        """The environment variables its imports read (once it is ready)."""
        with self.changed:
            self._wait_ready()
            return list(self.read)

    def _wait_ready(self) -> None:
        self._wait_alive(lambda: self.ready, READY_SECONDS, "not ready")

    def _wait_alive(self, done: Callable[[], bool], seconds: float, late: str) -> None:
        """Wait (holding ``changed``) until ``done()``; ZygoteDied if the zygote dies
        first, or with ``late`` if ``seconds`` pass."""
        deadline = time.monotonic() + seconds
        while not done():
            if self.dead is not None:
                raise ZygoteDied(self.dead)
            left = deadline - time.monotonic()
            if left <= 0:
                raise ZygoteDied(f"{late} after {seconds:g} s")
            self.changed.wait(left)

    # ---- answers ----
    def _read(self) -> None:
        try:
            self._answers()
        finally:  # however the reading ended, nobody waits for an answer after it
            status = self.proc.wait()
            with self.changed:
                if not self.closing or any(c.returncode is None
                                           for c in self.children.values()):
                    self.dead = self._died_text(status)
                self.finished = True
                self.changed.notify_all()

    def _answers(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            message = json.loads(line)
            with self.changed:
                if "ready" in message:
                    self.read = list(message["read"])
                    self.ready = True
                elif "exit" in message:
                    child = self.children[int(message["exit"])]
                    child.cpu_seconds = float(message["cpu"])
                    child.returncode = int(message["status"])
                else:
                    ident = int(message["id"])
                    argv = self.pending.pop(ident, None)
                    if argv is not None and "pid" in message:
                        pid = int(message["pid"])
                        self.children[pid] = ForkedProcess(self, pid, argv)
                    self.answers[ident] = message
                self.changed.notify_all()

    def _died_text(self, status: int | None = None) -> str:
        self.stderr.seek(0)
        err = self.stderr.read().decode(errors="replace")[-4000:]
        return (f"the zygote (pid {self.proc.pid}) exited with status "
                f"{self.proc.poll() if status is None else status}:\n{err}")

    def close(self, timeout: float = 30.0) -> None:
        """Close its stdin: it kills and reaps the children it still has, then exits."""
        _open.discard(self)
        with self.changed:
            self.closing = True
        if self.proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        deadline = time.monotonic() + timeout
        with self.changed:  # the reader has the children's last statuses once it ends
            while not self.finished and time.monotonic() < deadline:
                self.changed.wait(deadline - time.monotonic())
        self.stderr.close()


_open: set[Zygote] = set()  # closed at exit if still open (a script that never stopped)


@atexit.register
def close_all() -> None:
    for zygote in list(_open):
        zygote.close()
