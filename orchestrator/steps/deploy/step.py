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
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import ClassVar

from orchestrator.aws.facade import Aws
from orchestrator.aws.functions import (
    CodeLocation,
    DesiredConfig,
    FunctionConfig,
    Functions,
    Published,
    unqualified,
)
from orchestrator.codes import Code
from orchestrator.config import LIVE_ALIAS
from orchestrator.errors import DeployError
from orchestrator.limits import LAMBDA_UNZIPPED_BYTES
from orchestrator.steps.context import StepContext
from orchestrator.steps.data import Artifact
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.tenancy import check_owner, ownership_tags
from orchestrator.types import JsonMapping, JsonObject

log = logging.getLogger(__name__)


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

    def to_dict(self) -> JsonObject:
        return asdict(self)

    to_json = to_dict

    @classmethod
    def from_json(cls, raw: JsonMapping) -> DeployResult:
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, data: JsonMapping) -> DeployResult:
        return cls(
            function_name=str(data["function_name"]),
            function_arn=str(data["function_arn"]),
            version=str(data["version"]),
            code_sha256=str(data["code_sha256"]),
            published=bool(data["published"]),
            previous_live=None if data.get("previous_live") is None
            else str(data["previous_live"]),
        )


def desired_configuration(spec: AppSpec, role_arn: str) -> DesiredConfig:
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


def configuration_matches(current: FunctionConfig, desired: DesiredConfig,
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
        and env == desired["Environment"].get("Variables")
        and tracing == desired["TracingConfig"].get("Mode")
        and list(current.get("Architectures") or ["x86_64"]) == [architecture]
    )


def live_version(aws: Aws, function_name: str) -> str | None:
    """The version the ``live`` alias points at, or None when there is no alias yet."""
    return aws.functions.alias_version(function_name, LIVE_ALIAS)


def _check_size(artifact: Artifact) -> None:
    size = artifact.size
    if size > LAMBDA_UNZIPPED_BYTES:
        raise DeployError(
            f"the package is {size:,} bytes zipped, over Lambda's {LAMBDA_UNZIPPED_BYTES:,} bytes "
            "unzipped limit",
            code=Code.PackageTooLargeForLambda,
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
    lam = aws.functions.with_clock(sleep, clock)
    want_sha = artifact.code_sha256
    desired = desired_configuration(spec, role_arn)
    code: CodeLocation = {"S3Bucket": artifact.bucket, "S3Key": artifact.key}
    if artifact.version_id:
        code["S3ObjectVersion"] = artifact.version_id

    existing = lam.get_function(name)
    if existing is not None:
        check_owner(name, existing.tags, spec.team)
    previous = lam.alias_version(name, LIVE_ALIAS) if existing is not None else None

    if existing is None:
        log.info("creating function %s (%s, %s)", name, spec.runtime, spec.architecture)
        found = lam.create_function(name, code=code, architecture=spec.architecture,
                                    tags=ownership_tags(spec.team, spec.name),
                                    configuration=desired)
        # One that exists already (our own create whose answer was lost, or a concurrent
        # one) is fine if it is ours: it is updated below to what we want.
        if found is not None:
            check_owner(name, found.tags, spec.team)
    elif previous is not None:
        live_cfg = lam.get_configuration(name, previous)
        if live_cfg.get("CodeSha256") == want_sha and configuration_matches(
                live_cfg, desired, spec.architecture):
            log.info("function %s: live version %s already runs this package; "
                     "nothing published", name, previous)
            return DeployResult(name, unqualified(str(live_cfg["FunctionArn"]), previous),
                                previous, want_sha, False, previous)

    # $LATEST is made to hold the artifact's code and the spec's configuration; each
    # update runs only when what Lambda holds differs, so repeating it changes nothing.
    current = lam.wait_until_ready(name)
    if not _code_matches(current, want_sha, spec.architecture):
        log.info("updating code of %s", name)
        lam.update_code(name, code=code, architecture=spec.architecture,
                        wanted=lambda cfg: _code_matches(cfg, want_sha, spec.architecture))
        current = lam.wait_until_ready(name)
    if not configuration_matches(current, desired, spec.architecture):
        log.info("updating configuration of %s", name)
        lam.update_configuration(name, desired, wanted=lambda cfg: configuration_matches(
            cfg, desired, spec.architecture))

    latest = lam.wait_until_ready(name)
    got_sha = str(latest.get("CodeSha256") or "")
    if want_sha and got_sha != want_sha:
        raise DeployError(
            f"function {name} holds code {got_sha}, not the artifact's {want_sha}",
            code=Code.DeployFailed,
            hint="the artifact object changed while deploying, or another deploy ran at the "
                 "same time; replay the job",
        )
    return _publish(aws, lam, spec, artifact, role_arn, got_sha or want_sha, previous)


def _code_matches(config: FunctionConfig, code_sha256: str, architecture: str) -> bool:
    return (config.get("CodeSha256") == code_sha256
            and list(config.get("Architectures") or ["x86_64"]) == [architecture])


def _publish(aws: Aws, lam: Functions, spec: AppSpec, artifact: Artifact, role_arn: str,
             code_sha256: str, previous: str | None) -> DeployResult:
    """Publish $LATEST as a version, unless a version with this code and configuration
    exists (an earlier attempt published it and its answer, or its record, was lost)."""
    found = reuse_published_version(aws, spec, artifact, role_arn)
    if found is not None:
        return found
    name = aws.settings.function_name(spec.name, spec.team)
    description = f"auto-lambda {artifact.sha256}".strip()[:256]

    def confirm() -> Published | None:
        again = reuse_published_version(aws, spec, artifact, role_arn)
        return None if again is None else Published(again.version, again.function_arn)

    published = lam.publish_version(name, description=description, code_sha256=code_sha256,
                                    confirm=confirm)
    log.info("function %s: published version %s (live was %s)", name, published.version,
             previous)
    return DeployResult(name, published.function_arn, published.version, code_sha256, True,
                        previous)


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
    lam = aws.functions
    current = lam.get_function(name)
    if current is None:
        return None
    check_owner(name, current.tags, spec.team)
    desired = desired_configuration(spec, role_arn)
    found = next((v for v in lam.list_versions(name)
                  if v.get("Version") != "$LATEST" and v.get("CodeSha256") == want_sha
                  and configuration_matches(v, desired, spec.architecture)), None)
    if found is None:
        return None
    number = str(found["Version"])
    arn = unqualified(str(found["FunctionArn"]), number)
    log.info("function %s: version %s already runs this package; reusing it", name, number)
    return DeployResult(name, arn, number, want_sha, False, live_version(aws, name))
