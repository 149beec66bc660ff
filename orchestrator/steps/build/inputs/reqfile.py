"""Reading pip requirements files from an uploaded app, the subset that is safe on a
shared worker.

Accepted: requirement lines (names, extras, versions, markers), line continuations,
comments, ``-r``/``--requirement`` and ``-c``/``--constraint`` includes (resolved
relative to the including file, and only to files inside the app: an absolute path,
``..`` that leaves the app, a symlink pointing out of it, a URL or a cycle is refused),
``--hash=sha256:…`` after a requirement and ``--require-hashes``, and the harmless
``--pre``, ``--only-binary``/``--prefer-binary``. Refused with ``RequirementsInvalid``:
index and link options (``-i``, ``--extra-index-url``, ``-f``, ``--trusted-host``: an
upload must not point the workers at another host), ``-e``, ``--no-binary`` (nothing is
built from source here), direct URL or path requirements, and anything else.

Pure: reads files under the app folder, runs nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.codes import Code
from orchestrator.errors import BuildError
from orchestrator.steps.build.inputs import spec as reqspec

MAX_FILES = 32
MAX_FILE_BYTES = 1024 * 1024
MAX_LINE = 4096
_HASH_RE = re.compile(r"\s--hash(?:=|\s+)(?P<algo>[a-z0-9]+):(?P<hex>[0-9a-fA-F]+)")
_OPTION_RE = re.compile(r"^(?P<opt>--?[A-Za-z-]+)(?:[=\s]\s*(?P<value>.*))?$")
_INCLUDES = {"-r": "requirement", "--requirement": "requirement",
             "-c": "constraint", "--constraint": "constraint"}
_HARMLESS = {"--pre", "--only-binary", "--prefer-binary", "--require-hashes"}
_REFUSED_HINTS = {
    "-i": "the workers use the index their operator configured",
    "--index-url": "the workers use the index their operator configured",
    "--extra-index-url": "the workers use the index their operator configured",
    "--no-index": "the workers use the index their operator configured",
    "-f": "the workers use the index their operator configured",
    "--find-links": "the workers use the index their operator configured",
    "--trusted-host": "the workers use the index their operator configured",
    "-e": "put the code in the zip (or vendor/) instead of an editable requirement",
    "--editable": "put the code in the zip (or vendor/) instead of an editable requirement",
    "--no-binary": "only wheels are installed; pick a package version that publishes one",
}


@dataclass(frozen=True)
class Line:
    """One requirement: ``text`` is how packaging writes it back (for messages and
    marker checks; never handed to a tool), ``spec`` the checked fields the installer's
    input is generated from, with where it came from and the hashes it allows."""

    text: str
    source: str
    hashes: frozenset[str] = frozenset()
    spec: reqspec.Requirement | None = None

    @property
    def requirement(self) -> reqspec.Requirement:
        assert self.spec is not None, self.text
        return self.spec


@dataclass
class RequirementsFiles:
    """What a requirements file and its includes asked for."""

    requirements: list[Line] = field(default_factory=list)
    constraints: list[Line] = field(default_factory=list)
    files: list[str] = field(default_factory=list)   # app-relative paths read, in order
    require_hashes: bool = False
    prerelease: bool = False


def invalid(message: str, hint: str) -> BuildError:
    return BuildError(message, code=Code.RequirementsInvalid, hint=hint)


def inside(app_dir: Path, rel: str, where: str) -> Path:
    """``app_dir/rel`` if it names a file inside the app; RequirementsInvalid if not."""
    if not rel or "\0" in rel or rel.startswith(("/", "\\")) or "://" in rel \
            or re.match(r"^[A-Za-z]:", rel):
        raise invalid(f"{where}: {rel!r} is not a path inside the zip",
                      "name files by their path relative to the zip's root")
    root = app_dir.resolve()
    path = (app_dir / rel).resolve()
    if not path.is_relative_to(root):
        raise invalid(f"{where}: {rel!r} points outside the zip",
                      "keep every requirements file inside the uploaded zip")
    if not path.is_file():
        raise invalid(f"{where}: {rel!r} does not exist in the zip",
                      "add the file to the zip or fix the path")
    return path


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) with comments removed and continuations joined."""
    out: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw if not raw.lstrip().startswith("#") else ""
        line = re.split(r"(?:^|\s)#", line, maxsplit=1)[0].rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        if whole:
            out.append((start, whole))
    if pending.strip():
        out.append((start, pending.strip()))
    return out


