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


def running(pid: int) -> bool:
    """Neither gone nor a zombie (whoever reaps orphans here may not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")
