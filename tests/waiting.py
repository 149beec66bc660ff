"""A bounded wait on a condition, for tests that watch other threads or processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T | None], timeout: float = 20) -> T:
    """``check()``'s first true value, polled until ``timeout`` seconds pass (then the
    test fails, saying what it waited for)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)
