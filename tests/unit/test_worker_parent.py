"""A worker given its parent's pid stops once that process is no longer its parent."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from worker.parent import NotTheParent, watch_parent


def _parents(*pids: int) -> Iterator[int]:
    yield from pids
    while True:
        yield pids[-1]


def test_stops_once_the_parent_changes_and_only_once() -> None:
    parents = _parents(100, 100, 100, 1)
    gone = threading.Event()
    calls: list[int] = []

    def on_gone() -> None:
        calls.append(1)
        gone.set()

    thread = watch_parent(100, on_gone, every=0.001, getppid=lambda: next(parents))
    assert gone.wait(10)
    thread.join(10)
    assert not thread.is_alive() and calls == [1]


def test_a_pid_that_is_not_the_parent_is_refused_at_once() -> None:
    with pytest.raises(NotTheParent, match=r"process 7 is not this worker's parent .*42"):
        watch_parent(7, lambda: None, getppid=lambda: 42)


def test_a_worker_that_stops_on_its_own_ends_the_watch_without_calling() -> None:
    stopped = threading.Event()
    calls: list[int] = []
    thread = watch_parent(100, lambda: calls.append(1), every=0.001, getppid=lambda: 100,
                          stopped=stopped)
    stopped.set()
    thread.join(10)
    assert not thread.is_alive() and calls == []
