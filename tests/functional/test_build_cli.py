"""``auto-lambda build``: one JSON document on success, the error code and exit 2 on
failure, overrides applied."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from click.testing import CliRunner

from orchestrator.cli.examples import example_dir, zip_example
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
