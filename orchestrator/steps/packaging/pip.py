"""The fallback installer: pip cross-installing requirement lines for a Lambda target.

uv is the installer (``resolve`` and ``install``); pip is used only when asked
(``AUTO_LAMBDA_INSTALLER=pip``) or when no uv binary is found. pip runs as a subprocess
of the current interpreter with a scrubbed environment and a timeout, wheels only
(``--only-binary=:all:``, so no setup.py of an uploaded app's dependency ever runs
here), for the target's Python version, implementation and manylinux platform tags,
without byte-compiling (the .pyc files of the build host's interpreter are useless on
Lambda and double the install time). Requirement lines arrive already checked by
``inputs`` (``--hash`` options included, which put pip in hash-checking mode).

Known limit, and why uv is preferred: the pip that comes with Python 3.11 judges a
wheel's Requires-Python by the worker's interpreter, not ``--python-version``, so for a
newer runtime it may install an older release than the newest that fits. pip's failures
are turned into error codes: ``NoCompatibleWheel`` names the package, the version asked
for and the tags tried.
"""

from __future__ import annotations

import email.parser
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from orchestrator.errors import BuildError, TransientError
from orchestrator.steps.packaging.sandbox import run_tool, scrubbed_env
from orchestrator.steps.packaging.target import Target

PIP_TIMEOUT = 600.0
_NOT_FOUND_RE = re.compile(
    r"Could not find a version that satisfies the requirement (?P<req>\S+)"
    r"(?: \(from versions: (?P<versions>[^)]*)\))?")
_NO_MATCH_RE = re.compile(r"No matching distribution found for (?P<req>\S+)")
_NETWORK_MARKERS = ("NewConnectionError", "Temporary failure in name resolution",
                    "Max retries exceeded", "ConnectTimeoutError", "Network is unreachable",
                    "ReadTimeoutError", "Connection reset by peer")


@dataclass(frozen=True)
class PipReport:
    installed: list[tuple[str, str]]
    duration: float
    command: list[str]


def pip_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("pip")
    except metadata.PackageNotFoundError:
        return "unknown"


def _dist_info_name_version(dist_info: Path) -> tuple[str, str] | None:
    meta = dist_info / "METADATA"
    if not meta.is_file():
        return None
    headers = email.parser.Parser().parsestr(meta.read_text("utf-8", errors="replace"),
                                             headersonly=True)
    name, version = headers.get("Name"), headers.get("Version")
    if not name or not version:
        return None
    return str(name), str(version)


def installed_distributions(site_dir: Path) -> list[tuple[str, str]]:
    """(name, version) of every ``*.dist-info`` directly under ``site_dir``, sorted."""
    found = []
    for dist_info in sorted(Path(site_dir).glob("*.dist-info")):
        pair = _dist_info_name_version(dist_info)
        if pair is not None:
            found.append(pair)
    return sorted(found, key=lambda p: p[0].lower())


def pip_command(requirements_file: Path, target_dir: Path, target: Target,
                cache_dir: Path | None = None, python: str = sys.executable,
                constraints_file: Path | None = None) -> list[str]:
    # --no-warn-conflicts: the check reads the metadata of every distribution installed
    # where pip runs (the worker's own environment, nothing to do with the target): ~0.3 s.
    cmd = [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
           "--progress-bar", "off", "--only-binary=:all:", "--implementation", "cp",
           "--python-version", target.python_version, "--target", str(target_dir),
           "--no-compile", "--no-warn-conflicts", "--no-warn-script-location"]
    for tag in target.platform_tags():
        cmd += ["--platform", tag]
    if cache_dir is not None:
        cmd += ["--cache-dir", str(cache_dir)]
    if constraints_file is not None:
        cmd += ["-c", str(constraints_file)]
    cmd += ["-r", str(requirements_file)]
    return cmd


def _explain_failure(output: str, requirements: list[str], target: Target) -> BuildError:
    tags = target.platform_tags()
    tag_text = f"{tags[0]} … {tags[-2]}, {tags[-1]}" if len(tags) > 2 else ", ".join(tags)
    match = _NOT_FOUND_RE.search(output) or _NO_MATCH_RE.search(output)
    if match is not None:
        spec = match.group("req")
        try:
            name = Requirement(spec).name
        except InvalidRequirement:
            name = spec
        versions = match.groupdict().get("versions")
        known = ("no release of it has a wheel for this target" if versions in (None, "none")
                 else f"wheels exist only for other targets or versions (seen: {versions[:200]})")
        return BuildError(
            f"no compatible wheel for '{spec}' on {target.runtime} {target.architecture} "
            f"(cp{target.python_nodot}, {target.os_name} glibc {target.glibc_text}; "
            f"platform tags tried: {tag_text}): {known}",
            code="NoCompatibleWheel",
            hint=f"pick a version of {name} that publishes a wheel for this runtime and "
                 "architecture, change the runtime, or build it yourself and put it in vendor/",
            details={"package": name, "requirement": spec, "platform_tags": tags,
                     "python_version": target.python_version})
    tail = "\n".join(line for line in output.strip().splitlines()[-12:])
    return BuildError(f"pip could not install {', '.join(requirements)}: {tail}",
                      code="DependencyInstallFailed",
                      hint="check requirements.txt for conflicting or misspelt packages")


def pip_install(requirements: list[str], target_dir: Path, target: Target, *,
                constraints: list[str] | None = None,
                cache_dir: Path | None = None, timeout: float = PIP_TIMEOUT,
                progress: Callable[[str], None] | None = None,
                clock: Callable[[], float] = time.monotonic) -> PipReport:
    """Install ``requirements`` into ``target_dir`` for ``target``; raise on failure."""
    target_dir.mkdir(parents=True, exist_ok=True)
    req_file = target_dir.parent / f"{target_dir.name}.requirements.txt"
    req_file.write_text("\n".join(requirements) + "\n", encoding="utf-8")
    cons_file = None
    if constraints:
        cons_file = target_dir.parent / f"{target_dir.name}.constraints.txt"
        cons_file.write_text("\n".join(constraints) + "\n", encoding="utf-8")
    cmd = pip_command(req_file, target_dir, target, cache_dir, constraints_file=cons_file)
    if progress:
        progress(f"pip install {' '.join(requirements)} for {target.runtime}/{target.architecture}")
    start = clock()
    result = run_tool(cmd, cwd=target_dir.parent, env=scrubbed_env(), timeout=timeout,
                      what="pip install", tick=progress)
    duration = clock() - start
    req_file.unlink(missing_ok=True)
    if result.returncode != 0:
        output = result.output
        if any(marker in output for marker in _NETWORK_MARKERS):
            raise TransientError(f"pip could not reach the package index: "
                                 f"{output.strip().splitlines()[-1]}", code="NetworkError")
        raise _explain_failure(output, requirements, target)
    return PipReport(installed_distributions(target_dir), duration, cmd)
