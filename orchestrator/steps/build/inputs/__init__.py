"""What an app asks to have installed, gathered from every place teams declare it, and
checked for agreement before anything is resolved.

Sources, all inside the zip: requirements files (``requirements.txt`` or the files
``[build] requirements`` names, with their ``-r``/``-c`` includes and hashes),
``pyproject.toml`` (PEP 621 or Poetry, plus the optional groups named in ``[build]
optional_dependencies``) and lock files (``uv.lock``, ``poetry.lock``, ``Pipfile.lock``,
``pylock.toml``). With a lock, exactly its pins are installed, and every requirement
declared elsewhere must be met by them; two locks must pin the same versions. Without
one, the declared requirements are resolved together. Any disagreement is
``DependencySourcesConflict`` naming both places.

Modules: ``reqfile`` (requirements files), ``pyproject``, ``locks``, ``combine``
(``read_inputs``: all of them, checked). This module only names the files, so that a
warm build can fingerprint them without loading the readers.
"""

from __future__ import annotations

from pathlib import Path

REQUIREMENTS = "requirements.txt"
PYPROJECT = "pyproject.toml"
LOCK_FILES = ("uv.lock", "poetry.lock", "Pipfile.lock", "pylock.toml")


def input_files(app_dir: Path, requirements: list[str] | None) -> list[str]:
    """The files a build's dependencies may be declared in (includes come later)."""
    names = list(requirements) if requirements is not None else [REQUIREMENTS]
    names += [PYPROJECT, *LOCK_FILES]
    return [n for n in dict.fromkeys(names) if (app_dir / n).is_file()]
