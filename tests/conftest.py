"""Test-wide guards: fake AWS credentials, a region, no instance metadata lookups,
and no endpoint inherited from the developer's shell. Nothing here reaches real AWS.

And how the suite runs in parallel (pytest-xdist, ``make test``): every live stack binds
ports the OS assigns and keeps its state and files to itself, so a test may run on any
worker in any order, except that

- tests sharing an expensive fixture wider than one test run on one worker
  (``--dist loadgroup``, with the groups below): the CDK synths, the browser's stack;
- the registry tests share one download folder, one at a time (a file lock);
- the longest tests start first, so that no worker is left with one at the end.
"""

from __future__ import annotations

import atexit
import fcntl
import gzip
import importlib.util
import json
import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.botocore_models import share_loaded_models

_FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
for _k, _v in _FAKE_ENV.items():
    os.environ[_k] = _v
for _k in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
    os.environ.pop(_k, None)


share_loaded_models()

# A suite started with SIGINT ignored (a background job of a shell without job control)
# would hand that on to every process it starts, and the tests that stop `demo` and
# `local up` with Ctrl-C, as a person would, would wait out their deadlines instead.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _moto_with_the_local_image_only() -> None:
    """moto's EC2 loads some 30,000 default images (a volume and a snapshot each) every
    time a fresh emulator needs EC2, as every Auto Scaling test does: ~0.3 s a test. The
    local stack uses one of them (``auto_lambda_dev.localgroup.LOCAL_IMAGE_ID``); the tests, and
    every moto server they start (``local up`` included, through the environment), load
    that one, taken from moto's own list. Must run before moto's EC2 is imported."""
    if "MOTO_AMIS_PATH" in os.environ:
        return
    from auto_lambda_dev.localgroup import LOCAL_IMAGE_ID

    spec = importlib.util.find_spec("moto")
    assert spec is not None and spec.origin is not None
    bundled = Path(spec.origin).parent / "ec2" / "resources" / "amis.json.gz"
    with gzip.open(bundled, "rt", encoding="utf-8") as f:
        images = [a for a in json.load(f) if a["ami_id"] == LOCAL_IMAGE_ID]
    assert images, f"moto no longer ships {LOCAL_IMAGE_ID}"
    fd, path = tempfile.mkstemp(prefix="moto-amis-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(images, f)
    atexit.register(os.unlink, path)
    os.environ["MOTO_AMIS_PATH"] = path


_moto_with_the_local_image_only()

# Three hypothesis profiles: "quick" for `make check`'s edit loop (20 examples a property),
# "dev" for local runs (100), "ci" (300, as the properties with their own count have)
# selected by .ci/run through HYPOTHESIS_PROFILE=ci.
QUICK_EXAMPLES = 20
settings.register_profile("quick", max_examples=QUICK_EXAMPLES, deadline=None)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("ci", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")
settings.load_profile(PROFILE)


def examples(n: int) -> int:
    """A property's own number of examples, cut to the quick profile's under it."""
    return min(n, QUICK_EXAMPLES) if PROFILE == "quick" else n


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in _FAKE_ENV.items():
        monkeypatch.setenv(key, value)


REPO = Path(__file__).resolve().parents[1]
# Downloads the registry tests share between runs and workers (wheels, uv's cache, uv).
TEST_CACHE = REPO / ".auto-lambda" / "test-cache"

# Tests that share a fixture wider than one test: each group runs on one xdist worker,
# so the fixture is made once (node id prefixes, relative to the repository).
GROUPS = {
    "tests/cdk/": "cdk",  # the session's synths: aws_cdk takes ~7 s to import per process
    "tests/browser/": "browser",  # one `local up --ui` and one Chromium for the module
    "tests/functional/test_tracing_xray.py": "xray",  # one moto server for the module
    "tests/functional/test_build_registry.py": "registry",  # one download folder
}
# Started first (most of the suite's wall time when started last), longest first.
LONGEST = (
    "tests/functional/test_long_jobs.py",
    "tests/e2e/test_local_scaling.py",
    "tests/chaos/",
    "tests/cdk/",
    "tests/e2e/",
    "tests/browser/",
)


def group_of(nodeid: str) -> str | None:
    return next((g for prefix, g in GROUPS.items() if nodeid.startswith(prefix)), None)


def _rank(item: pytest.Item) -> int:
    for rank, prefix in enumerate(LONGEST):
        if item.nodeid.startswith(prefix):
            return rank
    return len(LONGEST) + (0 if item.get_closest_marker("slow") else 1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: the collection order within each rank


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` with the groups above: each group is one unit of work, every
    other test a unit of its own, handed out in collection order. (xdist's own
    ``xdist_group`` markers cannot be used: with pytest 9.2 the group never reaches the
    node id that xdist 3.8 schedules by.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid) or nodeid

    return GroupScheduling(config, log)


@pytest.fixture(autouse=True)
def _registry_downloads_one_at_a_time(request: pytest.FixtureRequest) -> Iterator[None]:
    """A registry test holds the shared download folder alone while it runs."""
    if request.node.get_closest_marker("registry") is None:
        yield
        return
    TEST_CACHE.mkdir(parents=True, exist_ok=True)
    with (TEST_CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


# ---- the chaos suite's figures, summed over xdist workers (tests/chaos/conftest.py) ----
_FIGURES: pytest.StashKey[list[dict[str, Any]]] = pytest.StashKey()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    from tests.chaos.conftest import WORKER_OUTPUT_KEY

    parts = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY)
    if parts:
        node.config.stash.setdefault(_FIGURES, []).append(parts)


def pytest_sessionfinish(session: pytest.Session) -> None:
    parts = session.config.stash.get(_FIGURES, [])
    if parts:
        from tests.chaos.conftest import FIGURES_FILE, Figures

        Figures.merged(parts).write(FIGURES_FILE)
