"""Deploy a built artifact as a Lambda function version, and move the ``live`` alias.

Stages, in order, each its own function:

1. ``deploy_function``: create the function if missing (tagged with its team and app),
   else check it belongs to the job's team and update its code and then its
   configuration, waiting for Lambda to settle between calls; publish a version. When the
   version ``live`` points at already runs this exact code (same CodeSha256) and
   configuration, nothing is changed or published (``published=False``).
2. (the pipeline runs ``orchestrator.steps.checks.verify_deployment`` on that version)
3. ``promote`` (or ``gradual_promote``): point ``live`` at the verified version.

``deploy_function`` never touches the alias, so a version that fails verification is
published but never live: the pipeline calls ``promote`` only after verification passed,
and ``live`` keeps serving ``DeployResult.previous_live`` otherwise.

Errors: permanent problems raise DeployError (``DeployFailed``, ``RoleNotFound``,
``PackageTooLargeForLambda``); throttling, 5xx, network failures and updates still in
progress raise TransientError with the codes of ``orchestrator.aws.facade`` so the workflow's
Retry handles them. This module does not build packages or run app code.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from orchestrator.aws.facade import Aws, aws_call, classify_client_error, error_code
from orchestrator.config import LIVE_ALIAS
from orchestrator.errors import AutoLambdaError, DeployError
from orchestrator.intake.tenancy import check_owner, ownership_tags
from orchestrator.steps.lambda_waits import retry_conflicts, wait_until_ready
from orchestrator.steps.manifest import AppSpec

log = logging.getLogger(__name__)

T = TypeVar("T")

# Lambda's cap on a package unzipped (including layers). A zipped artifact larger than
# this can never fit, so it fails before any call to Lambda.
MAX_UNZIPPED_BYTES = 262_144_000


@dataclass(frozen=True)
class DeployResult:
    """What ``deploy_function`` did: the version to verify and what was live before."""

    function_name: str
    function_arn: str
    version: str
    code_sha256: str
    published: bool
    previous_live: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeployResult:
        return cls(
            function_name=str(data["function_name"]),
            function_arn=str(data["function_arn"]),
            version=str(data["version"]),
            code_sha256=str(data["code_sha256"]),
            published=bool(data["published"]),
            previous_live=None if data.get("previous_live") is None
            else str(data["previous_live"]),
        )


def desired_configuration(spec: AppSpec, role_arn: str) -> dict[str, Any]:
    """The function configuration ``spec`` asks for, in Lambda's request shape."""
    return {
        "Runtime": spec.runtime,
        "Handler": spec.handler,
        "MemorySize": int(spec.memory),
        "Timeout": int(spec.timeout),
        "Role": role_arn,
        "Environment": {"Variables": {str(k): str(v) for k, v in spec.environment.items()}},
        "TracingConfig": {"Mode": "Active"},
    }


def configuration_matches(current: dict[str, Any], desired: dict[str, Any],
                          architecture: str) -> bool:
    """True when a GetFunctionConfiguration answer already has ``desired`` and the arch."""
    env = (current.get("Environment") or {}).get("Variables") or {}
    tracing = (current.get("TracingConfig") or {}).get("Mode") or "PassThrough"
    return (
        current.get("Runtime") == desired["Runtime"]
        and current.get("Handler") == desired["Handler"]
        and int(current.get("MemorySize") or 128) == desired["MemorySize"]
        and int(current.get("Timeout") or 3) == desired["Timeout"]
        and current.get("Role") == desired["Role"]
        and env == desired["Environment"]["Variables"]
        and tracing == desired["TracingConfig"]["Mode"]
        and list(current.get("Architectures") or ["x86_64"]) == [architecture]
    )


def _permanent(exc: BaseException, where: str) -> AutoLambdaError:
    """Turn a permanent Lambda failure into a DeployError with a stable code."""
    code = error_code(exc)
    message = str(exc)
    lowered = message.lower()
    if "role" in lowered and code in {"InvalidParameterValueException", "AccessDeniedException"}:
        return DeployError(
            f"{where}: Lambda cannot use the execution role: {message}",
            code="RoleNotFound",
            hint="create the role (auto-lambda local up / the CDK stack) or set "
                 "AUTO_LAMBDA_FUNCTION_ROLE_ARN to a role Lambda may assume",
        )
    if code in {"RequestTooLargeException", "CodeStorageExceededException"} or (
            "unzipped size" in lowered or "too large" in lowered):
        return DeployError(
            f"{where}: the package is too large for Lambda: {message}",
            code="PackageTooLargeForLambda",
            hint="Lambda allows 250 MB unzipped; drop unused dependencies or use a container image",
        )
    return DeployError(f"{where}: {code or type(exc).__name__}: {message}", code="DeployFailed",
                       hint="fix the function settings in auto-lambda.toml and upload again")


