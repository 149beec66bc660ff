"""build_package: turn an unpacked app folder and its AppSpec into a Lambda zip.

Stages, in order: collect the app's files (``vendor/`` contents go to the package root,
as chalice does; ``.chalice/deployments`` and ``__pycache__`` are left out) and check
their native code; get the dependencies (``dependencies``: a remembered resolution and
its cached install, or resolve with uv for the target and install from the wheels, with
Lambda's 250 MB enforced as they are read); for a chalice project, run ``chalice
package`` (cached by a hash of the project's files; on a miss chalice is started before
the dependencies are fetched, so its own start-up overlaps them, and it imports the app
only once they are complete and cached); check that everything the handler imports at
load time is packaged or provided by the runtime (``MissingDependency``); write one
deterministic zip. Precedence on a clash: app files, then vendor/, then dependencies.

Nothing here talks to AWS except through the cache's optional remote, and nothing of
the app runs here except chalice's import of ``app.py``, inside the jail.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from orchestrator import __version__
from orchestrator.limits import LAMBDA_DIRECT_UPLOAD_BYTES, LAMBDA_UNZIPPED_BYTES
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.steps.build.abi import scan_tree
from orchestrator.steps.build.cache import CHALICE, BuildCache, cache_key
from orchestrator.steps.build.dependencies import Dependencies, DependencyStep
from orchestrator.steps.build.imports import check_imports
from orchestrator.steps.build.target import Target
from orchestrator.steps.build.zipdet import Entry, dir_entries, write_zip
from orchestrator.steps.secrets.refs import SHIM_FILE, SHIM_SOURCE, uses_shim
from orchestrator.steps.unpack.zipsafe import UnpackLimits, unpack_zip
from orchestrator.types import JsonMapping, JsonObject

if TYPE_CHECKING:  # the jail is started by the resolver and by chalice.py
    from orchestrator.steps.jail import Jail

BUILDER_VERSION = f"auto-lambda-{__version__}/build-2"
Progress = Callable[[str], None]


@dataclass
class BuildResult:
    """What a build produced; stored under ``build`` in the execution's data."""

    KEY: ClassVar[str] = "build"
    zip_path: Path
    sha256: str
    size: int
    unzipped_size: int
    installed: list[tuple[str, str]]
    cache_hits: list[str]
    duration: float
    upload_via_s3: bool = False
    runtime: str = ""
    architecture: str = ""
    files: int = 0
    chalice: bool = False
    newest_glibc: str | None = None
    overridden: list[str] = field(default_factory=list)
    largest: list[tuple[str, int]] = field(default_factory=list)
    # what the runtime provides and so was not packaged: {"name", "version", "reason"}
    left_out: list[dict[str, str]] = field(default_factory=list)
    installer: str = ""
    inputs: list[str] = field(default_factory=list)     # the dependency files read
    resolution: str = "none"
    downloaded: int = 0
    imports: JsonObject = field(default_factory=dict)

    def to_dict(self) -> JsonObject:
        out = asdict(self)
        out["zip_path"] = str(self.zip_path)
        out["installed"] = [{"name": n, "version": v} for n, v in self.installed]
        out["largest"] = [{"path": p, "bytes": b} for p, b in self.largest]
        return out

    to_json = to_dict

    @classmethod
    def from_json(cls, raw: JsonMapping) -> BuildResult:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        values["zip_path"] = Path(str(raw.get("zip_path") or ""))
        values["installed"] = [(str(i["name"]), str(i["version"]))
                               for i in raw.get("installed") or ()]
        values["largest"] = [(str(i["path"]), int(i["bytes"])) for i in raw.get("largest") or ()]
        return cls(**values)


def _skip_app_file(rel: str) -> bool:
    parts = rel.split("/")
    return (rel.startswith(".chalice/deployments/") or "__pycache__" in parts
            or parts[0] == "vendor")


def _top_level_sizes(entries: list[Entry]) -> list[tuple[str, int]]:
    sizes: dict[str, int] = {}
    for e in entries:
        head, sep, _ = e.name.partition("/")
        key = head + "/" if sep else head
        sizes[key] = sizes.get(key, 0) + e.size
    return sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:10]


def _merge(app: list[Entry], vendor: list[Entry],
           deps: list[Entry]) -> tuple[list[Entry], list[str]]:
    merged: dict[str, Entry] = {}
    overridden: list[str] = []
    for layer in (deps, vendor, app):  # later layers win
        for e in layer:
            if e.name in merged:
                overridden.append(e.name)
            merged[e.name] = e
    return list(merged.values()), sorted(overridden)


