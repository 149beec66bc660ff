"""Verify on AWS: invoke the published version once with the smoke-test event and turn
Lambda's answer (FunctionError, error payload) into VerifyError codes.

Only invokes the exact version given (``Qualifier``), never ``live`` or ``$LATEST``.
Transient AWS failures surface as TransientError codes through ``aws_call``.
"""

from __future__ import annotations

import json
from typing import Any

from orchestrator.aws.facade import Aws
from orchestrator.codes import Code
from orchestrator.errors import VerifyError
from orchestrator.steps.transcript import note
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.types import JsonObject


def error_from_payload(spec: AppSpec, function_error: str, payload: Any,
                       details: JsonObject) -> VerifyError:
    """Map Lambda's error payload ({errorType, errorMessage, stackTrace}) to a code."""
    body = payload if isinstance(payload, dict) else {"errorMessage": str(payload)}
    kind = str(body.get("errorType") or function_error or "Error")
    message = str(body.get("errorMessage") or "")
    details = {**details, "error_type": kind, "function_error": function_error,
               "trace": body.get("stackTrace") or []}
    lowered = message.lower()
    if kind == "Runtime.HandlerNotFound":
        return VerifyError(f"handler {spec.handler}: {message}", code=Code.HandlerNotFound,
                           hint="fix [function] handler in auto-lambda.toml", details=details)
    if kind == "Runtime.UserCodeSyntaxError":
        return VerifyError(f"{spec.handler}: {message}", code=Code.HandlerSyntaxError,
                           hint="fix the syntax error and upload again", details=details)
    if kind in {"Runtime.ImportModuleError", "Runtime.InitError"} or kind.startswith("Init"):
        return VerifyError(f"importing {spec.handler} failed: {message}",
                           code=Code.ImportErrorAtInit,
                           hint="add missing modules to requirements.txt or fix the module's "
                                "top-level code", details=details)
    if "task timed out" in lowered or kind == "Sandbox.Timedout":
        return VerifyError(f"{spec.handler} timed out after {spec.timeout} s: {message}",
                           code=Code.HandlerTimeout,
                           hint="make the handler faster or raise [function] timeout",
                           details=details)
    if kind in {"Runtime.OutOfMemory", "MemoryError"} or "out of memory" in lowered:
        return VerifyError(f"{spec.handler} ran out of memory ({spec.memory} MB): {message}",
                           code=Code.HandlerMemoryExceeded,
                           hint="raise [function] memory in auto-lambda.toml or use less",
                           details=details)
    return VerifyError(f"{spec.handler} raised {kind}: {message}", code=Code.HandlerRaised,
                       hint="fix the handler or the [verify] event in auto-lambda.toml",
                       details=details)


def invoke_version(aws: Aws, spec: AppSpec, function_name: str, version: str,
                   event: Any = None, label: str = "smoke event") -> Any:
    """Invoke ``function_name:version`` synchronously; return the decoded JSON output.
    Lambda's log tail goes to the step's transcript (the job's build log)."""
    event = spec.verify_event if event is None else event
    answer = aws.functions.invoke(function_name, version, json.dumps(event).encode("utf-8"))
    raw = answer.payload
    details: dict[str, object] = {"log_tail": answer.log_tail, "status": answer.status}
    note(f"{label}: Lambda's log tail (status {answer.status})",
         answer.log_tail or "(no log tail)")
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        if answer.function_error:
            payload = {"errorMessage": raw[:2000].decode("utf-8", "replace")}
        else:
            raise VerifyError(f"{function_name}:{version} answered with bytes that are not JSON",
                              code=Code.VerifyBadOutput,
                              hint="return only JSON-serialisable values",
                              details={**details, "payload": raw[:500].decode("utf-8", "replace")}
                              ) from None
    if answer.function_error:
        raise error_from_payload(spec, answer.function_error, payload, details)
    return payload
