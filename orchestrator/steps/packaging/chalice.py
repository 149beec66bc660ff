"""Packaging a chalice project with ``chalice package``.

Chalice builds for the interpreter it runs on only (python3.11 on x86_64 here), so a
project asking for another runtime or architecture is refused with
``ChaliceRuntimeMismatch``. Chalice imports ``app.py`` while packaging, so the app's
code runs here: in a subprocess, in a temporary copy of the project, with a scrubbed
environment (no AWS credentials), a memory limit, a timeout and no network (the
requirements are installed by auto-lambda's own cross-install and put on the path,
so chalice needs no download). The copy has no ``.chalice/deployments``
(chalice caches broken dependency builds there) and no ``requirements.txt`` (the
dependencies come from the build cache instead, and chalice would otherwise fetch and
possibly compile sdists on this host). Output that says "Could not install
dependencies" fails the build with ``ChaliceDependencyFailed``.

To overlap chalice's own start-up (~0.4 s of imports) with the dependency install,
``start_chalice`` starts the subprocess before the dependencies are there: a small
driver imports chalice's packaging code from the worker's installation, then waits on
its stdin. ``ChaliceRun.finish`` tells it to go on once the dependency folder is
complete (and already cached, so the app's code never runs while the cache entry is
written); only then is that folder put first on the path and ``app.py`` imported. So
chalice always runs with its own modules (the version in the cache key), and the app
shares them where both need one, as in a project's own virtualenv.

The resulting deployment.zip is unpacked with the safe unpacker (its content came from
untrusted code) into a folder the caller packages deterministically.
"""

from __future__ import annotations

import platform
import shutil
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from orchestrator.errors import BuildError
from orchestrator.steps.packaging.sandbox import StartedTool, scrubbed_env, start_tool
from orchestrator.steps.packaging.target import Target
from orchestrator.steps.zipsafe import UnpackLimits, unpack_zip

CHALICE_TIMEOUT = 300.0
CHALICE_MEMORY = 2 * 1024 ** 3
_SKIP_TOP = {"requirements.txt", "__pycache__"}
GO = b"go\n"
# Runs in the chalice subprocess (trusted code; the app's code runs only after "go").
_DRIVER = """\
import importlib, os, sys
if sys.path and sys.path[0] == "":
    del sys.path[0]  # as the chalice command: the project is not on the path until chalice
from chalice.cli import main  # puts it there to import app.py
import chalice.analyzer, chalice.deploy.packager, chalice.package
if sys.stdin.readline().strip() != "go":
    sys.exit(70)
deps = os.environ.get("AUTO_LAMBDA_DEPS") or ""
if deps:
    sys.path.insert(0, deps)
importlib.invalidate_caches()
try:
    code = main()
except SystemExit as exc:
    code = exc.code
if code is not None and not isinstance(code, int):
    print(code, file=sys.stderr)
    code = 1
sys.stdout.flush()
sys.stderr.flush()
os._exit(code or 0)  # its files are written and closed; skip ~0.15 s of interpreter teardown
"""


def local_runtime() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def local_architecture() -> str:
    machine = platform.machine().lower()
    return "arm64" if machine in ("aarch64", "arm64") else "x86_64"


def chalice_version() -> str:
    try:
        return metadata.version("chalice")
    except metadata.PackageNotFoundError:
        return "missing"


def check_chalice_target(target: Target) -> None:
    runtime, arch = local_runtime(), local_architecture()
    if target.runtime != runtime or target.architecture != arch:
        raise BuildError(
            f"this is a chalice project asking for {target.runtime} on {target.architecture}, "
            f"but chalice packages only for the interpreter it runs on ({runtime} on {arch})",
            code="ChaliceRuntimeMismatch",
            hint=f'set runtime = "{runtime}" and architecture = "{arch}" in auto-lambda.toml, '
                 "or turn the project into a plain app (app.py with a handler function)")


def _copy_project(app_dir: Path, dest: Path) -> None:
    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n == "__pycache__"}
        if Path(directory) == app_dir:
            skipped |= {n for n in names if n in _SKIP_TOP}
        if Path(directory) == app_dir / ".chalice":
            skipped |= {n for n in names if n == "deployments"}
        return skipped

    shutil.copytree(app_dir, dest, symlinks=False, ignore=ignore)


class ChaliceRun:
    """A ``chalice package`` subprocess started ahead of its dependencies."""

    def __init__(self, tool: StartedTool, work_dir: Path, target: Target) -> None:
        self.tool = tool
        self.work_dir = work_dir
        self.target = target

    def finish(self, *, timeout: float = CHALICE_TIMEOUT,
               progress: Callable[[str], None] | None = None) -> Path:
        """Let chalice go on (the dependency folder is complete); return the unpacked app."""
        result = self.tool.finish(GO, timeout=timeout, tick=progress)
        output = result.output
        if "Could not install dependencies" in output:
            detail = output[output.index("Could not install dependencies"):].strip()[:600]
            raise BuildError(f"chalice could not install the dependencies: {detail}",
                             code="ChaliceDependencyFailed",
                             hint="use packages that publish manylinux wheels for "
                                  f"{self.target.runtime}, or build them yourself into vendor/")
        deployment = self.work_dir / "chalice-out" / "deployment.zip"
        if result.returncode != 0 or not deployment.is_file():
            tail = "\n".join(output.strip().splitlines()[-15:])
            raise BuildError(f"chalice package failed (exit {result.returncode}): {tail}",
                             code="ChalicePackageFailed",
                             hint="run `chalice package out/` in the project to see the full "
                                  "error; app.py must import without errors")
        unpacked = self.work_dir / "chalice-app"
        unpack_zip(deployment, unpacked, UnpackLimits(max_entry_ratio=1000.0,
                                                      max_total_ratio=1000.0))
        return unpacked

    def cancel(self) -> None:
        self.tool.kill()


def start_chalice(app_dir: Path, work_dir: Path, target: Target, deps_dir: Path | None,
                  *, python: str = sys.executable) -> ChaliceRun:
    """Start chalice on a copy of ``app_dir``; it waits until ``finish`` before it puts
    ``deps_dir`` first on its path and imports the app."""
    check_chalice_target(target)
    project = work_dir / "project"
    _copy_project(app_dir, project)
    out_dir = work_dir / "chalice-out"
    extra = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    if deps_dir is not None:
        extra["AUTO_LAMBDA_DEPS"] = str(deps_dir.resolve())
    cmd = [python, "-c", _DRIVER, "package", str(out_dir)]
    tool = start_tool(cmd, cwd=project, env=scrubbed_env(extra), what="chalice package",
                      log_dir=work_dir / "chalice-log", offline=True,
                      memory_bytes=CHALICE_MEMORY)
    return ChaliceRun(tool, work_dir, target)


def chalice_package(app_dir: Path, work_dir: Path, target: Target, deps_dir: Path | None,
                    *, timeout: float = CHALICE_TIMEOUT,
                    progress: Callable[[str], None] | None = None,
                    python: str = sys.executable) -> Path:
    """Run ``chalice package`` on a copy of ``app_dir``; return the unpacked app folder."""
    run = start_chalice(app_dir, work_dir, target, deps_dir, python=python)
    try:
        return run.finish(timeout=timeout, progress=progress)
    finally:
        run.cancel()
