"""Run a built package's handler once in a local sandbox, as Lambda would, for local
verification (the emulator cannot execute functions).

The sandbox: a fresh temp dir holding the package (``task/``, LAMBDA_TASK_ROOT), the
bootstrap script (``runtime/``) and a home/tmp dir; the target interpreter in isolated
mode (``-I -S``: the worker's site-packages are invisible); only the function's own
environment plus Lambda's variables (no AWS credentials, no endpoint); limits on address
space, CPU time, open files and file size (set by the bootstrap on itself before the app
is read); its own session, killed as a group on timeout;
no network namespace access (``unshare``) where the machine allows it. The modules
Lambda's runtime provides (boto3, botocore and their dependencies) are made importable.

Untrusted code runs only in that subprocess. The sandbox runs as the worker's user and
sees its file system: it is a damage limiter for a verification run, not a jail.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.errors import TransientError, VerifyError
from orchestrator.steps.checks.provided import precompile as precompile_lib
from orchestrator.steps.checks.provided import runtime_lib
from orchestrator.steps.manifest import AppSpec

log = logging.getLogger(__name__)

INIT_TIMEOUT = 10.0            # Lambda's limit for the init phase, seconds
MEMORY_MARGIN_MB = 256         # address space the interpreter itself needs beyond the app's
MAX_RESULT_BYTES = 6 * 1024 * 1024   # Lambda's synchronous response limit
MAX_OPEN_FILES = 1024
MAX_FILE_BYTES = 512 * 1024 * 1024   # Lambda's default /tmp
BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
_NETWORK_PREFIXES: tuple[tuple[str, ...], ...] = (
    ("unshare", "--net", "--pid", "--fork", "--kill-child"),
    ("unshare", "--net"),
    ("unshare", "--user", "--map-root-user", "--net"),
)
_unshare_prefix: tuple[str, ...] | None = None
_unshare_probed = False
_probe_lock = threading.Lock()


@dataclass
class LocalRun:
    """What a sandboxed invocation returned and how it ran."""

    output: Any
    duration: float
    network_isolated: bool
    stdout_tail: str = ""
    stderr_tail: str = ""
    notes: list[str] = field(default_factory=list)


def network_isolation() -> tuple[str, ...] | None:
    """The ``unshare`` prefix that removes network access here, or None (probed once)."""
    global _unshare_prefix, _unshare_probed
    with _probe_lock:
        if not _unshare_probed:
            _unshare_probed = True
            for prefix in _NETWORK_PREFIXES if shutil.which("unshare") else ():
                try:
                    done = subprocess.run([*prefix, "true"], capture_output=True, timeout=10,
                                          check=False)
                except (OSError, subprocess.SubprocessError):
                    continue
                if done.returncode == 0:
                    _unshare_prefix = prefix
                    break
            log.info("verify sandbox network isolation: %s",
                     " ".join(_unshare_prefix) if _unshare_prefix else "unavailable")
        return _unshare_prefix


def extract_package(package_zip: Path, dest: Path) -> None:
    """Unzip a built package into ``dest``, refusing entries that would land outside it."""
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    try:
        with zipfile.ZipFile(package_zip) as zf:
            for info in zf.infolist():
                target = (root / info.filename).resolve()
                if not target.is_relative_to(root):
                    raise VerifyError(f"package entry {info.filename!r} escapes the package",
                                      code="VerifyFailed", hint="rebuild the package")
                zf.extract(info, root)
    except zipfile.BadZipFile as exc:
        raise VerifyError(f"built package {package_zip.name} is not a readable zip: {exc}",
                          code="VerifyFailed", hint="rebuild the package") from exc


def sandbox_environment(spec: AppSpec, *, function_name: str, version: str, region: str,
                        task_dir: Path, home: Path) -> dict[str, str]:
    """The function's own variables plus what Lambda sets; nothing from the worker."""
    env = {str(k): str(v) for k, v in spec.environment.items()}
    env.update({
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local/verify",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "_HANDLER": spec.handler,
        "LAMBDA_TASK_ROOT": str(task_dir),
        "LAMBDA_RUNTIME_DIR": str(home.parent / "runtime"),
        "HOME": str(home),
        "TMPDIR": str(home),
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
    })
    return env


def _limits(memory_mb: int, cpu_seconds: int) -> str:
    """The sandbox's resource limits, as the bootstrap's LIMITS argument.

    The bootstrap sets them on itself before it reads anything of the app. (Setting them
    between fork and exec needs ``preexec_fn``, which forces a full fork() of the worker:
    ~13 ms for a 300 MB process, against ~1 ms with vfork.)
    """
    address_space = (memory_mb + MEMORY_MARGIN_MB) * 1024 * 1024
    return json.dumps([
        ["RLIMIT_AS", address_space, address_space],
        ["RLIMIT_CPU", cpu_seconds, cpu_seconds + 5],
        ["RLIMIT_NOFILE", MAX_OPEN_FILES, MAX_OPEN_FILES],
        ["RLIMIT_FSIZE", MAX_FILE_BYTES, MAX_FILE_BYTES],
        ["RLIMIT_CORE", 0, 0],
    ])


