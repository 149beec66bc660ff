"""Run a built package's handler once in the jail, as Lambda would, for local
verification (the emulator cannot execute functions).

The run: a fresh folder holding the package (``task/``, LAMBDA_TASK_ROOT, read-only as
on Lambda) and the bootstrap script (``runtime/``); the target interpreter in isolated
mode (``-I -S``: the worker's site-packages are invisible); the runtime-provided modules
(boto3, botocore, ...) read-only; all of it inside the jail (``orchestrator.steps.jail``:
no network, none of the worker's files, processes or environment, a private /tmp, limits
on memory, processes, CPU time, open files and file size, bounded output). Lambda's
variables are the jail's environment; the function's own variables travel with the
event and the bootstrap applies them inside, so nothing of the app (``LD_PRELOAD``
included) ever reaches the jail's launcher. With no jail possible the run fails closed
(``SandboxUnavailable``).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import signal
import tempfile
import threading
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.codes import Code
from orchestrator.errors import VerifyError
from orchestrator.steps.jail import Jail, JailProcess, Limits, default_jail
from orchestrator.steps.secrets.refs import function_environment, function_handler
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.steps.verify.provided import precompile as precompile_lib
from orchestrator.steps.verify.provided import runtime_lib
from orchestrator.types import JsonObject

log = logging.getLogger(__name__)

INIT_TIMEOUT = 10.0            # Lambda's limit for the init phase, seconds
MEMORY_MARGIN_MB = 256         # address space the interpreter itself needs beyond the app's
MAX_RESULT_BYTES = 6 * 1024 * 1024   # Lambda's synchronous response limit
MAX_OPEN_FILES = 1024
MAX_FILE_BYTES = 512 * 1024 * 1024   # Lambda's default /tmp
MAX_PROCESSES = 256            # processes and threads of the jail's user
MAX_OUTPUT_BYTES = 16 * 1024 * 1024  # stdout or stderr of one run; past it the run stops
BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
_PROCESS_LIMIT_MARKERS = ("Resource temporarily unavailable", "can't start new thread",
                          "BlockingIOError")


@dataclass
class LocalRun:
    """What a jailed invocation returned and how it ran."""

    output: Any
    duration: float
    jailed: bool
    stdout_tail: str = ""
    stderr_tail: str = ""
    notes: list[str] = field(default_factory=list)


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
                                      code=Code.VerifyFailed, hint="rebuild the package")
                zf.extract(info, root)
    except zipfile.BadZipFile as exc:
        raise VerifyError(f"built package {package_zip.name} is not a readable zip: {exc}",
                          code=Code.VerifyFailed, hint="rebuild the package") from exc


def sandbox_environment(spec: AppSpec, *, function_name: str, version: str, region: str,
                        task_dir: Path, runtime_dir: Path) -> dict[str, str]:
    """What Lambda sets, as the jail's environment: nothing from the worker, nothing of
    the app (its own variables are applied inside by the bootstrap)."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local/verify",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "_HANDLER": function_handler(spec),
        "LAMBDA_TASK_ROOT": str(task_dir),
        "LAMBDA_RUNTIME_DIR": str(runtime_dir),
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
    }


def jail_limits(memory_mb: int, cpu_seconds: int) -> Limits:
    """The run's limits, set inside the jail before anything of the app is read."""
    return Limits(memory_bytes=(memory_mb + MEMORY_MARGIN_MB) * 1024 * 1024,
                  cpu_seconds=cpu_seconds, processes=MAX_PROCESSES,
                  file_bytes=MAX_FILE_BYTES, open_files=MAX_OPEN_FILES)


def _read_messages(fd: int, sink: queue.Queue[JsonObject | None]) -> None:
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


def short(value: Any, limit: int = 500) -> str:
    """JSON (or repr) of ``value``, cut to ``limit`` characters for messages."""
    try:
        text = json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 15] + f"... ({len(text)} chars)"


