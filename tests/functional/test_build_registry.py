"""Builds that download wheels from the package registry (few; one shared pip cache):
numpy cross-installed for python3.12/x86_64 and python3.13/arm64 takes a manylinux_2_28
release, a warm build reuses the cached tree byte for byte, and a requirement without
a wheel for the target names itself."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from orchestrator.cli.examples import example_dir
from orchestrator.errors import BuildError
from orchestrator.steps.manifest import load_app_spec
from orchestrator.steps.packaging import BuildCache, build_package
from orchestrator.steps.packaging.abi import read_elf

pytestmark = pytest.mark.registry
PIP_CACHE = Path(__file__).resolve().parents[2] / ".auto-lambda" / "test-cache"


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".")[:2])


@pytest.fixture
def cache(tmp_path: Path) -> BuildCache:
    return BuildCache(tmp_path / "build-cache", pip_cache_dir=PIP_CACHE)


def test_numpy_for_python312_x86_64_cold_then_warm(tmp_path: Path, cache: BuildCache) -> None:
    app = example_dir("numpy-stats")
    spec = load_app_spec(app, "numpy-stats.zip")
    cold = build_package(app, spec, tmp_path / "cold.zip", cache=cache)
    versions = dict(cold.installed)
    assert version_tuple(versions["numpy"]) >= (2, 3)  # a manylinux_2_28 release
    assert cold.cache_hits == [] and cold.newest_glibc is not None
    assert version_tuple(cold.newest_glibc) <= (2, 34)
    with zipfile.ZipFile(cold.zip_path) as zf:
        names = zf.namelist()
        prefix = "numpy/_core/_multiarray_umath.cpython-312-x86_64"
        core = [n for n in names if n.startswith(prefix)]
        assert core and "app.py" in names and not any(n.startswith("bin/") for n in names)
        assert read_elf(io.BytesIO(zf.read(core[0]))).machine == 62
    warm = build_package(app, spec, tmp_path / "warm.zip", cache=cache)
    assert warm.cache_hits and warm.installed == cold.installed
    assert warm.zip_path.read_bytes() == cold.zip_path.read_bytes()


def test_numpy_for_python313_arm64(tmp_path: Path, cache: BuildCache) -> None:
    app = example_dir("numpy-stats")
    spec = replace(load_app_spec(app, "numpy-stats.zip"), runtime="python3.13",
                   architecture="arm64")
    res = build_package(app, spec, tmp_path / "arm.zip", cache=cache)
    assert version_tuple(dict(res.installed)["numpy"]) >= (2, 3)
    with zipfile.ZipFile(res.zip_path) as zf:
        sos = [n for n in zf.namelist() if n.endswith(".so")]
        assert sos and all("cpython-313-aarch64" in n for n in sos if "cpython-" in n)
        assert read_elf(io.BytesIO(zf.read(sos[0]))).machine == 183


def test_requirement_without_a_wheel_names_the_package(tmp_path: Path, cache: BuildCache
                                                       ) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (app / "requirements.txt").write_text("numpy==1.21.0  # no cp312 wheel was ever made\n")
    spec = load_app_spec(app, "old-numpy.zip")
    with pytest.raises(BuildError) as info:
        build_package(app, spec, tmp_path / "x.zip", cache=cache)
    err = info.value
    assert err.code == "NoCompatibleWheel"
    assert "numpy==1.21.0" in str(err) and "manylinux_2_34_x86_64" in str(err)
    assert err.details["package"] == "numpy"
