"""Error codes: every failure a user can see has a stable code and a message that says
what happened and what to change.

Codes are the error names the workflow's Retry and Catch clauses match on (as Step
Functions' ErrorEquals). Whether a code is retried is decided by the workflow
declaration, not here; ``TRANSIENT_CODES`` is the list that declaration uses.
"""

from __future__ import annotations

import importlib

from orchestrator.codes import Code
from orchestrator.redact import cap, redact
from orchestrator.types import JsonObject

MESSAGE_LIMIT = 32_768  # Step Functions' limit on an error's cause


class AutoLambdaError(Exception):
    """A failure with a stable ``code``; ``hint`` tells the user what to do."""

    code: Code = Code.InternalError

    def __init__(self, message: str, *, code: Code | None = None, hint: str | None = None,
                 details: JsonObject | None = None) -> None:
        # Messages may quote a tool's output: they never carry a worker secret, nor
        # run on without end (docs/security.md).
        message = cap(redact(message), MESSAGE_LIMIT)
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.hint = redact(hint) if hint else hint
        self.details = {k: cap(redact(v), MESSAGE_LIMIT) if isinstance(v, str) else v
                        for k, v in (details or {}).items()}

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def as_dict(self) -> JsonObject:
        out: JsonObject = {"code": self.code, "message": str(self)}
        if self.details:
            out["details"] = self.details
        return out


class ConfigError(AutoLambdaError):
    """An AUTO_LAMBDA_* variable or option holds a value auto-lambda cannot use."""

    code = Code.ConfigInvalid


# ---- input errors (permanent) ----
class BadEvent(AutoLambdaError):
    code = Code.BadEvent


class ObjectMissing(AutoLambdaError):
    code = Code.ObjectMissing


class ZipError(AutoLambdaError):
    """Any problem with the uploaded archive; the code says which."""

    code = Code.ZipInvalid


class ManifestError(AutoLambdaError):
    code = Code.ManifestInvalid


class BuildError(AutoLambdaError):
    code = Code.BuildFailed


class DeployError(AutoLambdaError):
    code = Code.DeployFailed


class VerifyError(AutoLambdaError):
    code = Code.VerifyFailed


class TransientError(AutoLambdaError):
    """A failure that may pass on its own: throttling, 5xx, network, conflicts."""

    code = Code.Transient


# Error names retried by the workflow (with backoff and jitter). Everything else is
# caught to ``failed`` at once. States.Timeout is Step Functions' own name.
TRANSIENT_CODES: tuple[str, ...] = tuple(code.value for code in (
    Code.AwsThrottled,
    Code.AwsServerError,
    Code.NetworkError,
    Code.LambdaUpdateInProgress,
    Code.Transient,
    Code.StatesTimeout,
))


DEV_TOOLS = "auto_lambda_dev"


# Extras of auto-lambda itself; any other extra is the development tools'.
OWN_EXTRAS = frozenset({"otel"})


def require_extra(module: str, extra: str, feature: str) -> None:
    """Raise ``ExtraMissing`` unless ``module`` can be imported: the worker's install
    leaves out what only local mode and the simulator use (the development tools:
    ``devtools/``, the ``auto-lambda-dev`` distribution, with its ``local`` or ``sim``
    extra) and OpenTelemetry tracing (auto-lambda's own ``otel`` extra)."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        hint = (f"pip install 'auto-lambda[{extra}]'" if extra in OWN_EXTRAS else
                f"install the development tools with their {extra!r} extra, from a source "
                f"checkout of auto-lambda: pip install -e './devtools[{extra}]'")
        raise AutoLambdaError(f"{feature} needs {module!r}, which this install does not have",
                              code=Code.ExtraMissing, hint=hint) from exc


class SandboxUnavailable(AutoLambdaError):
    """The jail that untrusted app code must run in cannot be set up here: the step
    fails closed rather than running the code without it."""

    code = Code.SandboxUnavailable


class TriggerError(DeployError):
    """A trigger cannot be attached to ``live`` (a setting or resource outside the app)."""

    code = Code.TriggerFailed
