"""An app's dependencies, installed for its target: from the cache when the same
dependency files were resolved before, else read (``inputs``), resolved (``resolve``,
uv) and installed from the wheels (``install``).

The warm path reads no requirement and starts no process: the key of a remembered
resolution is the sha256 of the dependency files' bytes (requirements files, their
includes, ``pyproject.toml``, lock files), the manifest's ``[build]`` table, the target,
the installer binary and the index settings; it leads to the installed set's cache key.

pip is the fallback installer (``AUTO_LAMBDA_INSTALLER=pip``, or when no uv binary is
found): ``pip install --target`` for the target's tags, then the installed tree is
checked and cached. It judges Requires-Python by the worker's interpreter with the pip
that comes with Python 3.11 (so a newer runtime may get older releases) and it leaves
out of the package only the SDK distributions the app lists itself; uv has neither
limitation.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.errors import BuildError
from orchestrator.steps.packaging.cache import DEPS, BuildCache, CachedZip, cache_key
from orchestrator.steps.packaging.inputs import input_files
from orchestrator.steps.packaging.target import Target

if TYPE_CHECKING:
    from orchestrator.steps.packaging.inputs.combine import DependencyInputs
    from orchestrator.steps.packaging.resolve import Pin

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
    resolution: str = "none"    # "none", "remembered", "uv", "lock", "pip"
    downloaded: int = 0
    cache_hit: bool = False


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def find_uv(env: dict[str, str] | None = None) -> str | None:
    """The uv binary: ``AUTO_LAMBDA_UV``, the project's ``uv`` dependency, or PATH."""
    env = dict(os.environ) if env is None else env
    if env.get(ENV_UV):
        return env[ENV_UV]
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        import shutil

        return shutil.which("uv")


def installer_choice(env: dict[str, str] | None = None) -> tuple[str, str | None]:
    """("uv", path) or ("pip", None): what installs this worker's builds."""
    env = dict(os.environ) if env is None else env
    wanted = env.get(ENV_INSTALLER, "uv").strip().lower() or "uv"
    if wanted not in ("uv", "pip"):
        raise BuildError(f"{ENV_INSTALLER}={wanted!r} is not an installer auto-lambda knows",
                         code="ConfigInvalid", hint=f"set {ENV_INSTALLER} to uv or pip")
    if wanted == "pip":
        return "pip", None
    uv = find_uv(env)
    return ("uv", uv) if uv else ("pip", None)


def _binary_id(path: str | None) -> str:
    if path is None:
        return "pip"
    try:
        st = os.stat(path)
    except OSError:
        return path
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


