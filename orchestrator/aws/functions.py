"""The Lambda door: every Lambda call auto-lambda makes, with typed arguments and results.

One method per operation (chalice's ``awsclient.py``): callers never see boto3, a
missing function or alias is ``None`` (the not-found answer is caught here, once), and
every failure leaves as an ``AwsError`` with its code (``orchestrator.aws.errors``).

Writes of the function itself (create, code, configuration, publish) ride out
ResourceConflictException (Lambda still applying an earlier change) here, and only
here: they wait ``orchestrator.retries.LAMBDA_CONFLICT`` between sends and stop when
the door's send budget (``LAMBDA_WRITE``, botocore's sends counted in) is spent; the
last conflict leaves as a transient ``LambdaUpdateInProgress`` for the workflow's
Retry. Two refusals a user fixes outside the request get their own codes
(``RoleNotFound``, ``PackageTooLargeForLambda``).

A write whose answer was lost is settled by reading back (``aws.lost_answers``): the
caller says what "done" looks like (``wanted``/``confirm``), the door reads. Waiting
for a function to settle polls with the injected ``sleep``/``clock`` (boto3's waiters
sleep with ``time.sleep`` and cannot be driven by tests); a wait that never ends is a
transient ``LambdaUpdateInProgress``. Decides nothing about what to deploy.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NoReturn, TypedDict, TypeVar, cast

from orchestrator.aws.errors import AwsError, aws_call
from orchestrator.aws.function_triggers import FunctionTriggerCalls
from orchestrator.aws.lost_answers import ALREADY_DONE, write_or_confirm
from orchestrator.aws.types import BotoClient, sends_per_call
from orchestrator.codes import Code
from orchestrator.errors import AutoLambdaError, DeployError, TransientError
from orchestrator.retries import (
    BOTOCORE,
    LAMBDA_CONFLICT,
    LAMBDA_SETTLE,
    LAMBDA_SETTLE_TIMEOUT,
    LAMBDA_WRITE,
    ROLE_WAIT,
    SendBudget,
    compute_backoff,
)
from orchestrator.types import JsonMapping

log = logging.getLogger(__name__)

T = TypeVar("T")

_NOT_FOUND = "ResourceNotFoundException"
_CONFLICT = "ResourceConflictException"
_PENDING_STATES = {"Pending"}
_PENDING_UPDATES = {"InProgress"}


class Environment(TypedDict, total=False):
    Variables: dict[str, str]


class TracingConfig(TypedDict, total=False):
    Mode: str


class VpcConfig(TypedDict, total=False):
    SubnetIds: list[str]
    SecurityGroupIds: list[str]
    VpcId: str


class LayerRef(TypedDict, total=False):
    Arn: str
    CodeSize: int


class EphemeralStorage(TypedDict):
    Size: int


class FunctionConfig(TypedDict, total=False):
    """What Lambda answers about a function or one of its versions (the fields we read)."""

    FunctionName: str
    FunctionArn: str
    Version: str
    Runtime: str
    Handler: str
    MemorySize: int
    Timeout: int
    Role: str
    Environment: Environment
    TracingConfig: TracingConfig
    Architectures: list[str]
    VpcConfig: VpcConfig
    Layers: list[LayerRef]
    EphemeralStorage: EphemeralStorage
    CodeSha256: str
    CodeSize: int
    State: str
    StateReason: str
    LastUpdateStatus: str
    LastUpdateStatusReason: str


class DesiredConfig(TypedDict):
    """A function configuration in Lambda's request shape."""

    Runtime: str
    Handler: str
    MemorySize: int
    Timeout: int
    Role: str
    Environment: Environment
    TracingConfig: TracingConfig
    # Always sent, empty to remove: the manifest, not what Lambda held, decides.
    VpcConfig: VpcConfig
    Layers: list[str]
    EphemeralStorage: EphemeralStorage


class CodeLocation(TypedDict, total=False):
    S3Bucket: str
    S3Key: str
    S3ObjectVersion: str


@dataclass(frozen=True)
class FunctionInfo:
    """A function's configuration ($LATEST) and its tags."""

    config: FunctionConfig
    tags: dict[str, str]


