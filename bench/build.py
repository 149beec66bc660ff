"""Build benchmark: auto-lambda's build against the tools teams would otherwise use, on
the same app in the same run. Prints figures and ratios (no asserts).

    .venv/bin/python bench/build.py [--repeat 3] [--json] [--skip-chalice]

numpy-stats (numpy, python3.12 x86_64), each row the minimum of --repeat runs, every cold
run with empty caches (auto-lambda's build cache, uv's cache):
- auto-lambda through the CLI (``auto-lambda build app.zip -o out.zip``, a process per
  build, as a person or CI runs it): cold, unchanged (same zip again), after a code-only
  edit of app.py; and cold and unchanged again with the installer's jail off
  (``AUTO_LAMBDA_INSECURE_NO_JAIL=1``: the same uv, relay and index proxy, without the
  namespaces), to give the jail's cost;
- anchors, where installed: ``uv pip install --target`` for the same target followed
  by a deflate-6 zip of the tree (what a hand-rolled build does); ``sam build`` (no zip)
  and ``sam build`` + zip, cold and ``--cached`` after the edit (only with ``sam`` on
  PATH and a python3.12 for it).
chalice-hello with a requirement added (requests): auto-lambda cold and after an edit
against ``chalice package`` cold and after an edit (chalice ships with auto-lambda).
Also checks that two cold builds of numpy-stats give byte-identical packages.
Needs the package registry.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from auto_lambda_dev.examples import example_dir, zip_example

VENV_BIN = Path(sys.executable).parent
CLI = str(VENV_BIN / "auto-lambda")
PYTHON_VERSION = "3.12"


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(cmd: list[str], **kw: object) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed:\n{proc.stdout}\n{proc.stderr}")


def copy_app(name: str, dest: Path, requirement: str | None = None) -> Path:
    shutil.copytree(example_dir(name), dest,
                    ignore=shutil.ignore_patterns("__pycache__", "deployments"))
    if requirement:
        req = dest / "requirements.txt"
        req.write_text((req.read_text() if req.exists() else "") + requirement + "\n")
    return dest


def edit(app: Path, n: int) -> None:
    path = app / "app.py"
    path.write_text(path.read_text() + f"\n# edit {n}\n")


def cli_build(app: Path, work: Path, tag: str, cache: Path,
              extra: dict[str, str] | None = None) -> tuple[float, Path]:
    zip_path = zip_example(app, work / f"in-{tag}")
    out = work / f"{tag}.zip"
    env = {**os.environ, "AUTO_LAMBDA_CACHE_DIR": str(cache), **(extra or {})}
    took = timed(lambda: run([CLI, "build", str(zip_path), "-o", str(out), "--json"], env=env))
    return took, out


def zip_tree(root: Path, out: Path) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(root).as_posix())


def uv_target_zip(app: Path, work: Path, tag: str) -> float:
    """uv pip install --target for python3.12 manylinux_2_34, then zip the tree."""
    from orchestrator.steps.build.dependencies import find_uv

    uv = find_uv()
    if uv is None:
        raise SystemExit("uv not found")
    target = work / f"uv-{tag}"
    cache = work / f"uv-cache-{tag}"

    def build() -> None:
        run([uv, "pip", "install", "--quiet", "--no-config", "--no-python-downloads",
             "--python", sys.executable, "--python-version", PYTHON_VERSION,
             "--python-platform", "x86_64-manylinux_2_34", "--only-binary", ":all:",
             "--target", str(target), "--cache-dir", str(cache),
             "-r", str(app / "requirements.txt")])
        shutil.copy2(app / "app.py", target / "app.py")
        zip_tree(target, work / f"uv-{tag}.zip")

    return timed(build)


def sam_available() -> str | None:
    sam = shutil.which("sam")
    return sam if sam and shutil.which(f"python{PYTHON_VERSION}") else None


def sam_rows(sam: str, app: Path, work: Path, i: int) -> dict[str, float]:
    (app / "template.yaml").write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\n"
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        f"      CodeUri: .\n      Handler: app.handler\n      Runtime: python{PYTHON_VERSION}\n")
    build_dir = work / f"sam-{i}"
    cmd = [sam, "build", "--build-dir", str(build_dir), "--template-file",
           str(app / "template.yaml")]
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    rows = {"sam_cold": timed(lambda: run(cmd, cwd=app, env=env))}
    rows["sam_cold_zip"] = rows["sam_cold"] + timed(
        lambda: zip_tree(build_dir / "Fn", work / f"sam-{i}.zip"))
    edit(app, 1000 + i)
    rows["sam_cached_edit"] = timed(lambda: run([*cmd, "--cached"], cwd=app, env=env))
    return rows


def bench_numpy(repeat: int) -> tuple[dict[str, float], dict[str, object]]:
    runs: dict[str, list[float]] = {}
    digests: list[str] = []
    sam = sam_available()
    for i in range(repeat):
        with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
            work = Path(tmp)
            app = copy_app("numpy-stats", work / "numpy-stats")
            cache = work / "cache"
            took, out = cli_build(app, work, "cold", cache)
            runs.setdefault("cold", []).append(took)
            digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
            runs.setdefault("unchanged", []).append(cli_build(app, work, "again", cache)[0])
            edit(app, i)
            runs.setdefault("edit", []).append(cli_build(app, work, "edit", cache)[0])
            runs.setdefault("uv_target_zip", []).append(
                uv_target_zip(example_dir("numpy-stats"), work, str(i)))
            bare = {"AUTO_LAMBDA_INSECURE_NO_JAIL": "1"}
            plain = copy_app("numpy-stats", work / "numpy-nojail")
            runs.setdefault("cold_nojail", []).append(
                cli_build(plain, work, "cold-nojail", work / "cache-nojail", bare)[0])
            runs.setdefault("unchanged_nojail", []).append(
                cli_build(plain, work, "again-nojail", work / "cache-nojail", bare)[0])
            if sam:
                for key, value in sam_rows(sam, copy_app("numpy-stats", work / "sam-app"),
                                           work, i).items():
                    runs.setdefault(key, []).append(value)
    facts = {"identical_cold_builds": len(set(digests)) == 1, "sha256": digests[0],
             "sam": "installed" if sam else "not installed (no sam and python3.12 on PATH)"}
    return {k: min(v) for k, v in runs.items()}, facts


def chalice_package(app: Path, out: Path) -> float:
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    cmd = [sys.executable, "-c", "import sys; from chalice.cli import main; sys.exit(main())",
           "package", str(out)]
    return timed(lambda: run(cmd, cwd=app, env=env))


def bench_chalice(repeat: int, requirement: str) -> dict[str, float]:
    runs: dict[str, list[float]] = {}
    for i in range(repeat):
        with tempfile.TemporaryDirectory(prefix="bench-chalice-") as tmp:
            work = Path(tmp)
            app = copy_app("chalice-hello", work / "chalice-hello", requirement)
            cache = work / "cache"
            runs.setdefault("cold", []).append(cli_build(app, work, "cold", cache)[0])
            edit(app, i)
            runs.setdefault("edit", []).append(cli_build(app, work, "edit", cache)[0])
            plain = copy_app("chalice-hello", work / "chalice-copy", requirement)
            shutil.rmtree(plain / ".chalice" / "deployments", ignore_errors=True)
            runs.setdefault("chalice_cold", []).append(chalice_package(plain, work / "c1"))
            edit(plain, i)
            runs.setdefault("chalice_edit", []).append(chalice_package(plain, work / "c2"))
    return {k: min(v) for k, v in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--requirement", default="requests",
                        help="added to chalice-hello's requirements in a temporary copy")
    parser.add_argument("--skip-chalice", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    numpy_rows, facts = bench_numpy(args.repeat)
    results: dict[str, dict[str, float]] = {"numpy-stats": numpy_rows}
    ratios: dict[str, float] = {
        "numpy cold / (uv pip install --target + zip)":
            numpy_rows["cold"] / numpy_rows["uv_target_zip"],
        "numpy cold / code edit": numpy_rows["cold"] / numpy_rows["edit"],
        "numpy cold, jailed installer / without the jail":
            numpy_rows["cold"] / numpy_rows["cold_nojail"],
        "numpy unchanged, jailed installer / without the jail":
            numpy_rows["unchanged"] / numpy_rows["unchanged_nojail"],
    }
    if "sam_cold_zip" in numpy_rows:
        ratios["numpy cold / (sam build + zip)"] = numpy_rows["cold"] / numpy_rows["sam_cold_zip"]
        ratios["numpy code edit: sam build --cached / ours"] = (
            numpy_rows["sam_cached_edit"] / numpy_rows["edit"])
    if not args.skip_chalice:
        ch = results["chalice-hello"] = bench_chalice(args.repeat, args.requirement)
        ratios["chalice-hello cold / chalice package cold"] = ch["cold"] / ch["chalice_cold"]
        ratios["chalice-hello code edit: chalice / ours"] = ch["chalice_edit"] / ch["edit"]
    if args.json:
        print(json.dumps({"seconds": results, "ratios": ratios, "facts": facts,
                          "repeat": args.repeat}, indent=2))
        return
    print(f"build benchmark (min of {args.repeat} runs, seconds; auto-lambda through its CLI)")
    for app, figures in results.items():
        print(f"  {app}: " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))
    for label, value in ratios.items():
        print(f"  {label}: {value:.2f}x")
    for label, value in facts.items():
        print(f"  {label}: {value}")


if __name__ == "__main__":
    main()
