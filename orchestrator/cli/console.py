"""Consoles for the CLI's tables: the terminal's width on a terminal, and a width that
fits every table (not rich's 80 columns) when output goes to a pipe or a file."""

from __future__ import annotations

from rich.console import Console

PIPE_WIDTH = 160


def console(*, stderr: bool = False) -> Console:
    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=PIPE_WIDTH)
