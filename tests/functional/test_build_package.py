"""build_package and store_artifact without the package registry: plain apps, vendor/,
chalice projects (real ``chalice package`` subprocess), size and ABI refusals, the
cache's local and S3 tiers, and content-addressed artifacts on moto."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from moto import mock_aws

from auto_lambda_dev.examples import example_dir
from orchestrator.aws.facade import Aws
from orchestrator.config import Settings
from orchestrator.errors import BuildError
from orchestrator.steps.build import (
    BuildCache,
    BuildResult,
    S3RemoteCache,
    build_package,
    store_artifact,
)
from orchestrator.steps.build.zipdet import dir_entries
from orchestrator.steps.unpack.manifest import load_app_spec
from tests.unit.test_abi import AARCH64, make_elf


def copy_example(name: str, dest: Path) -> Path:
    src = example_dir(name)
    for path in src.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            target = dest / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    return dest


def build(app: Path, tmp_path: Path, out: str = "out.zip", cache: BuildCache | None = None,
          runtime: str | None = None, architecture: str | None = None) -> BuildResult:
    spec = load_app_spec(app, app.name + ".zip")
    spec = replace(spec, runtime=runtime or spec.runtime,
                   architecture=architecture or spec.architecture)
    cache = cache or BuildCache(tmp_path / "cache")
    return build_package(app, spec, tmp_path / out, cache=cache)


def build_code(app: Path, tmp_path: Path, runtime: str | None = None,
               architecture: str | None = None) -> BuildError:
    with pytest.raises(BuildError) as info:
        build(app, tmp_path, runtime=runtime, architecture=architecture)
    assert str(info.value)
    return info.value


def test_app_without_requirements_runs_no_installer(tmp_path: Path) -> None:
    app = copy_example("hello", tmp_path / "hello")
    (app / "requirements.txt").write_text("# nothing needed\n")
    said: list[str] = []
    spec = load_app_spec(app, "hello.zip")
    res = build_package(app, spec, tmp_path / "o.zip", cache=BuildCache(tmp_path / "cache"),
                        progress=said.append)
    assert said and not any("pip" in msg or "install" in msg for msg in said)
    assert res.installed == [] and not (tmp_path / "cache" / "deps").exists()


def test_plain_app_builds_deterministically(tmp_path: Path) -> None:
    app = copy_example("hello", tmp_path / "hello")
    (app / "__pycache__").mkdir()
    (app / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"junk")
    first = build(app, tmp_path, "a.zip")
    second = build(app, tmp_path, "b.zip")
    assert first.sha256 == second.sha256 == hashlib.sha256(first.zip_path.read_bytes()).hexdigest()
    with zipfile.ZipFile(first.zip_path) as zf:
        assert zf.namelist() == ["app.py", "auto-lambda.toml"]
    assert first.upload_via_s3 is False and first.installed == []
    assert json.loads(json.dumps(first.to_dict()))["sha256"] == first.sha256


def test_vendor_goes_to_the_root_and_app_files_win(tmp_path: Path) -> None:
    app = copy_example("hello", tmp_path / "hello")
    (app / "vendor" / "lib").mkdir(parents=True)
    (app / "vendor" / "lib" / "util.py").write_text("X = 1\n")
    (app / "vendor" / "app.py").write_text("shadowed\n")
    (app / ".chalice" / "deployments").mkdir(parents=True)
    (app / ".chalice" / "deployments" / "stale.zip").write_bytes(b"old")
    res = build(app, tmp_path)
    with zipfile.ZipFile(res.zip_path) as zf:
        names = zf.namelist()
        assert "lib/util.py" in names and not any(n.startswith("vendor/") for n in names)
        assert not any(n.startswith(".chalice/deployments") for n in names)
        assert b"def handler" in zf.read("app.py")
    assert res.overridden == ["app.py"]


def test_vendored_so_needing_newer_glibc_fails(tmp_path: Path) -> None:
    app = copy_example("hello", tmp_path / "hello")
    (app / "vendor").mkdir()
    (app / "vendor" / "libfast.so").write_bytes(make_elf(glibc=("GLIBC_2.17", "GLIBC_2.35")))
    err = build_code(app, tmp_path)
    assert err.code == "GlibcTooNew" and "vendor/libfast.so" in str(err)
    (app / "vendor" / "libfast.so").write_bytes(make_elf(glibc=("GLIBC_2.28",)))
    assert build(app, tmp_path).newest_glibc == "2.28"
    assert build_code(app, tmp_path, runtime="python3.11").code == "GlibcTooNew"


def test_vendored_so_for_another_machine_fails(tmp_path: Path) -> None:
    app = copy_example("hello", tmp_path / "hello")
    (app / "vendor").mkdir()
    (app / "vendor" / "libfast.so").write_bytes(make_elf(AARCH64))
    assert build_code(app, tmp_path).code == "AbiMismatch"
    assert build(app, tmp_path, architecture="arm64").files == 3


def test_package_over_250_mb_lists_largest(tmp_path: Path) -> None:
    app = copy_example("hello", tmp_path / "hello")
    (app / "vendor" / "big").mkdir(parents=True)
    with (app / "vendor" / "big" / "blob.bin").open("wb") as fh:
        fh.truncate(262_144_001)  # sparse: no disk used, never read
    (app / "data").mkdir()
    (app / "data" / "small.txt").write_text("x" * 1000)
    err = build_code(app, tmp_path)
    assert err.code == "PackageTooLarge"
    largest = err.details["largest"]
    assert largest[0] == {"path": "big/", "bytes": 262_144_001}
    assert "big/" in str(err) and "data/" in str(err)
    assert not (tmp_path / "out.zip").exists()


def test_requirements_with_pip_options_are_refused(tmp_path: Path) -> None:
    app = copy_example("hello", tmp_path / "hello")
    (app / "requirements.txt").write_text("--index-url http://evil.example/simple\nnumpy\n")
    assert build_code(app, tmp_path).code == "RequirementsInvalid"
    (app / "requirements.txt").write_text("pkg @ https://evil.example/pkg.whl\n")
    assert build_code(app, tmp_path).code == "RequirementsInvalid"


def test_chalice_project_packages_and_caches(tmp_path: Path) -> None:
    app = copy_example("chalice-hello", tmp_path / "chalice-hello")
    cache = BuildCache(tmp_path / "cache")
    cold = build(app, tmp_path, "cold.zip", cache)
    with zipfile.ZipFile(cold.zip_path) as zf:
        names = set(zf.namelist())
    assert {"app.py", "chalice/app.py"} <= names
    assert cold.chalice and cold.cache_hits == []
    warm = build(app, tmp_path, "warm.zip", cache)
    assert warm.sha256 == cold.sha256 and any("chalice" in h for h in warm.cache_hits)
    (app / "app.py").write_text((app / "app.py").read_text() + "\n# edited\n")
    edited = build(app, tmp_path, "edited.zip", cache)
    assert edited.sha256 != cold.sha256 and edited.cache_hits == []


def test_chalice_other_runtime_is_refused(tmp_path: Path) -> None:
    app = copy_example("chalice-hello", tmp_path / "c")
    assert build_code(app, tmp_path, runtime="python3.12").code == "ChaliceRuntimeMismatch"
    assert build_code(app, tmp_path, architecture="arm64").code == "ChaliceRuntimeMismatch"


def test_chalice_app_that_fails_to_import(tmp_path: Path) -> None:
    app = copy_example("chalice-hello", tmp_path / "c")
    (app / "app.py").write_text((app / "app.py").read_text() + "\nimport not_a_module_here\n")
    err = build_code(app, tmp_path)
    assert err.code == "ChalicePackageFailed" and "not_a_module_here" in str(err)


def test_cache_entries_are_shared_through_s3(tmp_path: Path) -> None:
    src = tmp_path / "tree"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "__init__.py").write_text("V = 1\n")
    with mock_aws():
        aws = Aws(Settings())
        aws.s3.create_bucket(Bucket=aws.settings.artifacts_bucket)
        first = BuildCache(tmp_path / "one", S3RemoteCache(aws))
        put = first.put("deps", "k" * 64, dir_entries(src), {"installed": [["pkg", "1"]]})
        keys = [o["Key"] for o in aws.s3.list_objects_v2(
            Bucket=aws.settings.artifacts_bucket)["Contents"]]
        assert keys == [f"cache/{'k' * 64}.zip"]
        second = BuildCache(tmp_path / "two", S3RemoteCache(aws))
        got = second.get("deps", "k" * 64)
        assert got is not None and got.source == "remote"
        assert got.meta["installed"] == [["pkg", "1"]]
        assert got.path.read_bytes() == put.path.read_bytes()
        assert second.get("deps", "m" * 64) is None


def test_store_artifact_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    res = build(copy_example("hello", tmp_path / "hello"), tmp_path)
    with mock_aws():
        aws = Aws(Settings())
        bucket = aws.settings.artifacts_bucket
        aws.s3.create_bucket(Bucket=bucket)
        first = store_artifact(aws, res)
        assert first.key == f"artifacts/{res.sha256}.zip"
        assert first.uri == f"s3://{bucket}/{first.key}"
        digest = hashlib.sha256(res.zip_path.read_bytes()).digest()
        assert first.code_sha256 == base64.b64encode(digest).decode()
        stamp = aws.s3.head_object(Bucket=bucket, Key=first.key)["LastModified"]
        versions_before = aws.s3.list_object_versions(Bucket=bucket).get("Versions", [])
        assert store_artifact(aws, res) == first
        assert aws.s3.head_object(Bucket=bucket, Key=first.key)["LastModified"] == stamp
        assert aws.s3.list_object_versions(Bucket=bucket).get("Versions", []) == versions_before
        body = aws.s3.get_object(Bucket=bucket, Key=first.key)["Body"].read()
        assert body == res.zip_path.read_bytes()


def test_chalice_output_saying_it_could_not_install_fails(tmp_path: Path) -> None:
    # A stand-in interpreter that waits for the go-ahead, then prints what chalice 1.34
    # prints for a dependency it cannot build (and exits 0, as chalice does).
    fake = tmp_path / "bin" / "fake-python"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nread go\n"
                    "echo 'Could not install dependencies:'\necho 'numpy==2.3.0'\n"
                    "echo 'You will have to build these yourself and vendor them in the "
                    "chalice vendor folder.'\nexit 0\n")
    fake.chmod(0o755)
    from orchestrator.steps.build.chalice import chalice_package
    from orchestrator.steps.build.target import Target

    app = copy_example("chalice-hello", tmp_path / "c")
    with pytest.raises(BuildError) as info:
        chalice_package(app, tmp_path / "work", Target("python3.11", "x86_64"),
                        tmp_path / "deps", python=str(fake))
    assert info.value.code == "ChaliceDependencyFailed"
    assert "numpy==2.3.0" in str(info.value)


def test_chalice_starts_early_and_imports_the_app_only_after_the_go_ahead(
        tmp_path: Path) -> None:
    from orchestrator.steps.build.chalice import start_chalice
    from orchestrator.steps.build.target import Target

    app = copy_example("chalice-hello", tmp_path / "c")
    # app.py needs a module that is not there yet when chalice starts
    (app / "app.py").write_text("import late_dependency\n" + (app / "app.py").read_text())
    deps = tmp_path / "work" / "deps"
    run = start_chalice(app, tmp_path / "work", Target("python3.11", "x86_64"), deps)
    try:
        (deps / "late_dependency.py").write_text("VALUE = 1\n")
        out = run.finish()
    finally:
        run.cancel()
    assert (out / "app.py").is_file()
    assert "import late_dependency" in (out / "app.py").read_text()
    assert run.process.proc.returncode == 0


def test_chalice_that_never_gets_the_go_ahead_is_stopped(tmp_path: Path) -> None:
    from orchestrator.steps.build.chalice import start_chalice
    from orchestrator.steps.build.target import Target

    app = copy_example("chalice-hello", tmp_path / "c")
    run = start_chalice(app, tmp_path / "work", Target("python3.11", "x86_64"), None)
    run.cancel()
    assert run.process.proc.returncode is not None
    assert not (tmp_path / "work" / "chalice" / "out").exists()


def test_chalice_app_that_hangs_at_import_is_stopped_with_build_timeout(tmp_path: Path) -> None:
    from orchestrator.steps.build.chalice import chalice_package
    from orchestrator.steps.build.target import Target

    app = copy_example("chalice-hello", tmp_path / "c")
    (app / "app.py").write_text("while True:\n    pass\n" + (app / "app.py").read_text())
    with pytest.raises(BuildError) as info:
        chalice_package(app, tmp_path / "work", Target("python3.11", "x86_64"), None,
                        timeout=1)
    assert info.value.code == "BuildTimeout"


def test_installer_jail_output_is_read_back_as_a_bounded_tail(tmp_path: Path) -> None:
    from orchestrator.steps.build.uvjail import MESSAGE_KEEP, run_uv

    loud = ("import sys\nfor i in range(200_000):\n"
            "    sys.stdout.write(f'line {i:09d} ' + 'x' * 40 + '\\n')\n")  # ~11 MB
    run = run_uv(["-I", "-c", loud], uv=sys.executable, out_dir=tmp_path / "out", inputs=[],
                 timeout=60, what="loud tool")
    assert run.output_exceeded  # stopped past the jail's output limit, not read whole
    assert 0 < len(run.output) <= MESSAGE_KEEP
    assert "line 0000" in run.output
