"""Choosing the distributions to install for a Lambda target: uv resolves, for the
target's Python version and glibc (``uv pip compile --python-version 3.12
--python-platform x86_64-manylinux_2_34 --only-binary :all:``), never the worker's
interpreter, and writes a PEP 751 ``pylock.toml`` naming each package's version and the
wheels that fit, with their URLs and sha256. The best-fitting wheel of each is picked
here (the most specific Python/ABI tag, then the newest manylinux that the runtime's
glibc runs).

uv's input is generated from checked requirement data (``inputs.spec``): one canonical
``name[extras]specifiers`` line each, never text from the upload. uv runs in its own
jail (``uvjail``: no credentials, no worker files, the index only, through the index
proxy), with no configuration files (``--no-config``) and never a Python download.
Its answer is hostile data: read without following links under a size cap, every
name, version, hash and file name checked, and every wheel URL on the configured
index (``IndexConfig.allows_url``).
Failures become codes: ``NoCompatibleWheel`` (no release has a wheel for the target),
``PackageNotFound``, ``DependencyConflict``, ``IndexHostRefused`` (the index sent uv
elsewhere), ``NetworkError`` (transient).

Nothing here downloads wheels or reads the app's files.
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.codes import Code
from orchestrator.errors import BuildError, TransientError
from orchestrator.steps.jail import Jail
from orchestrator.steps.jail.files import read_beneath
from orchestrator.steps.build.download import WheelRef
from orchestrator.steps.build.index import IndexConfig
from orchestrator.steps.build.inputs import spec
from orchestrator.steps.build.inputs.spec import Requirement
from orchestrator.steps.build.names import canonical_name
from orchestrator.steps.build.target import Target
from orchestrator.steps.build.uvjail import run_uv

RESOLVE_TIMEOUT = 300.0
MAX_RESOLUTION_BYTES = 8 * 1024 * 1024
_WHEEL_FILE_RE = re.compile(r"^[A-Za-z0-9_.+!-]+\.whl$")
_WHEEL_RE = re.compile(r"^(?P<name>[^-]+)-(?P<ver>[^-]+)(?:-\d[^-]*)?-(?P<py>[^-]+)-"
                       r"(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$")
_NETWORK_RE = re.compile(r"Failed to fetch|error sending request|dns error|tcp connect error|"
                         r"Connection refused|timed out|Network is unreachable", re.I)


@dataclass(frozen=True)
class Pin:
    """One distribution of a resolution and the wheel chosen for the target."""

    name: str
    version: str
    wheel: WheelRef
    # Every wheel of this version that fits the target, best first (``wheel`` is the
    # first): hash-pinned inputs may allow only some of them.
    candidates: tuple[WheelRef, ...] = ()

    @property
    def key(self) -> str:
        return canonical_name(self.name)


def wheel_rank(filename: str, target: Target) -> tuple[int, int] | None:
    """How well a wheel file fits ``target`` (higher is better), None when it does not."""
    m = _WHEEL_RE.match(filename)
    if m is None:
        return None
    best: tuple[int, int] | None = None
    for py in m.group("py").split("."):
        for abi in m.group("abi").split("."):
            if not target.python_fits(py, abi):
                continue
            abi_rank = 3 if abi.startswith("cp") else 2 if abi == "abi3" else 1
            for plat in m.group("plat").split("."):
                if not target.platform_fits(plat):
                    continue
                minor = 0
                if plat.startswith("manylinux_2_"):
                    minor = int(plat.split("_")[2]) if plat.split("_")[2].isdigit() else 0
                elif plat.startswith("manylinux"):
                    minor = {"manylinux1": 5, "manylinux2010": 12,
                             "manylinux2014": 17}.get(plat.rsplit("_", 1)[0], 0)
                rank = (abi_rank, minor)
                best = rank if best is None or rank > best else best
    return best


@functools.cache
def uv_version(uv: str) -> str:
    """``uv 0.13.9`` for the binary at ``uv`` (part of every resolution's cache key)."""
    try:
        done = subprocess.run([uv, "--version"], capture_output=True, text=True, timeout=30,
                              check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise BuildError(f"the installer {uv} does not start: {exc}", code=Code.InstallerMissing,
                         hint="reinstall auto-lambda (it depends on uv), or set "
                              "AUTO_LAMBDA_UV to a uv binary") from exc
    text = done.stdout.strip().split(" (")[0]
    if done.returncode != 0 or not text.startswith("uv "):
        raise BuildError(f"{uv} --version answered {done.stdout + done.stderr!r}",
                         code=Code.InstallerMissing, hint="set AUTO_LAMBDA_UV to a uv binary")
    return text


def uv_args(requirements: Path, out: Path, target: Target, *,
            constraints: Path | None = None, no_deps: bool = False,
            prerelease: bool = False, cache_dir: Path | None = None) -> list[str]:
    """uv's arguments (after the binary): every path one auto-lambda made."""
    cmd = ["pip", "compile", str(requirements), "--format", "pylock.toml", "-o", str(out),
           "--python-version", target.python_version, "--python-platform", target.uv_platform,
           "--only-binary", ":all:", "--no-config", "--no-python-downloads",
           # an interpreter is only needed to build sdists, which --only-binary rules out;
           # naming one spares uv its search of PATH and pyenv shims (~0.5 s here)
           "--python", sys.executable, "--quiet", "--no-header", "--color", "never"]
    if constraints is not None:
        cmd += ["--constraints", str(constraints)]
    if no_deps:
        cmd.append("--no-deps")
    if prerelease:
        cmd += ["--prerelease", "allow"]
    cmd += ["--cache-dir", str(cache_dir)] if cache_dir is not None else ["--no-cache"]
    return cmd


def _failure(output: str, target: Target, requirements: list[str]) -> Exception:
    text = output.strip()
    tags = f"cp{target.python_nodot}, {target.uv_platform}, glibc {target.glibc_text}"
    if "No solution found" not in text and _NETWORK_RE.search(text):
        return TransientError(f"uv could not reach the package index: "
                              f"{text.splitlines()[-1] if text else 'no output'}",
                              code=Code.NetworkError)
    cause = " ".join(line.strip() for line in text.splitlines()
                     if line.strip() and not line.strip().startswith("hint:"))
    cause = re.sub(r"^error: No solution found when resolving dependencies:?\s*", "", cause)
    cause = re.sub(r"^cause:\s*", "", cause).replace(" cause: ", " ")
    m = re.search(r"Because (?:only )?(?P<pkg>[A-Za-z0-9._-]+)\S* (?:has no usable wheels|"
                  r"has no wheels with a matching)", cause)
    if m:
        name = m.group("pkg")
        return BuildError(
            f"no compatible wheel for {name} on {target.runtime} {target.architecture} "
            f"({tags}): {cause}", code=Code.NoCompatibleWheel,
            hint=f"pick a version of {name} that publishes a wheel for this runtime and "
                 "architecture, change the runtime, or build it yourself and put it in vendor/",
            details={"package": name, "platform": target.uv_platform,
                     "python_version": target.python_version})
    m = re.search(r"Because (?P<pkg>[A-Za-z0-9._-]+) was not found in the package registry",
                  cause)
    if m:
        return BuildError(f"{m.group('pkg')} is not on the package index: {cause}",
                          code=Code.PackageNotFound, hint="check the name for typos",
                          details={"package": m.group("pkg")})
    m = re.search(r"only (?P<pkg>[A-Za-z0-9._-]+)[<>=!~]", cause)
    if m and "is available" in cause:
        name = m.group("pkg")
        return BuildError(f"no release of {name} fits both the requirement and "
                          f"{target.runtime} {target.architecture} ({tags}): {cause}",
                          code=Code.NoCompatibleWheel,
                          hint=f"loosen the requirement on {name}, or change the runtime",
                          details={"package": name, "platform": target.uv_platform,
                                   "python_version": target.python_version})
    if "No solution found" in text or "unsatisfiable" in cause:
        return BuildError(f"the requirements cannot all be met: {cause}",
                          code=Code.DependencyConflict,
                          hint="relax the conflicting version constraints",
                          details={"requirements": requirements})
    tail = " ".join(text.splitlines()[-6:])
    return BuildError(f"uv could not resolve {', '.join(requirements)[:300]}: {tail}",
                      code=Code.DependencyInstallFailed,
                      hint="check the requirements for conflicting or misspelt packages")


def _field(value: object, where: str, check: Callable[[object, str, Code], str]) -> str:
    return check(value, where, Code.ResolutionInvalid)


def parse_pylock(text: str, target: Target, source: str = "pylock.toml",
                 index: IndexConfig | None = None) -> list[Pin]:
    """The packages of a pylock document with the best wheel for ``target`` each. Every
    field used is checked; with ``index``, a wheel elsewhere than on it is refused."""
    from packaging.markers import InvalidMarker, Marker

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BuildError(f"{source} is not valid TOML: {exc}", code=Code.LockInvalid,
                         hint="regenerate the lock file") from exc
    env = target.marker_environment()
    pins: list[Pin] = []
    for pkg in data.get("packages", []):
        if not isinstance(pkg, dict):
            continue
        where = f"{source}: package {spec.shown(pkg.get('name'))}"
        name = str(pkg.get("name", ""))
        _field(name, where, spec.name)
        version = _field(pkg.get("version"), f"{where} version", spec.version)
        marker = pkg.get("marker")
        if marker:
            try:
                if not Marker(str(marker)).evaluate({**env, "extra": ""}):
                    continue
            except InvalidMarker as exc:
                raise BuildError(f"{source}: package {name} has an invalid marker: {exc}",
                                 code=Code.LockInvalid, hint="regenerate the lock file") from exc
        fitting: list[tuple[tuple[int, int], WheelRef]] = []
        for wheel in pkg.get("wheels", []) or []:
            if not isinstance(wheel, dict):
                continue
            url = str(wheel.get("url") or "")
            filename = str(wheel.get("name") or url.rsplit("/", 1)[-1].split("#")[0])
            sha = str((wheel.get("hashes") or {}).get("sha256") or "")
            rank = wheel_rank(filename, target)
            if rank is None or not url or not sha or not _WHEEL_FILE_RE.match(filename):
                continue
            sha = _field(sha, f"{where} hash", spec.sha256)
            if index is not None and not index.allows_url(url):
                raise BuildError(f"{source} names a wheel of {name} outside the package index: "
                                 f"{spec.shown(url)}", code=Code.IndexHostRefused,
                                 hint="the index serves files from another host: add it to "
                                      "AUTO_LAMBDA_INDEX_HOSTS on the workers")
            size = wheel.get("size")
            fitting.append((rank, WheelRef(url, filename, sha,
                                           size if isinstance(size, int) else None)))
        if not fitting:
            raise BuildError(f"{source} names no wheel of {name} {version} for "
                             f"{target.runtime} {target.architecture}",
                             code=Code.NoCompatibleWheel,
                             hint=f"pick a version of {name} that publishes a wheel for this "
                                  "runtime and architecture",
                             details={"package": name, "platform": target.uv_platform})
        fitting.sort(key=lambda rw: (rw[0], rw[1].filename), reverse=True)
        refs = tuple(ref for _rank, ref in fitting)
        pins.append(Pin(name, version, refs[0], refs))
    return sorted(pins, key=lambda p: p.key)


def _lines(requirements: list[Requirement]) -> str:
    return "".join(r.installer_line() + "\n" for r in requirements)


def resolve(requirements: list[Requirement], target: Target, work: Path, *, uv: str,
            constraints: list[Requirement] | None = None, no_deps: bool = False,
            prerelease: bool = False, timeout: float = RESOLVE_TIMEOUT,
            progress: Callable[[str], None] | None = None, jail: Jail | None = None,
            index: IndexConfig | None = None) -> list[Pin]:
    """Resolve ``requirements`` for ``target`` with the uv at ``uv``, in its jail."""
    index = index or IndexConfig.from_env()
    inputs, out = work / "in", work / "out"
    inputs.mkdir(parents=True, exist_ok=True)
    req = inputs / "requirements.in"
    req.write_text(_lines(requirements), encoding="utf-8")
    cons = None
    if constraints:
        cons = inputs / "constraints.txt"
        cons.write_text(_lines(constraints), encoding="utf-8")
    args = uv_args(req, out / "pylock.toml", target, constraints=cons, no_deps=no_deps,
                   prerelease=prerelease, cache_dir=out / "cache")
    run = run_uv(args, uv=uv, out_dir=out, inputs=[inputs], timeout=timeout,
                 what="uv pip compile", tick=progress, index=index, jail=jail)
    names = [r.installer_line() for r in requirements]
    if run.refused:
        raise BuildError(f"uv was sent to {', '.join(run.refused[:3])}, which is not the "
                         "configured package index", code=Code.IndexHostRefused,
                         hint="the index serves files from another host: add it to "
                              "AUTO_LAMBDA_INDEX_HOSTS on the workers",
                         details={"refused": run.refused[:10]})
    if run.output_exceeded:
        raise BuildError("uv printed more than its output limit", code=Code.DependencyInstallFailed,
                         hint="check the requirements for misspelt packages")
    if run.returncode != 0:
        raise _failure(run.output, target, names)
    raw = read_beneath(out, "pylock.toml", max_bytes=MAX_RESOLUTION_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BuildError("uv's resolution is not UTF-8 text", code=Code.ResolutionInvalid,
                         hint="retry the build; report it if it persists") from None
    return parse_pylock(text, target, "uv's resolution", index)
