"""``read_module``: what the static checks need from an app's Python module, found in a
bounded probe (``pysource_probe.py``, run in the jail like every other program that
reads upload content) so a hostile module cannot make the worker parse megabytes of
source into gigabytes of syntax tree.

A module over ``MAX_SOURCE_BYTES`` is refused (``HandlerTooLarge``) before anything
reads it; the probe runs with a memory cap (a module too complex to parse within it is
``HandlerTooComplex``) and a timeout. It only compiles; nothing of the app runs. No
jail here: ``SandboxUnavailable`` (for modules the worker does not read itself).

A module of at most ``INPROCESS_MAX_BYTES`` (64 KB) is read in the worker with the same
code: its syntax tree is bounded by its size (tens of megabytes at worst), and a
subprocess would cost ~20 ms of every rebuild. Larger modules, and any that must be
judged by another interpreter's grammar, go to the probe.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.codes import Code
from orchestrator.errors import AutoLambdaError
from orchestrator.types import JsonObject

MAX_SOURCE_BYTES = 1024 * 1024
INPROCESS_MAX_BYTES = 64 * 1024
PROBE_MEMORY_BYTES = 1024 * 1024 * 1024
PROBE_TIMEOUT = 60.0
PROBE = Path(__file__).with_name("pysource_probe.py")


@dataclass(frozen=True)
class ModuleFacts:
    syntax_error: dict[str, object] | None = None
    bound: bool = False        # the function is bound at module level (or in if/try/with)
    direct: bool = False       # ... by a plain module-level statement
    is_async: bool = False     # ... as a module-level ``async def``
    imports: list[tuple[str, int]] = field(default_factory=list)


def _too(what: Code, message: str, hint: str, error: type[AutoLambdaError]) -> AutoLambdaError:
    return error(message, code=what, hint=hint)


def read_module(path: Path, func: str, *, interpreter: str | None = None,
                error: type[AutoLambdaError] = AutoLambdaError,
                max_bytes: int = MAX_SOURCE_BYTES) -> ModuleFacts:
    """Facts about ``path`` (the handler's module) and ``func`` in it; raises ``error``
    with HandlerTooLarge or HandlerTooComplex."""
    size = path.stat().st_size
    if size > max_bytes:
        raise _too(Code.HandlerTooLarge,
                   f"{path.name} is {size:,} bytes; handler modules are checked up to "
                   f"{max_bytes:,} bytes",
                   "move data out of the handler's module (into a file it reads, or a "
                   "module it imports)", error)
    if size <= INPROCESS_MAX_BYTES and interpreter is None:
        from orchestrator.steps.unpack import pysource_probe

        return _facts(pysource_probe.facts(path.read_bytes(), str(path), func))
    # imported on use, for start-up time: small modules never start the probe
    from orchestrator.steps.jail import Limits, default_jail

    python = interpreter or sys.executable
    limits = json.dumps([["RLIMIT_CORE", 0, 0]])  # the jail's launcher sets the others
    result, timed_out = default_jail().run(
        [python, "-I", "-S", "-B", "-c", PROBE.read_text("utf-8"), limits, path.name, func,
         "-"], input=path.read_bytes(), timeout=PROBE_TIMEOUT, python=python,
        env={"LC_ALL": "C.UTF-8"}, cwd=Path("/tmp"),
        limits=Limits(memory_bytes=PROBE_MEMORY_BYTES, cpu_seconds=int(PROBE_TIMEOUT),
                      processes=8))
    answer: object = None
    if not timed_out and result.returncode == 0:
        try:
            answer = json.loads(result.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            answer = None
    if not isinstance(answer, dict):
        raise _too(Code.HandlerTooComplex,
                   f"{path.name} could not be read within {PROBE_MEMORY_BYTES >> 20} MB and "
                   f"{PROBE_TIMEOUT:g} s", "simplify the handler's module", error)
    return _facts(answer)


def _facts(answer: JsonObject) -> ModuleFacts:
    if answer.get("syntax_error"):
        return ModuleFacts(syntax_error=dict(answer["syntax_error"]))
    return ModuleFacts(bound=bool(answer.get("bound")), direct=bool(answer.get("direct")),
                       is_async=bool(answer.get("is_async")),
                       imports=[(str(n), int(line)) for n, line in answer.get("imports", [])])
