"""Deployment parameters read from CDK context (``cdk deploy -c key=value`` or cdk.json).

Validates them once, up front, and fails with a message naming the context key and what
to change. Creates no constructs and never reads the environment or the network.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULTS: dict[str, Any] = {
    "prefix": "auto-lambda",
    "worker_min": 1,
    "worker_max": 20,
    "backlog_target": 5,
    "worker_instance_type": "t3.medium",
    "checker_instance_type": "t3.micro",
    "worker_ami_id": "",
    "auto_lambda_package": "auto-lambda",
    "visibility_timeout_minutes": 20,
    "max_receive_count": 5,
    "drain_timeout_seconds": 900,
    "vpc_cidr": "10.42.0.0/16",
    "teams": "",
}

# Bucket names are at most 63 characters: "<prefix>-artifacts-<12-digit account>".
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9-]{0,28}[a-z0-9]$")
_AMI_RE = re.compile(r"^ami-[0-9a-f]{8,17}$")
# As the worker reads a team from a key's first folder (orchestrator/tenancy.py).
_TEAM_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,19}$")


class ContextError(ValueError):
    """A context value is missing or malformed; the message names the key and the fix."""


@dataclass(frozen=True)
class Params:
    """Validated deployment parameters."""

    prefix: str
    worker_min: int
    worker_max: int
    backlog_target: int
    worker_instance_type: str
    checker_instance_type: str
    worker_ami_id: str | None
    auto_lambda_package: str
    visibility_timeout_minutes: int
    max_receive_count: int
    drain_timeout_seconds: int
    vpc_cidr: str
    teams: tuple[str, ...] = ()

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
        worker_min = integer("worker_min", 0, 1000)
        worker_max = integer("worker_max", 1, 1000)
        if worker_min > worker_max:
            raise ContextError(f"context worker_min={worker_min} exceeds worker_max={worker_max}")
        return cls(
            prefix=prefix,
            worker_min=worker_min,
            worker_max=worker_max,
            backlog_target=integer("backlog_target", 1, 10_000),
            worker_instance_type=str(value("worker_instance_type")),
            checker_instance_type=str(value("checker_instance_type")),
            worker_ami_id=ami or None,
            auto_lambda_package=str(value("auto_lambda_package")),
            # 12 h is SQS's ceiling; the build step alone may take 15 minutes.
            visibility_timeout_minutes=integer("visibility_timeout_minutes", 16, 720),
            max_receive_count=integer("max_receive_count", 1, 1000),
            drain_timeout_seconds=integer("drain_timeout_seconds", 30, 7200),
            vpc_cidr=str(value("vpc_cidr")),
            teams=teams,
        )
