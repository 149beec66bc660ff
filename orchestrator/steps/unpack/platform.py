"""The manifest keys that let an app do real work, parsed into typed values:
``[function]`` reserved_concurrency, ephemeral_storage, layers and vpc; ``[permissions]``;
``[secrets]``; ``[[triggers]]``. Syntax only: whether the team may have them is
``orchestrator.steps.unpack.checkpolicy``'s question, asked right after.

Every value here is the upload's: refused with a stable code naming the key
(``ManifestInvalid``, ``ArnInvalid``, ``SecretReferenceInvalid``,
``ScheduleExpressionInvalid``, ``PolicyDocumentInvalid``), or kept in canonical form.
docs/manifest.md lists each key. Pure: reads the policy file under the app folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from orchestrator.arn import parse_layer_arn, parse_queue_arn
from orchestrator.codes import Code
from orchestrator.errors import ManifestError
from orchestrator.policy import TRIGGER_TYPES
from orchestrator.steps.unpack.iampolicy import PolicyStatement, read_policy_file
from orchestrator.steps.unpack.schedule import check_schedule
from orchestrator.types import JsonObject

ENV_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*\Z")
# Lambda refuses these as function environment variables (it sets them itself).
RESERVED_ENV = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})

DEFAULT_EPHEMERAL_STORAGE = 512
MAX_EPHEMERAL_STORAGE = 10_240
MAX_RESERVED_CONCURRENCY = 100_000
MAX_LAYERS = 5          # Lambda's limit per function
MAX_SECRETS = 50
MAX_TRIGGERS = 10
AUTH_TYPES = ("iam", "none")
SECRET_STORES = ("ssm", "secretsmanager")
PERMISSIONS_KEYS = ("policy_file",)
TRIGGER_KEYS: dict[str, tuple[str, ...]] = {
    "url": ("type", "auth"), "schedule": ("type", "expression"),
    "sqs": ("type", "queue"), "http": ("type", "auth"),
}
_PROFILE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}\Z")
_SSM_RE = re.compile(r"^(?:/[A-Za-z0-9_.-]+){1,15}\Z")
_SM_RE = re.compile(r"^[A-Za-z0-9_+=.@-]+(?:/[A-Za-z0-9_+=.@-]+)*\Z")


def _invalid(message: str, hint: str, code: Code = Code.ManifestInvalid) -> ManifestError:
    return ManifestError(message[:500], code=code, hint=hint)


@dataclass(frozen=True)
class FunctionLimits:
    """[function] reserved_concurrency (None: the account's unreserved pool) and
    ephemeral_storage (/tmp, MB)."""

    reserved_concurrency: int | None = None
    ephemeral_storage: int = DEFAULT_EPHEMERAL_STORAGE


@dataclass(frozen=True)
class Permissions:
    """[permissions]: the app's own role gets these statements (inside the team's
    permission boundary)."""

    policy_file: str
    statements: tuple[PolicyStatement, ...]

    def document(self) -> JsonObject:
        return {"Version": "2012-10-17", "Statement": [s.to_iam() for s in self.statements]}

    @classmethod
    def from_dict(cls, data: JsonObject) -> Permissions:
        return cls(str(data["policy_file"]),
                   tuple(PolicyStatement.from_dict(s) for s in data.get("statements", ())))


@dataclass(frozen=True)
class SecretRef:
    """[secrets] NAME = "ssm:/team/path" or "secretsmanager:team/name": the environment
    variable NAME is given the secret's value at run time; the zip holds no value."""

    name: str
    store: Literal["ssm", "secretsmanager"]
    path: str

    @property
    def reference(self) -> str:
        return f"{self.store}:{self.path}"


@dataclass(frozen=True)
class UrlTrigger:
    """A function URL on the ``live`` alias; auth "iam" (signed requests) or "none"."""

    auth: str = "iam"
    type: Literal["url"] = field(default="url", init=False)


@dataclass(frozen=True)
class ScheduleTrigger:
    """An EventBridge schedule invoking ``live``; ``expression`` is canonical."""

    expression: str
    type: Literal["schedule"] = field(default="schedule", init=False)