def _error_from_report(err: JsonObject, spec: AppSpec, details: JsonObject) -> VerifyError:
    kind = str(err.get("type") or "Exception")
    message = str(err.get("message") or "")
    phase = str(err.get("phase") or "invoke")
    details = {**details, "error_type": kind, "phase": phase, "trace": err.get("trace") or []}
    if kind == "BlockingIOError" or (kind in {"OSError", "RuntimeError"} and any(
            m in message for m in _PROCESS_LIMIT_MARKERS)):
        return _process_limit(spec, details)
    if kind == "MemoryError":
        return VerifyError(f"{spec.handler} ran out of memory ({spec.memory} MB) during {phase}",
                           code=Code.HandlerMemoryExceeded,
                           hint="raise [function] memory in auto-lambda.toml or use less",
                           details=details)
    if phase == "serialize":
        return VerifyError(f"{spec.handler} returned a value that is not JSON: {kind}: {message}",
                           code=Code.VerifyBadOutput,
                           hint="return only dicts, lists, strings, numbers, booleans and None",
                           details=details)
    if phase == "init":
        if kind == Code.HandlerNotFound:
            return VerifyError(f"handler {spec.handler}: {message}", code=Code.HandlerNotFound,
                               hint="fix [function] handler in auto-lambda.toml",
                               details=details)
        if kind in {"SyntaxError", "IndentationError", "TabError"}:
            return VerifyError(f"{spec.handler}: syntax error at import: {message}",
                               code=Code.HandlerSyntaxError,
                               hint="fix the syntax error and upload again", details=details)
        return VerifyError(f"importing {spec.handler} failed: {kind}: {message}",
                           code=Code.ImportErrorAtInit,
                           hint="add missing modules to requirements.txt or fix the module's "
                                "top-level code", details=details)
    return VerifyError(f"{spec.handler} raised {kind}: {message}", code=Code.HandlerRaised,
                       hint="fix the handler or the [verify] event in auto-lambda.toml",
                       details=details)


def _process_limit(spec: AppSpec, details: JsonObject) -> VerifyError:
    return VerifyError(f"{spec.handler} started more than {MAX_PROCESSES} processes or threads",
                       code=Code.HandlerProcessLimit,
                       hint="start fewer processes or threads (a fork bomb is stopped here)",
                       details=details)


