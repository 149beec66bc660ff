"""The chaos suite's fixtures over ``tests/chaos/harness.py``: a fresh moto server and
real ``auto-lambda worker`` subprocesses with short leases and visibility per test, and
the session's figures.

Figures from every chaos test (jobs run, kills, duplicate deliveries, hostile inputs,
jobs lost, duplicate deployments, takeover times) are summed into
``.auto-lambda/chaos-figures.json`` at the end of the session; docs/reliability.md
quotes them.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from tests.chaos.harness import (
    REPO,
    ChaosStack,
    WorkerProc,
    app_zip,
    make_zip,
    start_stack,
    stop_stack,
    task_starts,
)

__all__ = ["ChaosStack", "Figures", "WorkerProc", "app_zip", "make_zip", "task_starts"]

FIGURES_FILE = REPO / ".auto-lambda" / "chaos-figures.json"
T = TypeVar("T")


class Figures:
    """Counts summed over the session and written as JSON at its end; ``measure`` keeps
    measured values (e.g. seconds) per test as they are."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.tests: dict[str, dict[str, float]] = {}

    def add(self, test: str, **values: int) -> None:
        self.tests.setdefault(test, {})
        for key, value in values.items():
            self.counts[key] += value
            self.tests[test][key] = self.tests[test].get(key, 0) + value

    def measure(self, test: str, **values: float) -> None:
        self.tests.setdefault(test, {}).update(values)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"totals": dict(sorted(self.counts.items())), "tests": self.tests,
               "written_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def figures() -> Iterator[Figures]:
    fig = Figures()
    yield fig
    if fig.tests:
        fig.write(FIGURES_FILE)


@pytest.fixture
def chaos_env(tmp_path: Path) -> dict[str, str]:
    """Overrides a test may change before the stack starts (e.g. max receive count)."""
    return {}


class _PytestStack(ChaosStack):
    def wait_for(self, what: str, check: Callable[[], T | None], timeout: float,
                 tick: Callable[[], None] = lambda: None, interval: float = 0.2) -> T:
        try:
            return super().wait_for(what, check, timeout, tick, interval)
        except TimeoutError as exc:
            pytest.fail(str(exc))


@pytest.fixture
def stack(tmp_path: Path, aws_env: None, chaos_env: dict[str, str]) -> Iterator[ChaosStack]:
    base = start_stack(tmp_path, chaos_env)
    chaos = _PytestStack(**{f: getattr(base, f) for f in base.__dataclass_fields__})
    try:
        yield chaos
    finally:
        stop_stack(chaos)
