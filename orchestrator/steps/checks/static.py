"""Static checks of a built package, before anything runs: the handler's module file and
function exist, the module compiles, and its top-level imports can be satisfied by the
package, the target runtime's standard library or what Lambda's Python runtime provides.

Reads files and parses them with ``ast``; with an ``interpreter`` of a target version
other than the runner's it asks that interpreter to *compile* (never run) the module,
so newer syntax is judged by the right grammar (of the same version, the runner compiles
it itself). It never imports or executes app code.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

from orchestrator.errors import VerifyError
from orchestrator.steps.packaging.imports import stdlib_names
from orchestrator.steps.packaging.runtime_provided import PROVIDED_MODULES

# What the Lambda Python runtime provides besides the standard library, and the target
# version's standard library: the build's import check and this one share them.
RUNTIME_PROVIDED = PROVIDED_MODULES
_COMPILE_PROBE = ("import sys; p = sys.argv[1]; "
                  "compile(open(p, 'rb').read(), p, 'exec', dont_inherit=True)")


def handler_module_path(package_dir: Path, handler: str) -> tuple[Path, str]:
    """The file of the handler's module and the function name, or HandlerNotFound."""
    module, _, func = handler.rpartition(".")
    if not module or not func or not all(p.isidentifier() for p in [*module.split("."), func]):
        raise VerifyError(
            f"handler {handler!r} is not of the form module.function",
            code="HandlerNotFound",
            hint='set [function] handler = "app.handler" in auto-lambda.toml',
        )
    base = package_dir.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate, func
    raise VerifyError(
        f"handler {handler!r}: no {module.replace('.', '/')}.py in the package",
        code="HandlerNotFound",
        hint="put the module at the zip root or fix [function] handler in auto-lambda.toml",
    )


def _binds(node: ast.stmt, name: str) -> bool:
    """Whether a module-level statement (or one nested in if/try/with) binds ``name``."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.name == name
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return any(isinstance(n, ast.Name) and n.id == name
                   for t in targets for n in ast.walk(t))
    if isinstance(node, ast.Import | ast.ImportFrom):
        return any((a.asname or a.name.split(".")[0]) == name or a.name == "*"
                   for a in node.names)
    children: list[ast.stmt] = []
    if isinstance(node, ast.If | ast.For | ast.While | ast.With | ast.AsyncWith):
        children = [*node.body, *getattr(node, "orelse", [])]
    elif isinstance(node, ast.Try):
        children = [*node.body, *node.orelse, *node.finalbody,
                    *(s for h in node.handlers for s in h.body)]
    return any(_binds(c, name) for c in children)


def _required_imports(tree: ast.Module) -> list[tuple[str, int]]:
    """Top-level absolute imports that run unconditionally at import time.

    Imports inside try/if blocks are often optional fallbacks, so they are not required.
    """
    found: list[tuple[str, int]] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            found.extend((a.name.split(".")[0], node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module.split(".")[0], node.lineno))
    return found


def _in_package(package_dir: Path, name: str) -> bool:
    if (package_dir / name).is_dir() or (package_dir / f"{name}.py").is_file():
        return True
    # compiled extensions (name.cpython-312-x86_64-linux-gnu.so, name.abi3.so, name.so)
    return any(p.is_file() for p in package_dir.glob(f"{name}.*.so")) or (
        package_dir / f"{name}.so").is_file()


def _compile(path: Path, interpreter: Path | None) -> None:
    """Raise SyntaxError-as-VerifyError if ``path`` does not compile."""
    if interpreter is not None:
        done = subprocess.run([str(interpreter), "-I", "-S", "-c", _COMPILE_PROBE, str(path)],
                              capture_output=True, text=True, timeout=60, check=False,
                              env={"LC_ALL": "C.UTF-8"})
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["SyntaxError"])[-1]
            raise VerifyError(f"{path.name} does not compile with {interpreter.name}: {last}",
                              code="HandlerSyntaxError",
                              hint="fix the syntax error and upload again",
                              details={"stderr": done.stderr[-2000:]})
        return
    compile(path.read_bytes(), str(path), "exec", dont_inherit=True)


def static_check(package_dir: Path, handler: str, *, runtime_version: str | None = None,
                 interpreter: Path | None = None) -> dict[str, Any]:
    """Check the handler statically; return what was checked (for the job record).

    Raises VerifyError: HandlerNotFound, HandlerSyntaxError, ImportErrorAtInit.
    """
    runner_version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    target = tuple(int(p) for p in (runtime_version or runner_version).split("."))[:2]
    target_v: tuple[int, int] = (target[0], target[1])
    path, func = handler_module_path(package_dir, handler)
    rel = path.relative_to(package_dir).as_posix()
    notes: list[str] = []
    # The target's interpreter is only needed for a grammar the runner does not have:
    # of the same version, the runner's own compiler gives the same answer, without a
    # process (the source is parsed here below anyway).
    same_version = target_v == sys.version_info[:2]
    compiler = None if same_version else interpreter
    try:
        _compile(path, compiler)
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        raise VerifyError(f"{rel} cannot be compiled: {type(exc).__name__}: {exc}",
                          code="HandlerSyntaxError",
                          hint="fix the module and upload again") from None
    except SyntaxError as exc:
        if target_v > sys.version_info[:2]:
            # The runner's grammar is older than the target's: this may be new syntax.
            notes.append(f"syntax not confirmed: Python {sys.version_info[0]}."
                         f"{sys.version_info[1]} cannot parse line {exc.lineno} "
                         f"and no python{target_v[0]}.{target_v[1]} was available")
        else:
            raise VerifyError(f"{rel} line {exc.lineno}: {exc.msg}", code="HandlerSyntaxError",
                              hint="fix the syntax error and upload again",
                              details={"file": rel, "line": exc.lineno}) from None
    tree: ast.Module | None = None
    if not notes:
        try:
            tree = ast.parse(path.read_bytes(), str(path))
        except (SyntaxError, ValueError, RecursionError):
            notes.append(f"python{sys.version_info[0]}.{sys.version_info[1]} cannot parse "
                         f"{rel}; the function and its imports were not checked statically")
    result: dict[str, Any] = {"handler": handler, "module_file": rel, "function": func,
                              "compiled_with": str(compiler) if compiler else
                              f"python{runner_version} (runner)",
                              "imports": [], "notes": notes}
    if tree is None:
        return result
    if not any(_binds(node, func) for node in tree.body):
        raise VerifyError(f"handler {handler!r}: {rel} defines no {func!r} at module level",
                          code="HandlerNotFound",
                          hint=f"define def {func}(event, context) in {rel} or fix "
                               "[function] handler in auto-lambda.toml")
    std = stdlib_names(target_v)
    missing: list[str] = []
    for name, line in _required_imports(tree):
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
            code="ImportErrorAtInit",
            hint="add them to requirements.txt (or vendor/) and upload again",
            details={"missing": missing},
        )
    return result
