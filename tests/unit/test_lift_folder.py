"""A zip made by compressing the app's folder: its contents become the app's root, and
only then; nothing is overwritten and nothing leaves the destination."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from orchestrator.steps.unpack.manifest import load_app_spec
from orchestrator.steps.unpack.zipsafe import lift_single_folder, unpack_zip

HANDLER = "def handler(event, context):\n    return 1\n"


def _unpacked(tmp_path: Path, files: dict[str, str]) -> Path:
    zip_path = tmp_path / "app.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    dest = tmp_path / "app"
    unpack_zip(zip_path, dest)
    return dest


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_a_zipped_folder_is_lifted_finder_leftovers_and_all(tmp_path: Path) -> None:
    dest = _unpacked(tmp_path, {
        "myapp/app.py": HANDLER, "myapp/requirements.txt": "", "myapp/lib/util.py": "x = 1\n",
        "myapp/.DS_Store": "junk", "myapp/myapp/inner.py": "y = 2\n",
        "__MACOSX/myapp/._app.py": "junk", ".DS_Store": "junk"})
    assert lift_single_folder(dest) == "myapp"
    assert _tree(dest) == {"app.py", "requirements.txt", "lib/util.py", "myapp/inner.py",
                           ".DS_Store", "__MACOSX/myapp/._app.py"}
    assert load_app_spec(dest, "myapp.zip").handler == "app.handler"
    assert [p.name for p in dest.parent.iterdir()] == ["app", "app.zip"]  # nothing outside


@pytest.mark.parametrize("files", [
    {"app.py": HANDLER},  # already at the root
    {"myapp/app.py": HANDLER, "README.md": "a file beside it"},
    {"one/app.py": HANDLER, "two/x.py": "x = 1\n"},
    {"vendor/lib.py": "x = 1\n"},  # a folder that means something at the root
    {"auto-lambda.toml": "", "src/app.py": HANDLER},  # a src layout, not a zipped folder
])
def test_anything_else_stays_as_it_is(tmp_path: Path, files: dict[str, str]) -> None:
    dest = _unpacked(tmp_path, files)
    assert lift_single_folder(dest) is None
    assert _tree(dest) == set(files)
