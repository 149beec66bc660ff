"""Dependencies declared in an app's ``pyproject.toml``.

PEP 621: ``[project] dependencies`` and the ``[project.optional-dependencies]`` groups
the manifest names (``[build] optional_dependencies``). When ``dependencies`` is listed
in ``[project] dynamic``, setuptools' ``[tool.setuptools.dynamic] dependencies = { file
= [...] }`` files are read as requirements files (inside the zip only). Poetry projects
without ``[project]`` declare theirs in ``[tool.poetry.dependencies]``: their caret,
tilde and wildcard constraints are translated to PEP 440 (git, path and URL
dependencies are refused; ``python`` is not a package). ``[tool.poetry.extras]`` are the
optional groups there.

Pure: reads ``pyproject.toml`` (and the files it names) under the app folder.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.steps.build.inputs import PYPROJECT
from orchestrator.types import JsonObject
from orchestrator.steps.build.inputs.reqfile import (
    MAX_FILE_BYTES,
    Line,
    RequirementsFiles,
    check_requirement,
    invalid,
    read_requirements,
)


@dataclass
class Pyproject:
    """What pyproject.toml declares for the build."""

    requirements: list[Line] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)   # names of its direct dependencies
    files: list[str] = field(default_factory=list)
    declared: bool = False   # it declares dependencies (even an empty list)
    groups: list[str] = field(default_factory=list)  # optional groups it defines


def load_toml(path: Path, rel: str) -> JsonObject:
    raw = path.read_bytes()
    if len(raw) > MAX_FILE_BYTES:
        raise invalid(f"{rel} is {len(raw):,} bytes, over {MAX_FILE_BYTES:,}",
                      "keep the project file small")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise invalid(f"{rel} is not valid TOML: {exc}", "fix its syntax") from exc


def _str_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(f"{where} must be a list of strings", 'for example ["requests>=2"]')
    return list(value)


def _pep508(text: str, where: str) -> Line:
    return check_requirement(text, where)


def _caret(version: str) -> str:
    given = [int(p) if p.isdigit() else 0 for p in version.split(".")]
    idx = next((i for i, p in enumerate(given) if p != 0), len(given) - 1)
    upper = [*given[:idx], given[idx] + 1]
    return f">={version},<{'.'.join(str(x) for x in upper)}"


def _tilde(version: str) -> str:
    parts = version.split(".")
    if len(parts) == 1:
        return f">={version},<{int(parts[0]) + 1}"
    return f">={version},<{parts[0]}.{int(parts[1]) + 1}"


def poetry_constraint(text: str, where: str) -> str:
    """A Poetry version constraint as a PEP 440 specifier (``^1.2`` → ``>=1.2,<2.0``)."""
    out: list[str] = []
    text = text.strip()
    if text in ("", "*"):
        return ""
    if "||" in text:
        raise invalid(f"{where}: the constraint {text!r} (an 'or') cannot be translated",
                      "use a single range, or add a poetry.lock")
    for part in re.split(r"\s*,\s*|\s+(?=[<>=!^~])", text):
        part = part.strip()
        if not part:
            continue
        if part.startswith("^"):
            out.append(_caret(part[1:].strip()))
        elif part.startswith("~") and not part.startswith("~="):
            out.append(_tilde(part[1:].strip()))
        elif part[0].isdigit():
            out.append(f"=={part}")
        else:
            out.append(part)
    return ",".join(out)


def _poetry_line(name: str, spec: Any, where: str) -> Line | None:
    extras = ""
    markers: list[str] = []
    if isinstance(spec, list):
        raise invalid(f"{where}: {name} has several alternative constraints",
                      "add a poetry.lock, which pins one version")
    if isinstance(spec, dict):
        if any(k in spec for k in ("git", "path", "url", "file")):
            raise invalid(f"{where}: {name} comes from a git repository, a path or a URL",
                          "depend on a released version, or put the code in vendor/")
        if spec.get("optional"):
            return None
        if spec.get("extras"):
            extras = "[" + ",".join(spec["extras"]) + "]"
        if spec.get("markers"):
            markers.append(f"({spec['markers']})")
        if spec.get("python"):
            py = poetry_constraint(str(spec["python"]), where)
            markers += [f"python_version {op} '{v}'"
                        for op, v in re.findall(r"(>=|<=|==|!=|<|>)\s*([0-9.*]+)", py)]
        version = str(spec.get("version", "*"))
    else:
        version = str(spec)
    text = f"{name}{extras}{poetry_constraint(version, where)}"
    if markers:
        text += "; " + " and ".join(markers)
    return _pep508(text, where)


def read_pyproject(app_dir: Path, optional: list[str]) -> Pyproject | None:
    """Dependencies from ``pyproject.toml`` (None when there is no such file)."""
    path = app_dir / PYPROJECT
    if not path.is_file():
        return None
    data = load_toml(path, PYPROJECT)
    out = Pyproject(files=[PYPROJECT])
    project = data.get("project")
    tool: JsonObject = data["tool"] if isinstance(data.get("tool"), dict) else {}
    poetry: JsonObject | None = (tool["poetry"] if isinstance(tool.get("poetry"), dict)
                                     else None)
    if isinstance(project, dict) and ("dependencies" in project
                                      or "dependencies" in project.get("dynamic", [])):
        out.declared = True
        for text in _str_list(project.get("dependencies", []), "[project] dependencies"):
            out.requirements.append(_pep508(text, f"{PYPROJECT} [project] dependencies"))
        groups = project.get("optional-dependencies", {}) or {}
        if not isinstance(groups, dict):
            raise invalid("[project.optional-dependencies] must be a table",
                          'for example api = ["fastapi"]')
        out.groups = sorted(groups)
        for group in optional:
            if group not in groups:
                continue
            where = f"{PYPROJECT} [project.optional-dependencies] {group}"
            for text in _str_list(groups[group], where):
                out.requirements.append(_pep508(text, where))
        if "dependencies" in project.get("dynamic", []):
            dyn = (tool.get("setuptools") or {}).get("dynamic", {}).get("dependencies")
            files = dyn.get("file") if isinstance(dyn, dict) else None
            if isinstance(files, str):
                files = [files]
            if files:
                req = RequirementsFiles()
                for rel in _str_list(files, "[tool.setuptools.dynamic] dependencies"):
                    read_requirements(app_dir, rel, req, where=PYPROJECT)
                out.requirements += req.requirements
                out.files += req.files
    elif poetry is not None and isinstance(poetry.get("dependencies"), dict):
        out.declared = True
        deps = poetry["dependencies"]
        for name, spec in deps.items():
            if name.lower() == "python":
                continue
            line = _poetry_line(name, spec, f"{PYPROJECT} [tool.poetry.dependencies] {name}")
            if line is not None:
                out.requirements.append(line)
        extras = poetry.get("extras", {}) or {}
        out.groups = sorted(extras) if isinstance(extras, dict) else []
        for group in optional:
            for name in (extras.get(group, []) if isinstance(extras, dict) else []):
                spec = deps.get(name, "*")
                if isinstance(spec, dict):
                    spec = {**spec, "optional": False}
                line = _poetry_line(name, spec, f"{PYPROJECT} [tool.poetry.extras] {group}")
                if line is not None:
                    out.requirements.append(line)
    from packaging.requirements import Requirement

    out.roots = [Requirement(line.text).name for line in out.requirements]
    return out
