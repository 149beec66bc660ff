"""Find a local Python interpreter of a given minor version for the verify sandbox.

A file named ``python3.12`` is not proof of a usable Python 3.12: pyenv shims exist for
every installed version and fail when that version is not selected. So every candidate is
run once (``-c 'import sys; print(sys.version_info[:2])'``) and kept only if it answers
with the right version. Answers are cached per search, so a worker pays this once.

Searched, in order: ``pythonX.Y`` on PATH, ``$PYENV_ROOT/versions/*/bin/pythonX.Y``
(default ``~/.pyenv``, newest patch release first), ``/usr/bin`` and ``/usr/local/bin``.
This module runs only trusted interpreters with a fixed one-line program; never app code.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

# A probe answers (major, minor) and the real executable behind the path (a shim or a
# symlink resolves to it), or None when the path does not run as Python.
ProbeAnswer = tuple[tuple[int, int], Path]
Probe = Callable[[Path], "ProbeAnswer | None"]

_VERSION_RE = re.compile(r"^3\.\d{1,2}$")
_ANSWER_RE = re.compile(r"^\((\d+), (\d+)\)\n(/.+)$")
SYSTEM_DIRS: tuple[Path, ...] = (Path("/usr/bin"), Path("/usr/local/bin"))

_cache: dict[tuple[str, tuple[str, ...]], Path | None] = {}
_probe_cache: dict[str, ProbeAnswer | None] = {}
_PROBE = "import sys; print(sys.version_info[:2]); print(sys.executable)"
_PASS_ENV = ("PATH", "HOME", "PYENV_ROOT", "PYENV_VERSION")
_lock = threading.Lock()


def probe_version(path: Path, timeout: float = 10.0) -> ProbeAnswer | None:
    """Run ``path``; return its (major, minor) and real executable, or None if it fails.

    The sandbox runs the real executable, not a shim: shims need pyenv's environment,
    which the sandbox does not get.
    """
    key = str(path)
    with _lock:
        if key in _probe_cache:
            return _probe_cache[key]
    try:
        done = subprocess.run(
            [str(path), "-I", "-S", "-c", _PROBE],
            capture_output=True, text=True, timeout=timeout, check=False,
            env={k: os.environ[k] for k in _PASS_ENV if k in os.environ} | {"LC_ALL": "C.UTF-8"},
        )
        match = _ANSWER_RE.match(done.stdout.strip()) if done.returncode == 0 else None
        answer: ProbeAnswer | None = None
        if match and Path(match.group(3)).is_file():
            answer = ((int(match.group(1)), int(match.group(2))), Path(match.group(3)))
    except (OSError, subprocess.SubprocessError):
        answer = None
    with _lock:
        _probe_cache[key] = answer
    return answer


def _patch_key(path: Path) -> tuple[int, ...]:
    """Sort key for ``.../versions/3.12.1/bin/...``: newest release first."""
    parts = re.findall(r"\d+", path.parent.parent.name)
    return tuple(-int(p) for p in parts)


def candidates(version: str, env: Mapping[str, str] | None = None,
               system_dirs: Iterable[Path] = SYSTEM_DIRS) -> list[Path]:
    """Every place a ``python<version>`` may be, in search order, without duplicates."""
    env = os.environ if env is None else env
    exe = f"python{version}"
    found: list[Path] = []
    for entry in env.get("PATH", "").split(os.pathsep):
        if entry:
            found.append(Path(entry) / exe)
    pyenv_root = Path(env.get("PYENV_ROOT") or Path(env.get("HOME", "~")).expanduser() / ".pyenv")
    versions = pyenv_root / "versions"
    try:  # a folder this user cannot read (a root-only ~/.pyenv) holds nothing for it
        if versions.is_dir():
            found.extend(sorted(versions.glob(f"*/bin/{exe}"), key=_patch_key))
    except OSError as exc:
        log.debug("interpreter search: skipping %s: %s", versions, exc)
    found.extend(Path(d) / exe for d in system_dirs)
    unique: list[Path] = []
    seen: set[str] = set()
    for path in found:
        if str(path) not in seen and _runnable(path):
            seen.add(str(path))
            unique.append(path)
    return unique


def _runnable(path: Path) -> bool:
    try:
        return path.is_file() and os.access(path, os.X_OK)
    except OSError:  # in a folder this user may not enter
        return False


def find_interpreter(version: str, *, env: Mapping[str, str] | None = None,
                     system_dirs: Iterable[Path] = SYSTEM_DIRS,
                     probe: Probe = probe_version) -> Path | None:
    """The real executable of a working interpreter of ``version`` (e.g. "3.12"), or None.

    Results are cached per (version, search places); ``clear_cache()`` forgets them.
    """
    if not _VERSION_RE.match(version):
        return None
    want = tuple(int(p) for p in version.split("."))
    places = candidates(version, env, system_dirs)
    key = (version, tuple(str(p) for p in places))
    with _lock:
        if key in _cache:
            return _cache[key]
    chosen: Path | None = None
    for path in places:
        got = probe(path)
        if got is not None and got[0] == want:
            chosen = got[1]
            break
        log.debug("interpreter %s answers %s, not %s", path, got and got[0], version)
    with _lock:
        _cache[key] = chosen
    log.info("python%s for local verification: %s", version, chosen or "none found")
    return chosen


def clear_cache() -> None:
    with _lock:
        _cache.clear()
        _probe_cache.clear()