@dataclass(frozen=True)
class SqsTrigger:
    """An SQS event source mapping from one of the team's queues to ``live``."""

    queue: str
    type: Literal["sqs"] = field(default="sqs", init=False)


@dataclass(frozen=True)
class HttpTrigger:
    """An API Gateway HTTP API in front of ``live`` (chalice, WSGI or ASGI apps)."""

    auth: str = "iam"
    type: Literal["http"] = field(default="http", init=False)


Trigger = UrlTrigger | ScheduleTrigger | SqsTrigger | HttpTrigger


def trigger_from_dict(data: JsonObject) -> Trigger:
    kind = data.get("type")
    if kind == "url":
        return UrlTrigger(str(data.get("auth", "iam")))
    if kind == "schedule":
        return ScheduleTrigger(str(data["expression"]))
    if kind == "sqs":
        return SqsTrigger(str(data["queue"]))
    if kind == "http":
        return HttpTrigger(str(data.get("auth", "iam")))
    raise ValueError(f"unknown trigger type {kind!r}")


def _int(table: JsonObject, key: str, low: int, high: int) -> int | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(f"[function].{key} must be a whole number, got {value!r}",
                       f"write it without quotes, from {low} to {high}")
    if not low <= value <= high:
        raise _invalid(f"[function].{key} = {value} is out of range",
                       f"use a value from {low} to {high}")
    return value


def read_limits(fn: JsonObject) -> FunctionLimits:
    storage = _int(fn, "ephemeral_storage", DEFAULT_EPHEMERAL_STORAGE, MAX_EPHEMERAL_STORAGE)
    return FunctionLimits(_int(fn, "reserved_concurrency", 0, MAX_RESERVED_CONCURRENCY),
                          DEFAULT_EPHEMERAL_STORAGE if storage is None else storage)


def read_layers(fn: JsonObject) -> tuple[str, ...]:
    value = fn.get("layers", [])
    if not isinstance(value, list) or len(value) > MAX_LAYERS:
        raise _invalid(f"[function].layers must be a list of at most {MAX_LAYERS} layer "
                       f"version ARNs, got {value!r}",
                       'layers = ["arn:aws:lambda:<region>:<account>:layer:<name>:<version>"]')
    layers = [str(parse_layer_arn(arn, f"[function].layers[{i}]"))
              for i, arn in enumerate(value)]
    if len(set(layers)) != len(layers):
        raise _invalid("[function].layers names a layer twice", "list each layer once")
    return tuple(layers)


def read_vpc(fn: JsonObject) -> str | None:
    value = fn.get("vpc")
    if value is None:
        return None
    if not isinstance(value, str) or not _PROFILE_RE.match(value):
        raise _invalid(f"[function].vpc must be the name of a VPC profile, got {value!r}",
                       "ask your operator for the profile names your team may use; subnet "
                       "and security group ids never go in the manifest")
    return value


def read_permissions(app_dir: Path, table: JsonObject) -> Permissions | None:
    if not table:
        return None
    if "policy_file" not in table:
        raise _invalid("[permissions] needs policy_file", 'policy_file = "policy.json"')
    rel = table["policy_file"]
    statements = read_policy_file(app_dir, rel, "[permissions].policy_file")
    return Permissions(rel, statements)


def parse_secret_reference(value: Any, where: str) -> tuple[Literal["ssm", "secretsmanager"],
                                                             str]:
    """``"ssm:/path"`` or ``"secretsmanager:name"`` as (store, path), or
    ``SecretReferenceInvalid``."""
    hint = ('write "ssm:/<team>/<name>" (a parameter path) or '
            '"secretsmanager:<team>/<name>" (a secret\'s name): the reference, never the value')
    if not isinstance(value, str):
        raise _invalid(f"{where} must be a string reference, got {value!r}", hint,
                       Code.SecretReferenceInvalid)
    store, sep, path = value.partition(":")
    segments = path.strip("/").split("/")
    if not sep or store not in SECRET_STORES:
        raise _invalid(f"{where} = {value[:80]!r} does not start with ssm: or "
                       "secretsmanager:", hint, Code.SecretReferenceInvalid)
    if any(s in (".", "..") for s in segments):
        raise _invalid(f"{where} = {value[:80]!r} has a '.' or '..' segment", hint,
                       Code.SecretReferenceInvalid)
    if store == "ssm":
        if len(path) > 1011 or not _SSM_RE.match(path):
            raise _invalid(f"{where} = {value[:80]!r} is not a parameter path", hint,
                           Code.SecretReferenceInvalid)
        if segments[0].lower() in ("aws", "ssm"):
            raise _invalid(f"{where} = {value[:80]!r} is under a path AWS reserves", hint,
                           Code.SecretReferenceInvalid)
        return "ssm", path
    if len(path) > 512 or not _SM_RE.match(path):
        raise _invalid(f"{where} = {value[:80]!r} is not a secret name", hint,
                       Code.SecretReferenceInvalid)
    return "secretsmanager", path


