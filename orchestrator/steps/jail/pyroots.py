"""The folders a Python interpreter needs to start: its prefix (a virtualenv's too),
base prefix, exec prefixes and library folder, found by asking it once.

Runs only trusted interpreters (the worker's own, or one the interpreter search found)
with a fixed one-line program; never app code.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from pathlib import Path

from orchestrator.errors import SandboxUnavailable

_PROBE = ("import json, sys, sysconfig; print(json.dumps([sys.prefix, sys.base_prefix, "
          "sys.exec_prefix, sys.base_exec_prefix, sysconfig.get_config_var('LIBDIR') or '']))")


def _minimal(paths: set[Path]) -> tuple[Path, ...]:
    out = sorted(paths, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for path in out:
        if not any(k == path or k in path.parents for k in kept):
            kept.append(path)
    return tuple(kept)


@functools.cache
def python_roots(python: str) -> tuple[Path, ...]:
    """Folders to bind read-only so ``python`` runs inside a jail (``/usr`` is always
    there, so nothing under it is listed)."""
    try:
        done = subprocess.run([python, "-I", "-c", _PROBE], capture_output=True,
                              text=True, timeout=30, check=False, env={"LC_ALL": "C.UTF-8"})
        found = [p for p in json.loads(done.stdout) if p] if done.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        found = None
    if not found:
        raise SandboxUnavailable(f"the interpreter {python} does not run",
                                 hint="check the worker's Python installation")
    paths = {Path(os.path.realpath(p)) for p in found}
    paths |= {Path(p) for p in found}  # a virtualenv reached through a symlink
    paths.add(Path(os.path.realpath(python)).parent)
    here = Path(os.path.abspath(python)).parent
    # A virtualenv's prefix is set by site from pyvenv.cfg (asked for above, without -S).
    paths.add(here.parent if (here.parent / "pyvenv.cfg").is_file() else here)
    usr = Path("/usr")
    return _minimal({p for p in paths if p != usr and usr not in p.parents
                     and p != Path("/")})
