"""Packaging a chalice project with ``chalice package``, in the jail.

Chalice builds for the interpreter it runs on only (python3.11 on x86_64 here), so a
project asking for another runtime or architecture is refused with
``ChaliceRuntimeMismatch``. Chalice imports ``app.py`` while packaging, so the app's
code runs here: in the jail (``orchestrator.steps.jail``): no network, none of the
worker's files, processes or environment, limits on memory, processes, CPU time and
file size, bounded output, nothing left running afterwards. It sees, read-only, the
worker's interpreter and installation (for chalice's own modules) and the dependency
tree; it writes only its own folder (the project copy and the output). The
requirements are installed by auto-lambda's own cross-install outside the jail and
put on the path, so chalice needs no download. The copy has no ``.chalice/deployments``
(chalice caches broken dependency builds there) and no ``requirements.txt`` (the
dependencies come from the build cache instead, and chalice would otherwise fetch and
possibly compile sdists). Output that says "Could not install dependencies" fails the
build with ``ChaliceDependencyFailed``; running out of memory, processes or output
space fails it with ``ChaliceMemoryExceeded``, ``ChaliceProcessLimit`` or
``ChaliceOutputTooLarge``; no jail, with ``SandboxUnavailable``.

To overlap chalice's own start-up (~0.4 s of imports) with the dependency install,
``start_chalice`` starts the jail before the dependencies are there: a small driver
imports chalice's packaging code, then waits on its stdin. ``ChaliceRun.finish`` tells
it to go on once the dependency folder is complete (and already cached, so the app's
code never runs while the cache entry is written); only then is that folder put first
on the path and ``app.py`` imported. So chalice always runs with its own modules (the
version in the cache key), and the app shares them where both need one, as in a
project's own virtualenv.

The resulting deployment.zip is hostile data (the jail wrote it): it is opened beneath
the jail's folder without following links, checked to be a regular file under
Lambda's size limit, and unpacked from that descriptor with the safe unpacker into a
folder the caller packages deterministically.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from orchestrator.codes import Code
from orchestrator.errors import BuildError
from orchestrator.limits import LAMBDA_UNZIPPED_BYTES
from orchestrator.steps.jail import Jail, JailProcess, Limits, default_jail
from orchestrator.steps.jail.files import open_beneath
from orchestrator.steps.unpack.manifest import local_architecture, local_runtime
from orchestrator.steps.build.target import Target
from orchestrator.steps.unpack.zipsafe import UnpackLimits, unpack_zip

CHALICE_TIMEOUT = 300.0
CHALICE_MEMORY = 2 * 1024 ** 3
CHALICE_PROCESSES = 256
CHALICE_OUTPUT_BYTES = 16 * 1024 * 1024
TICK_SECONDS = 10.0
_SKIP_TOP = {"requirements.txt", "__pycache__"}
GO = b"go\n"
# Runs in the chalice subprocess (trusted code; the app's code runs only after "go").
_DRIVER = """\
import importlib, os, sys
if sys.path and sys.path[0] == "":
    del sys.path[0]  # as the chalice command: the project is not on the path until chalice
site = os.environ.pop("AUTO_LAMBDA_CHALICE_SITE", "")
if site and site not in sys.path:
    sys.path.append(site)  # an installation outside the interpreter's own folders
from chalice.cli import main  # puts it there to import app.py
import chalice.analyzer, chalice.deploy.packager, chalice.package
if sys.stdin.readline().strip() != "go":
    sys.exit(70)
deps = os.environ.get("AUTO_LAMBDA_DEPS") or ""
if deps:
    sys.path.insert(0, deps)
os.environ.pop("AUTO_LAMBDA_DEPS", None)
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
            code=Code.ChaliceRuntimeMismatch,
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


def _failure(output: str) -> tuple[Code, str] | None:
    """(code, what) when the output says chalice ran out of a jail limit."""
    if "MemoryError" in output or "Cannot allocate memory" in output:
        return Code.ChaliceMemoryExceeded, "ran out of memory"
    if "BlockingIOError" in output or "Resource temporarily unavailable" in output \
            or "can't start new thread" in output:
        return Code.ChaliceProcessLimit, f"started more than {CHALICE_PROCESSES} processes or threads"
    return None


