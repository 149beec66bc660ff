"""An app's dependencies, installed for its target: from the cache when the same
dependency files were resolved before, else read (``inputs``: every source parsed into
checked requirement data), resolved (``resolve``: uv, in its own jail) and installed
from the wheels (``install``: downloaded and hash-checked by the worker).

The warm path reads no requirement and starts no process: the key of a remembered
resolution is the sha256 of the dependency files' bytes (requirements files, their
includes, ``pyproject.toml``, lock files), the manifest's ``[build]`` table, the target,
the installer binary and the index settings; it leads to the installed set's cache key.

uv is the only installer: it resolves in a jail, and nothing is built from source.
``AUTO_LAMBDA_INSTALLER`` accepts ``uv`` only (a pip fallback would run outside any jail).
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.codes import Code
from orchestrator.errors import BuildError
from orchestrator.steps.build.cache import DEPS, BuildCache, CachedZip, cache_key
from orchestrator.steps.build.inputs import input_files
from orchestrator.steps.build.target import Target
from orchestrator.types import JsonObject

if TYPE_CHECKING:
    from orchestrator.steps.jail import Jail
    from orchestrator.steps.build.install import Installed
    from orchestrator.steps.build.resolve import Pin

# The cold path's modules (readers, resolver, installer: ~40 ms of imports) are
# imported where they are used, so that a warm build does not load them.
ENV_INSTALLER = "AUTO_LAMBDA_INSTALLER"
ENV_UV = "AUTO_LAMBDA_UV"
_INDEX_ENV = ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_INDEX",
              "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")
Progress = Callable[[str], None]


@dataclass
class Dependencies:
    """The installed dependency set of one build and how it was obtained."""

    cached: CachedZip | None
    installer: str
    inputs: list[str] = field(default_factory=list)
    left_out: list[dict[str, str]] = field(default_factory=list)
    resolution: str = "none"    # "none", "remembered", "uv", "lock"
    downloaded: int = 0
    cache_hit: bool = False


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def find_uv(env: dict[str, str] | None = None) -> str | None:
    """The uv binary: ``AUTO_LAMBDA_UV``, the project's ``uv`` dependency, or PATH."""
    env = dict(os.environ) if env is None else env
    if env.get(ENV_UV):
        return env[ENV_UV]
    return _bundled_uv()


_uv_lock = threading.Lock()


def _bundled_uv() -> str | None:
    """The project's ``uv`` dependency, else PATH's; looked up once per process.

    Under one lock: ``uv.find_uv_bin`` reads ``sysconfig``, whose first read is not
    thread-safe on Python 3.11 (a second thread can see ``EXE`` as None while the first
    is still filling the table), and a worker builds on several threads.
    """
    with _uv_lock:
        return _look_up_uv()


@functools.cache
def _look_up_uv() -> str | None:
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        import shutil

        return shutil.which("uv")


def installer_choice(env: dict[str, str] | None = None) -> tuple[str, str]:
    """("uv", path): what installs this worker's builds, or InstallerMissing."""
    env = dict(os.environ) if env is None else env
    wanted = env.get(ENV_INSTALLER, "uv").strip().lower() or "uv"
    if wanted != "uv":
        raise BuildError(f"{ENV_INSTALLER}={wanted!r} is not an installer auto-lambda runs",
                         code=Code.ConfigInvalid,
                         hint=f"unset {ENV_INSTALLER}: uv is the installer, and it runs in "
                              "a jail (docs/security.md)")
    uv = find_uv(env)
    if uv is None:
        raise BuildError("no uv binary found", code=Code.InstallerMissing,
                         hint="reinstall auto-lambda (it depends on uv), or set "
                              "AUTO_LAMBDA_UV to a uv binary")
    return "uv", uv


