"""The modules Lambda's Python runtime provides besides the standard library (boto3,
botocore and their dependencies), made importable inside the verify sandbox.

They are copied once per worker from the worker's own installation (pure Python, so any
3.10+ interpreter can load them) into ``cache_dir/runtime-lib-<versions>`` (~35 MB; the
JSON service models under ``data/`` are hard-linked where the file system allows), and
byte-compiled there once per target interpreter, so that a run does not recompile
botocore (~4.7 s under python3.12 here, against ~0.7 s from byte code). The sandbox runs
with ``-B`` and only reads this copy; nothing here writes to the worker's site-packages.
(A run that wrote into a linked model file would change the worker's file as well: as
the runner says, the sandbox is a damage limiter, not a jail.) Copying and compiling
happen here, in trusted code, never in an app.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import importlib.util
import logging
import os
import shutil
import subprocess
import threading
from pathlib import Path

from orchestrator.steps.verify.static import RUNTIME_PROVIDED

log = logging.getLogger(__name__)

_lock = threading.Lock()
_DATA_DIR = "data"
_COMPILE = "import compileall, sys; compileall.compile_dir(sys.argv[1], quiet=2, workers=1)"


def _sources() -> list[Path]:
    found: list[Path] = []
    for name in sorted(RUNTIME_PROVIDED):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.origin or spec.origin in {"built-in", "frozen"}:
            continue
        origin = Path(spec.origin)
        found.append(origin.parent if origin.name == "__init__.py" else origin)
    return found


@functools.cache
def _tag() -> str:
    parts = []
    for dist in ("boto3", "botocore"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            parts.append(f"{dist}{importlib.metadata.version(dist)}")
    return "-".join(parts) or "none"


def _copy_or_link(src: str, dst: str) -> None:
    """botocore's service models (~1,900 JSON files, 28 MB: most of the copy's time) are
    hard-linked, everything else copied. Nothing here writes to them, and Python code,
    the only thing a run could change by accident through its path, is always copied."""
    if _DATA_DIR in Path(src).parts and src.endswith((".json", ".json.gz")):
        try:
            os.link(src, dst)
            return
        except OSError:  # another file system, or links not allowed
            pass
    shutil.copy2(src, dst)


def runtime_lib(cache_dir: Path) -> Path:
    """A private copy of the provided modules under ``cache_dir`` (made on first use)."""
    dest = cache_dir / f"runtime-lib-{_tag()}"
    with _lock:
        if (dest / ".complete").is_file():
            return dest
        cache_dir.mkdir(parents=True, exist_ok=True)
        staging = cache_dir / f".runtime-lib-{os.getpid()}-{threading.get_ident()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        for source in _sources():
            if source.is_dir():
                shutil.copytree(source, staging / source.name, copy_function=_copy_or_link,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(source, staging / source.name)
        (staging / ".complete").write_text("ok\n")
        try:
            staging.rename(dest)
        except OSError:  # another worker made it first
            shutil.rmtree(staging, ignore_errors=True)
        log.info("runtime-provided modules for the verify sandbox copied to %s", dest)
        return dest


def precompile(interpreter: Path, version: str, lib: Path) -> bool:
    """Byte-compile ``lib`` for ``interpreter`` once; True when its byte code is there."""
    marker = lib / f".compiled-{version}"
    with _lock:
        if marker.is_file():
            return True
        try:
            done = subprocess.run([str(interpreter), "-I", "-S", "-c", _COMPILE, str(lib)],
                                  capture_output=True, timeout=600, check=False,
                                  env={"LC_ALL": "C.UTF-8"})
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("could not precompile runtime modules for python%s: %s", version, exc)
            return False
        if done.returncode != 0:
            log.warning("precompiling runtime modules for python%s failed: %s", version,
                        done.stderr[-500:])
            return False
        marker.write_text("ok\n")
        log.info("runtime modules byte-compiled for python%s in %s", version, lib)
        return True