def _start(cmd: list[str], *, env: dict[str, str], cwd: Path, write_fd: int,
           stdout: Any, stderr: Any) -> subprocess.Popen[bytes]:
    """Start the sandbox in its own session (its limits travel in ``cmd``)."""
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=stdout, stderr=stderr, env=env,
                            cwd=str(cwd), pass_fds=(write_fd,), start_new_session=True,
                            close_fds=True)


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - limit))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _read_messages(fd: int, sink: queue.Queue[dict[str, Any] | None]) -> None:
    """Reader thread: one dict per JSON line from the result pipe, None at EOF."""
    total = 0
    buffer = b""
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            total += len(chunk)
            if total > MAX_RESULT_BYTES + 65536:
                sink.put({"error": {"type": "ResponseTooLarge", "phase": "serialize",
                                    "message": f"response over {MAX_RESULT_BYTES} bytes"}})
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                try:
                    message = json.loads(line)
                except ValueError:
                    message = {"error": {"type": "ProtocolError", "phase": "serialize",
                                         "message": "unreadable result line from the sandbox"}}
                sink.put(message if isinstance(message, dict) else {})
    sink.put(None)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def short(value: Any, limit: int = 500) -> str:
    """JSON (or repr) of ``value``, cut to ``limit`` characters for messages."""
    try:
        text = json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 15] + f"... ({len(text)} chars)"


def _error_from_report(err: dict[str, Any], spec: AppSpec, details: dict[str, Any]) -> VerifyError:
    kind = str(err.get("type") or "Exception")
    message = str(err.get("message") or "")
    phase = str(err.get("phase") or "invoke")
    details = {**details, "error_type": kind, "phase": phase, "trace": err.get("trace") or []}
    if kind == "MemoryError":
        return VerifyError(f"{spec.handler} ran out of memory ({spec.memory} MB) during {phase}",
                           code="HandlerMemoryExceeded",
                           hint="raise [function] memory in auto-lambda.toml or use less",
                           details=details)
    if phase == "serialize":
        return VerifyError(f"{spec.handler} returned a value that is not JSON: {kind}: {message}",
                           code="VerifyBadOutput",
                           hint="return only dicts, lists, strings, numbers, booleans and None",
                           details=details)
    if phase == "init":
        if kind == "HandlerNotFound":
            return VerifyError(f"handler {spec.handler}: {message}", code="HandlerNotFound",
                               hint="fix [function] handler in auto-lambda.toml",
                               details=details)
        if kind in {"SyntaxError", "IndentationError", "TabError"}:
            return VerifyError(f"{spec.handler}: syntax error at import: {message}",
                               code="HandlerSyntaxError",
                               hint="fix the syntax error and upload again", details=details)
        return VerifyError(f"importing {spec.handler} failed: {kind}: {message}",
                           code="ImportErrorAtInit",
                           hint="add missing modules to requirements.txt or fix the module's "
                                "top-level code", details=details)
    return VerifyError(f"{spec.handler} raised {kind}: {message}", code="HandlerRaised",
                       hint="fix the handler or the [verify] event in auto-lambda.toml",
                       details=details)


def _no_report(proc: subprocess.Popen[bytes], spec: AppSpec, stderr: str,
               details: dict[str, Any]) -> VerifyError:
    """The process ended without a result: read the exit status and stderr."""
    code = proc.returncode
    lowered = stderr.lower()
    if "memoryerror" in lowered or "cannot allocate memory" in lowered \
            or "out of memory" in lowered:
        return VerifyError(f"{spec.handler} ran out of memory ({spec.memory} MB)",
                           code="HandlerMemoryExceeded",
                           hint="raise [function] memory in auto-lambda.toml or use less",
                           details=details)
    if code == -signal.SIGXCPU:
        return VerifyError(f"{spec.handler} used more CPU time than its {spec.timeout} s timeout",
                           code="HandlerTimeout",
                           hint="make the handler faster or raise [function] timeout",
                           details=details)
    how = f"was killed by signal {-code}" if code is not None and code < 0 else \
        f"exited with status {code}"
    return VerifyError(f"{spec.handler}: the function process {how} before answering",
                       code="HandlerRaised",
                       hint="the handler or its imports ended the process; see stderr",
                       details=details)


