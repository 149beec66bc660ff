"""The deploy step: make the built artifact a published Lambda function version.

``deploy_function`` creates the function if missing, else updates its code and then its
configuration, waiting for Lambda to settle between calls, and publishes a version. When
the version ``live`` points at already runs this exact code (same CodeSha256) and
configuration, nothing is changed or published (``published=False``); a version an
earlier attempt published but never recorded is found and reused
(``reuse_published_version``).

Every write is safe to repeat after its answer was lost (``aws.lost_answers``): a
create that finds the function carries on as an update, code and configuration are
compared with what Lambda holds before and after each update (the result, not the
call), and a version is published only when none with this code and configuration
exists, so one package never becomes two versions.

Functions are created with their team's and app's tags (in the create itself, so a
create whose answer was lost leaves them tagged), and only a function tagged for the
job's team is updated (``orchestrator.tenancy``).

This step never touches the ``live`` alias: the verify step checks the version and the
promote step (``orchestrator.steps.promote.step``) moves ``live``, so a version that fails
verification is published but never live.

Errors: ``RoleNotFound`` and ``PackageTooLargeForLambda`` (DeployError) name the two
problems a user fixes in the app or the stack; every other AWS refusal keeps its
category code from ``orchestrator.aws.errors`` (``AwsValidation``, ``AwsAccessDenied``,
...); throttling, 5xx, network failures and updates still in progress are the retried
codes, so the workflow's Retry handles them. This module does not build packages or run
app code.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, NoReturn, TypeVar

from orchestrator.aws.errors import AwsError
from orchestrator.aws.facade import Aws, aws_call, error_code
from orchestrator.aws.lost_answers import write_or_confirm
from orchestrator.config import LIVE_ALIAS
from orchestrator.errors import AutoLambdaError, DeployError
from orchestrator.limits import LAMBDA_UNZIPPED_BYTES
from orchestrator.steps.context import StepContext
from orchestrator.steps.data import Artifact
from orchestrator.steps.deploy.lambda_waits import retry_conflicts, wait_until_ready
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.tenancy import check_owner, ownership_tags

log = logging.getLogger(__name__)

T = TypeVar("T")



@dataclass(frozen=True)
class DeployResult:
    """What ``deploy_function`` did: the version to verify and what was live before.
    Stored under ``deploy`` in the execution's data."""

    KEY: ClassVar[str] = "deploy"
    function_name: str
    function_arn: str
    version: str
    code_sha256: str
    published: bool
    previous_live: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    to_json = to_dict

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> DeployResult:
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeployResult:
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


def _permanent(exc: AwsError, where: str) -> AutoLambdaError:
    """The two refusals a user fixes outside the request get their own codes; every
    other one keeps its AWS category code, with a hint about the app's settings."""
    code = exc.aws_code
    message = str(exc.message)
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
    if exc.code == "AwsValidation":
        exc.hint = "fix the function settings in auto-lambda.toml and upload again"
    return exc


def _reraise_coded(exc: AwsError, where: str) -> NoReturn:
    mapped = exc if exc.retried else _permanent(exc, where)
    if mapped is exc:
        raise exc
    raise mapped from exc


def _call(where: str, call: Callable[[], T], sleep: Callable[[float], None]) -> T:
    """One Lambda write: conflicts retried, every failure coded (``_permanent``)."""
    try:
        return retry_conflicts(call, where, sleep=sleep)
    except AwsError as exc:
        _reraise_coded(exc, where)


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


def _check_size(artifact: Artifact) -> None:
    size = artifact.size
    if size > LAMBDA_UNZIPPED_BYTES:
        raise DeployError(
            f"the package is {size:,} bytes zipped, over Lambda's {LAMBDA_UNZIPPED_BYTES:,} bytes "
            "unzipped limit",
            code="PackageTooLargeForLambda",
            hint="drop unused dependencies or vendor a slimmer build",
        )


