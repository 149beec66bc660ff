"""Builds that resolve and download from the package registry (few; every test shares one
download folder, so wheels and uv's metadata are fetched once per machine):

- numpy for python3.12 takes the newest release with a wheel for the target, even with
  the lowest uv auto-lambda supports and although that release needs a newer Python
  than the worker's; a warm build reuses the install byte for byte;
- numpy for python3.13 on arm64 gets aarch64 code;
- boto3 is left out (the runtime has it) while urllib3, which requests needs, stays;
- a uv.lock installs exactly its pins; hash-pinned requirements install when the hashes
  match and fail with HashMismatch when they do not;
- a requirement without a wheel for the target names itself;
- the api-events and pyproject-app examples go through the whole pipeline to verified.
"""

from __future__ import annotations

import io
import json
import stat
import subprocess
import sys
import urllib.request
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet
from packaging.utils import parse_wheel_filename
from packaging.version import Version

from auto_lambda_dev.examples import example_dir
from orchestrator.errors import BuildError
from orchestrator.steps.build import BuildCache, build_package
from orchestrator.steps.build.abi import read_elf
from orchestrator.steps.build.target import Target
from orchestrator.steps.unpack.manifest import load_app_spec
from tests.functional.conftest import Pipeline

pytestmark = pytest.mark.registry
SHARED = Path(__file__).resolve().parents[2] / ".auto-lambda" / "test-cache"


def lowest_supported_uv() -> str:
    """The floor of the project's own ``uv`` requirement (pyproject.toml)."""
    import tomllib

    data = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    spec = next(d for d in data["project"]["dependencies"] if d.startswith("uv"))
    return next(s.version for s in SpecifierSet(spec.removeprefix("uv")) if s.operator == ">=")


