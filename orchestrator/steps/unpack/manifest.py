"""The app zip contract: ``auto-lambda.toml`` at the zip root, its defaults, and
handler detection. Reads files under an unpacked app directory, writes nothing, and
never imports or runs the app: the handler check is static (the module is parsed in a
bounded subprocess, see ``pysource``); verify goes deeper.

Strict by design: unknown keys, wrong types and out-of-range values are refused with
``ManifestInvalid`` naming the key, so a typo never silently falls back to a default.
``[verify]``'s events (inline or JSON files) are read by ``orchestrator.steps.unpack.smoke``.
"""

from __future__ import annotations

import json
import platform
import re
import sys
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from orchestrator.codes import Code
from orchestrator.errors import ManifestError
from orchestrator.steps.unpack.platform import (
    ENV_KEY_RE,
    RESERVED_ENV,
    FunctionLimits,
    Permissions,
    SecretRef,
    Trigger,
    read_layers,
    read_limits,
    read_permissions,
    read_secrets,
    read_triggers,
    read_vpc,
    trigger_from_dict,
)
from orchestrator.steps.unpack.rollout import DEPLOY_KEYS, DeployPlan, read_deploy
from orchestrator.steps.unpack.smoke import EVENT_KEYS, SmokeEvent, read_verify
from orchestrator.types import JsonMapping, JsonObject

CHALICE_CONFIG = Path(".chalice") / "config.json"
CHALICE_HANDLER = "app.app"
MAX_MANIFEST_BYTES = 64 * 1024
_VALID_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?\Z")
_HANDLER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+\Z")
_FUNCTION_KEYS = ("name", "handler", "runtime", "architecture", "memory", "timeout", "environment",
                  "reserved_concurrency", "ephemeral_storage", "layers", "vpc")
TABLES = ("function", "build", "verify", "deploy", "permissions", "secrets", "triggers")

_VERIFY_KEYS = (*EVENT_KEYS, "events")
_BUILD_KEYS = ("requirements", "optional_dependencies", "include_runtime_packages")

MANIFEST_NAME = "auto-lambda.toml"
SUPPORTED_RUNTIMES = ("python3.10", "python3.11", "python3.12", "python3.13", "python3.14")
DEFAULT_RUNTIME = "python3.12"
ARCHITECTURES = ("x86_64", "arm64")
HANDLER_CANDIDATES = ("app.handler", "lambda_function.lambda_handler", "handler.handler")
SRC_DIR = "src"  # a src layout's code folder
_NAME_RE = re.compile(r"[^a-z0-9-]+")



def slugify(name: str) -> str:
    """A Lambda-safe app name: lower case letters, digits and dashes, at most 40 chars."""
    slug = _NAME_RE.sub("-", name.lower()).strip("-")
    slug = re.sub(r"-{2,}", "-", slug)[:40].strip("-")
    return slug or "app"