def _hashes(line: str, where: str) -> tuple[str, frozenset[str]]:
    found: set[str] = set()
    for m in _HASH_RE.finditer(" " + line):
        if m.group("algo") != "sha256":
            raise invalid(f"{where}: only sha256 hashes are accepted, not {m.group('algo')}",
                          "generate sha256 hashes (pip-compile --generate-hashes, "
                          "uv pip compile --generate-hashes)")
        found.add(reqspec.sha256(m.group("hex"), where))
    rest = _HASH_RE.sub("", " " + line).strip()
    return rest, frozenset(found)


def check_requirement(text: str, where: str, hashes: frozenset[str] = frozenset()) -> Line:
    """``text`` parsed into a Line, or RequirementsInvalid (also for URL and path
    requirements, and for any field that is not a name, a version or a marker)."""
    from packaging.requirements import InvalidRequirement, Requirement

    if not isinstance(text, str) or "\0" in text or len(text) > MAX_LINE:
        raise invalid(f"{where}: not a requirement", "use the form name[extra]>=version")
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise invalid(f"{where}: {text!r} is not a valid requirement: {exc}",
                      "use the form name[extra]>=version; marker") from exc
    if req.url:
        raise invalid(f"{where}: direct URL or path requirements are not accepted "
                      f"({req.name} @ ...)",
                      "depend on a released version, or put the code in vendor/")
    checked = reqspec.from_packaging(req, where)
    if req.marker is not None and not str(req.marker).isprintable():
        raise invalid(f"{where}: the marker of {checked.name} holds control characters",
                      "write markers such as python_version >= '3.12'")
    return Line(str(req), where, hashes, checked)


def read_requirements(app_dir: Path, rel: str, into: RequirementsFiles | None = None, *,
                      kind: str = "requirement", where: str = "") -> RequirementsFiles:
    """Read ``rel`` (and what it includes) from ``app_dir``."""
    out = into if into is not None else RequirementsFiles()
    path = inside(app_dir, rel, where or rel)
    rel = path.relative_to(app_dir.resolve()).as_posix()
    if rel in out.files:
        raise invalid(f"{where or rel}: {rel} includes itself (directly or through another "
                      "file)", "remove the circular -r/-c include")
    if len(out.files) >= MAX_FILES:
        raise invalid(f"{rel}: more than {MAX_FILES} requirements files are included",
                      "flatten the includes")
    out.files.append(rel)
    raw = path.read_bytes()
    if len(raw) > MAX_FILE_BYTES:
        raise invalid(f"{rel} is {len(raw):,} bytes, over {MAX_FILE_BYTES:,}",
                      "list only the app's dependencies")
    text = raw.decode("utf-8", errors="replace")
    for number, line in _logical_lines(text):
        here = f"{rel} line {number}"
        if line.startswith("-"):
            m = _OPTION_RE.match(line)
            opt = m.group("opt") if m else line.split()[0]
            value = ((m.group("value") if m else "") or "").strip()
            if opt in _INCLUDES:
                if not value:
                    raise invalid(f"{here}: {opt} needs a file name", f"{opt} base.txt")
                base = Path(rel).parent.as_posix()
                target = value if base in ("", ".") else f"{base}/{value}"
                inc_kind = "constraint" if _INCLUDES[opt] == "constraint" else kind
                read_requirements(app_dir, target, out, kind=inc_kind, where=here)
                continue
            if opt in _HARMLESS:
                out.require_hashes |= opt == "--require-hashes"
                out.prerelease |= opt == "--pre"
                continue
            hint = _REFUSED_HINTS.get(opt, "list package names and versions, -r/-c includes "
                                           "and --hash only")
            raise invalid(f"{here}: the pip option {opt} is not accepted", hint)
        body, hashes = _hashes(line, here)
        entry = check_requirement(body, here, hashes)
        (out.constraints if kind == "constraint" else out.requirements).append(entry)
        out.require_hashes |= bool(hashes)
    return out