def _no_report(returncode: int | None, spec: AppSpec, stderr: str,
               details: JsonObject) -> VerifyError:
    """The process ended without a result: read the exit status and stderr."""
    code = returncode
    lowered = stderr.lower()
    if "memoryerror" in lowered or "cannot allocate memory" in lowered \
            or "out of memory" in lowered:
        return VerifyError(f"{spec.handler} ran out of memory ({spec.memory} MB)",
                           code=Code.HandlerMemoryExceeded,
                           hint="raise [function] memory in auto-lambda.toml or use less",
                           details=details)
    if any(m.lower() in lowered for m in _PROCESS_LIMIT_MARKERS):
        return _process_limit(spec, details)
    if code == -signal.SIGXCPU or code == 128 + signal.SIGXCPU:
        return VerifyError(f"{spec.handler} used more CPU time than its {spec.timeout} s timeout",
                           code=Code.HandlerTimeout,
                           hint="make the handler faster or raise [function] timeout",
                           details=details)
    how = f"was killed by signal {-code}" if code is not None and code < 0 else \
        f"exited with status {code}"
    return VerifyError(f"{spec.handler}: the function process {how} before answering",
                       code=Code.HandlerRaised,
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
    init_timeout: float = INIT_TIMEOUT,
    cache_dir: Path | None = None,
    precompile: bool = True,
    jail: Jail | None = None,
    secrets: Mapping[str, str] | None = None,
    label: str = "smoke event",
) -> LocalRun:
    """Invoke ``spec.handler`` from ``package`` (a built zip, or a dir already unpacked)
    once with ``event`` (default ``spec.verify_event``) in the jail; return its output.

    ``cache_dir`` (default ``work_dir/verify-cache``) keeps the links to the runtime-provided
    modules and their byte code between runs; keep it stable per worker. ``precompile``
    byte-compiles that copy for the interpreter when it is not yet. ``secrets`` are the
    values of the app's ``[secrets]``, read by the worker (the jail has no network):
    they travel on stdin with the function's environment, as the event does, and the
    shim (the handler Lambda calls for such an app) finds them set.
    Raises VerifyError (HandlerNotFound, HandlerSyntaxError, ImportErrorAtInit,
    HandlerRaised, HandlerTimeout, HandlerMemoryExceeded, HandlerProcessLimit,
    HandlerOutputTooLarge, VerifyBadOutput) or SandboxUnavailable.
    """
    jail = jail or default_jail()
    jail.check()  # fail closed before anything is prepared
    event = spec.verify_event if event is None else event
    function_name = function_name or spec.name
    function_arn = function_arn or (
        f"arn:aws:lambda:{region}:000000000000:function:{function_name}:{version}")
    work_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="verify-", dir=work_dir)).resolve()
    root.chmod(0o755)  # the jail's user reads the package and the bootstrap from here
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
        lib = runtime_lib(cache).resolve()  # the jail binds real paths, not links
        if precompile:
            precompile_lib(interpreter, spec.python_version, lib)
        env = sandbox_environment(spec, function_name=function_name, version=version,
                                  region=region, task_dir=task_dir, runtime_dir=runtime_dir)
        if jail.insecure:
            notes.append("ran WITHOUT the jail (AUTO_LAMBDA_INSECURE_NO_JAIL is set)")
        environment = {**function_environment(spec), **(secrets or {})}
        request = json.dumps({"event": event, "environment": environment})
        cpu = int(init_timeout + spec.timeout) + 5
        # -I -S: no site-packages, no PYTHON* variables; -B: write no byte code anywhere
        command = [str(interpreter), "-I", "-S", "-B", str(runtime_dir / "bootstrap.py"),
                   "", function_handler(spec), function_arn, str(int(spec.timeout * 1000)),
                   str(task_dir), str(lib)]
        read_fd, write_fd = os.pipe()
        command[5] = str(write_fd)
        messages: queue.Queue[JsonObject | None] = queue.Queue()
        started = time.monotonic()
        try:
            process = jail.start(command, python=str(interpreter), env=env, cwd=task_dir,
                                 inputs=[task_dir, runtime_dir, lib], stdin=True,
                                 limits=jail_limits(spec.memory, cpu), pass_fds=[write_fd],
                                 output_limit=MAX_OUTPUT_BYTES, label=label)
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        reader = threading.Thread(target=_read_messages, args=(read_fd, messages),
                                  name="verify-result", daemon=True)
        reader.start()
        try:
            process.send(request.encode("utf-8"))
            report, timed_out, phase = _await_report(messages, init_timeout, spec.timeout)
            if report is not None:
                process.wait(2)  # answered: let it exit on its own (log flushed), else stop it
        finally:
            process.kill()
        duration = time.monotonic() - started
        reader.join(timeout=5)
        return _outcome(process, spec, report=report, timed_out=timed_out, phase=phase,
                        init_timeout=init_timeout, duration=duration, notes=notes)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _outcome(process: JailProcess, spec: AppSpec, *, report: JsonObject | None,
             timed_out: bool, phase: str, init_timeout: float, duration: float,
             notes: list[str]) -> LocalRun:
    """The run's result, or the VerifyError its way of ending means."""
    result = process.result()
    details: JsonObject = {"stdout": result.stdout[-4000:], "stderr": result.stderr[-4000:],
                               "jailed": result.jailed}
    if result.output_exceeded:
        raise VerifyError(f"{spec.handler} wrote more than {MAX_OUTPUT_BYTES // (1024 * 1024)} MB "
                          "to stdout or stderr; the run was stopped",
                          code=Code.HandlerOutputTooLarge,
                          hint="log less while verifying (only the tail is kept)",
                          details=details)
    if timed_out:
        limit = init_timeout if phase == "init" else spec.timeout
        raise VerifyError(
            f"{spec.handler} did not finish its {phase} phase within {limit:g} s",
            code=Code.HandlerTimeout,
            hint="make the handler faster or raise [function] timeout in auto-lambda.toml",
            details=details)
    if report is None:
        raise _no_report(result.returncode, spec, result.stderr[-4000:], details)
    if "error" in report:
        raise _error_from_report(dict(report["error"] or {}), spec, details)
    if "ok" not in report:
        raise VerifyError(f"{spec.handler}: the sandbox sent no result", code=Code.VerifyBadOutput,
                          hint="the handler may have written to the result channel",
                          details=details)
    return LocalRun(report["ok"], duration, result.jailed, result.stdout[-4000:],
                    result.stderr[-4000:], notes)


def _await_report(messages: queue.Queue[JsonObject | None], init_timeout: float,
                  timeout: float) -> tuple[JsonObject | None, bool, str]:
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