@dataclass(frozen=True)
class AppSpec:
    """What to build and how to check it, after defaults and detection. Stored under
    ``app`` in the execution's data."""

    KEY: ClassVar[str] = "app"
    name: str
    handler: str
    runtime: str = DEFAULT_RUNTIME
    architecture: str = "x86_64"
    memory: int = 256
    timeout: int = 30
    environment: dict[str, str] = field(default_factory=dict)
    verify_event: Any = field(default_factory=dict)
    verify_expect: Any = None
    verify_match: str = "exact"
    has_expect: bool = False
    chalice: bool = False
    # The folder the function's code comes from, packaged at the package's root: "" (the
    # zip's root) or "src" for a src layout (the handler's module is under src/ only).
    code_root: str = ""
    # [deploy] (orchestrator.steps.unpack.rollout): the canonical strategy, and the plan
    deploy_strategy: str = "all-at-once"
    deploy: DeployPlan = field(default_factory=DeployPlan)
    team: str = "default"      # from the upload's key (orchestrator.tenancy)
    # [verify]: whether the default event runs, and the named events after it
    verify_default: bool = True
    verify_events: tuple[JsonObject, ...] = ()
    # [build]: requirements files (None: requirements.txt when present), optional
    # dependency groups, and whether to package what the runtime provides (None: only
    # when the app asks for an SDK version the runtime's does not satisfy)
    build_requirements: tuple[str, ...] | None = None
    build_optional: tuple[str, ...] = ()
    include_runtime_packages: bool | None = None
    # What lets an app do real work (orchestrator.steps.unpack.platform), checked against
    # the team's policy at unpack (checkpolicy): [function] reserved_concurrency,
    # ephemeral_storage, layers (version ARNs) and vpc (an operator's profile name);
    # [permissions]; [secrets] by reference; [[triggers]].
    limits: FunctionLimits = field(default_factory=FunctionLimits)
    layers: tuple[str, ...] = ()
    vpc: str | None = None
    permissions: Permissions | None = None
    secrets: tuple[SecretRef, ...] = ()
    triggers: tuple[Trigger, ...] = ()

    @property
    def python_version(self) -> str:
        """'3.12' for 'python3.12'."""
        return self.runtime.removeprefix("python")

    def smoke_events(self) -> list[SmokeEvent]:
        """What verify invokes, in order: the default event (unless only named events
        are given), then the named ones."""
        out = [SmokeEvent("default", self.verify_event, self.verify_expect, self.has_expect,
                          self.verify_match)] if self.verify_default else []
        return out + [SmokeEvent.from_dict(e) for e in self.verify_events]

    def to_dict(self) -> JsonObject:
        return asdict(self)

    to_json = to_dict

    @classmethod
    def from_json(cls, raw: JsonMapping) -> AppSpec:
        return cls.from_dict(dict(raw))

    @classmethod
    def from_dict(cls, data: JsonObject) -> AppSpec:
        """Accepts snapshots written before a field existed (it takes its default)."""
        fields = dict(data)
        # the first gradual rollout's fields, in specs written before [deploy] had a plan
        fields.pop("deploy_weights", None)
        fields.pop("deploy_bake_seconds", None)
        if isinstance(fields.get("deploy"), dict):
            fields["deploy"] = DeployPlan.from_json(fields["deploy"])
        for key in ("verify_events", "build_optional"):
            if key in fields:
                fields[key] = tuple(fields[key])
        if fields.get("build_requirements") is not None:
            fields["build_requirements"] = tuple(fields["build_requirements"])
        if "limits" in fields:
            fields["limits"] = FunctionLimits(**fields["limits"])
        if "layers" in fields:
            fields["layers"] = tuple(fields["layers"])
        if fields.get("permissions") is not None:
            fields["permissions"] = Permissions.from_dict(fields["permissions"])
        if "secrets" in fields:
            fields["secrets"] = tuple(SecretRef(**s) for s in fields["secrets"])
        if "triggers" in fields:
            fields["triggers"] = tuple(trigger_from_dict(t) for t in fields["triggers"])
        return cls(**fields)


def local_runtime() -> str:
    """The runtime of this interpreter, the only one chalice packages for."""
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def local_architecture() -> str:
    machine = platform.machine().lower()
    return "arm64" if machine in ("aarch64", "arm64") else "x86_64"


def _detect_handler(app_dir: Path) -> str | None:
    for candidate in HANDLER_CANDIDATES:
        module, _, _func = candidate.rpartition(".")
        if (app_dir / f"{module}.py").is_file():
            return candidate
    return None


def _invalid(message: str, hint: str | None = None,
             code: Code = Code.ManifestInvalid) -> ManifestError:
    return ManifestError(message, code=code, hint=hint)


def _read_manifest(app_dir: Path) -> JsonObject:
    path = app_dir / MANIFEST_NAME
    if not path.is_file():
        return {}
    raw = path.read_bytes()
    if len(raw) > MAX_MANIFEST_BYTES:
        raise _invalid(f"{MANIFEST_NAME} is {len(raw):,} bytes, over {MAX_MANIFEST_BYTES:,}")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _invalid(f"{MANIFEST_NAME} is not UTF-8 text", "save it as UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise _invalid(f"{MANIFEST_NAME} is not valid TOML: {exc}",
                       "fix the syntax (see https://toml.io)") from exc


