"""``[permissions] policy_file``: the IAM statements an app's own role gets, read from a
JSON file inside the zip and checked for shape here (``PolicyDocumentInvalid``); whether
they fit the team's boundary is ``orchestrator.steps.unpack.checkpolicy``'s question.

The rules (docs/manifest.md, "[permissions]"):

- the path is inside the zip (same rules as ``[verify]`` event files), the file at most
  ``MAX_POLICY_FILE_BYTES``, UTF-8 JSON, and at most ``MAX_POLICY_CHARS`` characters
  without whitespace (IAM's limit for a role's inline policies);
- the document has ``Version = "2012-10-17"`` and a non-empty ``Statement`` list (and an
  optional ``Id``); nothing else;
- each statement has ``Effect`` (``Allow`` or ``Deny``), ``Action`` and ``Resource`` (a
  string or a non-empty list of strings), and optionally ``Sid`` and ``Condition``.
  ``NotAction`` and ``NotResource`` (which grant everything they do not name) and
  ``Principal``/``NotPrincipal`` (resource policies only) are refused;
- an action is ``service:Action`` (wildcards allowed in the action part only, never a
  bare ``*``); a resource is ``*`` or an ARN (wildcards in its resource part only).

Pure: reads one file under the app folder.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.arn import parse_arn
from orchestrator.codes import Code
from orchestrator.errors import ManifestError
from orchestrator.types import JsonObject

POLICY_VERSION = "2012-10-17"
MAX_POLICY_FILE_BYTES = 32 * 1024
MAX_POLICY_CHARS = 10_240
MAX_STATEMENTS = 50
EFFECTS = ("Allow", "Deny")
STATEMENT_KEYS = ("Sid", "Effect", "Action", "Resource", "Condition")
REFUSED_KEYS = {
    "NotAction": "it grants every action it does not name",
    "NotResource": "it grants every resource it does not name",
    "Principal": "an app's role policy is an identity policy, which names no principal",
    "NotPrincipal": "an app's role policy is an identity policy, which names no principal",
}
_ACTION_RE = re.compile(r"^([a-z0-9][a-z0-9-]{0,62}):([A-Za-z0-9*?]{1,128})\Z")
_SID_RE = re.compile(r"^[A-Za-z0-9]{0,128}\Z")
_EXAMPLE = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": '
            '["s3:GetObject"], "Resource": ["arn:aws:s3:::<prefix>-<team>-data/*"]}]}')


@dataclass(frozen=True)
class PolicyStatement:
    """One checked IAM statement, in canonical form (lists, no duplicates)."""

    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    sid: str | None = None
    condition: JsonObject | None = None

    def to_iam(self) -> JsonObject:
        out: JsonObject = {"Effect": self.effect, "Action": list(self.actions),
                               "Resource": list(self.resources)}
        if self.sid:
            out["Sid"] = self.sid
        if self.condition is not None:
            out["Condition"] = self.condition
        return out

    @classmethod
    def from_dict(cls, data: JsonObject) -> PolicyStatement:
        return cls(str(data["effect"]), tuple(data["actions"]), tuple(data["resources"]),
                   data.get("sid"), data.get("condition"))


def _invalid(message: str, hint: str = f"for example {_EXAMPLE}") -> ManifestError:
    return ManifestError(message, code=Code.PolicyDocumentInvalid, hint=hint)


def action_service(action: str) -> str:
    return action.split(":", 1)[0]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_json_inside(app_dir: Path, rel: Any, where: str, cap: int) -> bytes:
    """The bytes of the file ``rel`` names under ``app_dir``, with the path rules of the
    manifest's other files: a relative path that stays inside the zip, to a regular file
    of at most ``cap`` bytes (ManifestInvalid otherwise)."""
    if (not isinstance(rel, str) or not rel or len(rel) > 1024
            or rel.startswith(("/", "\\")) or "\0" in rel):
        raise ManifestError(f"{where} must be a path inside the zip, got {rel!r}"[:300],
                            code=Code.ManifestInvalid,
                            hint='for example policy_file = "policy.json"')
    root = app_dir.resolve()
    path = (root / rel).resolve()
    if not path.is_relative_to(root):
        raise ManifestError(f"{where} = {rel!r} points outside the zip",
                            code=Code.ManifestInvalid, hint="keep the file inside the zip")
    if not path.is_file():
        raise ManifestError(f"{where} = {rel!r}: no such file in the zip",
                            code=Code.ManifestInvalid, hint="add the file or fix the path")
    with open(path, "rb") as handle:
        raw = handle.read(cap + 1)
    if len(raw) > cap:
        raise ManifestError(f"{where} = {rel!r} is over {cap:,} bytes",
                            code=Code.ManifestInvalid, hint="keep the file smaller")
    return raw


def _strings(stmt: JsonObject, key: str, where: str) -> tuple[str, ...]:
    value = stmt.get(key)
    if isinstance(value, str):
        value = [value]
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, str) and v for v in value)):
        raise _invalid(f"{where}.{key} must be a string or a non-empty list of strings, "
                       f"got {value!r}"[:300])
    return tuple(dict.fromkeys(value))


def _statement(stmt: Any, where: str) -> PolicyStatement:
    if not isinstance(stmt, dict):
        raise _invalid(f"{where} must be an object")
    for key, why in REFUSED_KEYS.items():
        if key in stmt:
            raise _invalid(f"{where} uses {key}, which is not allowed: {why}",
                           "name the actions and resources the app needs with Action "
                           "and Resource")
    unknown = sorted(set(stmt) - set(STATEMENT_KEYS))
    if unknown:
        raise _invalid(f"{where} has unknown key(s) {', '.join(unknown)}"[:300],
                       f"a statement holds {', '.join(STATEMENT_KEYS)}")
    effect = stmt.get("Effect")
    if effect not in EFFECTS:
        raise _invalid(f"{where}.Effect must be \"Allow\" or \"Deny\", got {effect!r}"[:300])
    sid = stmt.get("Sid")
    if sid is not None and (not isinstance(sid, str) or not _SID_RE.match(sid)):
        raise _invalid(f"{where}.Sid must be letters and digits, got {sid!r}"[:300])
    actions = _strings(stmt, "Action", where)
    for action in actions:
        if not _ACTION_RE.match(action):
            raise _invalid(f"{where}.Action {action!r} is not service:Action"[:300],
                           'name the service, e.g. "s3:GetObject" or "dynamodb:Get*"')
    resources = _strings(stmt, "Resource", where)
    for i, resource in enumerate(resources):
        if resource != "*":
            try:
                parse_arn(resource, f"{where}.Resource[{i}]", wildcards=True)
            except ManifestError as exc:
                raise _invalid(exc.message, exc.hint or "") from None
    condition = stmt.get("Condition")
    if condition is not None and not (
            isinstance(condition, dict) and condition
            and all(isinstance(v, dict) and v for v in condition.values())):
        raise _invalid(f"{where}.Condition must be an object of operator -> "
                       "{key: value}", '"Condition": {"StringEquals": {"aws:...": "..."}}')
    try:
        json.dumps(condition, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise _invalid(f"{where}.Condition holds a value JSON cannot carry ({exc})"[:300],
                       "use strings, numbers and booleans in conditions") from None
    return PolicyStatement(effect, actions, resources, sid or None, condition)


def parse_policy_document(data: Any, where: str) -> tuple[PolicyStatement, ...]:
    """The statements of a decoded policy document, or ``PolicyDocumentInvalid``."""
    if not isinstance(data, dict):
        raise _invalid(f"{where} must hold a JSON object (an IAM policy document)")
    unknown = sorted(set(data) - {"Version", "Statement", "Id"})
    if unknown:
        raise _invalid(f"{where} has unknown key(s) {', '.join(unknown)}"[:300],
                       "a policy document holds Version, Statement and optionally Id")
    if data.get("Version") != POLICY_VERSION:
        raise _invalid(f"{where} must have \"Version\": \"{POLICY_VERSION}\", got "
                       f"{data.get('Version')!r}"[:300])
    if "Id" in data and not isinstance(data["Id"], str):
        raise _invalid(f"{where}.Id must be a string")
    statements = data.get("Statement")
    if not isinstance(statements, list) or not 1 <= len(statements) <= MAX_STATEMENTS:
        raise _invalid(f"{where}.Statement must be a list of 1 to {MAX_STATEMENTS} "
                       "statements")
    return tuple(_statement(s, f"{where}.Statement[{i}]") for i, s in enumerate(statements))


def read_policy_file(app_dir: Path, rel: Any, where: str) -> tuple[PolicyStatement, ...]:
    raw = read_json_inside(app_dir, rel, where, MAX_POLICY_FILE_BYTES)
    try:
        data = json.loads(raw.decode("utf-8-sig"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise _invalid(f"{where} = {rel!r} is not UTF-8 text", "save it as UTF-8") from None
    except (ValueError, RecursionError) as exc:
        raise _invalid(f"{where} = {rel!r} is not valid JSON: {exc}"[:300]) from None
    compact = json.dumps(data, separators=(",", ":"))
    if len(compact) > MAX_POLICY_CHARS:
        raise _invalid(f"{where} = {rel!r} is {len(compact):,} characters without "
                       f"whitespace, over IAM's {MAX_POLICY_CHARS:,} for a role's policies",
                       "grant fewer, broader-named resources of your own")
    return parse_policy_document(data, f"{where} ({rel})")
