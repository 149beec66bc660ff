"""The installer is looked up once per process, safely from a worker's build threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import uv

from orchestrator.steps.build import dependencies
from orchestrator.steps.build.dependencies import ENV_UV, find_uv


@pytest.fixture(autouse=True)
def _fresh_lookup() -> Iterator[None]:
    dependencies._look_up_uv.cache_clear()
    yield
    dependencies._look_up_uv.cache_clear()


def test_build_threads_find_uv_once_and_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def find_uv_bin() -> str:
        calls.append(threading.current_thread().name)
        return "/opt/uv/bin/uv"

    monkeypatch.setattr(uv, "find_uv_bin", find_uv_bin)
    start = threading.Barrier(8)
    found: list[str | None] = []

    def build() -> None:
        start.wait()
        found.append(find_uv({}))

    threads = [threading.Thread(target=build) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert found == ["/opt/uv/bin/uv"] * 8
    assert len(calls) == 1


def test_the_operator_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uv, "find_uv_bin", lambda: "/opt/uv/bin/uv")
    assert find_uv({ENV_UV: "/usr/local/bin/uv"}) == "/usr/local/bin/uv"
    assert find_uv({}) == "/opt/uv/bin/uv"