@dataclass(frozen=True)
class Alias:
    """Where an alias sends traffic: its version and the routing weights of others."""

    version: str
    weights: dict[str, float]

    def points_at(self, version: str, weights: Mapping[str, float] | None = None) -> bool:
        """True when the alias sends its traffic to ``version`` with exactly ``weights``."""
        wanted = {str(k): float(v) for k, v in (weights or {}).items()}
        return (self.version == version and self.weights.keys() == wanted.keys()
                and all(abs(self.weights[k] - w) < 1e-9 for k, w in wanted.items()))


@dataclass(frozen=True)
class Published:
    version: str
    function_arn: str  # without the ``:version`` suffix


def _config(raw: JsonMapping) -> FunctionConfig:
    return cast(FunctionConfig, dict(raw))


def unqualified(arn: str, version: str) -> str:
    """The function ARN without a ``:version`` suffix."""
    return arn[: -len(version) - 1] if arn.endswith(f":{version}") else arn


def function_ready(config: FunctionConfig) -> bool:
    """True when a function configuration accepts the next change.

    Raises DeployFailed when Lambda reports the function or its last update as failed.
    """
    state = config.get("State") or "Active"
    update = config.get("LastUpdateStatus") or "Successful"
    name = config.get("FunctionName", "?")
    if state == "Failed" or update == "Failed":
        reason = config.get("LastUpdateStatusReason") or config.get("StateReason") or "no reason"
        raise DeployError(
            f"Lambda reports function {name} as failed (State={state}, "
            f"LastUpdateStatus={update}): {reason}",
            code=Code.DeployFailed,
            hint="check the function's role, runtime and package; then replay the job",
        )
    return state not in _PENDING_STATES and update not in _PENDING_UPDATES


def lambda_refusal(exc: AwsError, where: str) -> AutoLambdaError:
    """The two refusals a user fixes outside the request get their own codes; every
    other one keeps its AWS category code, with a hint about the app's settings."""
    if exc.retried:
        return exc
    code = exc.aws_code
    message = str(exc.message)
    lowered = message.lower()
    if "role" in lowered and code in {"InvalidParameterValueException", "AccessDeniedException"}:
        return DeployError(
            f"{where}: Lambda cannot use the execution role: {message}",
            code=Code.RoleNotFound,
            hint="the app's role (created by auto-lambda) was not usable by Lambda in time; "
                 "replay the job, and check the team's permission boundary exists",
        )
    if code in {"RequestTooLargeException", "CodeStorageExceededException"} or (
            "unzipped size" in lowered or "too large" in lowered):
        return DeployError(
            f"{where}: the package is too large for Lambda: {message}",
            code=Code.PackageTooLargeForLambda,
            hint="Lambda allows 250 MB unzipped; drop unused dependencies or use a container image",
        )
    if exc.code == Code.AwsValidation:
        exc.hint = "fix the function settings in auto-lambda.toml and upload again"
    return exc


def _reraise_coded(exc: AwsError, where: str) -> NoReturn:
    mapped = lambda_refusal(exc, where)
    if mapped is exc:
        raise exc
    raise mapped from exc


def role_not_ready(exc: AwsError) -> bool:
    """True for Lambda's answer while IAM has not yet propagated a role created moments
    ago: InvalidParameterValueException, "... cannot be assumed by Lambda"."""
    return (exc.aws_code == "InvalidParameterValueException"
            and "cannot be assumed" in str(exc.message).lower())


def ride_conflicts(call: Callable[[], T], where: str, *,
                   sleep: Callable[[float], None] = time.sleep,
                   budget: SendBudget = LAMBDA_WRITE, per_call: int = BOTOCORE.sends,
                   conflicts: bool = True, role_wait: SendBudget | None = None) -> T:
    """Run ``call`` (a Lambda write); on ResourceConflictException (when ``conflicts``)
    wait (the budget's backoff) and run it again while the budget allows another send;
    with ``role_wait``, the same for a role Lambda cannot assume yet (``role_not_ready``),
    counted against that budget apart (the two never multiply).

    The last conflict surfaces as TransientError (LambdaUpdateInProgress), the last
    unready role as RoleNotFound. Every other failure surfaces at once as an AwsError
    with its code (the workflow retries the transient ones)."""
    budgets = {"conflict": budget, "role": role_wait}
    sent = {"conflict": 0, "role": 0}
    attempts = {"conflict": 0, "role": 0}
    while True:
        try:
            with aws_call(where):
                return call()
        except AwsError as exc:
            kind = ("conflict" if conflicts and exc.aws_code == _CONFLICT else
                    "role" if role_wait is not None and role_not_ready(exc) else None)
            spent = budgets[kind] if kind is not None else None
            if kind is None or spent is None:
                _reraise_coded(exc, where)
            sent[kind] += exc.sends if exc.sends is not None else per_call
            attempts[kind] += 1
            if not spent.may_send_again(sent[kind], per_call):
                _reraise_coded(exc, where)
            delay = compute_backoff(attempts[kind], spent.backoff or LAMBDA_CONFLICT)
            log.info("%s: %s (attempt %d, %d sends of %d), retrying in %.1f s", where,
                     "update in progress" if kind == "conflict" else
                     "the role is not assumable yet", attempts[kind], sent[kind],
                     spent.sends, delay)
            sleep(delay)


