"""Combining the app's dependency declarations and checking that they agree (see the
package docstring for the rules). Pure: reads the app's files; neither resolves nor
downloads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.codes import Code
from orchestrator.errors import BuildError
from orchestrator.steps.build.inputs import LOCK_FILES, REQUIREMENTS
from orchestrator.steps.build.inputs.locks import Lock, LockedPin, read_lock
from orchestrator.steps.build.inputs.pyproject import read_pyproject
from orchestrator.steps.build.inputs.reqfile import (
    Line,
    RequirementsFiles,
    invalid,
    read_requirements,
)
from orchestrator.steps.build.names import canonical_name
from orchestrator.steps.build.target import Target


@dataclass
class DependencyInputs:
    """The app's dependency declarations for one target, checked for agreement."""

    requirements: list[Line] = field(default_factory=list)
    constraints: list[Line] = field(default_factory=list)
    locked: dict[str, LockedPin] | None = None
    lock_file: str | None = None
    files: list[str] = field(default_factory=list)
    declared: dict[str, list[Line]] = field(default_factory=dict)   # by canonical name
    require_hashes: bool = False
    prerelease: bool = False
    hashes: dict[str, frozenset[str]] = field(default_factory=dict)  # allowed, by name

    @property
    def empty(self) -> bool:
        return not self.requirements and not self.locked

    def sources(self) -> list[str]:
        return list(self.files)


def _conflict(message: str, details: dict[str, object] | None = None) -> BuildError:
    return BuildError(message, code=Code.DependencySourcesConflict,
                      hint="make the files agree (regenerate the lock, or fix the pin), "
                           "or remove the one that is out of date",
                      details=details or {})


def _applies(line: Line, target: Target) -> bool:
    from packaging.requirements import Requirement

    req = Requirement(line.text)
    return req.marker is None or req.marker.evaluate({**target.marker_environment(),
                                                      "extra": ""})


def _exact(line: Line) -> str | None:
    from packaging.requirements import Requirement

    specs = list(Requirement(line.text).specifier)
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        return specs[0].version
    return None


def _allows(line: Line, version: str) -> bool:
    from packaging.requirements import Requirement

    return Requirement(line.text).specifier.contains(version, prereleases=True)


def _merge_locks(locks: list[Lock]) -> Lock:
    first = locks[0]
    for other in locks[1:]:
        a = {k: p.version for k, p in first.pins.items()}
        b = {k: p.version for k, p in other.pins.items()}
        if a != b:
            diff = sorted(set(a.items()) ^ set(b.items()))
            name = diff[0][0]
            raise _conflict(
                f"{first.file} and {other.file} pin different packages: {first.file} has "
                f"{name} {a.get(name, '(none)')}, {other.file} has {b.get(name, '(none)')}",
                {"files": [first.file, other.file], "package": name})
        for key, pin in other.pins.items():
            mine = first.pins[key]
            first.pins[key] = LockedPin(mine.name, mine.version, mine.hashes | pin.hashes)
    return first


def _check_against_lock(declared: dict[str, list[Line]], lock: Lock) -> None:
    for key, lines in declared.items():
        pin = lock.pins.get(key)
        for line in lines:
            if pin is None:
                raise _conflict(f"{line.source} asks for {line.text}, which {lock.file} does "
                                "not pin", {"package": key, "lock": lock.file})
            if not _allows(line, pin.version):
                raise _conflict(f"{line.source} asks for {line.text}, but {lock.file} pins "
                                f"{pin.name} {pin.version}",
                                {"package": key, "lock": lock.file, "locked": pin.version})


def _check_pins_agree(declared: dict[str, list[Line]]) -> None:
    for lines in declared.values():
        for a in lines:
            version = _exact(a)
            if version is None:
                continue
            for b in lines:
                if b is not a and not _allows(b, version):
                    raise _conflict(f"{a.source} pins {a.text}, but {b.source} asks for "
                                    f"{b.text}", {"sources": [a.source, b.source]})


def _allowed_hashes(lines: list[Line], lock_pin: LockedPin | None) -> frozenset[str] | None:
    sets = [line.hashes for line in lines if line.hashes]
    if lock_pin is not None and lock_pin.hashes:
        sets.append(lock_pin.hashes)
    if not sets:
        return None
    allowed = frozenset.intersection(*sets)
    if not allowed:
        raise _conflict(f"{lines[0].source if lines else 'the lock'} and the other sources "
                        f"allow no common hash for {lines[0].text if lines else ''}")
    return allowed


def read_inputs(app_dir: Path, target: Target, *, requirements: list[str] | None = None,
                optional: list[str] | None = None) -> DependencyInputs:
    """Gather and check the app's dependency declarations for ``target``.

    ``requirements``: the requirements files to read (default ``requirements.txt`` when
    present); ``optional``: optional dependency groups to include.
    """
    app_dir = Path(app_dir)
    optional = list(optional or [])
    out = DependencyInputs()
    req = RequirementsFiles()
    for rel in (requirements if requirements is not None else
                ([REQUIREMENTS] if (app_dir / REQUIREMENTS).is_file() else [])):
        read_requirements(app_dir, rel, req, where="[build] requirements"
                          if requirements is not None else "")
    project = read_pyproject(app_dir, optional)
    declared_lines = list(req.requirements) + (project.requirements if project else [])
    out.files = req.files + (project.files if project else [])
    out.require_hashes, out.prerelease = req.require_hashes, req.prerelease
    out.constraints = [c for c in req.constraints if _applies(c, target)]

    from packaging.requirements import Requirement

    for line in declared_lines:
        if _applies(line, target):
            out.declared.setdefault(canonical_name(Requirement(line.text).name),
                                    []).append(line)
    locks = [read_lock(app_dir, name, target, roots=project.roots if project and
                       project.declared else None, optional=optional)
             for name in LOCK_FILES if (app_dir / name).is_file()]
    if optional:
        known = set(project.groups if project else [])
        if not known and not locks:
            raise invalid(f"[build] optional_dependencies names {', '.join(optional)}, but "
                          "the app defines no optional dependency groups",
                          "define them in [project.optional-dependencies] of pyproject.toml")
        missing = [g for g in optional if known and g not in known]
        if missing:
            raise invalid(f"[build] optional_dependencies names {', '.join(missing)}, which "
                          f"pyproject.toml does not define (it has: "
                          f"{', '.join(sorted(known)) or 'none'})",
                          "fix the group name in auto-lambda.toml")
    if locks:
        lock = _merge_locks(locks)
        out.files += [lk.file for lk in locks]
        _check_against_lock(out.declared, lock)
        out.locked, out.lock_file = lock.pins, lock.file
        for key, pin in lock.pins.items():
            allowed = _allowed_hashes(out.declared.get(key, []), pin)
            if allowed is not None:
                out.hashes[key] = allowed
        return out
    _check_pins_agree(out.declared)
    out.requirements = [line for lines in out.declared.values() for line in lines]
    for key, lines in out.declared.items():
        allowed = _allowed_hashes(lines, None)
        if allowed is not None:
            out.hashes[key] = allowed
    if out.require_hashes:
        for line in out.requirements:
            if _exact(line) is None or not line.hashes:
                raise BuildError(
                    f"{line.source}: {line.text} has no exact == pin with --hash, which "
                    "hash-checking mode needs for every requirement", code=Code.HashesRequired,
                    hint="pin every requirement with == and its --hash=sha256:... "
                         "(uv pip compile --generate-hashes writes them)")
    return out