def run_local(
    package: Path,
    spec: AppSpec,
    interpreter: Path,
    *,
    work_dir: Path,
    event: Any = None,
    function_name: str | None = None,
    version: str = "$LATEST",
    function_arn: str | None = None,
    region: str = "us-east-1",
    isolate_network: bool = True,
    init_timeout: float = INIT_TIMEOUT,
    cache_dir: Path | None = None,
    precompile: bool = True,
) -> LocalRun:
    """Invoke ``spec.handler`` from ``package`` (a built zip, or a dir already unpacked)
    once with ``event`` (default ``spec.verify_event``) and return its output.

    ``cache_dir`` (default ``work_dir/verify-cache``) keeps the links to the runtime-provided
    modules and their byte code between runs; keep it stable per worker. ``precompile``
    byte-compiles that copy for the interpreter when it is not yet.
    Raises VerifyError (HandlerNotFound, HandlerSyntaxError, ImportErrorAtInit,
    HandlerRaised, HandlerTimeout, HandlerMemoryExceeded, VerifyBadOutput).
    """
    event = spec.verify_event if event is None else event
    function_name = function_name or spec.name
    function_arn = function_arn or (
        f"arn:aws:lambda:{region}:000000000000:function:{function_name}:{version}")
    work_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="verify-", dir=work_dir)).resolve()
    notes: list[str] = []
    try:
        if package.is_dir():
            task_dir = package.resolve()
        else:
            task_dir = root / "task"
            extract_package(package, task_dir)
        runtime_dir = root / "runtime"
        runtime_dir.mkdir()
        shutil.copyfile(BOOTSTRAP, runtime_dir / "bootstrap.py")
        cache = (cache_dir or work_dir / "verify-cache").resolve()
        lib = runtime_lib(cache)
        if precompile:
            precompile_lib(interpreter, spec.python_version, lib)
        home = root / "tmp"
        home.mkdir()
        env = sandbox_environment(spec, function_name=function_name, version=version,
                                  region=region, task_dir=task_dir, home=home)
        prefix = network_isolation() if isolate_network else None
        if prefix is None:
            notes.append("ran WITH network access: unshare is not available here"
                         if isolate_network else "ran with network access (isolation off)")
        read_fd, write_fd = os.pipe()
        # -I -S: no site-packages, no PYTHON* variables; -B: write no byte code anywhere
        cpu = int(init_timeout + spec.timeout) + 5
        cmd = [*(prefix or ()), str(interpreter), "-I", "-S", "-B",
               str(runtime_dir / "bootstrap.py"), str(write_fd), spec.handler, function_arn,
               str(int(spec.timeout * 1000)), str(task_dir), str(lib),
               _limits(spec.memory, cpu)]
        out_path, err_path = root / "stdout.log", root / "stderr.log"
        messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        started = time.monotonic()
        with out_path.open("wb") as out, err_path.open("wb") as err:
            try:
                proc = _start(cmd, env=env, cwd=task_dir, write_fd=write_fd,
                              stdout=out, stderr=err)
            except OSError as exc:
                os.close(read_fd)
                raise TransientError(
                    f"could not start the verify sandbox ({cmd[0]}): {exc}", code="Transient",
                    hint="the worker's interpreter or unshare is missing; retried") from exc
            finally:
                os.close(write_fd)
        reader = threading.Thread(target=_read_messages, args=(read_fd, messages),
                                  name="verify-result", daemon=True)
        reader.start()
        try:
            assert proc.stdin is not None
            with contextlib.suppress(BrokenPipeError, OSError):
                proc.stdin.write(json.dumps(event).encode("utf-8"))
                proc.stdin.close()
            report, timed_out, phase = _await_report(messages, init_timeout, spec.timeout)
            if report is not None:
                # answered: let it exit on its own (log flushed), else stop it
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=2)
        finally:
            _kill_group(proc)
        duration = time.monotonic() - started
        reader.join(timeout=5)
        stdout_tail, stderr_tail = _tail(out_path), _tail(err_path)
        details: dict[str, Any] = {"stdout": stdout_tail, "stderr": stderr_tail,
                                   "network_isolated": prefix is not None}
        if timed_out:
            limit = init_timeout if phase == "init" else spec.timeout
            raise VerifyError(
                f"{spec.handler} did not finish its {phase} phase within {limit:g} s",
                code="HandlerTimeout",
                hint="make the handler faster or raise [function] timeout in auto-lambda.toml",
                details=details)
        if report is None:
            raise _no_report(proc, spec, stderr_tail, details)
        if "error" in report:
            raise _error_from_report(dict(report["error"] or {}), spec, details)
        if "ok" not in report:
            raise VerifyError(f"{spec.handler}: the sandbox sent no result", code="VerifyBadOutput",
                              hint="the handler may have written to the result channel",
                              details=details)
        return LocalRun(report["ok"], duration, prefix is not None, stdout_tail, stderr_tail,
                        notes)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _await_report(messages: queue.Queue[dict[str, Any] | None], init_timeout: float,
                  timeout: float) -> tuple[dict[str, Any] | None, bool, str]:
    """Wait for init-done within ``init_timeout`` then a result within ``timeout``.

    Returns (final message or None at EOF, whether a phase timed out, the phase).
    """
    phase = "init"
    deadline = time.monotonic() + init_timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None, True, phase
        try:
            message = messages.get(timeout=remaining)
        except queue.Empty:
            return None, True, phase
        if message is None:
            return None, False, phase
        if message.get("phase") == "init-done" and phase == "init":
            phase = "invoke"
            deadline = time.monotonic() + timeout
            continue
        if "ok" in message or "error" in message:
            return message, False, phase
