"""Processes on this machine, read from /proc, for tests that check nothing was left
running."""

from __future__ import annotations

from pathlib import Path


def processes_with(marker: str) -> list[str]:
    """Pids of the processes whose command line contains ``marker``."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker.encode() in (proc / "cmdline").read_bytes():
                    found.append(proc.name)
            except OSError:
                continue
    return found