class ChaliceRun:
    """A ``chalice package`` jail started ahead of its dependencies."""

    def __init__(self, process: JailProcess, work_dir: Path, out_dir: Path,
                 target: Target) -> None:
        self.process = process
        self.work_dir = work_dir
        self.out_dir = out_dir
        self.target = target

    def finish(self, *, timeout: float = CHALICE_TIMEOUT,
               progress: Callable[[str], None] | None = None) -> Path:
        """Let chalice go on (the dependency folder is complete); return the unpacked app."""
        self.process.send(GO)
        try:
            self.process.finish(timeout, what="chalice package", tick=progress,
                                tick_seconds=TICK_SECONDS,
                                hint="reduce the dependencies or what app.py does at import")
        finally:
            self.process.kill()
        result = self.process.result()
        output = result.output
        if result.output_exceeded:
            raise BuildError(f"chalice package wrote more than "
                             f"{CHALICE_OUTPUT_BYTES // (1024 * 1024)} MB of output; stopped",
                             code=Code.ChaliceOutputTooLarge,
                             hint="print less while app.py is imported")
        if "Could not install dependencies" in output:
            detail = output[output.index("Could not install dependencies"):].strip()[:600]
            raise BuildError(f"chalice could not install the dependencies: {detail}",
                             code=Code.ChaliceDependencyFailed,
                             hint="use packages that publish manylinux wheels for "
                                  f"{self.target.runtime}, or build them yourself into vendor/")
        deployment = self.out_dir / "deployment.zip"
        if result.returncode != 0 or not os.path.lexists(deployment):
            tail = "\n".join(output.strip().splitlines()[-15:])
            limit = _failure(output)
            if limit is not None:
                raise BuildError(f"chalice package {limit[1]} while importing app.py "
                                 f"(exit {result.returncode}): {tail[-1500:]}", code=limit[0],
                                 hint="app.py must not exhaust the build's limits at import")
            raise BuildError(f"chalice package failed (exit {result.returncode}): {tail}",
                             code=Code.ChalicePackageFailed,
                             hint="run `chalice package out/` in the project to see the full "
                                  "error; app.py must import without errors")
        unpacked = self.work_dir / "chalice-app"
        # The jail wrote this folder: the zip is opened beneath it without following
        # links (it may have been swapped for a link to another team's package).
        own = self.out_dir.parent
        rel = self.out_dir.relative_to(own).as_posix() + "/deployment.zip"
        with open_beneath(own, rel, max_bytes=LAMBDA_UNZIPPED_BYTES) as archive:
            unpack_zip(deployment, unpacked, UnpackLimits(max_entry_ratio=1000.0,
                                                          max_total_ratio=1000.0),
                       source=archive)
        return unpacked

    def cancel(self) -> None:
        self.process.kill()


def _chalice_site() -> str:
    """The folder chalice is installed in (bound read-only, in case it lies outside the
    interpreter's own folders)."""
    spec = importlib.util.find_spec("chalice")
    if spec is None or not spec.origin:
        raise BuildError("chalice is not installed with this worker", code=Code.ChaliceMissing,
                         hint="pip install chalice")
    return str(Path(spec.origin).resolve().parent.parent)


def start_chalice(app_dir: Path, work_dir: Path, target: Target, deps_dir: Path | None,
                  *, python: str = sys.executable, jail: Jail | None = None) -> ChaliceRun:
    """Start chalice in the jail on a copy of ``app_dir``; it waits until ``finish``
    before it puts ``deps_dir`` first on its path and imports the app."""
    check_chalice_target(target)
    jail = jail or default_jail()
    jail.check()  # fail closed before anything is copied
    own = work_dir / "chalice"  # the one folder the jail may write
    project, out_dir = own / "project", own / "out"
    _copy_project(app_dir, project)
    jail.prepare_output(own)
    env = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
           "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1", "AUTO_LAMBDA_CHALICE_SITE": _chalice_site()}
    inputs = [Path(env["AUTO_LAMBDA_CHALICE_SITE"])]
    if deps_dir is not None:
        deps_dir.mkdir(parents=True, exist_ok=True)
        env["AUTO_LAMBDA_DEPS"] = str(deps_dir.resolve())
        inputs.append(deps_dir)
    if Path(python).resolve() != Path(sys.executable).resolve():
        inputs.append(Path(python).resolve().parent)
    limits = Limits(memory_bytes=CHALICE_MEMORY, cpu_seconds=int(CHALICE_TIMEOUT),
                    processes=CHALICE_PROCESSES)
    process = jail.start([python, "-I", "-c", _DRIVER, "package", str(out_dir.resolve())],
                         python=sys.executable, env=env, cwd=project.resolve(),
                         inputs=inputs, outputs=[own], limits=limits, stdin=True,
                         output_limit=CHALICE_OUTPUT_BYTES)
    return ChaliceRun(process, work_dir, out_dir, target)


def chalice_package(app_dir: Path, work_dir: Path, target: Target, deps_dir: Path | None,
                    *, timeout: float = CHALICE_TIMEOUT,
                    progress: Callable[[str], None] | None = None,
                    python: str = sys.executable, jail: Jail | None = None) -> Path:
    """Run ``chalice package`` on a copy of ``app_dir``; return the unpacked app folder."""
    run = start_chalice(app_dir, work_dir, target, deps_dir, python=python, jail=jail)
    try:
        return run.finish(timeout=timeout, progress=progress)
    finally:
        run.cancel()
