"""``auto-lambda build``: one JSON document on success, the error code and exit 2 on
failure, overrides applied."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from click.testing import CliRunner

from auto_lambda_dev.examples import example_dir, zip_example
from orchestrator.cli.main import cli


def test_build_json_with_override(tmp_path: Path) -> None:
    zip_path = zip_example(example_dir("hello"), tmp_path)
    out = tmp_path / "pkg.zip"
    result = CliRunner().invoke(cli, ["build", str(zip_path), "-o", str(out), "--json",
                                      "--runtime", "python3.13", "--arch", "arm64",
                                      "--cache-dir", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["ok"] and doc["app"]["runtime"] == "python3.13"
    assert doc["build"]["architecture"] == "arm64"
    assert zipfile.ZipFile(out).namelist() == ["app.py", "auto-lambda.toml"]


def test_build_failure_prints_code_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("../escape.py", "x")
    runner = CliRunner()
    result = runner.invoke(cli, ["build", str(bad), "-o", str(tmp_path / "o.zip"), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.output)["error"]["code"] == "ZipUnsafePath"
    human = runner.invoke(cli, ["build", str(bad), "-o", str(tmp_path / "o.zip")])
    assert human.exit_code == 2 and "error [ZipUnsafePath]" in human.output


def _zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


def test_src_layout_is_packaged_from_src_at_the_root(tmp_path: Path) -> None:
    app = _zip(tmp_path / "srcapp.zip", {
        "auto-lambda.toml": '[function]\nhandler = "mypkg.handler.main"\n',
        "src/mypkg/__init__.py": "",
        "src/mypkg/handler.py": "from mypkg.util import twice\n\n"
                                "def main(event, context):\n    return twice(2)\n",
        "src/mypkg/util.py": "def twice(n):\n    return 2 * n\n",
        "README.md": "notes\n",
    })
    out = tmp_path / "pkg.zip"
    result = CliRunner().invoke(cli, ["build", str(app), "-o", str(out), "--json",
                                      "--cache-dir", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["app"]["code_root"] == "src"
    assert sorted(zipfile.ZipFile(out).namelist()) == [
        "README.md", "auto-lambda.toml", "mypkg/__init__.py", "mypkg/handler.py",
        "mypkg/util.py"]


def test_a_root_module_wins_over_src(tmp_path: Path) -> None:
    """A package that merely has a src/ folder beside its handler is not a src layout."""
    app = _zip(tmp_path / "plain.zip", {"app.py": "def handler(e, c):\n    return 1\n",
                                        "src/data.txt": "kept where it is\n"})
    out = tmp_path / "pkg.zip"
    result = CliRunner().invoke(cli, ["build", str(app), "-o", str(out), "--json",
                                      "--cache-dir", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["app"]["code_root"] == ""
    assert sorted(zipfile.ZipFile(out).namelist()) == ["app.py", "src/data.txt"]