def read_secrets(table: JsonObject, environment: dict[str, str]) -> tuple[SecretRef, ...]:
    if len(table) > MAX_SECRETS:
        raise _invalid(f"[secrets] names {len(table)} secrets, over {MAX_SECRETS}",
                       "group related values in one secret")
    out = []
    for name, value in table.items():
        if not ENV_KEY_RE.match(name):
            raise _invalid(f"[secrets] name {name[:80]!r} is not an environment variable name",
                           "use letters, digits and underscores, starting with a letter")
        if name in RESERVED_ENV or name.startswith("AWS_LAMBDA_"):
            raise _invalid(f"[secrets].{name} is reserved by Lambda", "rename it")
        if name in environment:
            raise _invalid(f"[secrets].{name} is also set in [function.environment]",
                           "set it in one of the two tables")
        store, path = parse_secret_reference(value, f"[secrets].{name}")
        out.append(SecretRef(name, store, path))
    return tuple(out)


def _auth(table: JsonObject, where: str) -> str:
    auth = table.get("auth", "iam")
    if auth not in AUTH_TYPES:
        raise _invalid(f"{where}.auth must be \"iam\" or \"none\", got {auth!r}",
                       '"iam" (the default) takes signed requests only; "none" is public '
                       "and only where your operator allows it")
    return str(auth)


def read_triggers(value: Any) -> tuple[Trigger, ...]:
    if not isinstance(value, list) or len(value) > MAX_TRIGGERS:
        raise _invalid(f"[[triggers]] must be a list of at most {MAX_TRIGGERS} tables",
                       '[[triggers]] then type = "url"')
    out: list[Trigger] = []
    for i, table in enumerate(value):
        where = f"[[triggers]][{i}]"
        if not isinstance(table, dict):
            raise _invalid(f"{where} must be a table", '[[triggers]] then type = "url"')
        kind = table.get("type")
        if kind not in TRIGGER_TYPES:
            raise _invalid(f"{where}.type must be one of {', '.join(TRIGGER_TYPES)}, got "
                           f"{kind!r}", 'for example type = "schedule"')
        unknown = sorted(set(table) - set(TRIGGER_KEYS[kind]))
        if unknown:
            raise _invalid(f"unknown key(s) in {where} ({kind}): {', '.join(unknown)}",
                           f"allowed keys are: {', '.join(TRIGGER_KEYS[kind])}")
        trigger: Trigger
        if kind == "url":
            trigger = UrlTrigger(_auth(table, where))
        elif kind == "http":
            trigger = HttpTrigger(_auth(table, where))
        elif kind == "schedule":
            if "expression" not in table:
                raise _invalid(f"{where} needs expression", 'expression = "rate(5 minutes)"')
            trigger = ScheduleTrigger(check_schedule(table["expression"],
                                                     f"{where}.expression"))
        else:
            if "queue" not in table:
                raise _invalid(f"{where} needs queue",
                               'queue = "arn:aws:sqs:<region>:<account>:<queue-name>"')
            trigger = SqsTrigger(str(parse_queue_arn(table["queue"], f"{where}.queue")))
        if trigger in out:
            raise _invalid(f"{where} repeats an earlier trigger", "list each trigger once")
        if kind in ("url", "http") and any(t.type == kind for t in out):
            raise _invalid(f"{where} is a second {kind} trigger", f"one {kind} trigger "
                           "serves the whole app")
        out.append(trigger)
    return tuple(out)
