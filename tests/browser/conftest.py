"""A real browser for the console's tests: Playwright driving Debian's Chromium.

Playwright's own browser download cannot be reached here, so the tests launch the
system Chromium (``/usr/bin/chromium``, or ``AUTO_LAMBDA_CHROMIUM``). Where it or
Playwright is missing the tests are skipped, except under CI (``CI=true``), where a
missing browser is a failure: `.ci/run` installs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any, NoReturn

import pytest

CHROMIUM_FLAGS = ["--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]


def chromium_path() -> str | None:
    configured = os.environ.get("AUTO_LAMBDA_CHROMIUM")
    if configured:
        return configured
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _missing(what: str) -> NoReturn:
    message = (f"{what}; install it with `apt-get install -y chromium` and "
               "`pip install -e '.[dev]'`")
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"browser tests cannot run under CI: {message}")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed")
    path = chromium_path()
    if path is None:
        _missing("no Chromium found")
    args = [*CHROMIUM_FLAGS, *(["--no-sandbox"] if os.geteuid() == 0 else [])]
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, args=args, headless=True)
        try:
            yield launched
        finally:
            launched.close()
