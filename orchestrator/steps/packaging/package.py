"""build_package: turn an unpacked app folder and its AppSpec into a Lambda zip.

Stages, in order: read requirements.txt; get the dependency tree from the cache or
cross-install it with pip (then check its ABI and cache it as a ready-made zip);
collect the app's files (``vendor/`` contents go to the package root, as chalice does;
``.chalice/deployments`` and ``__pycache__`` are left out) or, for a chalice project,
run ``chalice package`` (its output is cached by a hash of the project's files; on a
miss chalice is started before pip, so its own start-up overlaps the install, and it
imports the app only once the dependency tree is complete and cached);
check every native file in the app part; refuse packages over Lambda's 250 MB
unzipped; write one deterministic zip. Precedence on a clash: app files, then vendor/,
then dependencies.

Nothing here talks to AWS except through the cache's optional remote, and nothing of
the app runs here except chalice's import of ``app.py``, inside the jail.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

from orchestrator import __version__
from orchestrator.errors import BuildError
from orchestrator.limits import LAMBDA_DIRECT_UPLOAD_BYTES, LAMBDA_UNZIPPED_BYTES
from orchestrator.steps.jail import Jail
from orchestrator.steps.manifest import AppSpec
from orchestrator.steps.packaging import chalice as chalice_build
from orchestrator.steps.packaging.abi import AbiReport, scan_tree
from orchestrator.steps.packaging.cache import DEPS, BuildCache, CachedZip, cache_key
from orchestrator.steps.packaging.pip import parse_requirements, pip_install
from orchestrator.steps.packaging.target import Target
from orchestrator.steps.packaging.zipdet import Entry, dir_entries, write_zip
from orchestrator.steps.zipsafe import UnpackLimits, unpack_zip

BUILDER_VERSION = f"auto-lambda-{__version__}/build-1"
REQUIREMENTS = "requirements.txt"
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

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["zip_path"] = str(self.zip_path)
        out["installed"] = [{"name": n, "version": v} for n, v in self.installed]
        out["largest"] = [{"path": p, "bytes": b} for p, b in self.largest]
        return out

    to_json = to_dict

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> BuildResult:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        values["zip_path"] = Path(str(raw.get("zip_path") or ""))
        values["installed"] = [(str(i["name"]), str(i["version"]))
                               for i in raw.get("installed") or ()]
        values["largest"] = [(str(i["path"]), int(i["bytes"])) for i in raw.get("largest") or ()]
        return cls(**values)


def _pip_version() -> str:
    try:
        return metadata.version("pip")
    except metadata.PackageNotFoundError:
        return "unknown"


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
                 progress: Progress, jail: Jail | None = None) -> None:
        self.jail = jail
        self.app_dir = app_dir
        self.spec = spec
        self.cache = cache
        self.work = work
        self.say = progress
        self.target = Target(spec.runtime, spec.architecture)
        self.cache_hits: list[str] = []
        self.newest_glibc: tuple[int, int] | None = None

    def requirements(self) -> list[str]:
        path = self.app_dir / REQUIREMENTS
        if not path.is_file():
            return []
        text = path.read_bytes().decode("utf-8", errors="replace")
        return parse_requirements(text)

    def deps_key(self, requirements: list[str]) -> str | None:
        if not requirements:
            return None
        t = self.target
        return cache_key(requirements=requirements, runtime=t.runtime, arch=t.architecture,
                         tags=t.platform_tags(), builder=BUILDER_VERSION, pip=_pip_version())

    def cached_dependencies(self, key: str | None) -> CachedZip | None:
        if key is None:
            return None
        cached = self.cache.get(DEPS, key)
        if cached is not None:
            self.cache_hits.append(f"dependencies ({cached.source}) {key[:12]}")
            self.say(f"dependencies from cache ({cached.source}): {key[:12]}")
            self._note_glibc(cached.meta.get("newest_glibc"))
        return cached

    def install_dependencies(self, requirements: list[str], key: str) -> CachedZip:
        """Cross-install into ``work/deps``, check the native code, cache it as a zip."""
        t = self.target
        site = self.work / "deps"
        report = pip_install(requirements, site, t, cache_dir=self.cache.pip_cache_dir,
                             progress=self.say)
        self.say(f"installed {len(report.installed)} distributions in {report.duration:.1f} s; "
                 "checking native code")
        abi: AbiReport = scan_tree(site, t)
        entries = dir_entries(site, skip=lambda rel: rel.split("/")[0] == "bin")
        self.say("caching the dependency tree")
        meta = {"installed": report.installed, **abi.to_dict(), "requirements": requirements,
                "runtime": t.runtime, "architecture": t.architecture}
        cached = self.cache.put(DEPS, key, entries, meta)
        self._note_glibc(meta.get("newest_glibc"))
        return cached

    def _note_glibc(self, text: Any) -> None:
        if isinstance(text, str) and "." in text:
            major, minor = (int(x) for x in text.split(".")[:2])
            if self.newest_glibc is None or (major, minor) > self.newest_glibc:
                self.newest_glibc = (major, minor)

    def _scan_app(self, root: Path, skip: Callable[[str], bool] | None) -> None:
        report = scan_tree(root, self.target, skip=skip)
        if report.newest_glibc:
            self._note_glibc("%d.%d" % report.newest_glibc)  # noqa: UP031

    def plain_app(self) -> tuple[list[Entry], list[Entry]]:
        self._scan_app(self.app_dir, lambda rel: _skip_app_file(rel) and
                       not rel.startswith("vendor/"))
        app = dir_entries(self.app_dir, skip=_skip_app_file)
        vendor_dir = self.app_dir / "vendor"
        vendor = dir_entries(vendor_dir) if vendor_dir.is_dir() else []
        return app, vendor

    def chalice_key(self, deps_key: str | None) -> str:
        skip: Callable[[str], bool] = lambda rel: (rel.startswith(".chalice/deployments/")  # noqa: E731
                                                   or "__pycache__" in rel.split("/"))
        return cache_key(project=_tree_digest(self.app_dir, skip), runtime=self.target.runtime,
                         arch=self.target.architecture, chalice=chalice_build.chalice_version(),
                         deps=deps_key, builder=BUILDER_VERSION)

    def cached_chalice(self, key: str) -> list[Entry] | None:
        cached = self.cache.get("chalice", key)
        if cached is None:
            return None
        self.cache_hits.append(f"chalice package ({cached.source}) {key[:12]}")
        self.say("chalice package output from cache")
        self._note_glibc(cached.meta.get("newest_glibc"))
        return cached.entries()

    def finish_chalice(self, run: chalice_build.ChaliceRun, key: str) -> list[Entry]:
        self.say("running chalice package")
        out = run.finish(progress=self.say)
        report = scan_tree(out, self.target)
        glibc = "%d.%d" % report.newest_glibc if report.newest_glibc else None  # noqa: UP031
        self._note_glibc(glibc)
        cached = self.cache.put("chalice", key, dir_entries(out), {"newest_glibc": glibc})
        return cached.entries()

    def build_chalice(self, requirements: list[str]) -> tuple[CachedZip | None, list[Entry]]:
        """Dependencies and chalice's output. On a miss chalice starts first and imports
        its own code while pip installs; it goes on to the app once the dependency tree
        is complete and cached."""
        dkey = self.deps_key(requirements)
        deps = self.cached_dependencies(dkey)
        ckey = self.chalice_key(dkey)
        entries = self.cached_chalice(ckey)
        if entries is not None:
            if dkey is not None and deps is None:
                deps = self.install_dependencies(requirements, dkey)
            return deps, entries
        tree = None if dkey is None else self.work / ("deps" if deps is None else "deps-import")
        run = chalice_build.start_chalice(self.app_dir, self.work, self.target, tree,
                                          jail=self.jail)
        try:
            if dkey is not None and deps is None:
                deps = self.install_dependencies(requirements, dkey)
            elif deps is not None and tree is not None:
                unpack_zip(deps.path, tree, UnpackLimits(max_entries=1_000_000,
                                                         max_entry_ratio=1e9,
                                                         max_total_ratio=1e9))
            return deps, self.finish_chalice(run, ckey)
        finally:
            run.cancel()


def _too_large(entries: list[Entry], total: int) -> BuildError:
    top = _top_level_sizes(entries)
    listing = ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in top)
    return BuildError(
        f"the package unzips to {total:,} bytes, over Lambda's {LAMBDA_UNZIPPED_BYTES:,} "
        f"(250 MB); largest: {listing}",
        code="PackageTooLarge",
        hint="drop dependencies or files the function does not need, or use a container image",
        details={"unzipped_size": total, "largest": [{"path": n, "bytes": s} for n, s in top]})


def build_package(app_dir: Path, spec: AppSpec, out_zip: Path, *, cache: BuildCache,
                  progress: Progress | None = None,
                  clock: Callable[[], float] = time.monotonic,
                  jail: Jail | None = None) -> BuildResult:
    """Build ``app_dir`` for ``spec`` into ``out_zip``; raise BuildError with a code."""
    start = clock()
    say: Progress = progress or (lambda _msg: None)
    app_dir = Path(app_dir)
    out_zip = Path(out_zip)
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="auto-lambda-build-") as tmp:
        b = _Builder(app_dir, spec, cache, Path(tmp), say, jail)
        if spec.chalice:  # refuse before spending time on pip
            chalice_build.check_chalice_target(b.target)
        requirements = b.requirements()
        vendor_entries: list[Entry] = []
        if spec.chalice:
            deps, app_entries = b.build_chalice(requirements)
        else:
            key = b.deps_key(requirements)
            deps = b.cached_dependencies(key)
            if key is not None and deps is None:
                deps = b.install_dependencies(requirements, key)
            app_entries, vendor_entries = b.plain_app()
        dep_entries = deps.entries() if deps is not None else []
        installed = [(str(n), str(v)) for n, v in deps.meta.get("installed", [])] if deps else []
        entries, overridden = _merge(app_entries, vendor_entries, dep_entries)
        total = sum(e.size for e in entries)
        if total > LAMBDA_UNZIPPED_BYTES:
            raise _too_large(entries, total)
        say(f"writing {out_zip.name} ({len(entries)} files)")
        summary = write_zip(entries, out_zip)
    glibc = b.newest_glibc
    return BuildResult(
        zip_path=out_zip, sha256=summary.sha256, size=summary.size,
        unzipped_size=summary.unzipped_size, installed=installed, cache_hits=b.cache_hits,
        duration=clock() - start, upload_via_s3=summary.size > LAMBDA_DIRECT_UPLOAD_BYTES,
        runtime=spec.runtime, architecture=spec.architecture, files=summary.count,
        chalice=spec.chalice, newest_glibc=f"{glibc[0]}.{glibc[1]}" if glibc else None,
        overridden=overridden, largest=_top_level_sizes(entries))
