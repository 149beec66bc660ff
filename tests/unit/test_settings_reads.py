"""Every setting is read through ``Settings`` (orchestrator/config.py): outside config.py
and the CLI (which composes and may read its own options' defaults), nothing in the
worker's install reads the process environment, but for the few places on the list
below, each with its reason and its number of reads, so a new read anywhere fails here.
A new setting belongs in ``Settings``; an environment handed to a subprocess is data and
goes on the list."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("states", "orchestrator", "worker", "checker")
FREE = ("orchestrator/config.py", "orchestrator/cli/")
_OS_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}

# path -> (reads, why)
ALLOWED: dict[str, tuple[int, str]] = {
    "orchestrator/redact.py": (
        1, "the worker's secrets are data to hide, not a setting: every variable is read"),
    "orchestrator/steps/build/dependencies.py": (
        3, "the installer's own settings (AUTO_LAMBDA_UV, AUTO_LAMBDA_INSTALLER) and the "
           "index variables a build's cache key records; not yet in Settings"),
    "orchestrator/steps/build/index.py": (
        1, "the operator's package index (uv's own UV_* variables and "
           "AUTO_LAMBDA_INDEX_HOSTS); not yet in Settings"),
    "orchestrator/steps/build/uvjail.py": (
        1, "the operator's uv and TLS variables passed into the installer's jail"),
    "orchestrator/steps/jail/settings.py": (
        1, "JailSettings.from_env, the jail's settings; not yet in Settings"),
    "orchestrator/steps/verify/interpreters.py": (
        3, "the interpreter probe's environment and the PATH it searches"),
    "orchestrator/steps/secrets/lambda_shim.py": (
        3, "runs inside the deployed function at cold start: the function's environment "
           "(the secret references, the app's handler) is its input, and where it puts "
           "the values"),
    "orchestrator/steps/verify/bootstrap.py": (
        6, "runs inside the jail as the function's runtime: the function's environment "
           "is its input"),
}


def environment_reads(source: str) -> int:
    """How many times ``source`` touches the process environment through ``os``."""
    tree = ast.parse(source)
    os_names = {"os"}
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            os_names |= {a.asname or a.name for a in node.names if a.name == "os"}
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            count += sum(1 for a in node.names if a.name in _OS_NAMES)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr in _OS_NAMES
                and isinstance(node.value, ast.Name) and node.value.id in os_names):
            count += 1
    return count


def _reads_in_the_wheel() -> dict[str, int]:
    found: dict[str, int] = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if rel.startswith(FREE):
                continue
            reads = environment_reads(path.read_text(encoding="utf-8"))
            if reads:
                found[rel] = reads
    return found


def test_settings_are_read_through_settings_only() -> None:
    found = _reads_in_the_wheel()
    unexpected = {path: n for path, n in found.items()
                  if n > ALLOWED.get(path, (0, ""))[0]}
    assert not unexpected, (
        f"direct environment reads {unexpected}: read the setting through "
        "orchestrator.config.Settings (or, for a subprocess's environment, list the file "
        "with its reason)")


def test_the_list_holds_no_stale_entry() -> None:
    found = _reads_in_the_wheel()
    stale = {path: n for path, (n, _) in ALLOWED.items() if found.get(path, 0) < n}
    assert not stale, f"fewer reads than listed now, lower or drop: {stale}"


@pytest.mark.parametrize(("source", "reads"), [
    ("import os\nx = os.environ.get('A')\n", 1),
    ("import os as o\nx = o.getenv('A')\n", 1),
    ("from os import environ\nx = environ['A']\n", 1),
    ("import os\nos.environ.update({})\nos.putenv('A', 'b')\n", 2),
    ("import os\nx = os.path.join('a', 'b')\n", 0),
    ("x = 'os.environ'\n", 0),
])
def test_the_count_sees_each_form_of_read(source: str, reads: int) -> None:
    assert environment_reads(source) == reads