def _call(where: str, call: Callable[[], T], sleep: Callable[[float], None]) -> T:
    """One Lambda write: conflicts retried, transient errors coded, the rest DeployError."""
    try:
        return retry_conflicts(call, where, sleep=sleep)
    except AutoLambdaError:
        raise
    except Exception as exc:
        if classify_client_error(exc, where) is None and error_code(exc):
            raise _permanent(exc, where) from exc
        raise


def live_version(aws: Aws, function_name: str) -> str | None:
    """The version the ``live`` alias points at, or None when there is no alias yet."""
    try:
        with aws_call(f"lambda.get_alias({function_name}:{LIVE_ALIAS})"):
            alias = aws.lambda_.get_alias(FunctionName=function_name, Name=LIVE_ALIAS)
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    return str(alias["FunctionVersion"])


def existing_function(aws: Aws, function_name: str) -> dict[str, Any] | None:
    """The function's configuration, with its tags under ``Tags``; None if missing."""
    try:
        with aws_call(f"lambda.get_function({function_name})"):
            found = aws.lambda_.get_function(FunctionName=function_name)
            return {**found["Configuration"], "Tags": dict(found.get("Tags") or {})}
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise


def _unqualified(arn: str, version: str) -> str:
    """The function ARN without a ``:version`` suffix."""
    return arn[: -len(version) - 1] if arn.endswith(f":{version}") else arn


def _check_size(artifact: dict[str, Any]) -> None:
    size = int(artifact.get("size") or 0)
    if size > MAX_UNZIPPED_BYTES:
        raise DeployError(
            f"the package is {size:,} bytes zipped, over Lambda's {MAX_UNZIPPED_BYTES:,} bytes "
            "unzipped limit",
            code="PackageTooLargeForLambda",
            hint="drop unused dependencies or vendor a slimmer build",
        )