def uv_binary(version: str) -> Path:
    """That uv release's binary, taken from its wheel once into the shared folder."""
    dest = SHARED / f"uv-{version}" / "uv"
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--only-binary=:all:", "--dest", str(dest.parent), f"uv=={version}"],
                   check=True, capture_output=True)
    wheel = next(dest.parent.glob(f"uv-{version}-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        data = zf.read(f"uv-{version}.data/scripts/uv")
    part = dest.with_suffix(".part")
    part.write_bytes(data)
    part.chmod(part.stat().st_mode | stat.S_IXUSR)
    part.replace(dest)
    return dest


def index_files(name: str) -> list[dict[str, object]]:
    """The files the index lists for ``name`` (the simple JSON API)."""
    req = urllib.request.Request(f"https://pypi.org/simple/{name}/",
                                 headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return list(json.load(resp)["files"])


def newest_fitting(files: list[dict[str, Any]], target: Target) -> Version:
    """The newest final release with a wheel that fits ``target`` and a Requires-Python
    that admits it."""
    best: Version | None = None
    for f in files:
        if not str(f["filename"]).endswith(".whl") or f.get("yanked"):
            continue
        _, version, _, tags = parse_wheel_filename(f["filename"])
        if version.is_prerelease or (f.get("requires-python") and not SpecifierSet(
                f["requires-python"]).contains(target.python_version)):
            continue
        if any(target.python_fits(t.interpreter, t.abi) and target.platform_fits(t.platform)
               for t in tags):
            best = version if best is None or version > best else best
    assert best is not None
    return best


@pytest.fixture
def cache(tmp_path: Path) -> BuildCache:
    return BuildCache(tmp_path / "build-cache", download_dir=SHARED)


def plain_app(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_numpy_for_python312_is_the_newest_fitting_release_with_the_lowest_uv(
        tmp_path: Path, cache: BuildCache, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTO_LAMBDA_UV", str(uv_binary(lowest_supported_uv())))
    app = example_dir("numpy-stats")
    spec = load_app_spec(app, "numpy-stats.zip")
    cold = build_package(app, spec, tmp_path / "cold.zip", cache=cache)
    assert cold.installer == f"uv {lowest_supported_uv()}"
    got = Version(dict(cold.installed)["numpy"])
    files = index_files("numpy")
    assert got == newest_fitting(files, Target("python3.12", "x86_64"))
    # the worker runs 3.11, which that release does not admit: had the worker's
    # interpreter judged Requires-Python, an older release would have been taken
    assert sys.version_info[:2] < (3, 12)
    worker = f"{sys.version_info[0]}.{sys.version_info[1]}"
    requires = {str(f["requires-python"]) for f in files if str(f["filename"]).startswith(
        f"numpy-{got}-") and f.get("requires-python")}
    assert requires and not any(SpecifierSet(r).contains(worker) for r in requires)
    assert cold.cache_hits == [] and cold.newest_glibc is not None
    with zipfile.ZipFile(cold.zip_path) as zf:
        names = zf.namelist()
        core = [n for n in names if n.startswith("numpy/_core/_multiarray_umath.cpython-312")]
        assert core and "app.py" in names and not any(n.startswith("bin/") for n in names)
        assert read_elf(io.BytesIO(zf.read(core[0]))).machine == 62
        assert zf.testzip() is None
    warm = build_package(app, spec, tmp_path / "warm.zip", cache=cache)
    assert warm.cache_hits and warm.installed == cold.installed
    assert warm.zip_path.read_bytes() == cold.zip_path.read_bytes()


def test_numpy_for_python313_arm64(tmp_path: Path, cache: BuildCache) -> None:
    app = example_dir("numpy-stats")
    spec = replace(load_app_spec(app, "numpy-stats.zip"), runtime="python3.13",
                   architecture="arm64")
    res = build_package(app, spec, tmp_path / "arm.zip", cache=cache)
    with zipfile.ZipFile(res.zip_path) as zf:
        sos = [n for n in zf.namelist() if n.endswith(".so")]
        assert sos and all("cpython-313-aarch64" in n for n in sos if "cpython-" in n)
        assert read_elf(io.BytesIO(zf.read(sos[0]))).machine == 183


def test_boto3_is_left_out_but_what_requests_needs_stays(tmp_path: Path,
                                                         cache: BuildCache) -> None:
    app = plain_app(tmp_path / "app", {
        "app.py": "import boto3\nimport requests\n\ndef handler(event, context):\n"
                  "    return requests.__version__\n",
        "requirements.txt": "-r requirements/base.txt\nboto3>=1.26\n",
        "requirements/base.txt": "requests\n"})
    res = build_package(app, load_app_spec(app, "app.zip"), tmp_path / "p.zip", cache=cache)
    installed = {n.lower() for n, _v in res.installed}
    left = {d["name"] for d in res.left_out}
    assert {"boto3", "botocore", "s3transfer", "jmespath"} <= left
    assert "urllib3" in installed and "requests" in installed
    assert not installed & {"boto3", "botocore", "s3transfer"}
    assert res.inputs == ["requirements.txt", "requirements/base.txt"]
    with zipfile.ZipFile(res.zip_path) as zf:
        assert not any(n.startswith(("boto3/", "botocore/")) for n in zf.namelist())
    assert {i["module"]: i["from"] for i in res.imports["imports"]}["boto3"] == "runtime"
    # asked for explicitly, the SDK is packaged whole
    (app / "auto-lambda.toml").write_text("[build]\ninclude_runtime_packages = true\n")
    whole = build_package(app, load_app_spec(app, "app.zip"), tmp_path / "w.zip", cache=cache)
    assert {"boto3", "botocore", "s3transfer"} <= {n.lower() for n, _v in whole.installed}
    assert whole.left_out == []


def test_a_lock_installs_its_pins_and_hashes_are_checked(tmp_path: Path,
                                                        cache: BuildCache) -> None:
    # a uv.lock as `uv lock` writes it, pinning an old six and nothing else
    app = plain_app(tmp_path / "locked", {
        "app.py": "import six\n\ndef handler(event, context):\n    return six.__version__\n",
        "pyproject.toml": '[project]\nname = "locked"\nversion = "0"\n'
                          'requires-python = ">=3.12"\ndependencies = ["six"]\n',
        "uv.lock": 'version = 1\nrevision = 3\nrequires-python = ">=3.12"\n\n'
                   '[[package]]\nname = "locked"\nversion = "0"\nsource = { virtual = "." }\n'
                   'dependencies = [{ name = "six" }]\n\n'
                   '[[package]]\nname = "six"\nversion = "1.16.0"\n'
                   'source = { registry = "https://pypi.org/simple" }\n'
                   'wheels = [{ url = "https://files.pythonhosted.org/packages/d9/5a/'
                   'e7c31adbe875f2abbb91bd84cf2dc52d792b5a01506781dbcf25c91daf11/'
                   'six-1.16.0-py2.py3-none-any.whl", hash = "sha256:'
                   '8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254" }]\n'})
    res = build_package(app, load_app_spec(app, "locked.zip"), tmp_path / "l.zip", cache=cache)
    assert res.installed == [("six", "1.16.0")] and res.resolution == "lock"
    # the same pin with a hash that is not the wheel's
    bad = plain_app(tmp_path / "hashed", {
        "app.py": "import six\n\ndef handler(event, context):\n    return 1\n",
        "requirements.txt": "six==1.16.0 --hash=sha256:" + "0" * 64 + "\n"})
    with pytest.raises(BuildError) as info:
        build_package(bad, load_app_spec(bad, "hashed.zip"), tmp_path / "h.zip", cache=cache)
    assert info.value.code == "HashMismatch"
    (bad / "requirements.txt").write_text(
        "six==1.16.0 \\\n    --hash=sha256:"
        "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254\n")
    good = build_package(bad, load_app_spec(bad, "hashed.zip"), tmp_path / "g.zip", cache=cache)
    assert good.installed == [("six", "1.16.0")]


def test_requirement_without_a_wheel_names_the_package(tmp_path: Path, cache: BuildCache
                                                       ) -> None:
    app = plain_app(tmp_path / "app", {
        "app.py": "def handler(event, context):\n    return 1\n",
        "requirements.txt": "numpy==1.21.0  # no cp312 wheel was ever made\n"})
    with pytest.raises(BuildError) as info:
        build_package(app, load_app_spec(app, "old-numpy.zip"), tmp_path / "x.zip",
                      cache=cache)
    err = info.value
    assert err.code == "NoCompatibleWheel"
    assert "numpy==1.21.0" in str(err) and "manylinux_2_34" in str(err)
    assert err.details["package"] == "numpy"


def test_the_new_examples_verify_through_the_pipeline(pipeline: Pipeline,
                                                     tmp_path: Path) -> None:
    """api-events (-r includes, boto3 left out, API Gateway events with nulls, named
    events) and pyproject-app (dependencies only in pyproject.toml, an optional group)
    go all the way to verified; the job record says what was left out."""
    from auto_lambda_dev.examples import zip_example

    env = pipeline.runtime.steps.env
    env._cache = BuildCache(tmp_path / "pipeline-cache", download_dir=SHARED)
    for name in ("api-events", "pyproject-app"):
        zipped = zip_example(example_dir(name), tmp_path / "zips")
        pipeline.upload(f"{name}.zip", zipped.read_bytes())
    records = {r.key: r for r in pipeline.drain() if r.key}
    for name in ("api-events", "pyproject-app"):
        assert records[f"{name}.zip"].state == "verified", records[f"{name}.zip"].error
    data = records["api-events.zip"].snapshot["data"]
    assert {d["name"] for d in data["build"]["left_out"]} >= {"boto3", "botocore"}
    assert data["build"]["installed"] == []
    assert [e["name"] for e in data["verify"]["events"]] == ["default", "create-item",
                                                             "empty-post"]
    installed = records["pyproject-app.zip"].snapshot["data"]["build"]["installed"]
    assert {i["name"] for i in installed} == {"humanize", "tabulate"}
