"""The smoke events of ``[verify]`` in ``auto-lambda.toml``: what the published version is
invoked with before ``live`` moves, and what it must answer.

Each event is given inline (``event = {...}``, TOML) or as a JSON file inside the zip
(``event_file = "events/get-item.json"``, as ``sam local invoke -e`` takes it: nulls and
all, which TOML cannot write); likewise ``expect`` or ``expect_file``. ``match`` says how
the answer is compared: ``"exact"`` (the default: the same JSON value) or ``"subset"``
(every key the expectation gives, at any depth, with the same value; other keys in the
answer, such as the headers a web framework adds, are allowed). The keys at the top
of ``[verify]`` are the default event; ``[verify.events.<name>]`` tables add named ones,
each with its own expectation, run after it in the order written. With only named
events, only they run.

Strict, like the rest of the manifest: unknown keys, an event given twice, a file
outside the zip, missing, over 64 KB or not JSON are refused with ``ManifestInvalid``.
Pure: reads the named files under the app folder.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.codes import Code
from orchestrator.errors import ManifestError
from orchestrator.types import JsonObject

EVENT_KEYS = ("event", "event_file", "expect", "expect_file", "match")
MATCHES = ("exact", "subset")
MAX_EVENT_FILE_BYTES = 64 * 1024
MAX_TOTAL_BYTES = 256 * 1024
MAX_EVENTS = 10
DEFAULT_NAME = "default"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")


@dataclass(frozen=True)
class SmokeEvent:
    """One invocation of the verify step and its expectation."""

    name: str
    event: Any
    expect: Any = None
    has_expect: bool = False
    match: str = "exact"  # or "subset"

    def to_dict(self) -> JsonObject:
        return {"name": self.name, "event": self.event, "expect": self.expect,
                "has_expect": self.has_expect, "match": self.match}

    @classmethod
    def from_dict(cls, data: JsonObject) -> SmokeEvent:
        return cls(str(data["name"]), data.get("event"), data.get("expect"),
                   bool(data.get("has_expect")), str(data.get("match") or "exact"))


def _invalid(message: str, hint: str | None = None) -> ManifestError:
    return ManifestError(message, code=Code.ManifestInvalid, hint=hint)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class _Reader:
    def __init__(self, app_dir: Path) -> None:
        self.root = app_dir.resolve()
        self.total = 0

    def json_file(self, rel: Any, where: str) -> Any:
        if not isinstance(rel, str) or not rel or rel.startswith(("/", "\\")) or "\0" in rel:
            raise _invalid(f"{where} must be a path inside the zip, got {rel!r}",
                           'for example event_file = "events/get-item.json"')
        path = (self.root / rel).resolve()
        if not path.is_relative_to(self.root):
            raise _invalid(f"{where} = {rel!r} points outside the zip",
                           "keep event files inside the uploaded zip")
        if not path.is_file():
            raise _invalid(f"{where} = {rel!r}: no such file in the zip",
                           "add the file or fix the path")
        raw = path.read_bytes()
        if len(raw) > MAX_EVENT_FILE_BYTES:
            raise _invalid(f"{where} = {rel!r} is {len(raw):,} bytes, over "
                           f"{MAX_EVENT_FILE_BYTES:,}", "use a smaller sample event")
        self.total += len(raw)
        if self.total > MAX_TOTAL_BYTES:
            raise _invalid(f"the [verify] event files add up to over {MAX_TOTAL_BYTES:,} bytes",
                           "use fewer or smaller sample events")
        try:
            return json.loads(raw.decode("utf-8-sig"), parse_constant=_no_constant)
        except UnicodeDecodeError as exc:
            raise _invalid(f"{where} = {rel!r} is not UTF-8 text", "save it as UTF-8") from exc
        except ValueError as exc:
            raise _invalid(f"{where} = {rel!r} is not valid JSON: {exc}",
                           "fix the JSON (null, true and false are written in lower case)"
                           ) from exc

    def one(self, table: JsonObject, where: str, name: str) -> SmokeEvent:
        for a, b in (("event", "event_file"), ("expect", "expect_file")):
            if a in table and b in table:
                raise _invalid(f"{where} gives both {a} and {b}", f"keep one of {a} and {b}")
        for key in ("event", "expect"):
            try:
                json.dumps(table.get(key), allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise _invalid(f"{where}.{key} holds a value JSON cannot carry ({exc})",
                               "use strings, numbers, booleans, arrays and tables only "
                               "(quote dates and times), or a JSON file") from exc
        event = (self.json_file(table["event_file"], f"{where}.event_file")
                 if "event_file" in table else table.get("event", {}))
        has_expect = "expect" in table or "expect_file" in table
        expect = (self.json_file(table["expect_file"], f"{where}.expect_file")
                  if "expect_file" in table else table.get("expect"))
        match = table.get("match", "exact")
        if match not in MATCHES:
            raise _invalid(f"{where}.match must be one of {', '.join(MATCHES)}, got {match!r}",
                           'match = "subset" allows keys the expectation does not name')
        if "match" in table and not has_expect:
            raise _invalid(f"{where} gives match but no expect or expect_file",
                           "add the expectation it applies to")
        return SmokeEvent(name, event, expect, has_expect, match)


def read_verify(app_dir: Path, verify: JsonObject
                ) -> tuple[SmokeEvent, bool, tuple[SmokeEvent, ...]]:
    """The default event, whether it runs, and the named events of a ``[verify]`` table
    (already checked for unknown keys at its top level)."""
    reader = _Reader(app_dir)
    default = reader.one(verify, "[verify]", DEFAULT_NAME)
    named_tables = verify.get("events", {})
    if not isinstance(named_tables, dict):
        raise _invalid("[verify.events] must be a table of named events",
                       '[verify.events.get-item] then event_file = "events/get-item.json"')
    if len(named_tables) > MAX_EVENTS:
        raise _invalid(f"[verify.events] names {len(named_tables)} events, over {MAX_EVENTS}",
                       "keep the smoke test short")
    named: list[SmokeEvent] = []
    for name, table in named_tables.items():
        where = f"[verify.events.{name}]"
        if not _NAME_RE.match(name) or name == DEFAULT_NAME:
            raise _invalid(f"{where}: {name!r} is not a usable event name",
                           "use letters, digits, '.', '_' and '-' (not 'default')")
        if not isinstance(table, dict):
            raise _invalid(f"{where} must be a table", 'event_file = "events/x.json"')
        unknown = sorted(set(table) - set(EVENT_KEYS))
        if unknown:
            raise _invalid(f"unknown key(s) in {where}: {', '.join(unknown)}",
                           f"allowed keys are: {', '.join(EVENT_KEYS)}")
        if not ("event" in table or "event_file" in table):
            raise _invalid(f"{where} gives no event", "add event_file = \"...\" or event = {...}")
        named.append(reader.one(table, where, name))
    runs_default = any(k in verify for k in EVENT_KEYS) or not named
    return default, runs_default, tuple(named)
