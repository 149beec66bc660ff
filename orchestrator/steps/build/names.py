"""Names: distributions as the package index compares them (PEP 503), and the
top-level import names a package's files provide. Pure, no imports beyond ``re``:
shared by the input readers, the resolver, the installer and the import check."""

from __future__ import annotations

import re

_SEP_RE = re.compile(r"[-_.]+")
_EXT_SUFFIX_RE = re.compile(r"^(?P<mod>[A-Za-z_][A-Za-z0-9_]*)(?:\.[A-Za-z0-9_-]+)?\.(?:so|pyd)$")
_MODULE_RE = re.compile(r"^(?P<mod>[A-Za-z_][A-Za-z0-9_]*)\.py$")
_PKG_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def canonical_name(name: str) -> str:
    """PEP 503 normalised name: ``Foo_Bar.baz`` → ``foo-bar-baz``."""
    return _SEP_RE.sub("-", name).lower()


def add_top_level(path: str, into: set[str]) -> None:
    """Add the import name a package file at ``path`` provides (if any) to ``into``."""
    head, sep, _rest = path.partition("/")
    if sep:
        if _PKG_RE.match(head) and not head.endswith((".dist-info", ".data")):
            into.add(head)
        return
    m = _MODULE_RE.match(head) or _EXT_SUFFIX_RE.match(head)
    if m:
        into.add(m.group("mod"))


def entry_top_level(names: list[str]) -> set[str]:
    """Top-level import names provided by package files named ``names``."""
    out: set[str] = set()
    for name in names:
        add_top_level(name, out)
    return out