def _table(data: JsonObject, key: str, allowed: tuple[str, ...]) -> JsonObject:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise _invalid(f"[{key}] in {MANIFEST_NAME} must be a table, got {type(value).__name__}",
                       f"write [{key}] on a line of its own, then its keys (docs/manifest.md)")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise _invalid(f"unknown key(s) in [{key}]: {', '.join(unknown)}",
                       f"allowed keys are: {', '.join(allowed)}")
    return value


def _typed(table: JsonObject, key: str, kind: type, where: str = "function") -> Any:
    value = table.get(key)
    if value is None:
        return None
    # bool is an int subclass in Python; TOML true is never a valid memory size.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _invalid(f"[{where}].{key} must be a {kind.__name__}, got {value!r}")
    return value


def _int_in(table: JsonObject, key: str, low: int, high: int, default: int) -> int:
    value = _typed(table, key, int)
    if value is None:
        return default
    if not low <= value <= high:
        raise _invalid(f"[function].{key} = {value} is out of range",
                       f"use a value from {low} to {high}")
    return int(value)


OWN_ENV_PREFIX = "AUTO_LAMBDA_"


def _environment(table: JsonObject) -> dict[str, str]:
    env = table.get("environment", {})
    if not isinstance(env, dict):
        raise _invalid("[function.environment] must be a table of NAME = \"value\"")
    out: dict[str, str] = {}
    for key, value in env.items():
        if not ENV_KEY_RE.match(key):
            raise _invalid(f"environment variable name {key!r} is not valid",
                           "use letters, digits and underscores, starting with a letter")
        if key in RESERVED_ENV or key.startswith("AWS_LAMBDA_"):
            raise _invalid(f"environment variable {key} is reserved by Lambda", "rename it")
        if key.startswith(OWN_ENV_PREFIX):
            # the secrets shim reads AUTO_LAMBDA_SECRETS and AUTO_LAMBDA_HANDLER: an app
            # naming its own would point the shim (and the local stand-in) at secrets its
            # [secrets] table never declared, past the team's policy
            raise _invalid(f"environment variable {key} is reserved by auto-lambda",
                           "rename it; secrets go in [secrets] as references")
        if not isinstance(value, str):
            raise _invalid(f"environment variable {key} must be a string, got {value!r}",
                           f'quote it: {key} = "{value}"')
        out[key] = value
    if len(json.dumps(out)) > 4096:
        raise _invalid("[function.environment] exceeds Lambda's 4 KB limit")
    return out


