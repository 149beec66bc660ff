"""Lock files an app may carry, read as "exactly these versions, for this target".

``uv.lock`` (walked from the project's own entry: its dependencies and the optional
groups the manifest names, each dependency's marker evaluated for the target),
``poetry.lock`` (walked from the roots ``pyproject.toml`` declares; a lock that records
``groups`` is read by its ``main`` group when there are none), ``Pipfile.lock`` (its
``default`` section) and ``pylock.toml`` (PEP 751: every package whose marker holds,
with the lock's default dependency groups). Each yields the pins that apply to the
target with the sha256 hashes the lock records for them; the wheels themselves are
then chosen for the target by the resolver and must match one of those hashes.

Only packages from a package index are accepted: git, path, directory and URL sources
are refused (``LockUnsupported``), except the project itself. Pure: reads the one lock
file it is given.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.codes import Code
from orchestrator.errors import BuildError
from orchestrator.steps.build.inputs import spec
from orchestrator.steps.build.inputs.reqfile import MAX_FILE_BYTES
from orchestrator.steps.build.names import canonical_name
from orchestrator.steps.build.target import Target
from orchestrator.types import JsonObject

MAX_LOCK_BYTES = 8 * MAX_FILE_BYTES


@dataclass(frozen=True)
class LockedPin:
    """One pin, its fields checked (``spec``): a PEP 508 name as the lock writes it, a
    normalised version, sha256 digests."""

    name: str
    version: str
    hashes: frozenset[str] = frozenset()

    @classmethod
    def checked(cls, file: str, raw_name: object, raw_version: object,
                raw_hashes: Iterable[object] = ()) -> tuple[str, LockedPin]:
        """(canonical name, pin) from a lock's fields, or LockInvalid naming the field."""
        where = f"{file}: package {spec.shown(raw_name)}"
        key = spec.name(raw_name, f"{file}: a package name", Code.LockInvalid)
        version = spec.version(raw_version, f"{where} version", Code.LockInvalid)
        hashes = frozenset(spec.sha256(h, f"{where} hash", Code.LockInvalid) for h in raw_hashes)
        return key, cls(str(raw_name), version, hashes)


@dataclass
class Lock:
    """The pins of one lock file that apply to the target."""

    file: str
    pins: dict[str, LockedPin] = field(default_factory=dict)   # by canonical name
    roots: list[str] | None = None   # the project's direct dependencies, when recorded


def _bad(file: str, what: str, code: Code = Code.LockInvalid) -> BuildError:
    hint = ("regenerate the lock file" if code == Code.LockInvalid else
            "depend on released versions from the package index, or put the code in vendor/")
    return BuildError(f"{file}: {what}", code=code, hint=hint)


class _Markers:
    """Marker evaluation for one target, parsed markers cached."""

    def __init__(self, target: Target, file: str) -> None:
        self.env: JsonObject = {**target.marker_environment(), "extra": ""}
        self.file = file
        self.cache: dict[str, bool] = {}

    def holds(self, marker: str | None, extras: Iterable[str] = (),
              lock_env: JsonObject | None = None) -> bool:
        if not marker:
            return True
        from packaging.markers import InvalidMarker, Marker, UndefinedEnvironmentName

        extras = sorted(extras)
        key = f"{marker}\0{','.join(extras)}\0{sorted((lock_env or {}).items())}"
        if key not in self.cache:
            try:
                if lock_env is not None:
                    value = Marker(marker).evaluate({**self.env, **lock_env},
                                                    context="lock_file")
                else:
                    value = any(Marker(marker).evaluate({**self.env, "extra": e})
                                for e in (extras or [""]))
            except (InvalidMarker, UndefinedEnvironmentName, ValueError) as exc:
                raise _bad(self.file, f"the marker {marker!r} cannot be read: {exc}") from exc
            self.cache[key] = value
        return self.cache[key]


def _sha256s(values: Iterable[Any]) -> list[str]:
    """The sha256 digests among ``algo:digest`` strings (other algorithms are not used)."""
    return [v.removeprefix("sha256:") for v in values
            if isinstance(v, str) and v.startswith("sha256:")]


def _load(path: Path) -> bytes:
    raw = path.read_bytes()
    if len(raw) > MAX_LOCK_BYTES:
        raise _bad(path.name, f"is {len(raw):,} bytes, over {MAX_LOCK_BYTES:,}")
    return raw