def deploy_function(
    aws: Aws,
    spec: AppSpec,
    artifact: Artifact,
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
    want_sha = artifact.code_sha256
    desired = desired_configuration(spec, role_arn)
    code: dict[str, Any] = {"S3Bucket": artifact.bucket, "S3Key": artifact.key}
    if artifact.version_id:
        code["S3ObjectVersion"] = artifact.version_id

    existing = existing_function(aws, name)
    if existing is not None:
        check_owner(name, existing.get("Tags"), spec.team)
    previous = live_version(aws, name) if existing is not None else None

    if existing is None:
        _create_function(aws, name, code, spec, desired, sleep)
    elif previous is not None:
        with aws_call(f"lambda.get_function_configuration({name}:{previous})"):
            live_cfg = lam.get_function_configuration(FunctionName=name, Qualifier=previous)
        if live_cfg.get("CodeSha256") == want_sha and configuration_matches(
                live_cfg, desired, spec.architecture):
            log.info("function %s: live version %s already runs this package; "
                     "nothing published", name, previous)
            return DeployResult(name, _unqualified(str(live_cfg["FunctionArn"]), previous),
                                previous, want_sha, False, previous)

    # $LATEST is made to hold the artifact's code and the spec's configuration; each
    # update runs only when what Lambda holds differs, so repeating it changes nothing.
    current = wait_until_ready(lam, name, sleep=sleep, clock=clock)
    if not _code_matches(current, want_sha, spec.architecture):
        log.info("updating code of %s", name)
        where = f"lambda.update_function_code({name})"
        write_or_confirm(
            lambda: _call(where, lambda: lam.update_function_code(
                FunctionName=name, Architectures=[spec.architecture], Publish=False,
                **code), sleep),
            lambda: _settled_if(aws, name, lambda cfg: _code_matches(
                cfg, want_sha, spec.architecture), sleep, clock),
            where=where)
        current = wait_until_ready(lam, name, sleep=sleep, clock=clock)
    if not configuration_matches(current, desired, spec.architecture):
        log.info("updating configuration of %s", name)
        where = f"lambda.update_function_configuration({name})"
        write_or_confirm(
            lambda: _call(where, lambda: lam.update_function_configuration(
                FunctionName=name, **desired), sleep),
            lambda: _settled_if(aws, name, lambda cfg: configuration_matches(
                cfg, desired, spec.architecture), sleep, clock),
            where=where)

    latest = wait_until_ready(lam, name, sleep=sleep, clock=clock)
    got_sha = str(latest.get("CodeSha256") or "")
    if want_sha and got_sha != want_sha:
        raise DeployError(
            f"function {name} holds code {got_sha}, not the artifact's {want_sha}",
            code="DeployFailed",
            hint="the artifact object changed while deploying, or another deploy ran at the "
                 "same time; replay the job",
        )
    return _publish(aws, spec, artifact, role_arn, got_sha or want_sha, previous, sleep)


def _code_matches(config: Mapping[str, Any], code_sha256: str, architecture: str) -> bool:
    return (config.get("CodeSha256") == code_sha256
            and list(config.get("Architectures") or ["x86_64"]) == [architecture])


def _settled_if(aws: Aws, name: str, wanted: Callable[[dict[str, Any]], bool],
                sleep: Callable[[float], None], clock: Callable[[], float]
                ) -> dict[str, Any] | None:
    """The function's configuration once settled, if ``wanted`` holds for it."""
    config = wait_until_ready(aws.lambda_, name, sleep=sleep, clock=clock)
    return config if wanted(config) else None


def _create_function(aws: Aws, name: str, code: dict[str, Any], spec: AppSpec,
                     desired: dict[str, Any], sleep: Callable[[float], None]) -> None:
    """Create the function; one that exists already (our own create whose answer was
    lost, or a concurrent one) is fine: the caller updates it to what it wants."""
    log.info("creating function %s (%s, %s)", name, spec.runtime, spec.architecture)
    where = f"lambda.create_function({name})"
    lam = aws.lambda_

    def create() -> bool:
        try:
            with aws_call(where):
                lam.create_function(FunctionName=name, Code=code,
                                    Architectures=[spec.architecture], Publish=False,
                                    Tags=ownership_tags(spec.team, spec.name), **desired)
        except AwsError as exc:
            _reraise_coded(exc, where)
        return True

    def confirm() -> bool | None:
        found = existing_function(aws, name)
        if found is None:
            return None
        check_owner(name, found.get("Tags"), spec.team)  # ours, or someone else's?
        return True

    write_or_confirm(create, confirm, where=where)


def _publish(aws: Aws, spec: AppSpec, artifact: Artifact, role_arn: str, code_sha256: str,
             previous: str | None, sleep: Callable[[float], None]) -> DeployResult:
    """Publish $LATEST as a version, unless a version with this code and configuration
    exists (an earlier attempt published it and its answer, or its record, was lost)."""
    found = reuse_published_version(aws, spec, artifact, role_arn)
    if found is not None:
        return found
    name = aws.settings.function_name(spec.name, spec.team)
    description = f"auto-lambda {artifact.sha256}".strip()[:256]
    publish_args: dict[str, Any] = {"FunctionName": name, "Description": description}
    if code_sha256:
        publish_args["CodeSha256"] = code_sha256
    where = f"lambda.publish_version({name})"

    def publish() -> DeployResult:
        published = _call(where, lambda: aws.lambda_.publish_version(**publish_args), sleep)
        version = str(published["Version"])
        arn = _unqualified(str(published["FunctionArn"]), version)
        log.info("function %s: published version %s (live was %s)", name, version, previous)
        return DeployResult(name, arn, version, code_sha256, True, previous)

    def confirm() -> DeployResult | None:
        again = reuse_published_version(aws, spec, artifact, role_arn)
        return None if again is None else DeployResult(
            again.function_name, again.function_arn, again.version, again.code_sha256,
            True, previous)

    return write_or_confirm(publish, confirm, where=where)


@dataclass(frozen=True)
class Deployed:
    deploy: DeployResult


def run(ctx: StepContext) -> Deployed:
    env = ctx.env
    spec, artifact = ctx.get(AppSpec), ctx.get(Artifact)
    res = reuse_published_version(env.aws, spec, artifact, env.role_arn)
    if res is None:
        res = deploy_function(env.aws, spec, artifact, env.role_arn)
    return Deployed(res)


def reuse_published_version(aws: Aws, spec: AppSpec, artifact: Artifact,
                            role_arn: str) -> DeployResult | None:
    """A published version that already runs this artifact's code with the spec's
    configuration (an earlier attempt published it, then crashed before recording it);
    None when there is none, so ``deploy_function`` publishes one."""
    want_sha = artifact.code_sha256
    if not want_sha:
        return None
    name = aws.settings.function_name(spec.name, spec.team)
    current = existing_function(aws, name)
    if current is None:
        return None
    check_owner(name, current.get("Tags"), spec.team)
    desired = desired_configuration(spec, role_arn)
    found: dict[str, Any] | None = None
    try:
        with aws_call(f"lambda.list_versions_by_function({name})"):
            pages = aws.lambda_.get_paginator("list_versions_by_function").paginate(
                FunctionName=name)
            for page in pages:
                for version in page.get("Versions", []):
                    if (found is None and version.get("Version") != "$LATEST"
                            and version.get("CodeSha256") == want_sha
                            and configuration_matches(version, desired, spec.architecture)):
                        found = version
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    if found is None:
        return None
    number = str(found["Version"])
    arn = _unqualified(str(found["FunctionArn"]), number)
    log.info("function %s: version %s already runs this package; reusing it", name, number)
    return DeployResult(name, arn, number, want_sha, False, live_version(aws, name))