def _build(table: JsonObject) -> tuple[tuple[str, ...] | None, tuple[str, ...],
                                           bool | None]:
    """[build]: requirements files, optional dependency groups, runtime packages."""
    reqs = table.get("requirements")
    if isinstance(reqs, str):
        reqs = [reqs]
    if reqs is not None and (not isinstance(reqs, list) or not reqs
                             or not all(isinstance(r, str) and r for r in reqs)):
        raise _invalid(f"[build].requirements must be a file name or a list of them, got "
                       f"{table.get('requirements')!r}",
                       'for example requirements = "requirements/prod.txt"')
    groups = table.get("optional_dependencies", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
        raise _invalid(f"[build].optional_dependencies must be a list of group names, got "
                       f"{groups!r}", 'for example optional_dependencies = ["api"]')
    include = table.get("include_runtime_packages")
    if include is not None and not isinstance(include, bool):
        raise _invalid(f"[build].include_runtime_packages must be true or false, got "
                       f"{include!r}", "true packages boto3 and botocore with the app")
    return (tuple(reqs) if reqs is not None else None), tuple(groups), include


def _module_file(app_dir: Path, module: str) -> Path | None:
    base = app_dir.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _defines_by_text(source: str, func: str) -> bool:
    """For a module the worker's Python cannot parse (newer syntax): a textual check."""
    pattern = (rf"^(?:async\s+)?def\s+{func}\b|^class\s+{func}\b|^{func}\s*[:=]"
               rf"|^(?:from\s+\S+\s+)?import\s+.*\b{func}\b")
    return re.search(pattern, source, re.MULTILINE) is not None


def _code_root(app_dir: Path, handler: str | None) -> str:
    """"src" for a src layout: the handler's module (named, or one of the usual ones) is
    under src/ and not at the zip's root. Its contents are then packaged at the package's
    root, as installing the project would put them, so `mypkg.handler.main` imports
    `mypkg` from there. Otherwise "" (the zip's root)."""
    src = app_dir / SRC_DIR
    if not src.is_dir():
        return ""
    if handler is None:
        return SRC_DIR if _detect_handler(app_dir) is None and _detect_handler(src) else ""
    module = handler.rpartition(".")[0]
    if _module_file(app_dir, module) is None and _module_file(src, module) is not None:
        return SRC_DIR
    return ""


def _nesting_hint(app_dir: Path) -> str:
    entries = [p for p in app_dir.iterdir() if p.name not in {MANIFEST_NAME, "__MACOSX"}]
    if len(entries) == 1 and entries[0].is_dir():
        return (f"the zip holds a single folder '{entries[0].name}/': zip the folder's "
                "contents, not the folder")
    return ("add app.py with def handler(event, context), or set handler = "
            '"module.function" in [function] of auto-lambda.toml')


def check_handler(app_dir: Path, handler: str) -> None:
    """Static check that ``module.function`` exists; raises HandlerNotFound."""
    if not _HANDLER_RE.match(handler):
        raise _invalid(f"handler {handler!r} is not of the form module.function",
                       'for example handler = "app.handler"')
    module, _, func = handler.rpartition(".")
    path = _module_file(app_dir, module)
    if path is None:
        looked = module.replace(".", "/")
        raise _invalid(f"handler module '{module}' not found (looked for {looked}.py)",
                       _nesting_hint(app_dir), code=Code.HandlerNotFound)
    from orchestrator.steps.unpack.pysource import read_module

    facts = read_module(path, func, error=ManifestError)
    defined = facts.direct if facts.syntax_error is None else _defines_by_text(
        path.read_bytes().decode("utf-8", errors="replace"), func)
    if not defined:
        raise _invalid(f"{path.relative_to(app_dir)} does not define '{func}'",
                       f"add def {func}(event, context) or fix handler in auto-lambda.toml",
                       code=Code.HandlerNotFound)
    if facts.is_async:
        raise _invalid(f"{path.relative_to(app_dir)} defines '{func}' with async def: Lambda's "
                       "Python runtime calls the handler and never awaits what it returns",
                       f"define def {func}(event, context): return asyncio.run(main(event)) "
                       "with your coroutine as main", code=Code.HandlerAsync)


def app_name_from_zip(zip_name: str) -> str:
    base = zip_name.replace("\\", "/").rsplit("/", 1)[-1]
    if base.lower().endswith(".zip"):
        base = base[:-4]
    return slugify(base)


def is_chalice_project(app_dir: Path) -> bool:
    return (app_dir / CHALICE_CONFIG).is_file()


def load_app_spec(app_dir: Path, zip_name: str) -> AppSpec:
    """Read ``auto-lambda.toml`` (optional) under ``app_dir``, apply defaults, detect the
    handler and chalice projects; raise ManifestError with a stable code on any problem."""
    app_dir = Path(app_dir)
    data = _read_manifest(app_dir)
    unknown = sorted(set(data) - set(TABLES))
    if unknown:
        raise _invalid(f"unknown table(s) or key(s) in {MANIFEST_NAME}: {', '.join(unknown)}",
                       "only " + ", ".join(f"[{t}]" for t in TABLES[:-1])
                       + " and [[triggers]] are read (see docs/manifest.md)")
    fn = _table(data, "function", _FUNCTION_KEYS)
    verify = _table(data, "verify", _VERIFY_KEYS)
    deploy = read_deploy(_table(data, "deploy", DEPLOY_KEYS))
    requirements, optional, include_runtime = _build(_table(data, "build", _BUILD_KEYS))

    name = _typed(fn, "name", str)
    if name is None:
        name = app_name_from_zip(zip_name)
    elif not _VALID_NAME_RE.match(name):
        raise _invalid(f"[function].name {name!r} is not a valid app name",
                       f"use lower-case letters, digits and dashes, at most 40 characters, "
                       f"for example {slugify(name)!r}")

    chalice = is_chalice_project(app_dir)
    # Chalice packages only for the interpreter it runs on: a chalice project that names
    # no runtime or architecture gets the worker's, which it can build (one that names
    # another is refused at build with ChaliceRuntimeMismatch, saying what to set).
    runtime = _typed(fn, "runtime", str)
    if runtime is None:
        runtime = (local_runtime() if chalice and local_runtime() in SUPPORTED_RUNTIMES
                   else DEFAULT_RUNTIME)
    if runtime not in SUPPORTED_RUNTIMES:
        raise _invalid(f"runtime {runtime!r} is not supported",
                       f"use one of {', '.join(SUPPORTED_RUNTIMES)}", code=Code.UnsupportedRuntime)
    arch = _typed(fn, "architecture", str) or (local_architecture() if chalice else "x86_64")
    if arch not in ARCHITECTURES:
        raise _invalid(f"architecture {arch!r} is not supported",
                       'use "x86_64" or "arm64"', code=Code.UnsupportedArchitecture)

    handler = _typed(fn, "handler", str)
    if handler is not None and "/" in handler:
        # Lambda's own form for a module in a folder ("functions/hello/app.handler"): the
        # runtime imports it as "functions.hello.app", and so do the checks here.
        module_path, _, func = handler.rpartition(".")
        handler = f"{module_path.strip('/').replace('/', '.')}.{func}"
    code_root = "" if chalice else _code_root(app_dir, handler)
    if handler is None:
        handler = CHALICE_HANDLER if chalice else _detect_handler(app_dir / code_root)
    if handler is None:
        raise _invalid("no handler found: none of " + ", ".join(HANDLER_CANDIDATES)
                       + " exists", _nesting_hint(app_dir), code=Code.HandlerNotFound)
    check_handler(app_dir / code_root, handler)

    default, runs_default, named = read_verify(app_dir, verify)
    environment = _environment(fn)
    permissions = read_permissions(app_dir, _table(data, "permissions", ("policy_file",)))
    secrets_table = data.get("secrets", {})
    if not isinstance(secrets_table, dict):
        raise _invalid("[secrets] must be a table of NAME = \"<store>:<path>\" references",
                       '[secrets] then DB_URL = "ssm:/<team>/db-url"')
    secrets = read_secrets(secrets_table, environment)

    return AppSpec(
        name=name,
        handler=handler,
        runtime=runtime,
        architecture=arch,
        memory=_int_in(fn, "memory", 128, 10240, 256),
        timeout=_int_in(fn, "timeout", 1, 900, 30),
        environment=environment,
        verify_event=default.event,
        verify_expect=default.expect,
        verify_match=default.match,
        has_expect=default.has_expect,
        chalice=chalice,
        code_root=code_root,
        deploy_strategy=deploy.strategy,
        deploy=deploy,
        verify_default=runs_default,
        verify_events=tuple(e.to_dict() for e in named),
        build_requirements=requirements,
        build_optional=optional,
        include_runtime_packages=include_runtime,
        limits=read_limits(fn),
        layers=read_layers(fn),
        vpc=read_vpc(fn),
        permissions=permissions,
        secrets=secrets,
        triggers=read_triggers(data.get("triggers", [])),
    )
