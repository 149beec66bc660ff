"""The jail side of local verification: copied next to the package and run by the
target interpreter as ``python -I -S -B bootstrap.py RESULT_FD HANDLER ARN TIMEOUT_MS
TASK_ROOT [RUNTIME_LIB]`` inside the jail (whose launcher has already set the limits),
with ``{"event": ..., "environment": {...}}`` as JSON on stdin.

It applies the function's environment variables to itself (so they exist only in
here, after the namespaces were made, as Lambda applies them to its runtime), imports
the handler module, builds a Lambda-like context, calls the handler once and reports
on RESULT_FD, one JSON line per message: ``{"phase": "init-done"}`` after the import,
then ``{"ok": output}`` or ``{"error": {"type", "message", "phase", "trace"}}`` (phase
``init``, ``invoke`` or ``serialize``). stdout and stderr belong to the handler.

Runs inside the untrusted process, under any Python 3.10+: standard library only, no
imports from the project, and nothing here may be trusted by the parent beyond what it
reports.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing, uuid and traceback cost ~10 ms of start-up: not imported
    from typing import Any, BinaryIO

_TRACE_LINES = 12


def _request_id() -> str:
    raw = bytearray(os.urandom(16))  # a version 4 UUID, as uuid.uuid4() makes
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _flush_std() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 (contextlib is one more import at start-up)
            stream.flush()
        except Exception:
            pass


def _send(out: BinaryIO, message: dict[str, Any]) -> None:
    if "phase" not in message:
        _flush_std()  # the handler's prints reach the log before the parent stops us
    try:
        line = json.dumps(message, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        line = json.dumps({"error": {"type": type(exc).__name__, "message": str(exc)[:2000],
                                     "phase": "serialize", "trace": []}})
    out.write(line.encode("utf-8") + b"\n")
    out.flush()


def _error(exc: BaseException, phase: str) -> dict[str, Any]:
    try:  # imported only now; it may fail when the app used up the memory
        import traceback

        trace = traceback.format_exception(type(exc), exc, exc.__traceback__)
    except BaseException:
        trace = []
    return {"error": {"type": type(exc).__name__, "message": str(exc)[:4000], "phase": phase,
                      "trace": [t[:2000] for t in trace[-_TRACE_LINES:]]}}


class LambdaContext:
    """The attributes and method AWS's Python runtime gives handlers."""

    def __init__(self, arn: str, timeout_ms: int) -> None:
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = _request_id()
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_ms / 1000.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main() -> int:
    out = os.fdopen(int(sys.argv[1]), "wb", buffering=0)
    handler_spec, arn, task_root = sys.argv[2], sys.argv[3], sys.argv[5]
    timeout_ms = int(sys.argv[4])
    runtime_lib = sys.argv[6] if len(sys.argv) > 6 else ""
    # Lambda's order: the package first, then what the runtime provides, then the stdlib.
    stdlib = [p for p in sys.path if p and "site-packages" not in p and "dist-packages" not in p]
    sys.path[:] = [task_root] + ([runtime_lib] if runtime_lib else []) + stdlib
    os.chdir(task_root)
    raw = sys.stdin.buffer.read()
    request = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    event = request.get("event", {})
    os.environ.update({str(k): str(v) for k, v in (request.get("environment") or {}).items()})

    module_name, _, func_name = handler_spec.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except BaseException as exc:  # the app's import may raise anything, even SystemExit
        _send(out, _error(exc, "init"))
        return 0
    func = getattr(module, func_name, None)
    if func is None or not callable(func):
        _send(out, {"error": {"type": "HandlerNotFound", "phase": "init", "trace": [],
                              "message": f"module {module_name!r} has no callable {func_name!r}"}})
        return 0
    _send(out, {"phase": "init-done"})

    context = LambdaContext(arn, timeout_ms)
    try:
        result = func(event, context)
    except BaseException as exc:
        _send(out, _error(exc, "invoke"))
        return 0
    _send(out, {"ok": result})  # falls back to a "serialize" error when not JSON
    return 0


if __name__ == "__main__":
    code = main()
    _flush_std()
    # Lambda freezes the sandbox after the response: threads the handler left running
    # must not keep this process alive.
    os._exit(code)
