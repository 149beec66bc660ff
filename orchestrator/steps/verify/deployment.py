"""``verify_deployment``: the gate between a published version and ``live``.

Always a static check of the package first; then the smoke test: one invocation per
event of ``[verify]`` (the default one and any named ones, in order), in a local sandbox
when running against the emulator (which cannot execute code), else the published
version on AWS. Each output is compared with that event's expectation. A
runtime with no local interpreter yields a ``static-only`` result that says so; it is
not an error. This module moves no alias: the pipeline promotes only after it returns.
"""

from __future__ import annotations

import json
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from orchestrator.aws.facade import Aws
from orchestrator.steps.deploy.step import DeployResult
from orchestrator.steps.jail import Jail
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.steps.verify.compare import check_output
from orchestrator.steps.verify.interpreters import find_interpreter
from orchestrator.steps.verify.remote import invoke_version
from orchestrator.steps.verify.runner import extract_package, run_local
from orchestrator.steps.verify.secrets import resolve_for_local_run
from orchestrator.steps.verify.static import static_check
from orchestrator.types import JsonMapping, JsonObject

# What the job record keeps of a smoke test's answer and of the handler's imports.
MAX_STORED_OUTPUT_CHARS = 4_000
MAX_STORED_IMPORTS = 100

_MACHINE_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True)
class VerifyResult:
    """How the version was checked and what it answered. Stored under ``verify`` in the
    execution's data."""

    KEY: ClassVar[str] = "verify"
    mode: str                  # "local" | "remote" | "static-only"
    static: JsonObject
    output: Any
    duration: float
    interpreter: str | None
    note: str
    # every smoke event run: {"name", "output", "duration"} (output above is the first's)
    events: list[JsonObject] = field(default_factory=list)

    def to_dict(self) -> JsonObject:
        return asdict(self)

    def to_json(self) -> JsonObject:
        """As stored in the job: what the handler returned, and the imports the static
        check looked at, are cut down when large (a job record holds a summary)."""
        out = asdict(self)
        text = json.dumps(self.output, default=str)
        if len(text) > MAX_STORED_OUTPUT_CHARS:
            out["output"] = {"truncated": True, "chars": len(text),
                             "start": text[:MAX_STORED_OUTPUT_CHARS]}
        imports = list(self.static.get("imports") or [])
        if len(imports) > MAX_STORED_IMPORTS:
            out["static"] = {**self.static, "imports": imports[:MAX_STORED_IMPORTS],
                             "imports_total": len(imports)}
        return out

    @classmethod
    def from_json(cls, raw: JsonMapping) -> VerifyResult:
        return cls(mode=str(raw.get("mode") or ""), static=dict(raw.get("static") or {}),
                   output=raw.get("output"), duration=float(raw.get("duration") or 0.0),
                   interpreter=raw.get("interpreter"), note=str(raw.get("note") or ""),
                   events=list(raw.get("events") or []))


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
        events = spec.smoke_events()
        if not aws.settings.is_local:
            ran: list[JsonObject] = []
            for event in events:
                began = clock()
                output = invoke_version(aws, spec, deployed.function_name, deployed.version,
                                        event=event.event, label=f"smoke event {event.name!r}")
                check_output(spec, output, event)
                ran.append({"name": event.name, "output": output, "duration": clock() - began})
            return VerifyResult("remote", static, ran[0]["output"], clock() - started,
                                None, f"invoked {deployed.function_name}:{deployed.version}"
                                + (f" with {len(ran)} events" if len(ran) > 1 else ""), ran)

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
        secrets = resolve_for_local_run(aws, spec.secrets) if spec.secrets else None
        ran = []
        for event in events:
            run = run_local(task, spec, interpreter, work_dir=root, event=event.event,
                            secrets=secrets,
                            function_name=deployed.function_name, version=deployed.version,
                            function_arn=f"{deployed.function_arn}:{deployed.version}",
                            region=aws.settings.region, jail=jail,
                            label=f"smoke event {event.name!r}",
                            cache_dir=cache_dir or aws.settings.cache_dir / "verify",
                            precompile=any(i["from"] == "runtime" for i in static["imports"]))
            check_output(spec, run.output, event)
            ran.append({"name": event.name, "output": run.output, "duration": run.duration})
        times = "once" if len(ran) == 1 else f"with {len(ran)} events"
        note = f"ran {spec.handler} {times} with {interpreter}"
        note += " in the jail (no network)" if run.jailed else " WITHOUT the jail"
        if run.notes:
            note += "; " + "; ".join(run.notes)
        unchecked = [e.name for e in events if not e.has_expect]
        if unchecked:
            note += (f"; no expectation given for {', '.join(unchecked)}, so only 'returned "
                     "without error' was checked there")
        return VerifyResult("local", static, ran[0]["output"], clock() - started,
                            str(interpreter), note, ran)
    finally:
        shutil.rmtree(root, ignore_errors=True)
