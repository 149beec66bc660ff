"""``auto-lambda build ZIP -o OUT.zip``: the build step on its own, without AWS.

Unpacks the zip safely into a temporary folder, reads its manifest, applies
--runtime/--arch, builds a deterministic Lambda package and reports what was
installed, what was left out, sizes, cache hits and time (aligned text, or one JSON
document with --json). A failure prints its code and message and exits 2. Deploys
nothing, and imports neither boto3 nor rich: a rebuild after a code edit is mostly
start-up, so this command loads only what a build needs.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import click

from orchestrator.errors import AutoLambdaError
from orchestrator.steps.unpack.manifest import ARCHITECTURES, SUPPORTED_RUNTIMES
from orchestrator.types import JsonObject


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


def _print_human(doc: JsonObject) -> None:
    b = doc["build"]
    app = doc["app"]
    click.echo(f"built {b['zip_path']}  ({app['name']}, {b['runtime']} {b['architecture']}, "
               f"handler {app['handler']})")
    rows = [
        ("sha256", b["sha256"]),
        ("zipped", _mb(b["size"]) + ("  (over 50 MB: deploy through S3)"
                                     if b["upload_via_s3"] else "")),
        ("unzipped", f"{_mb(b['unzipped_size'])} of 262.14 MB allowed, {b['files']} files"),
        ("installed", ", ".join(f"{i['name']} {i['version']}" for i in b["installed"])
         or "(no dependencies)"),
    ]
    if b["left_out"]:
        rows.append(("left out", ", ".join(f"{i['name']} {i['version']}".strip()
                                           for i in b["left_out"]) + " (the runtime has them)"))
    if b["inputs"]:
        rows.append(("from", ", ".join(b["inputs"]) + f" with {b['installer']}"))
    rows += [
        ("newest glibc", b["newest_glibc"] or "(no native code)"),
        ("cache hits", ", ".join(b["cache_hits"]) or "none (cold build)"),
    ]
    if b["overridden"]:
        rows.append(("overridden", ", ".join(b["overridden"][:10])))
    rows.append(("largest", ", ".join(f"{x['path']} {_mb(x['bytes'])}"
                                      for x in b["largest"][:5])))
    for note in (b.get("imports") or {}).get("notes", []):
        rows.append(("note", note))
    rows.append(("time", f"{b['duration']:.2f} s build, {doc['total_seconds']:.2f} s total"))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"  {key:<{width}}  {value}")


@click.command("build")
@click.argument("zip_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False,
              path_type=Path), help="Where to write the Lambda package zip.")
@click.option("--runtime", type=click.Choice(SUPPORTED_RUNTIMES),
              help="Override the manifest's runtime.")
@click.option("--arch", type=click.Choice(ARCHITECTURES), help="Override the architecture.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Build cache folder (default: AUTO_LAMBDA_CACHE_DIR or .auto-lambda/cache).")
@click.option("--refresh", is_flag=True,
              help="Resolve the dependencies again, even if the same files were resolved "
                   "recently (unpinned requirements pick up new releases).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def build(zip_file: Path, out: Path, runtime: str | None, arch: str | None,
          cache_dir: Path | None, refresh: bool, as_json: bool) -> None:
    """Build ZIP_FILE (an app zip as uploaded) into a Lambda package, locally.

    Dependencies (requirements files, pyproject.toml, or a uv/poetry/Pipfile/pylock
    lock) are resolved with uv for the target runtime's Python and glibc and
    installed as wheels; what the runtime provides (boto3) is left out; native code
    is checked against the runtime; every module the handler imports at load time
    must be packaged. The package is byte-for-byte reproducible. Exit 2 on a build
    error.

    \b
    Example:
      auto-lambda build app.zip -o package.zip --runtime python3.12 --arch arm64
    """
    # imported on use, for start-up time: other commands (and --help) must not load it
    from orchestrator.config import Settings
    from orchestrator.steps.build import BuildCache, build_package
    from orchestrator.steps.unpack.manifest import load_app_spec
    from orchestrator.steps.unpack.zipsafe import lift_single_folder, unpack_zip

    start = time.monotonic()
    settings = Settings.from_env()
    say = (lambda _m: None) if as_json else (lambda m: click.echo(f"  {m}", err=True))
    try:
        with tempfile.TemporaryDirectory(prefix="auto-lambda-app-") as tmp:
            app_dir = Path(tmp) / "app"
            unpacked = unpack_zip(zip_file, app_dir)
            say(f"unpacked {len(unpacked.files)} files ({_mb(unpacked.bytes_written)})")
            lifted = lift_single_folder(app_dir)
            if lifted:
                say(f"the zip holds one folder, {lifted}/: building from its contents")
            spec = load_app_spec(app_dir, zip_file.name)
            if runtime:
                spec = replace(spec, runtime=runtime)
            if arch:
                spec = replace(spec, architecture=arch)
            cache = BuildCache.from_settings(settings, local_dir=cache_dir)
            res = build_package(app_dir, spec, out, cache=cache, progress=say, refresh=refresh)
    except AutoLambdaError as exc:
        if as_json:
            click.echo(json.dumps({"ok": False, "error": exc.as_dict()}, indent=2))
        else:
            click.echo(f"error [{exc.code}]: {exc}", err=True)
        sys.exit(2)
    doc = {"ok": True, "app": spec.to_dict(), "build": res.to_dict(),
           "total_seconds": round(time.monotonic() - start, 3)}
    if as_json:
        click.echo(json.dumps(doc, indent=2, default=str))
    else:
        _print_human(doc)


commands = [build]