def _toml(path: Path) -> JsonObject:
    try:
        return tomllib.loads(_load(path).decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _bad(path.name, f"is not valid TOML: {exc}") from exc


# ---- uv.lock ----
def _uv_lock(path: Path, target: Target, optional: list[str]) -> Lock:
    data = _toml(path)
    marks = _Markers(target, path.name)
    packages = [p for p in data.get("package", []) if isinstance(p, dict)]
    by_name: dict[str, list[JsonObject]] = {}
    for pkg in packages:
        by_name.setdefault(canonical_name(str(pkg.get("name", ""))), []).append(pkg)
    project = [p for p in packages if isinstance(p.get("source"), dict)
               and (p["source"].get("virtual") == "." or p["source"].get("editable") == ".")]
    if not project:
        raise _bad(path.name, "has no entry for the project itself (source = \".\")")
    lock = Lock(path.name, roots=[])
    seen: set[tuple[str, str, tuple[str, ...]]] = set()

    def find(dep: JsonObject) -> JsonObject:
        name = canonical_name(str(dep.get("name", "")))
        candidates = by_name.get(name, [])
        if "version" in dep:
            candidates = [c for c in candidates if str(c.get("version")) == str(dep["version"])]
        if len(candidates) != 1:
            raise _bad(path.name, f"cannot tell which {name} a dependency means")
        return candidates[0]

    def visit(pkg: JsonObject, extras: tuple[str, ...], top: bool) -> None:
        key = (canonical_name(str(pkg["name"])), str(pkg.get("version")), extras)
        if key in seen:
            return
        seen.add(key)
        deps = list(pkg.get("dependencies", []))
        groups = pkg.get("optional-dependencies", {}) or {}
        for extra in extras:
            deps += groups.get(extra, [])
        for dep in deps:
            if not isinstance(dep, dict) or not marks.holds(dep.get("marker")):
                continue
            child = find(dep)
            if top:
                assert lock.roots is not None
                lock.roots.append(str(child["name"]))
            source = child.get("source") or {}
            if "registry" not in source:
                if source.get("virtual") or source.get("editable") == ".":
                    continue
                raise _bad(path.name, f"{child['name']} comes from {source}, not a package "
                                      "index", Code.LockUnsupported)
            name, pin = LockedPin.checked(path.name, child.get("name"), child.get("version"),
                                          _sha256s(w.get("hash") for w in child.get("wheels", [])
                                                   if isinstance(w, dict)))
            lock.pins[name] = pin
            visit(child, tuple(sorted(dep.get("extra", []) or [])), False)

    for pkg in project:
        visit(pkg, tuple(sorted(optional)), True)
    return lock


# ---- poetry.lock ----
def _poetry_lock(path: Path, target: Target, roots: list[str] | None,
                 optional: list[str]) -> Lock:
    data = _toml(path)
    marks = _Markers(target, path.name)
    packages = {canonical_name(str(p.get("name", ""))): p
                for p in data.get("package", []) if isinstance(p, dict)}
    lock = Lock(path.name, roots=list(roots) if roots is not None else None)

    def add(name: str, extras: tuple[str, ...], seen: set[tuple[str, tuple[str, ...]]]
            ) -> None:
        key = canonical_name(name)
        if (key, extras) in seen:
            return
        seen.add((key, extras))
        pkg = packages.get(key)
        if pkg is None:
            raise _bad(path.name, f"does not pin {name}, which the project depends on")
        source = pkg.get("source") or {}
        if source and source.get("type") not in (None, "legacy", "pypi"):
            raise _bad(path.name, f"{pkg['name']} comes from a {source.get('type')} source, "
                                  "not a package index", Code.LockUnsupported)
        files = [f for f in pkg.get("files", []) or [] if isinstance(f, dict)]
        _name, lock.pins[key] = LockedPin.checked(
            path.name, pkg.get("name"), pkg.get("version"),
            _sha256s(f.get("hash") for f in files if str(f.get("file", "")).endswith(".whl")))
        wanted = set()
        for extra in extras:
            for item in (pkg.get("extras") or {}).get(extra, []):
                wanted.add(canonical_name(str(item).split(" ")[0].split("(")[0].split("[")[0]))
        for dep_name, constraint in (pkg.get("dependencies") or {}).items():
            specs = constraint if isinstance(constraint, list) else [constraint]
            for one in specs:
                info = one if isinstance(one, dict) else {"version": one}
                if info.get("optional") and canonical_name(dep_name) not in wanted:
                    continue
                if not marks.holds(info.get("markers")):
                    continue
                add(dep_name, tuple(sorted(info.get("extras", []) or [])), seen)
                break

    seen: set[tuple[str, tuple[str, ...]]] = set()
    if roots:
        for name in roots:
            add(name, tuple(sorted(optional)), seen)
    else:
        for key, pkg in packages.items():
            groups = pkg.get("groups")
            if groups is None:
                raise _bad(path.name, "records no groups and pyproject.toml names no "
                                      "dependencies, so the project's packages are unknown")
            markers = pkg.get("markers")
            if isinstance(markers, dict):
                markers = markers.get("main")
            if "main" in groups and marks.holds(markers):
                add(key, (), seen)
    return lock


# ---- Pipfile.lock ----
def _pipfile_lock(path: Path, target: Target) -> Lock:
    try:
        data = json.loads(_load(path).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad(path.name, f"is not valid JSON: {exc}") from exc
    marks = _Markers(target, path.name)
    lock = Lock(path.name)
    default = data.get("default") if isinstance(data, dict) else None
    if not isinstance(default, dict):
        raise _bad(path.name, "has no \"default\" section")
    for name, info in default.items():
        if not isinstance(info, dict):
            continue
        if any(k in info for k in ("git", "path", "file", "editable")):
            raise _bad(path.name, f"{name} comes from a repository, a path or a URL",
                       Code.LockUnsupported)
        version = str(info.get("version", ""))
        if not version.startswith("=="):
            raise _bad(path.name, f"{name} is not pinned to one version ({version!r})")
        if not marks.holds(info.get("markers")):
            continue
        hashes = info.get("hashes", [])
        key, pin = LockedPin.checked(path.name, name, version[2:],
                                     _sha256s(hashes if isinstance(hashes, list) else []))
        lock.pins[key] = pin
    return lock


# ---- pylock.toml ----
def _pylock(path: Path, target: Target, optional: list[str]) -> Lock:
    data = _toml(path)
    marks = _Markers(target, path.name)
    if str(data.get("lock-version", "")).split(".")[0] != "1":
        raise _bad(path.name, f"has lock-version {data.get('lock-version')!r}, not 1.x")
    lock_env = {"extras": frozenset(optional),
                "dependency_groups": frozenset(data.get("default-groups", []) or [])}
    lock = Lock(path.name)
    for pkg in data.get("packages", []):
        if not isinstance(pkg, dict):
            continue
        name = str(pkg.get("name", ""))
        if not marks.holds(pkg.get("marker"), lock_env=lock_env):
            continue
        if any(k in pkg for k in ("vcs", "directory", "archive")):
            raise _bad(path.name, f"{name} comes from a repository, a folder or an archive",
                       Code.LockUnsupported)
        wheels = pkg.get("wheels") or []
        if any("url" not in w for w in wheels if isinstance(w, dict)):
            raise _bad(path.name, f"{name} names a wheel by a local path", Code.LockUnsupported)
        hashes = [h for h in ((w.get("hashes") or {}).get("sha256")
                              for w in wheels if isinstance(w, dict)) if h is not None]
        if not pkg.get("version"):
            raise _bad(path.name, f"{spec.shown(name)} has no version")
        key, pin = LockedPin.checked(path.name, pkg.get("name"), pkg.get("version"), hashes)
        lock.pins[key] = pin
    return lock


def read_lock(app_dir: Path, file: str, target: Target, *, roots: list[str] | None,
              optional: list[str]) -> Lock:
    """The pins of ``app_dir/file`` (one of LOCK_FILES) for ``target``."""
    path = app_dir / file
    readers = {"uv.lock": lambda: _uv_lock(path, target, optional),
               "poetry.lock": lambda: _poetry_lock(path, target, roots, optional),
               "Pipfile.lock": lambda: _pipfile_lock(path, target),
               "pylock.toml": lambda: _pylock(path, target, optional)}
    if file not in readers:
        raise ValueError(f"not a lock file: {file}")
    try:
        return readers[file]()
    except (AttributeError, TypeError, KeyError, ValueError, RecursionError) as exc:
        # A table where a string belongs, a list where a table does: the lock's shape
        # is not one its tool writes.
        raise _bad(file, f"has an entry of an unexpected type ({type(exc).__name__})") from None