def _tree_digest(root: Path, skip: Callable[[str], bool]) -> str:
    digest = hashlib.sha256()
    for e in dir_entries(root, skip=skip):
        digest.update(e.name.encode("utf-8") + b"\0" + (b"x" if e.executable else b"-"))
        assert e.open is not None
        with e.open() as fh:
            while chunk := fh.read(1024 * 1024):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


class _Builder:
    def __init__(self, app_dir: Path, spec: AppSpec, cache: BuildCache, work: Path,
                 progress: Progress, clock: Callable[[], float],
                 jail: Jail | None = None) -> None:
        self.jail = jail
        self.app_dir = app_dir
        self.spec = spec
        self.cache = cache
        self.work = work
        self.say = progress
        self.target = Target(spec.runtime, spec.architecture)
        self.cache_hits: list[str] = []
        self.newest_glibc: tuple[int, int] | None = None
        self.app_bytes = 0
        options = {"requirements": list(spec.build_requirements)
                   if spec.build_requirements is not None else None,
                   "optional_dependencies": list(spec.build_optional),
                   "include_runtime_packages": spec.include_runtime_packages}
        self.deps_step = DependencyStep(app_dir, self.target, options, cache, work,
                                        builder=BUILDER_VERSION, say=progress,
                                        app_bytes=lambda: self.app_bytes, clock=clock,
                                        jail=jail)

    def dependencies(self) -> Dependencies:
        deps = self.deps_step.get()
        if deps.cached is not None:
            if deps.cache_hit:
                self.cache_hits.append(f"dependencies ({deps.cached.source}) "
                                       f"{deps.cached.key[:12]}")
            self._note_glibc(deps.cached.meta.get("newest_glibc"))
        return deps

    def _note_glibc(self, text: Any) -> None:
        if isinstance(text, str) and "." in text:
            major, minor = (int(x) for x in text.split(".")[:2])
            if self.newest_glibc is None or (major, minor) > self.newest_glibc:
                self.newest_glibc = (major, minor)

    def plain_app(self) -> tuple[list[Entry], list[Entry]]:
        report = scan_tree(self.app_dir, self.target,
                           skip=lambda rel: _skip_app_file(rel) and not rel.startswith("vendor/"))
        if report.newest_glibc:
            self._note_glibc("%d.%d" % report.newest_glibc)  # noqa: UP031
        root = self.spec.code_root
        if root:  # a src layout: its contents go to the package's root, the rest beside
            app = dir_entries(self.app_dir, skip=lambda rel: _skip_app_file(rel)
                              or rel.split("/")[0] == root)
            app += dir_entries(self.app_dir / root, skip=_skip_app_file)
        else:
            app = dir_entries(self.app_dir, skip=_skip_app_file)
        vendor_dir = self.app_dir / "vendor"
        vendor = dir_entries(vendor_dir) if vendor_dir.is_dir() else []
        self.app_bytes = sum(e.size for e in app) + sum(e.size for e in vendor)
        return app, vendor

    def chalice_key(self) -> str:
        from orchestrator.steps.build import chalice as chalice_build

        # chalice runs on a copy without requirements.txt: its output is the project's
        # code and chalice's runtime, never the dependencies, so they are not in the key
        skip: Callable[[str], bool] = lambda rel: (rel.startswith(".chalice/deployments/")  # noqa: E731
                                                   or "__pycache__" in rel.split("/"))
        return cache_key(project=_tree_digest(self.app_dir, skip), runtime=self.target.runtime,
                         arch=self.target.architecture, chalice=chalice_build.chalice_version(),
                         builder=BUILDER_VERSION)

    def cached_chalice(self, key: str) -> list[Entry] | None:
        cached = self.cache.get(CHALICE, key)
        if cached is None:
            return None
        self.cache_hits.append(f"chalice package ({cached.source}) {key[:12]}")
        self.say("chalice package output from cache")
        self._note_glibc(cached.meta.get("newest_glibc"))
        return cached.entries()

    def finish_chalice(self, run: Any, key: str) -> list[Entry]:
        self.say("running chalice package")
        out = run.finish(progress=self.say)
        report = scan_tree(out, self.target)
        glibc = "%d.%d" % report.newest_glibc if report.newest_glibc else None  # noqa: UP031
        self._note_glibc(glibc)
        cached = self.cache.put(CHALICE, key, dir_entries(out), {"newest_glibc": glibc})
        return cached.entries()

    def build_chalice(self) -> tuple[Dependencies, list[Entry]]:
        """Dependencies and chalice's output. On a miss chalice starts first and imports
        its own code while the dependencies are fetched; it goes on to the app once they
        are complete and cached."""
        from orchestrator.steps.build import chalice as chalice_build

        self.app_bytes = sum(e.size for e in dir_entries(self.app_dir, skip=_skip_app_file))
        ckey = self.chalice_key()
        entries = self.cached_chalice(ckey)
        if entries is not None:
            return self.dependencies(), entries
        tree = self.work / "deps-import"
        tree.mkdir(parents=True, exist_ok=True)
        run = chalice_build.start_chalice(self.app_dir, self.work, self.target, tree,
                                          jail=self.jail)
        try:
            deps = self.dependencies()
            if deps.cached is not None:
                unpack_zip(deps.cached.path, tree, UnpackLimits(
                    max_entries=1_000_000, max_entry_ratio=1e9, max_total_ratio=1e9))
            return deps, self.finish_chalice(run, ckey)
        finally:
            run.cancel()


