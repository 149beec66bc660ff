"""Build benchmark: auto-lambda's build against ``chalice package`` on the same app,
and cold against warm builds, in one run. Prints figures and ratios (no asserts).

    .venv/bin/python bench/build.py [--repeat 3] [--requirement requests] [--json]

Cases (each the minimum of --repeat runs, every cold run with an empty build cache):
- chalice-hello with a requirement added in a temporary copy: auto-lambda cold, warm
  (unchanged), after a code edit; ``chalice package`` cold (no .chalice/deployments)
  and rerun (chalice's own cache kept).
- numpy-stats: auto-lambda cold, warm, after a code edit.
Needs the package registry (pip downloads).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from orchestrator.cli.examples import example_dir
from orchestrator.steps.manifest import load_app_spec
from orchestrator.steps.packaging import BuildCache, build_package


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def copy_app(name: str, dest: Path, requirement: str | None) -> Path:
    shutil.copytree(example_dir(name), dest,
                    ignore=shutil.ignore_patterns("__pycache__", "deployments"))
    if requirement:
        req = dest / "requirements.txt"
        old = req.read_text() if req.exists() else ""
        req.write_text(old + requirement + "\n")
    return dest


def edit(app: Path, n: int) -> None:
    path = app / "app.py"
    path.write_text(path.read_text() + f"\n# edit {n}\n")


def ours(app: Path, work: Path, tag: str, cache_dir: Path) -> float:
    spec = load_app_spec(app, app.name + ".zip")
    cache = BuildCache(cache_dir)
    return timed(lambda: build_package(app, spec, work / f"{tag}.zip", cache=cache))


def chalice_package(app: Path, out: Path) -> float:
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    cmd = [sys.executable, "-c", "import sys; from chalice.cli import main; sys.exit(main())",
           "package", str(out)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=app, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode != 0 or "Could not install" in proc.stdout + proc.stderr:
        raise SystemExit(f"chalice package failed:\n{proc.stdout}\n{proc.stderr}")
    return took


def bench_app(name: str, requirement: str | None, repeat: int, with_chalice: bool
              ) -> dict[str, float]:
    runs: dict[str, list[float]] = {}
    for i in range(repeat):
        with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
            work = Path(tmp)
            app = copy_app(name, work / name, requirement)
            cache = work / "cache"
            runs.setdefault("cold", []).append(ours(app, work, "cold", cache))
            runs.setdefault("warm", []).append(ours(app, work, "warm", cache))
            edit(app, i)
            runs.setdefault("edit", []).append(ours(app, work, "edit", cache))
            if with_chalice:
                plain = copy_app(name, work / "chalice-copy", requirement)
                shutil.rmtree(plain / ".chalice" / "deployments", ignore_errors=True)
                runs.setdefault("chalice_cold", []).append(chalice_package(plain, work / "c1"))
                runs.setdefault("chalice_rerun", []).append(
                    chalice_package(plain, work / "c2"))
                edit(plain, i)
                runs.setdefault("chalice_edit", []).append(chalice_package(plain, work / "c3"))
    return {k: min(v) for k, v in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--requirement", default="requests",
                        help="added to chalice-hello's requirements in a temporary copy")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {
        "chalice-hello": bench_app("chalice-hello", args.requirement, args.repeat, True),
        "numpy-stats": bench_app("numpy-stats", None, args.repeat, False),
    }
    ratios: dict[str, float] = {}
    ch = results["chalice-hello"]
    ratios["chalice-hello cold / chalice package cold"] = ch["cold"] / ch["chalice_cold"]
    ratios["chalice-hello cold / warm"] = ch["cold"] / ch["warm"]
    ratios["chalice-hello code edit: chalice / ours"] = ch["chalice_edit"] / ch["edit"]
    np_ = results["numpy-stats"]
    ratios["numpy-stats cold / warm"] = np_["cold"] / np_["warm"]
    ratios["numpy-stats cold / code edit"] = np_["cold"] / np_["edit"]
    if args.json:
        print(json.dumps({"seconds": results, "ratios": ratios, "repeat": args.repeat},
                         indent=2))
        return
    print(f"build benchmark (min of {args.repeat} runs, seconds)")
    for app, figures in results.items():
        print(f"  {app}: " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))
    for label, value in ratios.items():
        print(f"  {label}: {value:.1f}x")


if __name__ == "__main__":
    main()