class Functions(FunctionTriggerCalls):
    """Lambda, one method per call auto-lambda makes (what invokes a function, its URL,
    permissions and event source mappings: ``FunctionTriggerCalls``)."""

    def __init__(self, client: BotoClient, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        self._lambda = client
        self._per_call = sends_per_call(client)
        self.sleep = sleep
        self.clock = clock

    def with_clock(self, sleep: Callable[[float], None], clock: Callable[[], float]
                   ) -> Functions:
        """The same door, waiting on ``sleep``/``clock`` (tests drive them)."""
        return Functions(self._lambda, sleep=sleep, clock=clock)

    # ---- reads ----
    def get_function(self, name: str) -> FunctionInfo | None:
        """The function's configuration and tags; None if there is no such function."""
        try:
            with aws_call(f"lambda.get_function({name})"):
                found = self._lambda.get_function(FunctionName=name)
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return None
            raise
        return FunctionInfo(_config(found["Configuration"]),
                            {str(k): str(v) for k, v in (found.get("Tags") or {}).items()})

    def function_exists(self, name: str) -> bool:
        return self.get_function(name) is not None

    def get_configuration(self, name: str, qualifier: str | None = None) -> FunctionConfig:
        where = f"lambda.get_function_configuration({name}"
        where += f":{qualifier})" if qualifier else ")"
        kwargs = {"Qualifier": qualifier} if qualifier else {}
        with aws_call(where):
            return _config(self._lambda.get_function_configuration(
                FunctionName=name, **kwargs))

    def list_versions(self, name: str) -> list[FunctionConfig]:
        """Every published version (and $LATEST), oldest first; [] if no such function."""
        out: list[FunctionConfig] = []
        try:
            with aws_call(f"lambda.list_versions_by_function({name})"):
                pages = self._lambda.get_paginator("list_versions_by_function").paginate(
                    FunctionName=name)
                for page in pages:
                    out.extend(_config(v) for v in page.get("Versions", []))
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return []
            raise
        return out

    def get_alias(self, name: str, alias: str) -> Alias | None:
        """Where ``alias`` points; None when there is no such alias (or function)."""
        try:
            with aws_call(f"lambda.get_alias({name}:{alias})"):
                found = self._lambda.get_alias(FunctionName=name, Name=alias)
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return None
            raise
        routing = (found.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        return Alias(str(found["FunctionVersion"]),
                     {str(k): float(v) for k, v in routing.items()})

    def list_aliases(self, name: str) -> dict[str, Alias]:
        """Every alias of the function by name; {} when there is no such function."""
        out: dict[str, Alias] = {}
        try:
            with aws_call(f"lambda.list_aliases({name})"):
                pages = self._lambda.get_paginator("list_aliases").paginate(FunctionName=name)
                for page in pages:
                    for found in page.get("Aliases", []):
                        routing = ((found.get("RoutingConfig") or {})
                                   .get("AdditionalVersionWeights") or {})
                        out[str(found["Name"])] = Alias(
                            str(found["FunctionVersion"]),
                            {str(k): float(v) for k, v in routing.items()})
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return {}
            raise
        return out

    def list_function_names(self, prefix: str) -> list[str]:
        """The names of every function (of the account and region) that start with
        ``prefix``, sorted. Lambda filters nothing by name, so this pages through all."""
        names: list[str] = []
        with aws_call("lambda.list_functions"):
            for page in self._lambda.get_paginator("list_functions").paginate():
                names.extend(str(f["FunctionName"]) for f in page.get("Functions", [])
                             if str(f["FunctionName"]).startswith(prefix))
        return sorted(names)

    def account_code_storage(self) -> tuple[int, int] | None:
        """The region's code storage: (bytes used, the quota), from GetAccountSettings;
        None when the answer lacks them."""
        with aws_call("lambda.get_account_settings"):
            found = self._lambda.get_account_settings()
        used = (found.get("AccountUsage") or {}).get("TotalCodeSize")
        quota = (found.get("AccountLimit") or {}).get("TotalCodeSize")
        if used is None or quota is None:
            return None
        return int(used), int(quota)

    def alias_version(self, name: str, alias: str) -> str | None:
        """The version ``alias`` points at, or None when there is no alias yet."""
        found = self.get_alias(name, alias)
        return None if found is None else found.version

    def wait_until_ready(self, name: str, *, timeout: float = LAMBDA_SETTLE_TIMEOUT
                         ) -> FunctionConfig:
        """Poll until State is Active and LastUpdateStatus Successful; the configuration.

        A wait longer than ``timeout`` raises TransientError(LambdaUpdateInProgress): the
        update may still finish, so the workflow retries rather than failing the job.
        """
        deadline = self.clock() + timeout
        polls = 0
        while True:
            config = self.get_configuration(name)
            if function_ready(config):
                return config
            if self.clock() >= deadline:
                raise TransientError(
                    f"function {name} still updating after {timeout:.0f} s "
                    f"(State={config.get('State')}, "
                    f"LastUpdateStatus={config.get('LastUpdateStatus')})",
                    code=Code.LambdaUpdateInProgress,
                    hint="Lambda is slow to apply the update; the job is retried",
                )
            log.debug("waiting for %s: State=%s LastUpdateStatus=%s", name,
                      config.get("State"), config.get("LastUpdateStatus"))
            polls += 1
            self.sleep(compute_backoff(polls, LAMBDA_SETTLE))

    def _settled_if(self, name: str, wanted: Callable[[FunctionConfig], bool]
                    ) -> FunctionConfig | None:
        """The function's configuration once settled, if ``wanted`` holds for it."""
        config = self.wait_until_ready(name)
        return config if wanted(config) else None

    # ---- writes of the function (conflicts ridden out, lost answers read back) ----
    def create_function(self, name: str, *, code: CodeLocation, architecture: str,
                        tags: Mapping[str, str], configuration: DesiredConfig
                        ) -> FunctionInfo | None:
        """Create the function. None when this call created it; the function found
        instead when the create's outcome was unclear or it already existed (our own
        create whose answer was lost, or a concurrent one): the caller decides whether
        that one is its own."""
        where = f"lambda.create_function({name})"

        def create() -> FunctionInfo | None:
            # A conflict is not ridden out (it means the function exists already); a
            # role IAM has not propagated yet is.
            ride_conflicts(lambda: self._lambda.create_function(
                FunctionName=name, Code=code, Architectures=[architecture],
                Publish=False, Tags=dict(tags), **configuration), where, sleep=self.sleep,
                per_call=self._per_call, conflicts=False, role_wait=ROLE_WAIT)
            return None

        def confirm() -> FunctionInfo | None:
            return self.get_function(name)

        return write_or_confirm(create, confirm, where=where)

    def update_code(self, name: str, *, code: CodeLocation, architecture: str,
                    wanted: Callable[[FunctionConfig], bool]) -> None:
        """Replace $LATEST's code; an unclear outcome is settled by ``wanted`` on the
        configuration read back once Lambda settled."""
        where = f"lambda.update_function_code({name})"
        write_or_confirm(
            lambda: ride_conflicts(lambda: self._lambda.update_function_code(
                FunctionName=name, Architectures=[architecture], Publish=False, **code),
                where, sleep=self.sleep, per_call=self._per_call),
            lambda: self._settled_if(name, wanted), where=where)

    def update_configuration(self, name: str, configuration: DesiredConfig, *,
                             wanted: Callable[[FunctionConfig], bool]) -> None:
        """Replace $LATEST's configuration; an unclear outcome is settled as in
        ``update_code``."""
        where = f"lambda.update_function_configuration({name})"
        write_or_confirm(
            lambda: ride_conflicts(lambda: self._lambda.update_function_configuration(
                FunctionName=name, **configuration), where, sleep=self.sleep,
                per_call=self._per_call, role_wait=ROLE_WAIT),
            lambda: self._settled_if(name, wanted), where=where)

    def publish_version(self, name: str, *, description: str, code_sha256: str,
                        confirm: Callable[[], Published | None]) -> Published:
        """Publish $LATEST as a version (only if it still holds ``code_sha256``, when
        given); ``confirm`` finds the version an unclear publish may have made."""
        where = f"lambda.publish_version({name})"
        args: dict[str, str] = {"FunctionName": name, "Description": description}
        if code_sha256:
            args["CodeSha256"] = code_sha256

        def publish() -> Published:
            answer = ride_conflicts(lambda: self._lambda.publish_version(**args), where,
                                    sleep=self.sleep, per_call=self._per_call)
            version = str(answer["Version"])
            return Published(version, unqualified(str(answer["FunctionArn"]), version))

        return write_or_confirm(publish, confirm, where=where)

    def delete_version(self, name: str, version: str) -> bool:
        """Delete one published version (never $LATEST). False when it was gone already
        (a repeat after a lost answer finds it so). A version an alias points at is
        refused (ResourceConflictException, as ``aws_code``): a conflict that waiting
        would not end, so it is not ridden out."""
        if version == "$LATEST":
            raise ValueError("$LATEST is not a published version")
        try:
            with aws_call(f"lambda.delete_function({name}:{version})"):
                self._lambda.delete_function(FunctionName=name, Qualifier=version)
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return False
            raise
        return True

    # ---- reserved concurrency (the function's, not a version's) ----
    def get_reserved_concurrency(self, name: str) -> int | None:
        """The function's reserved concurrency; None when it has none."""
        with aws_call(f"lambda.get_function_concurrency({name})"):
            found = self._lambda.get_function_concurrency(FunctionName=name)
        value = found.get("ReservedConcurrentExecutions")
        return None if value is None else int(value)

    def set_reserved_concurrency(self, name: str, value: int | None) -> bool:
        """Reserve ``value`` concurrent executions for the function, or remove the
        reservation (None). Reads first and writes only when it differs (True when it
        wrote), so repeating it after a lost answer changes nothing."""
        if self.get_reserved_concurrency(name) == value:
            return False
        if value is None:
            where = f"lambda.delete_function_concurrency({name})"
            write_or_confirm(
                lambda: ride_conflicts(lambda: self._lambda.delete_function_concurrency(
                    FunctionName=name), where, sleep=self.sleep, per_call=self._per_call),
                lambda: True if self.get_reserved_concurrency(name) is None else None,
                where=where)
        else:
            where = f"lambda.put_function_concurrency({name}, {value})"
            write_or_confirm(
                lambda: ride_conflicts(lambda: self._lambda.put_function_concurrency(
                    FunctionName=name, ReservedConcurrentExecutions=value), where,
                    sleep=self.sleep, per_call=self._per_call),
                lambda: True if self.get_reserved_concurrency(name) == value else None,
                where=where)
        return True

    # ---- the alias ----
    def point_alias(self, name: str, alias: str, version: str,
                    weights: dict[str, float] | None = None) -> None:
        """Make ``alias`` point at ``version`` with ``weights``. Safe to repeat after a
        lost answer: the alias is read first and after any unclear failure, and a write
        happens only when it does not point where wanted already."""
        routing = {"AdditionalVersionWeights": weights or {}}

        def as_wanted() -> bool | None:
            found = self.get_alias(name, alias)
            return True if found is not None and found.points_at(version, weights) else None

        current = self.get_alias(name, alias)
        if current is not None and current.points_at(version, weights):
            return
        if current is None:
            where = f"lambda.create_alias({name}:{alias} -> {version})"

            def create() -> bool:
                with aws_call(where):
                    self._lambda.create_alias(FunctionName=name, Name=alias,
                                              FunctionVersion=version, RoutingConfig=routing)
                return True

            try:
                write_or_confirm(create, as_wanted, where=where)
                return
            except AwsError as exc:
                if exc.code not in ALREADY_DONE:
                    raise
                # created meanwhile, pointing elsewhere: update it below
        where = f"lambda.update_alias({name}:{alias} -> {version})"

        def update() -> bool:
            with aws_call(where):
                self._lambda.update_alias(FunctionName=name, Name=alias,
                                          FunctionVersion=version, RoutingConfig=routing)
            return True

        write_or_confirm(update, as_wanted, where=where)

    def invoke(self, name: str, qualifier: str, payload: bytes) -> Invocation:
        """A synchronous invocation of ``name:qualifier`` with the last 4 KB of its log.
        Not a write: an invocation whose answer was lost is not repeated here (the
        caller's step is, under the workflow's Retry)."""
        with aws_call(f"lambda.invoke({name}:{qualifier})"):
            response = self._lambda.invoke(FunctionName=name, Qualifier=qualifier,
                                           InvocationType="RequestResponse", LogType="Tail",
                                           Payload=payload)
            body = response["Payload"].read()
        error = response.get("FunctionError")
        return Invocation(status=int(response.get("StatusCode") or 0),
                          function_error=str(error) if error else None, payload=body,
                          log_tail=_log_tail(response.get("LogResult")))


    # ---- removal (a deleted app; each call is done when the thing is already gone) ----
    def delete_alias(self, name: str, alias: str) -> bool:
        """Delete ``alias``; False when it (or the function) was gone already."""
        return self._delete(f"lambda.delete_alias({name}:{alias})",
                            lambda: self._lambda.delete_alias(FunctionName=name, Name=alias))

    def delete_function(self, name: str) -> bool:
        """Delete the function with every version and alias; False when it was gone."""
        return self._delete(f"lambda.delete_function({name})",
                            lambda: self._lambda.delete_function(FunctionName=name))

    def has_url(self, name: str, qualifier: str | None) -> bool:
        """True when ``name`` (at ``qualifier``: None for the unqualified function) has a
        function URL."""
        kwargs = {"Qualifier": qualifier} if qualifier else {}
        try:
            with aws_call(f"lambda.get_function_url_config({name}:{qualifier})"):
                self._lambda.get_function_url_config(FunctionName=name, **kwargs)
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return False
            raise
        return True

    def delete_url(self, name: str, qualifier: str | None) -> bool:
        """Delete the function URL of ``name`` (at ``qualifier``); False when gone."""
        kwargs = {"Qualifier": qualifier} if qualifier else {}
        return self._delete(f"lambda.delete_function_url_config({name}:{qualifier})",
                            lambda: self._lambda.delete_function_url_config(
                                FunctionName=name, **kwargs))

    def event_source_mappings(self, function_arn: str) -> list[str]:
        """The UUIDs of the event source mappings that invoke ``function_arn`` (the
        unqualified ARN) or any of its qualifiers (``live``, a version): every mapping is
        listed and matched on its function, since Lambda's own filter matches one
        qualifier only (and resolves an alias to its version when the mapping is made)."""
        out: list[str] = []
        with aws_call("lambda.list_event_source_mappings"):
            pages = self._lambda.get_paginator("list_event_source_mappings").paginate()
            for page in pages:
                for mapping in page.get("EventSourceMappings", []):
                    arn = str(mapping.get("FunctionArn") or "")
                    if arn == function_arn or arn.startswith(function_arn + ":"):
                        out.append(str(mapping["UUID"]))
        return out

    def delete_event_source_mapping(self, uuid: str) -> bool:
        """Delete one event source mapping; False when it was gone already."""
        return self._delete(f"lambda.delete_event_source_mapping({uuid})",
                            lambda: self._lambda.delete_event_source_mapping(UUID=uuid))

    def _delete(self, where: str, call: Callable[[], object]) -> bool:
        try:
            ride_conflicts(call, where, sleep=self.sleep, per_call=self._per_call)
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return False
            raise
        return True


@dataclass(frozen=True)
class Invocation:
    """What an Invoke answered: the status, Lambda's FunctionError (None when the
    handler returned), the raw payload and the decoded tail of the log."""

    status: int
    function_error: str | None
    payload: bytes
    log_tail: str


def _log_tail(raw: object) -> str:
    if not isinstance(raw, str) or not raw:
        return ""
    try:
        return base64.b64decode(raw).decode("utf-8", "replace")[-4000:]
    except (ValueError, TypeError):
        return ""