def deploy_function(
    aws: Aws,
    spec: AppSpec,
    artifact: dict[str, Any],
    role_arn: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> DeployResult:
    """Create or update the function from ``artifact`` (S3 bucket/key) and publish a version.

    Does not move ``live``. Returns ``published=False`` and the live version when that
    version already has the artifact's CodeSha256 and the spec's configuration.
    """
    _check_size(artifact)
    name = aws.settings.function_name(spec.name, spec.team)
    lam = aws.lambda_
    want_sha = str(artifact.get("code_sha256") or "")
    desired = desired_configuration(spec, role_arn)
    code: dict[str, Any] = {"S3Bucket": artifact["bucket"], "S3Key": artifact["key"]}
    if artifact.get("version_id"):
        code["S3ObjectVersion"] = artifact["version_id"]

    existing = existing_function(aws, name)
    if existing is not None:
        check_owner(name, existing.get("Tags"), spec.team)
    previous = live_version(aws, name) if existing is not None else None

    if existing is None:
        log.info("creating function %s (%s, %s)", name, spec.runtime, spec.architecture)
        _call(f"lambda.create_function({name})", lambda: lam.create_function(
            FunctionName=name, Code=code, Architectures=[spec.architecture], Publish=False,
            Tags=ownership_tags(spec.team, spec.name), **desired), sleep)
    else:
        if previous is not None:
            with aws_call(f"lambda.get_function_configuration({name}:{previous})"):
                live_cfg = lam.get_function_configuration(FunctionName=name, Qualifier=previous)
            if live_cfg.get("CodeSha256") == want_sha and configuration_matches(
                    live_cfg, desired, spec.architecture):
                log.info("function %s: live version %s already runs this package; "
                         "nothing published", name, previous)
                return DeployResult(name, _unqualified(str(live_cfg["FunctionArn"]), previous),
                                    previous, want_sha, False, previous)
        wait_until_ready(lam, name, sleep=sleep, clock=clock)
        log.info("updating code of %s", name)
        _call(f"lambda.update_function_code({name})", lambda: lam.update_function_code(
            FunctionName=name, Architectures=[spec.architecture], Publish=False,
            **code), sleep)
        current = wait_until_ready(lam, name, sleep=sleep, clock=clock)
        if not configuration_matches(current, desired, spec.architecture):
            log.info("updating configuration of %s", name)
            _call(f"lambda.update_function_configuration({name})",
                  lambda: lam.update_function_configuration(FunctionName=name, **desired), sleep)

    latest = wait_until_ready(lam, name, sleep=sleep, clock=clock)
    got_sha = str(latest.get("CodeSha256") or "")
    if want_sha and got_sha != want_sha:
        raise DeployError(
            f"function {name} holds code {got_sha}, not the artifact's {want_sha}",
            code="DeployFailed",
            hint="the artifact object changed while deploying, or another deploy ran at the "
                 "same time; replay the job",
        )
    description = f"auto-lambda {artifact.get('sha256', '')}".strip()[:256]
    publish_args: dict[str, Any] = {"FunctionName": name, "Description": description}
    if got_sha:
        publish_args["CodeSha256"] = got_sha
    published = _call(f"lambda.publish_version({name})",
                      lambda: lam.publish_version(**publish_args), sleep)
    version = str(published["Version"])
    arn = _unqualified(str(published["FunctionArn"]), version)
    log.info("function %s: published version %s (live was %s)", name, version, previous)
    return DeployResult(name, arn, version, got_sha or want_sha, True, previous)


def _set_alias(aws: Aws, function_name: str, version: str,
               weights: dict[str, float] | None = None) -> None:
    routing = {"AdditionalVersionWeights": weights or {}}
    where = f"lambda.update_alias({function_name}:{LIVE_ALIAS} -> {version})"
    try:
        with aws_call(where):
            aws.lambda_.update_alias(FunctionName=function_name, Name=LIVE_ALIAS,
                                     FunctionVersion=version, RoutingConfig=routing)
        return
    except Exception as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
    with aws_call(f"lambda.create_alias({function_name}:{LIVE_ALIAS} -> {version})"):
        aws.lambda_.create_alias(FunctionName=function_name, Name=LIVE_ALIAS,
                                 FunctionVersion=version, RoutingConfig=routing)


def promote(aws: Aws, function_name: str, version: str) -> None:
    """Point ``live`` at ``version`` (creating the alias if needed), clearing any routing.

    Call only after the version passed verification.
    """
    _set_alias(aws, function_name, version)
    log.info("function %s: %s -> version %s", function_name, LIVE_ALIAS, version)


def sleep_in_slices(seconds: float, *, slice_seconds: float, sleep: Callable[[float], None],
                    beat: Callable[[], None]) -> None:
    """Sleep ``seconds`` as slices of at most ``slice_seconds``, calling ``beat()`` after each,
    so a long bake keeps a step's heartbeat (and with it its lease) alive."""
    if slice_seconds <= 0:
        raise ValueError(f"slice_seconds must be positive, got {slice_seconds}")
    remaining = float(seconds)
    while remaining > 0:
        step = min(slice_seconds, remaining)
        sleep(step)
        remaining -= step
        beat()


def gradual_promote(
    aws: Aws,
    function_name: str,
    new_version: str,
    *,
    weights: Sequence[float] = (0.1, 0.5),
    bake_seconds: float,
    check: Callable[[], None],
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Shift ``live`` to ``new_version`` in steps of traffic weight, baking at each step.

    At each weight, ``live`` keeps pointing at the previous version and sends ``weight``
    of the traffic to ``new_version``; after ``bake_seconds`` ``check()`` runs (e.g. reads
    the new version's error metrics) and raises to stop. On any failure the alias goes back
    to the previous version with no routing, and the failure propagates. With no previous
    version there is nothing to shift from: ``live`` moves at once.
    """
    previous = live_version(aws, function_name)
    if previous is None or previous == new_version:
        promote(aws, function_name, new_version)
        return
    try:
        for weight in weights:
            if not 0.0 < weight < 1.0:
                raise ValueError(f"routing weights must be between 0 and 1, got {weight}")
            _set_alias(aws, function_name, previous, {new_version: float(weight)})
            log.info("function %s: %.0f%% of %s to version %s, baking %.0f s", function_name,
                     weight * 100, LIVE_ALIAS, new_version, bake_seconds)
            sleep(bake_seconds)
            check()
    except BaseException:
        log.warning("function %s: rolling %s back to version %s", function_name, LIVE_ALIAS,
                    previous)
        _set_alias(aws, function_name, previous)
        raise
    promote(aws, function_name, new_version)
