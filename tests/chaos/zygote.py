"""A pre-warmed parent for worker processes: ``python -m tests.chaos.zygote``.

It imports what ``auto-lambda worker`` imports (and nothing more: no thread, no client,
no socket, no logging set up), noting every environment variable the imports read, then
forks one child per request. Each child is set up as ``python -m MODULE ARGS`` started
by ``subprocess.Popen`` would be: its environment replaced wholesale before anything
reads a setting, its own working directory, stdin from /dev/null, stdout and stderr to
its log file, every other file descriptor closed, the signal dispositions Python started
with, then the module run as ``__main__``. A start costs a fork instead of an
interpreter start, the imports and the parsing of botocore's models (~0.8 s of CPU),
which the kill drills paid at every restart. What the imports read (``HOME`` today) is
the zygote's in every child: the harness starts a zygote with the workers' values and
checks the reported list (tests/chaos/zygotes.py).

``python -m tests.chaos.zygote MODULE...`` imports those modules instead of ``PRELOAD``.

Protocol, one JSON object per line: requests on stdin, answers and events on stdout.

    -> {"id": 1, "op": "spawn", "argv": ["python", "-m", "MODULE", ...], "env": {...},
        "cwd": "...", "log": "...", "stderr": "..."}    (stderr: optional, else to log)
    <- {"ready": true, "pid": 99, "read": ["HOME", "LANG"]}   (once: variables the
                                                 imports read; "*": all of them)
    <- {"id": 1, "pid": 1234}                    (or {"id": 1, "error": "..."})
    -> {"id": 2, "op": "signal", "pid": 1234, "signal": 15}
    <- {"id": 2, "sent": true}                   (false: it had already exited)
    <- {"exit": 1234, "status": -9, "cpu": 0.4}  (whenever a child ends: Popen's
                                                 returncode, -N for signal N, and
                                                 the CPU seconds it and its reaped
                                                 children used)

It reaps every child itself (the SIGCHLD wake-up), so none is left a zombie, and it
sends signals only to children it has not reaped, so a signal never reaches a reused
pid. When stdin closes (the test process ended, however it ended) it SIGKILLs the
children still running, reaps them and exits; if it dies itself, its children get
SIGKILL from the kernel (``PR_SET_PDEATHSIG``). Test support only
(``tests/chaos/harness.py`` drives it); nothing in the product uses it.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import logging
import os
import runpy
import select
import signal
import sys
import tempfile
import threading
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

# What ``auto-lambda -v worker`` has imported once it has run a job (read from a
# worker's sys.modules), at the level of the modules that pull the rest in. Importing
# more than the worker would is harmless but for memory; less only costs time in each
# child.
PRELOAD = (
    "orchestrator.cli.main",
    "orchestrator.cli.cmd_worker",
    "orchestrator.aws.queue",
    "orchestrator.jobs.runtime",
    "worker.instance",
    "worker.loop",
    "tests.fault_hooks",
    "boto3.s3.transfer",  # on the first S3 client
    "encodings.idna",  # on the first connection
)
# The services a worker's clients talk to: their models are loaded once, here, into the
# cache every session's loader shares (tests/botocore_models.py), instead of parsed again
# by each child: a start to its first receive costs ~0.15 s of CPU instead of ~0.25 s,
# and each client a job makes later is cheaper too.
WARM_SERVICES = ("apigatewayv2", "autoscaling", "cloudwatch", "dynamodb", "events", "iam",
                 "lambda", "logs", "s3", "scheduler", "secretsmanager", "sqs", "ssm", "sts",
                 "xray")
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@dataclass(frozen=True)
class Request:
    argv: list[str]
    env: dict[str, str]
    cwd: str
    log: str
    stderr: str


def main() -> None:
    start_cwd = os.getcwd()
    read = _preload(sys.argv[1:] or PRELOAD)
    if threading.active_count() != 1:  # fork copies only the calling thread
        raise SystemExit(f"zygote: importing started threads: {threading.enumerate()}")
    if logging.getLogger().handlers:  # the worker's -v configures it, once
        raise SystemExit("zygote: importing configured logging")
    # imported here, after the reads are noted: its imports (boto3's) are the worker's
    from tests.botocore_models import warm

    warm(WARM_SERVICES)  # what it reads stays in a session it drops; models are the same
    request = _Zygote(read).serve()
    if request is not None:  # in a forked child, outside every frame of the loop
        if sys.path and sys.path[0] == start_cwd:
            sys.path[0] = request.cwd  # -m puts the working directory first
        _run(request)


class _RecordingEnviron(os._Environ):
    """os.environ's class while the zygote imports: notes each variable read."""

    read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        _RecordingEnviron.read.add(key)
        return str(super().__getitem__(key))

    def __iter__(self) -> Iterator[str]:
        _RecordingEnviron.read.add("*")  # the whole environment
        return iter(list(super().__iter__()))


def _preload(modules: Sequence[str]) -> list[str]:
    """Import ``modules``; the environment variables the imports read (a value kept
    from then on would be the zygote's, not a child's: the harness checks them)."""
    environ_class = os.environ.__class__
    os.environ.__class__ = _RecordingEnviron
    try:
        for name in modules:
            importlib.import_module(name)
    finally:
        os.environ.__class__ = environ_class
    return sorted(_RecordingEnviron.read)


