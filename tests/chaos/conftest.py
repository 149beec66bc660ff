"""The chaos suite's fixtures over ``tests/chaos/harness.py``: a fresh moto server and
real ``auto-lambda worker`` subprocesses with short leases and visibility per test, and
the session's figures.

Figures from every chaos test (jobs run, kills, duplicate deliveries, hostile inputs,
jobs lost, duplicate deployments, takeover times) are summed into
``.auto-lambda/chaos-figures.json`` at the end of the session; docs/reliability.md
quotes them. Under pytest-xdist each worker hands its figures to the controller, which
sums them and writes the file once (tests/conftest.py).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

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
WORKER_OUTPUT_KEY = "chaos_figures"
T = TypeVar("T")


class Figures:
    """Counts summed over the session and written as JSON at its end; ``measure`` keeps
    measured values (e.g. seconds) per test as they are."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.added: dict[str, dict[str, int]] = {}
        self.measured: dict[str, dict[str, float]] = {}
        self.order: list[str] = []

    def _seen(self, test: str) -> None:
        if test not in self.order:
            self.order.append(test)

    def add(self, test: str, **values: int) -> None:
        self._seen(test)
        added = self.added.setdefault(test, {})
        for key, value in values.items():
            self.counts[key] += value
            added[key] = added.get(key, 0) + value

    def measure(self, test: str, **values: float) -> None:
        self._seen(test)
        self.measured.setdefault(test, {}).update(values)

    @property
    def tests(self) -> dict[str, dict[str, float]]:
        return {t: {**self.added.get(t, {}), **self.measured.get(t, {})} for t in self.order}

    def parts(self) -> dict[str, Any]:
        """What another session needs to merge these figures into its own."""
        return {"order": self.order, "added": self.added, "measured": self.measured}

    @classmethod
    def merged(cls, parts: list[dict[str, Any]]) -> Figures:
        """The figures of several sessions (xdist workers) as one, as if one session had
        run every test: added values summed, measured ones kept."""
        fig = cls()
        for part in parts:
            for test in part["order"]:
                fig.add(test, **part["added"].get(test, {}))
                if test in part["measured"]:
                    fig.measure(test, **part["measured"][test])
        return fig

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"totals": dict(sorted(self.counts.items())), "tests": self.tests,
               "written_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def figures(request: pytest.FixtureRequest) -> Iterator[Figures]:
    fig = Figures()
    yield fig
    if not fig.tests:
        return
    workeroutput = getattr(request.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller sums and writes
        workeroutput[WORKER_OUTPUT_KEY] = fig.parts()
    else:
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