class DependencyStep:
    """Gets the dependencies of one app for one target (one instance per build)."""

    def __init__(self, app_dir: Path, target: Target, build_options: dict[str, Any],
                 cache: BuildCache, work: Path, *, builder: str, say: Progress,
                 app_bytes: Callable[[], int] = lambda: 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app_dir = app_dir
        self.target = target
        self.options = build_options
        self.cache = cache
        self.work = work
        self.builder = builder
        self.say = say
        self.app_bytes = app_bytes
        self.clock = clock
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

    def _remembered(self, key: str) -> dict[str, Any] | None:
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
                from orchestrator.steps.packaging.download import WheelRef
                from orchestrator.steps.packaging.resolve import Pin

                pins = [Pin(n, v, WheelRef(u, f, s, z)) for n, v, u, f, s, z in memo["pins"]]
                inst = self._install(pins, {}, False, True, None)
                return Dependencies(inst.cached, memo["installer"], memo["inputs"],
                                    memo.get("left_out", []), "remembered", inst.downloaded)
        deps, memo = self._cold(roots)
        self.cache.remember(key, memo)
        return deps

    # ---- the cold path ----
    def _cold(self, roots: dict[str, str]) -> tuple[Dependencies, dict[str, Any]]:
        from orchestrator.steps.packaging.inputs.combine import read_inputs
        from orchestrator.steps.packaging.resolve import resolve, uv_version
        from orchestrator.steps.packaging.runtime_provided import explicit_sdk_request

        inputs = read_inputs(self.app_dir, self.target,
                             requirements=self.options.get("requirements"),
                             optional=self.options.get("optional_dependencies") or [])
        included = {f: _sha((self.app_dir / f).read_bytes()) for f in inputs.files
                    if f not in roots}
        memo: dict[str, Any] = {"included": included, "inputs": inputs.files,
                                "pinned": bool(inputs.locked)}
        if inputs.empty:
            memo |= {"empty": True, "installer": self.kind}
            return Dependencies(None, self.kind, inputs.files), memo
        if self.kind == "pip":
            deps = self._pip(inputs)
            memo |= {"installer": deps.installer, "deps_key": deps.cached and deps.cached.key,
                     "left_out": deps.left_out}
            return deps, memo
        assert self.uv is not None
        installer = uv_version(self.uv)
        declared = {k: [line.text for line in lines] for k, lines in inputs.declared.items()}
        explicit = explicit_sdk_request(declared)
        include = self.options.get("include_runtime_packages")
        if inputs.locked is not None:
            lines = [f"{p.name}=={p.version}" for p in inputs.locked.values()]
            self.say(f"installing the {len(lines)} packages {inputs.lock_file} pins, with "
                     f"{installer}")
            pins = resolve(lines, self.target, self.work / "resolve", no_deps=True,
                           cache_dir=self.cache.uv_cache_dir, uv=self.uv, progress=self.say)
            how = "lock"
        else:
            lines = [line.text for line in inputs.requirements]
            self.say(f"resolving {len(lines)} requirements for {self.target.runtime} "
                     f"{self.target.architecture} with {installer}")
            pins = resolve(lines, self.target, self.work / "resolve",
                           constraints=[c.text for c in inputs.constraints],
                           prerelease=inputs.prerelease, cache_dir=self.cache.uv_cache_dir,
                           uv=self.uv, progress=self.say)
            how = "uv"
        inst = self._install(pins, inputs.hashes, inputs.require_hashes, include, explicit)
        left = [d.to_dict() for d in inst.left_out]
        memo |= {"installer": installer, "deps_key": inst.key, "left_out": left,
                 "pins": [[p.name, p.version, p.wheel.url, p.wheel.filename, p.wheel.sha256,
                           p.wheel.size] for p in inst.pins],
                 "pinned": bool(inputs.locked) or (bool(inputs.requirements) and all(
                     _is_exact(line.text) for line in inputs.requirements))}
        return Dependencies(inst.cached, installer, inputs.files, left, how,
                            inst.downloaded), memo

    def _install(self, pins: list[Pin], hashes: dict[str, frozenset[str]],
                 require_hashes: bool, include: bool | None, explicit: str | None) -> Any:
        from orchestrator.steps.packaging.install import install

        return install(pins, self.target, self.cache, builder=self.builder, hashes=hashes,
                       require_hashes=require_hashes, include_runtime=include,
                       explicit_sdk=explicit, base_bytes=self.app_bytes(), progress=self.say,
                       clock=self.clock)

    def _pip(self, inputs: DependencyInputs) -> Dependencies:
        from orchestrator.steps.packaging.abi import scan_tree
        from orchestrator.steps.packaging.names import entry_top_level
        from orchestrator.steps.packaging.pip import pip_install, pip_version
        from orchestrator.steps.packaging.runtime_provided import (
            SDK_CORE,
            LeftOut,
            explicit_sdk_request,
        )
        from orchestrator.steps.packaging.zipdet import dir_entries

        include = self.options.get("include_runtime_packages")
        declared = {k: [line.text for line in lines] for k, lines in inputs.declared.items()}
        keep_sdk = include or (include is None and explicit_sdk_request(declared))
        if inputs.locked is not None:
            lines = [f"{p.name}=={p.version}" + "".join(
                f" --hash=sha256:{h}" for h in sorted(inputs.hashes.get(k, ())))
                for k, p in inputs.locked.items()]
        else:
            lines = [line.text + "".join(f" --hash=sha256:{h}" for h in sorted(line.hashes))
                     for line in inputs.requirements]
        left: list[LeftOut] = []
        if not keep_sdk:
            from packaging.requirements import Requirement

            kept_lines = []
            for line in lines:
                name = Requirement(line.split(" --hash")[0]).name.lower()
                if name in SDK_CORE:
                    left.append(LeftOut(name, "", f"provided by the {self.target.runtime} "
                                                  "runtime"))
                else:
                    kept_lines.append(line)
            lines = kept_lines
        installer = f"pip {pip_version()}"
        key = cache_key(lines=sorted(lines), constraints=[c.text for c in inputs.constraints],
                        runtime=self.target.runtime, arch=self.target.architecture,
                        installer=installer, builder=self.builder)
        cached = self.cache.get(DEPS, key)
        if cached is None and lines:
            site = self.work / "deps"
            report = pip_install(lines, site, self.target,
                                 constraints=[c.text for c in inputs.constraints],
                                 cache_dir=self.cache.download_dir / "pip", progress=self.say)
            abi = scan_tree(site, self.target)
            entries = dir_entries(site, skip=lambda rel: rel.split("/")[0] == "bin")
            meta = {"installed": report.installed, **abi.to_dict(),
                    "left_out": [d.to_dict() for d in left],
                    "top_level": sorted(entry_top_level([e.name for e in entries])),
                    "runtime": self.target.runtime, "architecture": self.target.architecture}
            cached = self.cache.put(DEPS, key, entries, meta)
        return Dependencies(cached, installer, inputs.files, [d.to_dict() for d in left],
                            "pip", 0, cached is not None and cached.source != "new")


def _is_exact(text: str) -> bool:
    from packaging.requirements import Requirement

    specs = list(Requirement(text).specifier)
    return len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version

