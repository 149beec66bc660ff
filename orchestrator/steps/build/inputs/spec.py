"""Requirements as data: every dependency an app declares, in any file, becomes a
``Requirement`` (a PEP 503 name, extras, PEP 440 specifiers) or an exact ``Pin`` (a name
and a ``packaging`` version) before anything else sees it; the installer's input is
generated from these fields alone (``installer_line``).

Nothing written in an upload is copied into a line another tool parses. Names and
extras must be PEP 508 names, versions must parse as PEP 440 versions and are written
back in their normal form, hashes must be 64 hex digits, and arbitrary equality
(``===``, which takes any text) is refused. Markers are evaluated here for the target
and never passed on. So a newline, an option (``-e``, ``-r``, ``--index-url``), a URL,
``${VAR}``, a NUL or any other text in a field either fails to parse, with a stable code
naming the file and the field, or cannot reach the installer.

Pure: no I/O; ``packaging`` is the only dependency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchestrator.codes import Code
from orchestrator.errors import BuildError

# PEP 508's name rule; the canonical (PEP 503) form is lower case with single dashes.
_NAME_RE = re.compile(r"([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])")
_SEP_RE = re.compile(r"[-_.]+")
_HEX64_RE = re.compile(r"[0-9a-f]{64}")
MAX_FIELD = 200
# What a generated installer line may hold, checked once more as it is written.
_LINE_RE = re.compile(r"[a-z0-9][a-z0-9-]*(\[[a-z0-9,-]+\])?([<>=!~]{1,2}[A-Za-z0-9.*+!]+"
                      r"(,[<>=!~]{1,2}[A-Za-z0-9.*+!]+)*)?")
# Each is used with fullmatch: "$" would let a trailing newline through.


def _bad(code: Code, where: str, what: str, hint: str) -> BuildError:
    return BuildError(f"{where}: {what}", code=code, hint=hint, details={"where": where})


def shown(value: object) -> str:
    """``value`` as a short, quoted, one-line text for a message."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def name(value: object, where: str, code: Code = Code.RequirementsInvalid) -> str:
    """The canonical PEP 503 form of a distribution or extra name, or ``code``."""
    if not isinstance(value, str) or len(value) > MAX_FIELD or not _NAME_RE.fullmatch(value):
        raise _bad(code, where, f"{shown(value)} is not a package name",
                   "package names are letters, digits, '.', '-' and '_' (PEP 508)")
    return _SEP_RE.sub("-", value).lower()


def version(value: object, where: str, code: Code = Code.RequirementsInvalid) -> str:
    """``value`` as a normalised PEP 440 version, or ``code``."""
    from packaging.version import InvalidVersion, Version

    if not isinstance(value, str) or len(value) > MAX_FIELD:
        raise _bad(code, where, f"{shown(value)} is not a version", "use a PEP 440 version")
    try:
        return str(Version(value))
    except InvalidVersion:
        raise _bad(code, where, f"{shown(value)} is not a version",
                   "use a PEP 440 version such as 1.2.3") from None


def sha256(value: object, where: str, code: Code = Code.RequirementsInvalid) -> str:
    """A sha256 hex digest in lower case, or ``code``."""
    text = value.lower() if isinstance(value, str) else ""
    if not _HEX64_RE.fullmatch(text):
        raise _bad(code, where, f"{shown(value)} is not a sha256 digest",
                   "hashes are 64 hexadecimal digits (sha256:...)")
    return text


@dataclass(frozen=True)
class Requirement:
    """One requirement as the installer will be told it: no marker, no URL, no option."""

    name: str                                   # canonical PEP 503
    extras: tuple[str, ...] = ()                # canonical, sorted
    specifiers: tuple[tuple[str, str], ...] = ()  # (operator, normalised version), sorted

    def installer_line(self) -> str:
        extras = f"[{','.join(self.extras)}]" if self.extras else ""
        specs = ",".join(op + ver for op, ver in self.specifiers)
        line = f"{self.name}{extras}{specs}"
        if not _LINE_RE.fullmatch(line):  # unreachable from the parsers: a last check
            raise BuildError(f"internal: refusing to write the installer line {line!r}",
                             code=Code.InternalError)
        return line

    @property
    def exact(self) -> str | None:
        """The version when this pins exactly one (``==`` without a wildcard)."""
        if len(self.specifiers) == 1 and self.specifiers[0][0] == "==" \
                and "*" not in self.specifiers[0][1]:
            return self.specifiers[0][1]
        return None


def pin(raw_name: object, raw_version: object, where: str,
        code: Code = Code.LockInvalid) -> Requirement:
    """``name==version`` from a lock's fields."""
    return Requirement(name(raw_name, f"{where} name", code),
                       specifiers=(("==", version(raw_version, f"{where} version", code)),))


def _specifier(op: str, text: str, where: str, code: Code) -> tuple[str, str]:
    if op == "===":
        raise _bad(code, where, "arbitrary equality (===) is not accepted",
                   "use == with a PEP 440 version")
    if text.endswith(".*") and op in ("==", "!="):
        return op, version(text[:-2], where, code) + ".*"
    return op, version(text, where, code)


def from_packaging(req: object, where: str, code: Code = Code.RequirementsInvalid) -> Requirement:
    """A ``packaging.requirements.Requirement`` (already parsed, URL refused by the
    caller) rebuilt from its fields: each one checked, the marker left to the caller."""
    from packaging.requirements import Requirement as Parsed

    assert isinstance(req, Parsed)
    extras = tuple(sorted({name(e, f"{where} extra", code) for e in req.extras}))
    specs = tuple(sorted({_specifier(s.operator, s.version, where, code)
                          for s in req.specifier}))
    return Requirement(name(req.name, where, code), extras, specs)