def build_package(app_dir: Path, spec: AppSpec, out_zip: Path, *, cache: BuildCache,
                  progress: Progress | None = None, refresh: bool = False,
                  clock: Callable[[], float] = time.monotonic,
                  jail: Jail | None = None) -> BuildResult:
    """Build ``app_dir`` for ``spec`` into ``out_zip``; raise BuildError with a code.
    ``refresh`` resolves the dependencies again instead of using a remembered
    resolution; ``jail`` is where chalice imports the app."""
    start = clock()
    say: Progress = progress or (lambda _msg: None)
    app_dir = Path(app_dir)
    out_zip = Path(out_zip)
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="auto-lambda-build-") as tmp:
        b = _Builder(app_dir, spec, cache, Path(tmp), say, clock, jail)
        b.deps_step.refresh = refresh
        vendor_entries: list[Entry] = []
        if spec.chalice:  # refuse before spending time on dependencies
            # chalice's driver and the tool sandbox are loaded for chalice projects only
            from orchestrator.steps.build.chalice import check_chalice_target

            check_chalice_target(b.target)
            deps, app_entries = b.build_chalice()
            app_names = {e.name for e in app_entries if (app_dir / e.name).is_file()}
        else:
            app_entries, vendor_entries = b.plain_app()
            deps = b.dependencies()
            app_names = {e.name for e in app_entries}
        meta = deps.cached.meta if deps.cached is not None else {}
        dep_entries = deps.cached.entries() if deps.cached is not None else []
        installed = [(str(n), str(v)) for n, v in meta.get("installed", [])]
        entries, overridden = _merge(app_entries, vendor_entries, dep_entries)
        if uses_shim(spec):  # [secrets]: the shim resolves them before the app loads
            shim = SHIM_SOURCE.read_bytes()
            entries = [e for e in entries if e.name != SHIM_FILE]
            entries.append(Entry(SHIM_FILE, len(shim), data=shim))
        total = sum(e.size for e in entries)
        if total > LAMBDA_UNZIPPED_BYTES:
            from orchestrator.steps.build.install import too_large

            raise too_large(dict(_top_level_sizes(entries)), total)
        by_name = {e.name: e for e in entries}
        imports = check_imports(by_name, spec.handler, b.target, app_names=app_names,
                                on_note=say)
        say(f"writing {out_zip.name} ({len(entries)} files)")
        summary = write_zip(entries, out_zip)
    glibc = b.newest_glibc
    return BuildResult(
        zip_path=out_zip, sha256=summary.sha256, size=summary.size,
        unzipped_size=summary.unzipped_size, installed=installed, cache_hits=b.cache_hits,
        duration=clock() - start, upload_via_s3=summary.size > LAMBDA_DIRECT_UPLOAD_BYTES,
        runtime=spec.runtime, architecture=spec.architecture, files=summary.count,
        chalice=spec.chalice, newest_glibc=f"{glibc[0]}.{glibc[1]}" if glibc else None,
        overridden=overridden, largest=_top_level_sizes(entries), left_out=deps.left_out,
        installer=deps.installer, inputs=deps.inputs, resolution=deps.resolution,
        downloaded=deps.downloaded, imports=imports)
