"""``auto-lambda graph``: print a workflow (deployment by default; ``--workflow deletion``
or ``rollback``) as mermaid, ASL or DOT, and keep the deployment's diagram in the docs in
step with the code (``--write-readme FILE...``).

Only renders and rewrites the text between the state-machine markers; it must not touch
anything else in those files.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

START_MARKER = "<!-- state-machine:start -->"
END_MARKER = "<!-- state-machine:end -->"
FORMATS = ("mermaid", "asl", "dot")
WORKFLOWS = ("deployment", "deletion", "rollback")  # orchestrator.jobs.workflows.WORKFLOWS


def render(fmt: str, workflow: str = "deployment") -> str:
    """The workflow in ``fmt`` (asl as pretty JSON), ending with a newline."""
    # imported on use, for start-up time: other commands (and --help) must not load it
    from orchestrator.jobs.workflows import definition_of
    from states.export import to_asl, to_dot, to_mermaid

    definition = definition_of(workflow)
    if fmt == "mermaid":
        return to_mermaid(definition)
    if fmt == "dot":
        return to_dot(definition)
    if fmt == "asl":
        return json.dumps(to_asl(definition), indent=2) + "\n"
    raise click.BadParameter(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def diagram_block() -> str:
    """What goes between the markers: the mermaid diagram in a fenced block."""
    return f"{START_MARKER}\n```mermaid\n{render('mermaid')}```\n{END_MARKER}"


def has_markers(text: str) -> bool:
    start = text.find(START_MARKER)
    return start >= 0 and text.find(END_MARKER, start) >= 0


def replace_block(text: str, where: str = "the file") -> str:
    """``text`` with everything from the start marker to the end marker replaced by the
    current diagram block; click.ClickException if the markers are missing."""
    start = text.find(START_MARKER)
    end = text.find(END_MARKER, start + 1) if start >= 0 else -1
    if start < 0 or end < 0:
        raise click.ClickException(
            f"{where} has no '{START_MARKER}' ... '{END_MARKER}' pair; add both lines "
            f"where the state diagram belongs, then run this again")
    return text[:start] + diagram_block() + text[end + len(END_MARKER):]


@click.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="mermaid",
              show_default=True, help="Output format.")
@click.option("--workflow", type=click.Choice(WORKFLOWS), default="deployment",
              show_default=True, help="Which workflow: an upload's deployment, a deleted "
              "zip's deletion, or a rollback.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE instead of standard output.")
@click.option("--write-readme", is_flag=True,
              help="Replace the diagram between the state-machine markers in FILES "
                   "(files without the markers are skipped with a warning).")
@click.option("--check", is_flag=True,
              help="With --write-readme: change nothing, exit 1 if a file is out of date.")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
def graph(fmt: str, workflow: str, output: Path | None, write_readme: bool, check: bool,
          files: tuple[Path, ...]) -> None:
    """Show a workflow's state machine (mermaid, Amazon States Language or DOT).

    \b
    auto-lambda graph --format asl -o workflow.asl.json
    auto-lambda graph --workflow deletion
    auto-lambda graph --write-readme README.md docs/state-machine.md
    """
    if files and not write_readme:
        raise click.UsageError("FILES are only used with --write-readme")
    if write_readme:
        if workflow != "deployment":
            raise click.UsageError("--write-readme writes the deployment's diagram")
        if fmt != "mermaid":
            raise click.UsageError("--write-readme writes the mermaid diagram; "
                                   "drop --format or use --format mermaid")
        if not files:
            raise click.UsageError("--write-readme needs at least one FILE")
        stale, marked = [], 0
        for path in files:
            text = path.read_text(encoding="utf-8")
            if not has_markers(text):
                click.echo(f"skipped: {path} has no '{START_MARKER}' ... '{END_MARKER}' "
                           f"pair (add both lines where the diagram belongs)", err=True)
                continue
            marked += 1
            new = replace_block(text, str(path))
            if new != text:
                stale.append(path)
                if not check:
                    path.write_text(new, encoding="utf-8")
        if not marked:
            raise click.ClickException("none of the files has the state-machine markers")
        for path in stale:
            click.echo(f"{'out of date' if check else 'updated'}: {path}")
        if check and stale:
            raise SystemExit(1)
        return
    text = render(fmt, workflow)
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


commands: list[click.Command] = [graph]