def _binary_id(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return path
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


class DependencyStep:
    """Gets the dependencies of one app for one target (one instance per build)."""

    def __init__(self, app_dir: Path, target: Target, build_options: JsonObject,
                 cache: BuildCache, work: Path, *, builder: str, say: Progress,
                 app_bytes: Callable[[], int] = lambda: 0,
                 clock: Callable[[], float] = time.monotonic,
                 jail: Jail | None = None) -> None:
        self.app_dir = app_dir
        self.target = target
        self.options = build_options
        self.cache = cache
        self.work = work
        self.builder = builder
        self.say = say
        self.app_bytes = app_bytes
        self.clock = clock
        self.jail = jail
        self.kind, self.uv = installer_choice()
        self.refresh = False  # resolve again even when a resolution is remembered

    # ---- the warm path ----
    def fingerprint(self) -> tuple[str, dict[str, str]] | None:
        """(memo key, digests of the root dependency files), None without any."""
        named = self.options.get("requirements") or []
        files = input_files(self.app_dir, self.options.get("requirements"))
        if not files and not named:
            return None
        digests = {f: _sha((self.app_dir / f).read_bytes()) for f in files}
        key = cache_key(files=digests, options=self.options, runtime=self.target.runtime,
                        arch=self.target.architecture, installer=_binary_id(self.uv),
                        index={k: os.environ.get(k) for k in _INDEX_ENV},
                        builder=self.builder)
        return key, digests

    def _remembered(self, key: str) -> JsonObject | None:
        memo = self.cache.resolution(key)
        if memo is None:
            return None
        for rel, digest in (memo.get("included") or {}).items():
            path = self.app_dir / rel
            if not path.is_file() or _sha(path.read_bytes()) != digest:
                return None
        return memo

    def get(self) -> Dependencies:
        found = self.fingerprint()
        if found is None:
            return Dependencies(None, self.kind)
        key, roots = found
        memo = None if self.refresh else self._remembered(key)
        if memo is not None:
            if memo.get("empty"):
                return Dependencies(None, memo["installer"], memo["inputs"])
            cached = self.cache.get(DEPS, memo["deps_key"])
            if cached is not None:
                self.say(f"dependencies from cache ({cached.source}): {memo['deps_key'][:12]}")
                return Dependencies(cached, memo["installer"], memo["inputs"],
                                    memo.get("left_out", []), "remembered", 0, True)
            if memo.get("pins") is not None:  # the set is known; only its zip is gone
                from orchestrator.steps.build.download import WheelRef
                from orchestrator.steps.build.resolve import Pin

                pins = [Pin(n, v, WheelRef(u, f, s, z)) for n, v, u, f, s, z in memo["pins"]]
                inst = self._install(pins, {}, False, True, None)
                return Dependencies(inst.cached, memo["installer"], memo["inputs"],
                                    memo.get("left_out", []), "remembered", inst.downloaded)
        deps, memo = self._cold(roots)
        self.cache.remember(key, memo)
        return deps

    # ---- the cold path ----
    def _cold(self, roots: dict[str, str]) -> tuple[Dependencies, JsonObject]:
        from orchestrator.steps.build.inputs.combine import read_inputs
        from orchestrator.steps.build.inputs.spec import Requirement
        from orchestrator.steps.build.resolve import resolve, uv_version
        from orchestrator.steps.build.runtime_provided import explicit_sdk_request

        inputs = read_inputs(self.app_dir, self.target,
                             requirements=self.options.get("requirements"),
                             optional=self.options.get("optional_dependencies") or [])
        included = {f: _sha((self.app_dir / f).read_bytes()) for f in inputs.files
                    if f not in roots}
        memo: JsonObject = {"included": included, "inputs": inputs.files,
                                "pinned": bool(inputs.locked)}
        if inputs.empty:
            memo |= {"empty": True, "installer": self.kind}
            return Dependencies(None, self.kind, inputs.files), memo
        installer = uv_version(self.uv)
        declared = {k: [line.text for line in lines] for k, lines in inputs.declared.items()}
        explicit = explicit_sdk_request(declared)
        include = self.options.get("include_runtime_packages")
        if inputs.locked is not None:
            reqs = [Requirement(key, specifiers=(("==", p.version),))
                    for key, p in sorted(inputs.locked.items())]
            self.say(f"installing the {len(reqs)} packages {inputs.lock_file} pins, with "
                     f"{installer}")
            pins = resolve(reqs, self.target, self.work / "resolve", no_deps=True,
                           uv=self.uv, progress=self.say, jail=self.jail)
            how = "lock"
        else:
            reqs = [line.requirement for line in inputs.requirements]
            self.say(f"resolving {len(reqs)} requirements for {self.target.runtime} "
                     f"{self.target.architecture} with {installer}")
            pins = resolve(reqs, self.target, self.work / "resolve",
                           constraints=[c.requirement for c in inputs.constraints],
                           prerelease=inputs.prerelease, uv=self.uv, progress=self.say,
                           jail=self.jail)
            how = "uv"
        inst = self._install(pins, inputs.hashes, inputs.require_hashes, include, explicit)
        left = [d.to_dict() for d in inst.left_out]
        memo |= {"installer": installer, "deps_key": inst.key, "left_out": left,
                 "pins": [[p.name, p.version, p.wheel.url, p.wheel.filename, p.wheel.sha256,
                           p.wheel.size] for p in inst.pins],
                 "pinned": bool(inputs.locked) or (bool(inputs.requirements) and all(
                     line.requirement.exact is not None for line in inputs.requirements))}
        return Dependencies(inst.cached, installer, inputs.files, left, how,
                            inst.downloaded), memo

    def _install(self, pins: list[Pin], hashes: dict[str, frozenset[str]],
                 require_hashes: bool, include: bool | None, explicit: str | None
                 ) -> Installed:
        from orchestrator.steps.build.install import install

        return install(pins, self.target, self.cache, builder=self.builder, hashes=hashes,
                       require_hashes=require_hashes, include_runtime=include,
                       explicit_sdk=explicit, base_bytes=self.app_bytes(), progress=self.say,
                       clock=self.clock)
