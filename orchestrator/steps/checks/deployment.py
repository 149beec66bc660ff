"""``verify_deployment``: the gate between a published version and ``live``.

Always a static check of the package first; then one smoke-test invocation: in a local
sandbox when running against the emulator (which cannot execute code), else the published
version on AWS. The output is compared with the manifest's ``[verify] expect``. A
runtime with no local interpreter yields a ``static-only`` result that says so; it is
not an error. This module moves no alias: the pipeline promotes only after it returns.
"""

from __future__ import annotations

import json
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

from orchestrator.aws.facade import Aws
from orchestrator.errors import VerifyError
from orchestrator.steps.checks.interpreters import find_interpreter
from orchestrator.steps.checks.remote import invoke_version
from orchestrator.steps.checks.runner import extract_package, run_local, short
from orchestrator.steps.checks.static import static_check
from orchestrator.steps.deploy import DeployResult
from orchestrator.steps.jail import Jail
from orchestrator.steps.manifest import AppSpec

_MACHINE_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True)
class VerifyResult:
    """How the version was checked and what it answered. Stored under ``verify`` in the
    execution's data."""

    KEY: ClassVar[str] = "verify"
    mode: str                  # "local" | "remote" | "static-only"
    static: dict[str, Any]
    output: Any
    duration: float
    interpreter: str | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    to_json = to_dict

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> VerifyResult:
        return cls(mode=str(raw.get("mode") or ""), static=dict(raw.get("static") or {}),
                   output=raw.get("output"), duration=float(raw.get("duration") or 0.0),
                   interpreter=raw.get("interpreter"), note=str(raw.get("note") or ""))


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON values: 1 == 1.0, but True != 1 and "1" != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def first_difference(expected: Any, got: Any, path: str = "$") -> str:
    """A JSON path to the first place ``got`` differs from ``expected``."""
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in expected:
            if key not in got:
                return f"{path}.{key} (missing)"
            if not json_equal(expected[key], got[key]):
                return first_difference(expected[key], got[key], f"{path}.{key}")
        extra = [k for k in got if k not in expected]
        return f"{path}.{extra[0]} (unexpected)" if extra else path
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        for i, (x, y) in enumerate(zip(expected, got, strict=True)):
            if not json_equal(x, y):
                return first_difference(x, y, f"{path}[{i}]")
    return path


def check_output(spec: AppSpec, output: Any) -> None:
    """VerifyBadOutput if ``output`` is not JSON; VerifyMismatch if it is not the expected."""
    try:
        json.dumps(output, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise VerifyError(f"{spec.handler} returned a value that is not JSON: {exc}",
                          code="VerifyBadOutput",
                          hint="return only dicts, lists, strings, numbers, booleans and None"
                          ) from None
    if spec.has_expect and not json_equal(spec.verify_expect, output):
        where = first_difference(spec.verify_expect, output)
        raise VerifyError(
            f"{spec.handler} returned {short(output)}, expected {short(spec.verify_expect)} "
            f"(first difference at {where})",
            code="VerifyMismatch",
            hint="fix the handler, or [verify] expect in auto-lambda.toml if it is out of date",
            details={"expected": short(spec.verify_expect, 4000), "got": short(output, 4000),
                     "at": where},
        )


def _native_files(package_dir: Path) -> bool:
    return any(package_dir.rglob("*.so"))


def verify_deployment(
    aws: Aws,
    spec: AppSpec,
    deployed: DeployResult,
    package_zip: Path,
    *,
    work_dir: Path,
    find: Callable[[str], Path | None] = find_interpreter,
    jail: Jail | None = None,
    clock: Callable[[], float] = time.monotonic,
    cache_dir: Path | None = None,
) -> VerifyResult:
    """Check ``deployed.version`` of ``spec`` (built as ``package_zip``); raise VerifyError.

    Local stack: the package runs in the jail with the runtime's interpreter
    (``static-only`` when there is none). AWS: the published version is invoked.
    """
    started = clock()
    work_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="verify-pkg-", dir=work_dir))
    try:
        task = root / "task"
        extract_package(package_zip, task)
        interpreter = find(spec.python_version)
        static = static_check(task, spec.handler, runtime_version=spec.python_version,
                              interpreter=interpreter)
        if not aws.settings.is_local:
            output = invoke_version(aws, spec, deployed.function_name, deployed.version)
            check_output(spec, output)
            return VerifyResult("remote", static, output, clock() - started,
                                None, f"invoked {deployed.function_name}:{deployed.version}")

        host = _MACHINE_ARCH.get(platform.machine().lower(), platform.machine())
        skip: str | None = None
        if interpreter is None:
            skip = (f"no local {spec.runtime} interpreter was found (searched PATH, "
                    "$PYENV_ROOT/versions, /usr/bin, /usr/local/bin)")
        elif spec.architecture != host and _native_files(task):
            skip = (f"the package holds native extensions built for {spec.architecture} and "
                    f"this machine is {host}")
        if skip is not None or interpreter is None:
            return VerifyResult(
                "static-only", static, None, clock() - started,
                str(interpreter) if interpreter else None,
                f"STATIC CHECK ONLY: the handler was NOT run, because {skip or 'no interpreter'}. "
                "The package's files, syntax and imports were checked; its behaviour was not."
                + "".join(f" Note: {n}." for n in static.get("notes", [])))
        run = run_local(task, spec, interpreter, work_dir=root,
                        function_name=deployed.function_name, version=deployed.version,
                        function_arn=f"{deployed.function_arn}:{deployed.version}",
                        region=aws.settings.region, jail=jail,
                        cache_dir=cache_dir or aws.settings.cache_dir / "verify",
                        precompile=any(i["from"] == "runtime" for i in static["imports"]))
        check_output(spec, run.output)
        note = f"ran {spec.handler} once with {interpreter}"
        note += " in the jail (no network)" if run.jailed else " WITHOUT the jail"
        if run.notes:
            note += "; " + "; ".join(run.notes)
        if not spec.has_expect:
            note += "; no [verify] expect given, so only 'returned without error' was checked"
        return VerifyResult("local", static, run.output, clock() - started, str(interpreter),
                            note)
    finally:
        shutil.rmtree(root, ignore_errors=True)
