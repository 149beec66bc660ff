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


# ---- telling teams (docs/results.md) ----
class WebhookConfigInvalid(AutoLambdaError):
    """The operator's webhooks file cannot be used."""

    code = Code.WebhookConfigInvalid


class WebhookSecretMissing(AutoLambdaError):
    """A webhook's secret reference names nothing this process can read."""

    code = Code.WebhookSecretMissing


class ResultUnreadable(AutoLambdaError):
    """A result object is there but is not an auto-lambda result."""

    code = Code.ResultUnreadable


class EventsLogMissing(AutoLambdaError):
    """The log group the bus copies events to does not exist (no bus set up yet)."""

    code = Code.EventsLogMissing


# ---- lifecycle: deletion and rollback (permanent) ----
class NotOwned(AutoLambdaError):
    """A deletion or rollback found a function auto-lambda did not make for the team."""

    code = Code.NotOwned


class AppUploadedAgain(AutoLambdaError):
    """The deleted app was uploaded again during the grace period: it is kept (the
    deletion workflow catches this into ``kept``)."""

    code = Code.AppUploadedAgain


class RollbackRefused(AutoLambdaError):
    """A rollback target that is not a published, verified version of the function
    (``code`` says which: VersionNotVerified, VersionNotFound, NoRollbackTarget,
    FunctionNotFound)."""

    code = Code.RollbackRefused
# ---- rollouts (orchestrator.steps.promote) ----
class RolloutInvalid(ManifestError):
    """A ``[deploy]`` value that does not describe a rollout (bad steps, wrong types)."""

    code = Code.RolloutInvalid


class RolloutPresetUnknown(ManifestError):
    """``[deploy].preset`` is not one of CodeDeploy's names, or not of the strategy."""

    code = Code.RolloutPresetUnknown


class AlarmOutsideTeam(ManifestError):
    """An alarm named in ``[deploy].alarms`` is not in the uploading team's namespace."""

    code = Code.AlarmOutsideTeam


class AlarmNotFound(AutoLambdaError):
    """An alarm named in ``[deploy].alarms`` does not exist (so it could gate nothing)."""

    code = Code.AlarmNotFound


class AlarmTriggered(AutoLambdaError):
    """An alarm gating a rollout was in ALARM: ``live`` went back to the previous version."""

    code = Code.AlarmTriggered


class HookFailed(AutoLambdaError):
    """A pre- or post-traffic hook failed: ``live`` stays on (or goes back to) the
    previous version."""

    code = Code.HookFailed


class RolloutStopped(AutoLambdaError):
    """An operator stopped the rollout (``auto-lambda rollout stop``): ``live`` went back."""

    code = Code.RolloutStopped


class RolloutInProgress(AutoLambdaError):
    """Another rollout of the same function is under way (``live`` routes a share of
    traffic to a third version): this one does not start."""

    code = Code.RolloutInProgress


class RolloutSuperseded(AutoLambdaError):
    """``live`` was moved by someone else during the rollout (a newer deployment): the
    rollout ends without touching it."""

    code = Code.RolloutSuperseded


class RolloutNotActive(AutoLambdaError):
    """``auto-lambda rollout stop|promote`` on a job that is not rolling out."""

    code = Code.RolloutNotActive


class TransientError(AutoLambdaError):
    """A failure that may pass on its own: throttling, 5xx, network, conflicts."""

    code = Code.Transient


class WorkerCrashed(AutoLambdaError):
    """The workers running one step of a job died (or hung past their lease) again and
    again: the upload, not an outage, is what breaks them. The job fails at that step
    rather than crashing the fleet until the outage deadline."""

    code = Code.WorkerCrashed


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


class RoleNotOwned(DeployError):
    """The role an app's function would run as exists, but auto-lambda did not make it
    for this team (its ``auto-lambda:managed`` / ``auto-lambda:team`` tags say so): it is
    never adopted, changed or passed to a function."""

    code = Code.RoleNotOwned


class TeamBoundaryMissing(DeployError):
    """The team has no permission boundary in this account (the CDK stack makes one per
    team named in its ``teams`` context), so no role can be made for its apps."""

    code = Code.TeamBoundaryMissing


class SecretMissing(VerifyError):
    """A ``[secrets]`` reference names a parameter or secret that does not exist (or
    holds no text) where the function runs."""

    code = Code.SecretMissing


class UiTeamTokensInvalid(AutoLambdaError):
    """The console's file of team tokens cannot be used (docs/console.md)."""

    code = Code.UiTeamTokensInvalid


class UiTeamRefused(AutoLambdaError):
    """A team's console token asked for what only the operator may see or do."""

    code = Code.UiTeamRefused


class BuildLogMissing(AutoLambdaError):
    """A job has no build log (yet): no step of it has ended, or it was rejected."""

    code = Code.BuildLogMissing
class TriggerError(DeployError):
    """A trigger cannot be attached to ``live`` (a setting or resource outside the app)."""

    code = Code.TriggerFailed
