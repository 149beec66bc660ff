"""Static checks of a built package, before anything runs: the handler's module file and
function exist, the module compiles, and its top-level imports can be satisfied by the
package, the target runtime's standard library or what Lambda's Python runtime provides.

The module is read by a bounded subprocess (``orchestrator.steps.unpack.pysource``: a size cap,
then a compile and a parse under a memory cap, never in the worker's memory), with the target's
``interpreter`` when its version differs from the runner's, so newer syntax is judged
by the right grammar. It never imports or executes app code.
"""

from __future__ import annotations

import sys
from pathlib import Path

from orchestrator.codes import Code
from orchestrator.errors import VerifyError
from orchestrator.steps.build.imports import stdlib_names
from orchestrator.steps.build.runtime_provided import PROVIDED_MODULES
from orchestrator.steps.unpack.pysource import read_module
from orchestrator.types import JsonObject

# What the Lambda Python runtime provides besides the standard library, and the target
# version's standard library: the build's import check and this one share them.
RUNTIME_PROVIDED = PROVIDED_MODULES


def handler_module_path(package_dir: Path, handler: str) -> tuple[Path, str]:
    """The file of the handler's module and the function name, or HandlerNotFound."""
    module, _, func = handler.rpartition(".")
    if not module or not func or not all(p.isidentifier() for p in [*module.split("."), func]):
        raise VerifyError(
            f"handler {handler!r} is not of the form module.function",
            code=Code.HandlerNotFound,
            hint='set [function] handler = "app.handler" in auto-lambda.toml',
        )
    base = package_dir.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate, func
    raise VerifyError(
        f"handler {handler!r}: no {module.replace('.', '/')}.py in the package",
        code=Code.HandlerNotFound,
        hint="put the module at the zip root or fix [function] handler in auto-lambda.toml",
    )


def _in_package(package_dir: Path, name: str) -> bool:
    if (package_dir / name).is_dir() or (package_dir / f"{name}.py").is_file():
        return True
    # compiled extensions (name.cpython-312-x86_64-linux-gnu.so, name.abi3.so, name.so)
    return any(p.is_file() for p in package_dir.glob(f"{name}.*.so")) or (
        package_dir / f"{name}.so").is_file()


def static_check(package_dir: Path, handler: str, *, runtime_version: str | None = None,
                 interpreter: Path | None = None) -> JsonObject:
    """Check the handler statically; return what was checked (for the job record).

    Raises VerifyError: HandlerNotFound, HandlerSyntaxError, ImportErrorAtInit,
    HandlerTooLarge, HandlerTooComplex.
    """
    runner_version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    target = tuple(int(p) for p in (runtime_version or runner_version).split("."))[:2]
    target_v: tuple[int, int] = (target[0], target[1])
    path, func = handler_module_path(package_dir, handler)
    rel = path.relative_to(package_dir).as_posix()
    notes: list[str] = []
    # The target's interpreter is only needed for a grammar the runner does not have:
    # of the same version, the runner's own interpreter gives the same answer.
    same_version = target_v == sys.version_info[:2]
    compiler = None if same_version else interpreter
    facts = read_module(path, func, interpreter=str(compiler) if compiler else None,
                        error=VerifyError)
    result: JsonObject = {"handler": handler, "module_file": rel, "function": func,
                              "compiled_with": str(compiler) if compiler else
                              f"python{runner_version} (runner)",
                              "imports": [], "notes": notes}
    if facts.syntax_error is not None:
        line, msg = facts.syntax_error.get("lineno"), facts.syntax_error.get("msg")
        if compiler is None and target_v > sys.version_info[:2]:
            # The runner's grammar is older than the target's: this may be new syntax.
            notes.append(f"syntax not confirmed: Python {runner_version} cannot parse line "
                         f"{line} and no python{target_v[0]}.{target_v[1]} was available; "
                         "the function and its imports were not checked statically")
            return result
        where = f" line {line}" if line else ""
        with_what = f" with {compiler.name}" if compiler else ""
        raise VerifyError(f"{rel}{where} does not compile{with_what}: {msg}",
                          code=Code.HandlerSyntaxError,
                          hint="fix the syntax error and upload again",
                          details={"file": rel, "line": line})
    if not facts.bound:
        raise VerifyError(f"handler {handler!r}: {rel} defines no {func!r} at module level",
                          code=Code.HandlerNotFound,
                          hint=f"define def {func}(event, context) in {rel} or fix "
                               "[function] handler in auto-lambda.toml")
    std = stdlib_names(target_v)
    missing: list[str] = []
    for name, line in facts.imports:
        if name in std or name == "__future__":
            where = "stdlib"
        elif _in_package(package_dir, name):
            where = "package"
        elif name in RUNTIME_PROVIDED:
            where = "runtime"
        else:
            where = "missing"
            missing.append(f"{name} (line {line})")
        result["imports"].append({"module": name, "line": line, "from": where})
    if missing:
        raise VerifyError(
            f"{rel} imports modules that are neither in the package nor in the "
            f"python{target_v[0]}.{target_v[1]} runtime: {', '.join(missing)}",
            code=Code.ImportErrorAtInit,
            hint="add them to requirements.txt (or vendor/) and upload again",
            details={"missing": missing},
        )
    return result
