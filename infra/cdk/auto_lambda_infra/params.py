"""Deployment parameters read from CDK context (``cdk deploy -c key=value`` or cdk.json).

Validates them once, up front, and fails with a message naming the context key and what
to change. Creates no constructs and never reads the environment or the network.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .sizing import worker_concurrency as concurrency_of_type

SCALING_CONTROLS = ("direct", "tracking")
# Context keys that changed meaning: the new key, and why.
RENAMED = {
    "backlog_target": ("slot_backlog_target", "the target now counts jobs per job slot "
                       "(instances x worker_concurrency), not per instance"),
}

DEFAULTS: dict[str, Any] = {
    "prefix": "auto-lambda",
    "worker_min": 1,
    "worker_max": 20,
    "scaling_control": "direct",
    "slot_backlog_target": 1,
    "worker_concurrency": "auto",
    "warm_pool_size": 0,
    "worker_instance_type": "t3.medium",
    "checker_instance_type": "t3.micro",
    "worker_ami_id": "",
    "auto_lambda_package": "auto-lambda",
    "visibility_timeout_minutes": 20,
    # A last resort (orchestrator/retries.py REDRIVE_LIMIT): workers count crashes in the
    # job record; receives also count answers lost on the way back.
    "max_receive_count": 100,
    "drain_timeout_seconds": 900,
    "vpc_cidr": "10.42.0.0/16",
    "teams": "",
    "event_topic_teams": "",
    "webhook_teams": "",
    "team_policy_file": "",
    "log_retention_days": 30,
}

# Bucket names are at most 63 characters: "<prefix>-artifacts-<12-digit account>".
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9-]{0,28}[a-z0-9]$")
_AMI_RE = re.compile(r"^ami-[0-9a-f]{8,17}$")
# As the worker reads a team from a key's first folder (orchestrator/tenancy.py).
_TEAM_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,19}$")
_SERVICE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# As orchestrator/policy.py: services no app role is ever granted.
NEVER_GRANTED = frozenset({"iam", "sts", "organizations", "account"})


class ContextError(ValueError):
    """A context value is missing or malformed; the message names the key and the fix."""


@dataclass(frozen=True)
class Params:
    """Validated deployment parameters."""

    prefix: str
    worker_min: int
    worker_max: int
    scaling_control: str
    slot_backlog_target: float
    worker_concurrency: int
    warm_pool_size: int
    worker_instance_type: str
    checker_instance_type: str
    worker_ami_id: str | None
    auto_lambda_package: str
    visibility_timeout_minutes: int
    max_receive_count: int
    drain_timeout_seconds: int
    vpc_cidr: str
    teams: tuple[str, ...] = ()
    # Teams whose events go to an SNS topic of their own, and teams with a webhook (their
    # events go to the webhooks queue); each must be one of ``teams`` (or "default").
    event_topic_teams: tuple[str, ...] = ()
    webhook_teams: tuple[str, ...] = ()
    # Per team (and "default"): the services its app roles' boundary allows.
    team_services: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # How long the instances' own logs stay in CloudWatch Logs (instance_logs.py).
    log_retention_days: int = 30

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> Params:
        """Build from ``node.try_get_context``; absent keys take ``DEFAULTS``."""

        def value(key: str) -> Any:
            raw = get(key)
            return DEFAULTS[key] if raw is None else raw

        def integer(key: str, low: int, high: int) -> int:
            raw = value(key)
            try:
                number = int(raw)
            except (TypeError, ValueError) as exc:
                raise ContextError(f"context {key}={raw!r} must be a whole number") from exc
            if not low <= number <= high:
                raise ContextError(f"context {key}={number} must be between {low} and {high}")
            return number

        def number(key: str, low: float, high: float) -> float:
            raw = value(key)
            try:
                result = float(raw)
            except (TypeError, ValueError) as exc:
                raise ContextError(f"context {key}={raw!r} must be a number") from exc
            if not low < result <= high:
                raise ContextError(f"context {key}={result:g} must be more than {low:g} "
                                   f"and at most {high:g}")
            return result

        for old_key, (new_key, why) in RENAMED.items():
            if get(old_key) is not None:
                raise ContextError(f"context {old_key} is no longer read: use {new_key} ({why})")
        prefix = str(value("prefix"))
        if not _PREFIX_RE.match(prefix):
            raise ContextError(
                f"context prefix={prefix!r} must be 2-30 lowercase letters, digits or '-', "
                "starting with a letter (it becomes part of bucket names)"
            )
        ami = str(value("worker_ami_id") or "").strip()
        if ami and not _AMI_RE.match(ami):
            raise ContextError(
                f"context worker_ami_id={ami!r} must look like ami-0123456789abcdef0"
            )
        raw_teams = value("teams")
        listed = raw_teams if isinstance(raw_teams, list) else str(raw_teams or "").split(",")
        teams = tuple(dict.fromkeys(str(t).strip() for t in listed if str(t).strip()))
        for team in teams:
            if not _TEAM_RE.match(team) or team == "default":
                raise ContextError(
                    f"context teams: {team!r} is not a team name (1-20 lower-case letters, "
                    "digits and underscores, no dashes; 'default' is the bucket root's)"
                )
        def team_list(key: str) -> tuple[str, ...]:
            raw = value(key)
            items = raw if isinstance(raw, list) else str(raw or "").split(",")
            listed = tuple(dict.fromkeys(str(t).strip() for t in items if str(t).strip()))
            for team in listed:
                if team != "default" and team not in teams:
                    raise ContextError(f"context {key}: {team!r} is not in teams "
                                       f"({', '.join(teams) or 'none declared'})")
            return listed

        worker_min = integer("worker_min", 0, 1000)
        worker_max = integer("worker_max", 1, 1000)
        if worker_min > worker_max:
            raise ContextError(f"context worker_min={worker_min} exceeds worker_max={worker_max}")
        control = str(value("scaling_control"))
        if control not in SCALING_CONTROLS:
            raise ContextError(f"context scaling_control={control!r} must be one of "
                               + ", ".join(SCALING_CONTROLS))
        if control == "tracking" and worker_min == 0:
            raise ContextError(
                "context worker_min=0 needs scaling_control=direct: target tracking on a "
                "per-slot metric cannot start the first instance for a small backlog")
        instance_type = str(value("worker_instance_type"))
        return cls(
            prefix=prefix,
            worker_min=worker_min,
            worker_max=worker_max,
            scaling_control=control,
            slot_backlog_target=number("slot_backlog_target", 0, 1000),
            worker_concurrency=_concurrency(value("worker_concurrency"), instance_type),
            warm_pool_size=integer("warm_pool_size", 0, worker_max),
            worker_instance_type=instance_type,
            checker_instance_type=str(value("checker_instance_type")),
            worker_ami_id=ami or None,
            auto_lambda_package=str(value("auto_lambda_package")),
            # 12 h is SQS's ceiling; the build step alone may take 15 minutes.
            visibility_timeout_minutes=integer("visibility_timeout_minutes", 16, 720),
            max_receive_count=integer("max_receive_count", 1, 1000),
            drain_timeout_seconds=integer("drain_timeout_seconds", 30, 7200),
            vpc_cidr=str(value("vpc_cidr")),
            teams=teams,
            event_topic_teams=team_list("event_topic_teams"),
            webhook_teams=team_list("webhook_teams"),
            team_services=_team_services(str(value("team_policy_file") or ""), teams),
            log_retention_days=_retention(integer("log_retention_days", 1, 3653)),
        )


# What CloudWatch Logs accepts as a retention, in days.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                      1827, 2192, 2557, 2922, 3288, 3653)


def _retention(days: int) -> int:
    if days not in LOG_RETENTION_DAYS:
        raise ContextError(f"context log_retention_days={days} is not a retention CloudWatch "
                           "Logs accepts: one of " + ", ".join(map(str, LOG_RETENTION_DAYS)))
    return days


def _concurrency(raw: Any, instance_type: str) -> int:
    """``worker_concurrency``: a whole number, or "auto" for the instance type's default."""
    if str(raw).strip().lower() == "auto":
        derived = concurrency_of_type(instance_type)
        if derived is None:
            raise ContextError(
                f"context worker_concurrency=auto cannot size {instance_type!r} (its vCPUs "
                "and memory are not known here): set worker_concurrency to the jobs one "
                "worker runs at once (1.5 per vCPU, one per 512 MB of memory above 512 MB)")
        return derived
    try:
        number = int(raw)
    except (TypeError, ValueError) as exc:
        raise ContextError(f"context worker_concurrency={raw!r} must be a whole number "
                           "or auto") from exc
    if not 1 <= number <= 256:
        raise ContextError(f"context worker_concurrency={number} must be between 1 and 256")
    return number


def _services(raw: object, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(s, str) and _SERVICE_RE.match(s)
                                            for s in raw):
        raise ContextError(f"team_policy_file {where}.services must be a list of IAM "
                           "service prefixes such as \"s3\"")
    never = sorted(set(raw) & NEVER_GRANTED)
    if never:
        raise ContextError(f"team_policy_file {where}.services: {', '.join(never)} can never "
                           "be granted to an app's role")
    return tuple(dict.fromkeys(raw))


def _team_services(path: str, teams: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """The services each team's boundary allows, read from the operator's team policy
    (the workers' AUTO_LAMBDA_TEAM_POLICY file; only ``services`` matters here): a team's
    own entry replaces the default's, as the workers merge it. No file: none."""
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ContextError(f"context team_policy_file={path!r} cannot be read as JSON: "
                           f"{exc}") from exc
    if not isinstance(data, dict):
        raise ContextError(f"context team_policy_file={path!r} must hold a JSON object")
    entries = data.get("teams") or {}
    default = (data.get("default") or {}).get("services", [])
    base = _services(default, "default")
    out = {}
    for team in ("default", *teams):
        entry = entries.get(team) or {}
        out[team] = (_services(entry["services"], f"teams.{team}") if "services" in entry
                     else base)
    return out
