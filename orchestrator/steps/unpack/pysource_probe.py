"""Reads one Python module of an app, outside the worker, and reports what the static
checks need: run as ``python -I -S -B pysource_probe.py LIMITS_JSON PATH FUNCTION``
(the runner's own interpreter, or the target runtime's when its grammar is newer), it sets
its memory and CPU limits first, then compiles the file (never runs it) and prints one
JSON line: ``{"syntax_error": {"msg", "lineno"}}`` or ``{"bound": bool, "direct": bool,
"is_async": bool, "imports": [[name, line], ...]}`` (``direct``: bound by a plain
module-level statement; ``bound``: also inside if/for/while/with/try at module level;
``is_async``: a module-level ``async def`` of that name; ``imports``: top-level absolute
imports that run unconditionally).

Parsing a large or deeply nested module can take gigabytes: here that costs a
subprocess with a memory cap, never the worker. Standard library only, Python 3.10+.
"""

from __future__ import annotations

import ast
import json
import resource
import sys

_MAX_IMPORTS = 2000


def _binds(node: ast.stmt, name: str, nested: bool) -> bool:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.name == name
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return any(isinstance(n, ast.Name) and n.id == name
                   for t in targets for n in ast.walk(t))
    if isinstance(node, ast.Import | ast.ImportFrom):
        return any((a.asname or a.name.split(".")[0]) == name or a.name == "*"
                   for a in node.names)
    if not nested:
        return False
    children: list[ast.stmt] = []
    if isinstance(node, ast.If | ast.For | ast.While | ast.With | ast.AsyncWith):
        children = [*node.body, *getattr(node, "orelse", [])]
    elif isinstance(node, ast.Try):
        children = [*node.body, *node.orelse, *node.finalbody,
                    *(s for h in node.handlers for s in h.body)]
    return any(_binds(c, name, nested) for c in children)


def _required_imports(tree: ast.Module) -> list[list[object]]:
    found: list[list[object]] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            found.extend([a.name.split(".")[0], node.lineno] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append([node.module.split(".")[0], node.lineno])
    return found[:_MAX_IMPORTS]


def facts(source: bytes, path: str, func: str) -> dict[str, object]:
    """What the checks need from one module's ``source`` (the line ``main`` prints)."""
    try:
        compile(source, path, "exec", dont_inherit=True)
        tree = ast.parse(source, path)
    except SyntaxError as exc:
        return {"syntax_error": {"msg": str(exc.msg), "lineno": exc.lineno}}
    except (ValueError, RecursionError) as exc:  # null bytes, absurd nesting
        return {"syntax_error": {"msg": f"{type(exc).__name__}: {exc}"[:500], "lineno": None}}
    return {"bound": any(_binds(n, func, True) for n in tree.body),
            "direct": any(_binds(n, func, False) for n in tree.body),
            "is_async": any(isinstance(n, ast.AsyncFunctionDef) and n.name == func
                            for n in tree.body),
            "imports": _required_imports(tree)}


def main() -> int:
    for name, soft, hard in json.loads(sys.argv[1]):
        resource.setrlimit(getattr(resource, name), (soft, hard))
    path, func = sys.argv[2], sys.argv[3]
    if sys.argv[4:] == ["-"]:  # the source on stdin (in the jail, which sees no files)
        source = sys.stdin.buffer.read()
    else:
        with open(path, "rb") as fh:
            source = fh.read()
    print(json.dumps(facts(source, path, func)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
