"""The operator's policy per team: what an app of a team may ask for in its manifest.

Read from the JSON file ``AUTO_LAMBDA_TEAM_POLICY`` names (``Settings.team_policy_file``),
never from an upload. Its shape (docs/manifest.md, "Operator policy"):

    {"default": {<entry>}, "teams": {"<team>": {<entry>}, ...}}

An entry holds any of ``vpc_profiles`` (name -> ``subnet_ids`` and
``security_group_ids``), ``layers`` (allowed layer version ARNs), ``max_memory``,
``max_timeout``, ``max_reserved_concurrency``, ``allow_public_urls``, ``triggers``
(allowed trigger types) and ``services`` (the AWS services an app's own role may be
granted: its permission boundary's services). A team's entry replaces the default's
value key by key (no deep merge); a key neither gives takes the safe default below.
Without the setting every team gets the safe defaults.

Strict like the manifest: unknown keys, wrong types and out-of-range values are refused
with ``ConfigInvalid`` naming the key. Reads only the file it is given.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from orchestrator.arn import parse_layer_arn
from orchestrator.errors import ConfigError, ManifestError
from orchestrator.types import JsonObject

MAX_POLICY_FILE_BYTES = 1024 * 1024
TRIGGER_TYPES = ("url", "schedule", "sqs", "http")
# Lambda's own ceilings, the defaults of max_memory and max_timeout.
LAMBDA_MAX_MEMORY = 10_240
LAMBDA_MAX_TIMEOUT = 900
# An upper bound on reserved concurrency any team may be given (accounts start at 1,000).
MAX_RESERVED_CONCURRENCY = 100_000
# Services no app's role is ever granted, whatever the operator lists: a role that can
# change IAM, assume other roles or the organisation escapes any boundary.
NEVER_GRANTED = frozenset({"iam", "sts", "organizations", "account"})
_PROFILE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}\Z")
_SUBNET_RE = re.compile(r"^subnet-[0-9a-f]{8,17}\Z")
_GROUP_RE = re.compile(r"^sg-[0-9a-f]{8,17}\Z")
_SERVICE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\Z")
_TEAM_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,19}\Z")
ENTRY_KEYS = ("vpc_profiles", "layers", "max_memory", "max_timeout",
              "max_reserved_concurrency", "allow_public_urls", "triggers", "services")


@dataclass(frozen=True)
class VpcProfile:
    """Where a function with ``vpc = "<name>"`` runs: the operator's subnets and groups."""

    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class TeamPolicy:
    """What one team's apps may ask for. ``team`` and ``prefix`` scope its resources:
    names start ``<prefix>-<team>-``, paths ``<team>/``. The defaults are the safe ones:
    no VPC, no layers, no reserved concurrency, no public endpoints, no services."""

    team: str = "default"
    prefix: str = "auto-lambda"
    vpc_profiles: dict[str, VpcProfile] = field(default_factory=dict)
    layers: tuple[str, ...] = ()
    max_memory: int = LAMBDA_MAX_MEMORY
    max_timeout: int = LAMBDA_MAX_TIMEOUT
    max_reserved_concurrency: int = 0
    allow_public_urls: bool = False
    triggers: tuple[str, ...] = TRIGGER_TYPES
    services: tuple[str, ...] = ()

    @property
    def name_prefix(self) -> str:
        """What the team's resource names start with: ``<prefix>-<team>-``."""
        return f"{self.prefix}-{self.team}-"

    def to_dict(self) -> JsonObject:
        return asdict(self)


@dataclass(frozen=True)
class OperatorPolicy:
    """The whole file: the default entry and each team's overrides (raw, checked)."""

    default: JsonObject = field(default_factory=dict)
    teams: dict[str, JsonObject] = field(default_factory=dict)
    source: str | None = None  # the file it came from, None for the built-in defaults

    def for_team(self, team: str, prefix: str) -> TeamPolicy:
        merged = {**self.default, **self.teams.get(team, {})}
        return replace(TeamPolicy(team=team, prefix=prefix), **merged)

    def to_dict(self, prefix: str) -> JsonObject:
        """The effective policy of the default entry and of every named team."""
        out = {"source": self.source,
               "default": _shown(self.for_team("default", prefix).to_dict())}
        out["teams"] = {t: _shown(self.for_team(t, prefix).to_dict()) for t in sorted(self.teams)}
        return out


def _shown(entry: JsonObject) -> JsonObject:
    entry.pop("team", None)
    entry.pop("prefix", None)
    return entry


def _bad(where: str, message: str, hint: str) -> ConfigError:
    return ConfigError(f"team policy {where}: {message}", hint=hint)


def _strings(value: Any, where: str, pattern: re.Pattern[str], hint: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and pattern.match(v)
                                              for v in value):
        raise _bad(where, f"must be a list of strings matching {pattern.pattern}, got "
                   f"{value!r}"[:300], hint)
    return tuple(dict.fromkeys(value))


