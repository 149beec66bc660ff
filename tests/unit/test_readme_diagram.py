"""The state diagram in the docs is the one generated from the code. Regenerate with:
auto-lambda graph --format mermaid --write-readme README.md docs/state-machine.md"""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from orchestrator.cli.cmd_graph import (
    END_MARKER,
    START_MARKER,
    diagram_block,
    has_markers,
    replace_block,
)

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = ("README.md", "docs/state-machine.md")
REGENERATE = "auto-lambda graph --format mermaid --write-readme README.md docs/state-machine.md"


def _marked_files() -> list[Path]:
    return [ROOT / name for name in CANDIDATES
            if (ROOT / name).exists() and has_markers((ROOT / name).read_text("utf-8"))]


def test_docs_page_has_the_markers() -> None:
    text = (ROOT / "docs/state-machine.md").read_text("utf-8")
    assert START_MARKER in text and END_MARKER in text, \
        f"docs/state-machine.md must hold {START_MARKER} ... {END_MARKER}"


@pytest.mark.parametrize("name", CANDIDATES)
def test_diagram_is_up_to_date(name: str) -> None:
    path = ROOT / name
    if path not in _marked_files():
        if name == "docs/state-machine.md":
            pytest.fail(f"{name} has no state-machine markers")
        pytest.skip(f"{name} has no state-machine markers")
    text = path.read_text("utf-8")
    assert replace_block(text, name) == text, f"{name} is out of date; run: {REGENERATE}"
    assert "```mermaid\nstateDiagram-v2\n" in text


def test_replace_block_only_touches_the_marked_region() -> None:
    stale = f"intro\n{START_MARKER}\nold diagram\n{END_MARKER}\noutro\n"
    fresh = replace_block(stale)
    assert fresh == f"intro\n{diagram_block()}\noutro\n"
    assert replace_block(fresh) == fresh
    with pytest.raises(click.ClickException, match="add both lines"):
        replace_block("no markers here")


def test_graph_command_rewrites_marked_files_and_skips_others(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from orchestrator.cli.cmd_graph import graph

    marked = tmp_path / "doc.md"
    marked.write_text(f"# t\n{START_MARKER}\nold\n{END_MARKER}\n", "utf-8")
    plain = tmp_path / "README.md"
    plain.write_text("# readme\n", "utf-8")
    runner = CliRunner()
    check = runner.invoke(graph, ["--write-readme", "--check", str(plain), str(marked)])
    assert check.exit_code == 1 and "out of date" in check.output
    result = runner.invoke(graph, ["--format", "mermaid", "--write-readme", str(plain),
                                   str(marked)])
    assert result.exit_code == 0, result.output
    assert marked.read_text("utf-8") == f"# t\n{diagram_block()}\n"
    assert plain.read_text("utf-8") == "# readme\n"
    assert runner.invoke(graph, ["--write-readme", "--check", str(marked)]).exit_code == 0
    asl = runner.invoke(graph, ["--format", "asl"])
    assert json.loads(asl.output)["StartAt"] == "received"
    out = tmp_path / "g.dot"
    assert runner.invoke(graph, ["--format", "dot", "-o", str(out)]).exit_code == 0
    assert out.read_text("utf-8").startswith("digraph ")
