"""The import check at build time: every module the handler imports when it is loaded
must be in the package, in the target runtime's standard library, or provided by the
runtime (boto3 and its dependencies). Otherwise the build fails with
``MissingDependency``, before anything is deployed.

Starts at the handler's module and follows the app's own modules it imports (not the
dependencies', which their own metadata vouches for). Only imports that run
unconditionally at load time count: those at module level, outside ``try``/``if``
blocks (which are how optional imports are written). Sources are parsed, never run: in
the worker up to 64 KB a module (``pysource.INPROCESS_MAX_BYTES``, as the manifest's
handler check), in the bounded probe subprocess above that (its imports are checked but
not followed); one over 1 MB, or one this Python cannot parse (newer syntax), is not
checked, and the result says so (verify still runs it).
"""

from __future__ import annotations

import ast
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrator.codes import Code
from orchestrator.errors import BuildError
from orchestrator.steps.build.names import entry_top_level
from orchestrator.steps.build.runtime_provided import PROVIDED_MODULES
from orchestrator.steps.build.target import Target
from orchestrator.steps.build.zipdet import Entry, entry_bytes
from orchestrator.steps.transcript import note as log_note
from orchestrator.steps.unpack.pysource import INPROCESS_MAX_BYTES, MAX_SOURCE_BYTES, read_module
from orchestrator.types import JsonObject

MAX_MODULES = 200
# Standard-library modules removed after 3.11 (the worker's own list includes them).
_REMOVED: dict[tuple[int, int], frozenset[str]] = {
    (3, 12): frozenset({"distutils", "imp", "asynchat", "asyncore", "smtpd"}),
    (3, 13): frozenset({"aifc", "audioop", "cgi", "cgitb", "chunk", "crypt", "imghdr",
                        "mailcap", "msilib", "nis", "nntplib", "ossaudiodev", "pipes",
                        "sndhdr", "spwd", "sunau", "telnetlib", "uu", "xdrlib", "lib2to3"}),
}
_ADDED: dict[tuple[int, int], frozenset[str]] = {
    (3, 14): frozenset({"annotationlib", "compression"}),
}


def stdlib_names(version: tuple[int, int]) -> frozenset[str]:
    """Top-level standard-library module names of Python ``version`` (best effort)."""
    names = set(sys.stdlib_module_names)
    for since, removed in _REMOVED.items():
        if version >= since:
            names -= removed
    for since, added in _ADDED.items():
        if version >= since:
            names |= added
    return frozenset(names)


def _load_time_imports(tree: ast.Module, package: str) -> list[tuple[str, int]]:
    """(absolute dotted name, line) of the imports at module level."""
    found: list[tuple[str, int]] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            found.extend((a.name, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                if node.level > 1:
                    parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            if not base:
                continue
            found.append((base, node.lineno))
            found.extend((f"{base}.{a.name}", node.lineno) for a in node.names
                         if a.name != "*")
    return found


def _imports_of(raw: bytes, name: str, package: str,
                notes: list[str]) -> list[tuple[str, int]] | None:
    """The load-time imports of one module: parsed here when small, else (top-level
    names only) by the bounded probe; None, with a note, when it cannot be read."""
    if len(raw) > INPROCESS_MAX_BYTES:
        with tempfile.TemporaryDirectory(prefix="auto-lambda-imports-") as tmp:
            path = Path(tmp) / "module.py"
            path.write_bytes(raw)
            try:
                facts = read_module(path, "_", error=BuildError)
            except BuildError as exc:
                notes.append(f"{name}: {exc.message}; its imports were not checked")
                return None
        if facts.syntax_error is not None:
            notes.append(f"{name} could not be parsed here: its imports were not checked")
            return None
        return list(facts.imports)
    try:
        tree = ast.parse(raw, name)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        notes.append(f"{name} could not be parsed here ({type(exc).__name__}): its imports "
                     "were not checked")
        return None
    return _load_time_imports(tree, package)


def check_imports(entries: dict[str, Entry], handler: str, target: Target, *,
                  app_names: set[str], provided: frozenset[str] = PROVIDED_MODULES,
                  on_note: Callable[[str], None] | None = None) -> JsonObject:
    """Check what ``handler``'s module imports at load time against the package
    ``entries`` (name → entry). ``app_names`` are the entry names that are the app's own
    files (followed); raise MissingDependency."""
    available = entry_top_level(list(entries))
    std = stdlib_names((3, int(target.python_version.split(".")[1])))
    module = handler.rpartition(".")[0]
    queue: list[str] = [module]
    seen: set[str] = set()
    checked: list[str] = []
    notes: list[str] = []
    imports: list[JsonObject] = []
    missing: list[str] = []

    def source_of(dotted: str) -> tuple[str, Entry, bool] | None:
        base = dotted.replace(".", "/")
        for name, is_pkg in ((f"{base}.py", False), (f"{base}/__init__.py", True)):
            if name in entries and name in app_names:
                return name, entries[name], is_pkg
        return None

    while queue and len(seen) < MAX_MODULES:
        dotted = queue.pop(0)
        if dotted in seen:
            continue
        seen.add(dotted)
        found = source_of(dotted)
        if found is None:
            continue
        name, entry, is_pkg = found
        raw = entry_bytes(entry, MAX_SOURCE_BYTES + 1)
        if len(raw) > MAX_SOURCE_BYTES:
            notes.append(f"{name} is over {MAX_SOURCE_BYTES // 1024} KB: its imports were not "
                         "checked")
            continue
        package = dotted if is_pkg else dotted.rpartition(".")[0]
        found_imports = _imports_of(raw, name, package, notes)
        if found_imports is None:
            continue
        checked.append(name)
        for target_name, line in found_imports:
            top = target_name.split(".")[0]
            if top in std or top == "__future__":
                where = "stdlib"
            elif top in available:
                where = "package"
                if source_of(target_name) is not None:
                    queue.append(target_name)
                elif source_of(top) is not None:
                    queue.append(top)
            elif top in provided:
                where = "runtime"
            else:
                where = "missing"
                text = f"{top} ({name} line {line})"
                if not any(m.startswith(f"{top} (") for m in missing):
                    missing.append(text)
            record = {"module": top, "file": name, "line": line, "from": where}
            if record not in imports:
                imports.append(record)
    for note in notes:
        if on_note:
            on_note(note)
    result = {"handler": handler, "modules": checked, "imports": imports, "notes": notes}
    log_note("import check", _report(checked, imports, notes, missing))
    if missing:
        raise BuildError(
            f"{handler.rpartition('.')[0]} imports modules that are neither in the package nor "
            f"provided by the {target.runtime} runtime: {', '.join(missing)}",
            code=Code.MissingDependency,
            hint="add them to requirements.txt or [project] dependencies in pyproject.toml "
                 "(or put them in vendor/), then upload again",
            details={"missing": missing})
    return result


def _report(checked: list[str], imports: list[JsonObject], notes: list[str],
            missing: list[str]) -> str:
    """The import check as the build log shows it: one line per import found."""
    lines = [f"modules read: {', '.join(checked) or '(none)'}"]
    lines += [f"  {i['module']:<28} {i['from']:<8} {i['file']} line {i['line']}"
              for i in imports]
    lines += [f"note: {n}" for n in notes]
    lines += [f"MISSING: {m}" for m in missing]
    return "\n".join(lines)