def _int(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(where, f"must be a whole number from {low} to {high}, got {value!r}",
                   f"set it from {low} to {high}, or leave it out for the default")
    return value


def _profiles(value: Any, where: str) -> dict[str, VpcProfile]:
    if not isinstance(value, dict):
        raise _bad(where, "must be an object of profile name -> {subnet_ids, "
                   "security_group_ids}", '"vpc_profiles": {"private": {...}}')
    out: dict[str, VpcProfile] = {}
    for name, profile in value.items():
        at = f"{where}.{name}"
        if not _PROFILE_RE.match(name):
            raise _bad(at, "is not a profile name", "use 1-40 lower-case letters, digits, "
                       "'-' and '_'")
        if not isinstance(profile, dict) or set(profile) != {"subnet_ids",
                                                             "security_group_ids"}:
            raise _bad(at, "must hold exactly subnet_ids and security_group_ids",
                       '{"subnet_ids": ["subnet-0abc..."], "security_group_ids": ["sg-0abc..."]}')
        subnets = _strings(profile["subnet_ids"], f"{at}.subnet_ids", _SUBNET_RE,
                           "list subnet ids such as subnet-0123456789abcdef0")
        groups = _strings(profile["security_group_ids"], f"{at}.security_group_ids",
                          _GROUP_RE, "list security group ids such as sg-0123456789abcdef0")
        if not 1 <= len(subnets) <= 16 or not 1 <= len(groups) <= 5:
            raise _bad(at, "needs 1-16 subnets and 1-5 security groups (Lambda's limits)",
                       "list at least one of each")
        out[name] = VpcProfile(subnets, groups)
    return out


def _layers(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _bad(where, "must be a list of layer version ARNs", '"layers": ["arn:aws:...'
                   ':layer:name:1"]')
    out = []
    for i, arn in enumerate(value):
        try:
            out.append(str(parse_layer_arn(arn, f"{where}[{i}]")))
        except ManifestError as exc:
            raise ConfigError(f"team policy {exc.message}", hint=exc.hint) from None
    return tuple(dict.fromkeys(out))


def _entry(raw: Any, where: str) -> JsonObject:
    """One checked entry: only the keys it gives, as TeamPolicy's field values."""
    if not isinstance(raw, dict):
        raise _bad(where, "must be an object", f"keys: {', '.join(ENTRY_KEYS)}")
    unknown = sorted(set(raw) - set(ENTRY_KEYS))
    if unknown:
        raise _bad(where, f"unknown key(s) {', '.join(unknown)}",
                   f"allowed keys are: {', '.join(ENTRY_KEYS)}")
    out: JsonObject = {}
    for key, value in raw.items():
        at = f"{where}.{key}"
        if key == "vpc_profiles":
            out[key] = _profiles(value, at)
        elif key == "layers":
            out[key] = _layers(value, at)
        elif key == "max_memory":
            out[key] = _int(value, at, 128, LAMBDA_MAX_MEMORY)
        elif key == "max_timeout":
            out[key] = _int(value, at, 1, LAMBDA_MAX_TIMEOUT)
        elif key == "max_reserved_concurrency":
            out[key] = _int(value, at, 0, MAX_RESERVED_CONCURRENCY)
        elif key == "allow_public_urls":
            if not isinstance(value, bool):
                raise _bad(at, f"must be true or false, got {value!r}",
                           "true lets the team's apps serve URLs without authentication")
            out[key] = value
        elif key == "triggers":
            if not isinstance(value, list) or not set(value) <= set(TRIGGER_TYPES) or not all(
                    isinstance(v, str) for v in value):
                raise _bad(at, f"must be a list of trigger types, got {value!r}"[:300],
                           f"choose from {', '.join(TRIGGER_TYPES)}")
            out[key] = tuple(dict.fromkeys(value))
        else:  # services
            services = _strings(value, at, _SERVICE_RE,
                                'list IAM service prefixes such as "s3", "dynamodb"')
            never = sorted(set(services) & NEVER_GRANTED)
            if never:
                raise _bad(at, f"{', '.join(never)} can never be granted to an app's role",
                           "a role that can change IAM or assume roles escapes its boundary")
            out[key] = services
    return out


def parse_operator_policy(data: Any, source: str | None = None) -> OperatorPolicy:
    """The checked policy of a decoded JSON document."""
    if not isinstance(data, dict):
        raise _bad("file", "must be a JSON object", '{"default": {...}, "teams": {...}}')
    unknown = sorted(set(data) - {"default", "teams"})
    if unknown:
        raise _bad("file", f"unknown key(s) {', '.join(unknown)}",
                   'only "default" and "teams" are read')
    default = _entry(data.get("default", {}), "default")
    teams_raw = data.get("teams", {})
    if not isinstance(teams_raw, dict):
        raise _bad("teams", "must be an object of team name -> entry",
                   '"teams": {"payments": {...}}')
    teams = {}
    for team, entry in teams_raw.items():
        if not _TEAM_RE.match(team):
            raise _bad(f"teams.{team}", "is not a team name",
                       "1-20 lower-case letters, digits and underscores")
        teams[team] = _entry(entry, f"teams.{team}")
    return OperatorPolicy(default, teams, source)


def load_operator_policy(path: Path | None) -> OperatorPolicy:
    """The operator's policy from ``path`` (``Settings.team_policy_file``); the safe
    defaults when no file is configured. A configured file that is missing or unreadable
    is ``ConfigInvalid``: a typo in the setting must not quietly change what teams may do."""
    if path is None:
        return OperatorPolicy()
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_POLICY_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"AUTO_LAMBDA_TEAM_POLICY names {str(path)!r}, which cannot be "
                          f"read: {exc.strerror}",
                          hint="fix the path, or unset it for the safe defaults") from None
    if len(raw) > MAX_POLICY_FILE_BYTES:
        raise ConfigError(f"the team policy {str(path)!r} is over {MAX_POLICY_FILE_BYTES:,} "
                          "bytes", hint="keep one entry per team")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"the team policy {str(path)!r} is not JSON: {exc}",
                          hint="fix the JSON") from None
    return parse_operator_policy(data, str(path))