class _Zygote:
    def __init__(self, read: list[str]) -> None:
        self.read = read
        self.children: set[int] = set()
        self.inbox = b""
        # Python installs SIGINT's handler only when the process started with the
        # default disposition: a child gets what this process started with.
        self.sigint = signal.getsignal(signal.SIGINT)
        self.pid = os.getpid()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    def serve(self) -> Request | None:
        """Answer requests until stdin closes (then None); returns a request only in the
        child forked for it."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the test process
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        try:
            _send({"ready": True, "pid": os.getpid(), "read": self.read})
            return self._loop()
        except BaseException:  # a broken pipe (the test process is gone) or a bug
            self._shutdown()
            raise

    def _loop(self) -> Request | None:
        while True:
            ready, _, _ = select.select([0, self.wake_r], [], [])
            if self.wake_r in ready:
                while _drained(self.wake_r):
                    pass
            self._reap()
            if 0 not in ready:
                continue
            data = os.read(0, 1 << 16)
            if not data:
                self._shutdown()
                return None
            self.inbox += data
            while b"\n" in self.inbox:
                line, _, self.inbox = self.inbox.partition(b"\n")
                request = self._handle(json.loads(line))
                if request is not None:
                    return request

    def _handle(self, message: dict[str, Any]) -> Request | None:
        ident = message["id"]
        if message["op"] == "signal":
            pid = int(message["pid"])
            sent = pid in self.children  # not reaped yet: the pid is still this child's
            if sent:
                os.kill(pid, int(message["signal"]))
            _send({"id": ident, "sent": sent})
            return None
        request = Request(argv=list(message["argv"]), env=dict(message["env"]),
                          cwd=str(message["cwd"]), log=str(message["log"]),
                          stderr=str(message.get("stderr") or message["log"]))
        if request.argv[1:2] != ["-m"] or len(request.argv) < 3:
            _send({"id": ident, "error": f"not a `python -m MODULE` command: {request.argv}"})
            return None
        try:
            pid = os.fork()
        except OSError as exc:
            _send({"id": ident, "error": f"fork failed: {exc}"})
            return None
        if pid == 0:
            try:
                self._become_child()
            except BaseException:
                traceback.print_exc()
                os._exit(127)
            return request
        self.children.add(pid)
        _send({"id": ident, "pid": pid})
        return None

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children.discard(pid)
            _send({"exit": pid, "status": os.waitstatus_to_exitcode(status),
                   "cpu": round(usage.ru_utime + usage.ru_stime, 3)})

    def _shutdown(self) -> None:
        for pid in self.children:
            os.kill(pid, signal.SIGKILL)
        for pid in sorted(self.children):
            _, status, usage = os.wait4(pid, 0)
            with contextlib.suppress(OSError):  # nobody may be reading any more
                _send({"exit": pid, "status": os.waitstatus_to_exitcode(status),
                       "cpu": round(usage.ru_utime + usage.ru_stime, 3)})
        self.children.clear()

    def _become_child(self) -> None:
        self.children.clear()  # not this process's to kill or reap
        _die_with(self.pid)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, self.sigint)
        os.close(self.wake_r)
        os.close(self.wake_w)


def _run(request: Request) -> None:
    """Become ``python -m MODULE ARGS`` (``request.argv`` as ``Popen`` had it); the
    interpreter then exits as that process would (atexit handlers, flushed streams, the
    same status)."""
    os.chdir(request.cwd)
    null = os.open(os.devnull, os.O_RDONLY)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
    out = os.open(request.log, flags, 0o644)
    err = out if request.stderr == request.log else os.open(request.stderr, flags, 0o644)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(err, 2)
    for fd in [int(name) for name in os.listdir("/proc/self/fd")]:
        if fd > 2:
            with contextlib.suppress(OSError):  # the listing's own, closed already
                os.close(fd)
    # Before anything reads a setting: the environment is the request's, and nothing
    # of the zygote's is left (os.environ writes through to the C environment, which
    # the worker's own subprocesses inherit).
    os.environ.clear()
    os.environ.update(request.env)
    tempfile.tempdir = None  # gettempdir() is cached; TMPDIR is the child's own
    module = request.argv[2]
    sys.argv = request.argv[2:]  # runpy puts the module's file in sys.argv[0]
    # What -m does: the module's code runs as __main__, and the module itself is not
    # imported (the zygote's warm-up import of it is not the one that runs).
    sys.modules.pop(module, None)
    runpy.run_module(module, run_name="__main__", alter_sys=True)


def _die_with(parent: int) -> None:
    """SIGKILL this child when the zygote dies: no worker outlives it unreported (the
    harness raises ZygoteDied then). The one difference from an exec'd worker, which
    would run on as an orphan; the worker's own children do not inherit it."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # it died before the prctl
        os._exit(1)


def _drained(fd: int) -> bool:
    try:
        return bool(os.read(fd, 512))
    except BlockingIOError:
        return False


def _send(message: dict[str, Any]) -> None:
    data = (json.dumps(message) + "\n").encode()
    while data:
        data = data[os.write(1, data):]


if __name__ == "__main__":
    main()
