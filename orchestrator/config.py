"""Configuration: one frozen dataclass read from the environment.

Standard AWS variables (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL) select the account
and endpoint; ``AUTO_LAMBDA_*`` variables set everything else. Resource names are
derived here and nowhere else, so the local stack and the CDK stack agree.
This module performs no I/O beyond reading the environment mapping it is given; a
value it cannot read raises ConfigError (code ConfigInvalid).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from orchestrator.durations import parse_duration
from orchestrator.errors import ConfigError
from orchestrator.retries import REDRIVE_LIMIT
from orchestrator.tenancy import function_name

DEFAULT_PREFIX = "auto-lambda"
METRIC_NAMESPACE = "AutoLambda"
LIVE_ALIAS = "live"
DEFAULT_LEASE_SECONDS = 10
# Heartbeats (lease and message visibility) run this many times per lease length.
HEARTBEATS_PER_LEASE = 4
# A deleted app is removed after this long (AUTO_LAMBDA_DELETE_GRACE), at most 30 days.
DEFAULT_DELETE_GRACE = 15 * 60.0
MAX_DELETE_GRACE = 30 * 86400.0


def env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}",
                          hint=f"set {name} to a number, or unset it for {default}") from exc


def _env_bool(env: Mapping[str, str], name: str) -> bool | None:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return None
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be 1/0, true/false, yes/no or on/off, got {raw!r}",
                      hint=f"unset {name} to use the default")


def _env_on(env: Mapping[str, str], name: str, default: str = "") -> bool:
    """A lenient switch: on/1/true/yes is on, anything else (a typo too) is off."""
    return str(env.get(name, default)).lower() in {"on", "1", "true", "yes"}


def _outage_deadline(env: Mapping[str, str]) -> float:
    raw = (env.get("AUTO_LAMBDA_OUTAGE_DEADLINE") or "").strip()
    seconds = parse_duration(raw, positive=True) if raw else 6 * 3600.0
    if seconds > 12 * 3600.0:
        raise ConfigError(f"AUTO_LAMBDA_OUTAGE_DEADLINE={raw!r} is over 12h",
                          hint="a job rides out an outage for at most 12h; then replay it")
    return seconds


def _delete_grace(env: Mapping[str, str]) -> float:
    raw = (env.get("AUTO_LAMBDA_DELETE_GRACE") or "").strip()
    seconds = parse_duration(raw) if raw else DEFAULT_DELETE_GRACE
    if seconds > MAX_DELETE_GRACE:
        raise ConfigError(f"AUTO_LAMBDA_DELETE_GRACE={raw!r} is over 30d",
                          hint="use a duration such as 15m, 1h or 1d, or 0 to delete at once")
    return seconds


def _env_digits(env: Mapping[str, str], name: str) -> int | None:
    """A whole number when the variable holds only digits, else None (left unset)."""
    raw = env.get(name)
    return int(raw) if raw and raw.isdigit() else None


def _env_positive(env: Mapping[str, str], name: str) -> int | None:
    if not (env.get(name) or "").strip():
        return None
    value = env_int(env, name, 0)
    if value < 1:
        raise ConfigError(f"{name} must be 1 or more, got {value}",
                          hint=f"unset {name} to derive it from the machine's vCPUs and memory")
    return value


def _keep_versions(env: Mapping[str, str]) -> int:
    value = env_int(env, "AUTO_LAMBDA_KEEP_VERSIONS", 5)
    if not 1 <= value <= 1000:
        raise ConfigError(f"AUTO_LAMBDA_KEEP_VERSIONS must be 1 to 1000, got {value}",
                          hint="the verified versions kept per function; unset it for 5")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything auto-lambda needs to know about where it runs."""

    prefix: str = DEFAULT_PREFIX
    region: str = "us-east-1"
    endpoint_url: str | None = None
    account_suffix: str = "local"
    work_dir: Path = field(default_factory=lambda: Path(".auto-lambda"))
    cache_dir: Path = field(default_factory=lambda: Path(".auto-lambda") / "cache")
    # the build cache's size bound, and how long an unpinned resolution is reused
    cache_max_mb: int = 4096
    resolve_ttl: int = 86_400
    max_receive_count: int = REDRIVE_LIMIT
    # How long a message stays hidden and a job's lease lasts without a heartbeat (both
    # beat every quarter of that): a worker that dies is taken over within about this
    # long (bench/takeover.py measures it).
    visibility_timeout: int = DEFAULT_LEASE_SECONDS
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    # How long a job rides out a transient AWS failure before it fails with
    # AwsUnavailable (AUTO_LAMBDA_OUTAGE_DEADLINE, a duration: 6h, 90m; at most 12h),
    # and the retry delay past which a job is parked instead of waited for in a slot.
    outage_deadline: float = 6 * 3600.0
    park_after: float = 5.0
    # How long a deleted app's zip waits before its function is removed
    # (AUTO_LAMBDA_DELETE_GRACE, a duration: 15m, 1h; 0 removes it at once); an upload
    # of the same app meanwhile keeps it.
    delete_grace: float = DEFAULT_DELETE_GRACE
    deployed_role_arn: str | None = None
    # The role EventBridge Scheduler assumes to invoke a function's ``live`` alias for a
    # schedule trigger (AUTO_LAMBDA_SCHEDULER_ROLE_ARN); None: the role named
    # ``scheduler_role_name``, which the local stack and the CDK stack create.
    scheduler_role_arn: str | None = None
    xray_daemon: str | None = None
    # Where the OpenTelemetry backend (AUTO_LAMBDA_TRACING=otel) sends spans over OTLP/HTTP:
    # the standard variables, the traces-only one first (used as is), else the base
    # address with /v1/traces appended (orchestrator.tracing.factory).
    otel_endpoint: str | None = None
    otel_traces_endpoint: str | None = None
    # Jobs one worker instance runs at once (and job slots the checker counts per
    # instance); None derives it from the machine (orchestrator.capacity).
    worker_concurrency: int | None = None
    # Local mode (verify in a sandboxed subprocess, not by invoking Lambda) follows the
    # endpoint: an emulator is local, AWS is not. In-process emulators (moto's mock_aws
    # in tests) set no endpoint, so AUTO_LAMBDA_LOCAL=1 forces it.
    local_override: bool | None = None
    # Debugging only: keep a failed job's work folder (every job's folder is removed
    # when the job ends otherwise, so a worker's disk does not fill up).
    keep_failed_job_dirs: bool = False
    # Extra ``states.Hooks`` around every job's drive (notifications, audit, metrics,
    # drills): import paths ``module:attribute`` from AUTO_LAMBDA_HOOKS, comma-separated.
    extra_hooks: tuple[str, ...] = ()
    # The operator's policy per team (VPC profiles, layers, limits, public URLs, triggers,
    # services a team's role may be granted): a JSON file read by orchestrator.policy;
    # None gives every team the safe defaults (docs/manifest.md).
    team_policy_file: Path | None = None
    # The tracing backend as set in AUTO_LAMBDA_TRACING (xray, memory, off; empty: X-Ray
    # when ``xray_daemon`` is set); orchestrator.tracing.factory checks the value.
    tracing: str = ""
    # Lower the unzip caps (bytes, entries) for drills and tests of the limits, never
    # raise them (orchestrator.steps.unpack.rehydrate); None keeps orchestrator.limits' values.
    unpack_max_bytes: int | None = None
    unpack_max_entries: int | None = None
    # The worker's place in its Auto Scaling group (worker.instance): scale-in protection
    # asked for (the instance id then comes from IMDSv2), or the instance id given (tests
    # against the emulator); the group and termination hook names when not the derived
    # ones; whether the drained worker completes the hook.
    instance_protection: bool = False
    instance_id: str | None = None
    instance_group: str | None = None
    drain_hook: str | None = None
    lifecycle_hook: bool = True
    # The operator's webhooks per team (URL and a secret by reference): a JSON file read
    # by orchestrator.feedback.webhooks; None: no team has a webhook (docs/results.md).
    webhooks_file: Path | None = None
    # Published versions kept per function besides alias targets, the rollback target
    # and versions whose job has not ended (AUTO_LAMBDA_KEEP_VERSIONS; orchestrator.jobs.pruning).
    keep_versions: int = 5
    # Who a person is when STS cannot say (AUTO_LAMBDA_ACTOR; `replay --as` overrides it):
    # recorded beside the caller's ARN on the history events of what they do.
    actor: str | None = None
    # The web console's tokens per team (AUTO_LAMBDA_UI_TEAM_TOKENS): a JSON file
    # {"team": "token", ...} read by orchestrator.cli.ui.teams; None: one operator token.
    ui_team_tokens_file: Path | None = None

    # ---- derived names (docs/architecture.md, "Contracts others rely on") ----
    @property
    def incoming_bucket(self) -> str:
        return f"{self.prefix}-incoming-{self.account_suffix}"

    @property
    def artifacts_bucket(self) -> str:
        return f"{self.prefix}-artifacts-{self.account_suffix}"

    @property
    def queue_name(self) -> str:
        return f"{self.prefix}-jobs"

    @property
    def dlq_name(self) -> str:
        return f"{self.prefix}-jobs-dlq"

    @property
    def table_name(self) -> str:
        return f"{self.prefix}-jobs"

    @property
    def history_table_name(self) -> str:
        return f"{self.prefix}-jobs-history"

    @property
    def results_bucket(self) -> str:
        """Where each upload's result object is written (``<team>/<app>.result.json``)."""
        return f"{self.prefix}-results-{self.account_suffix}"

    @property
    def event_bus_name(self) -> str:
        """auto-lambda's own EventBridge bus (job ended, rollout step)."""
        return f"{self.prefix}-events"

    @property
    def events_log_group(self) -> str:
        """The log group a rule copies every event to (``auto-lambda events`` reads it);
        EventBridge writes only to groups under /aws/events/."""
        return f"/aws/events/{self.prefix}"

    @property
    def webhooks_queue_name(self) -> str:
        return f"{self.prefix}-webhooks"

    @property
    def webhooks_dlq_name(self) -> str:
        return f"{self.prefix}-webhooks-dlq"

    @property
    def role_name(self) -> str:
        return f"{self.prefix}-function-role"

    @property
    def scheduler_role_name(self) -> str:
        return f"{self.prefix}-scheduler-role"

    def schedule_group(self, team: str) -> str:
        """The EventBridge Scheduler group of a team's schedule triggers."""
        return f"{self.prefix}-{team}"

    @property
    def worker_group_name(self) -> str:
        return f"{self.prefix}-workers"

    def function_name(self, app_name: str, team: str) -> str:
        """``<prefix>-<team>-<app>`` (see orchestrator.tenancy)."""
        return function_name(self.prefix, team, app_name)

    @property
    def is_local(self) -> bool:
        if self.local_override is not None:
            return self.local_override
        return self.endpoint_url is not None

    def with_endpoint(self, endpoint_url: str | None) -> Settings:
        return replace(self, endpoint_url=endpoint_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        work_dir = Path(env.get("AUTO_LAMBDA_WORK_DIR", ".auto-lambda"))
        endpoint = env.get("AWS_ENDPOINT_URL") or env.get("AUTO_LAMBDA_ENDPOINT_URL") or None
        return cls(
            prefix=env.get("AUTO_LAMBDA_PREFIX", DEFAULT_PREFIX),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint_url=endpoint,
            account_suffix=env.get("AUTO_LAMBDA_ACCOUNT", "local"),
            work_dir=work_dir,
            cache_dir=Path(env.get("AUTO_LAMBDA_CACHE_DIR", str(work_dir / "cache"))),
            cache_max_mb=env_int(env, "AUTO_LAMBDA_CACHE_MAX_MB", 4096),
            resolve_ttl=env_int(env, "AUTO_LAMBDA_RESOLVE_TTL", 86_400),
            max_receive_count=env_int(env, "AUTO_LAMBDA_MAX_RECEIVE_COUNT", REDRIVE_LIMIT),
            visibility_timeout=env_int(env, "AUTO_LAMBDA_VISIBILITY_TIMEOUT",
                                       DEFAULT_LEASE_SECONDS),
            lease_seconds=env_int(env, "AUTO_LAMBDA_LEASE_SECONDS", DEFAULT_LEASE_SECONDS),
            outage_deadline=_outage_deadline(env),
            park_after=parse_duration(env.get("AUTO_LAMBDA_PARK_AFTER") or 5.0),
            delete_grace=_delete_grace(env),
            deployed_role_arn=env.get("AUTO_LAMBDA_FUNCTION_ROLE_ARN") or None,
            scheduler_role_arn=env.get("AUTO_LAMBDA_SCHEDULER_ROLE_ARN") or None,
            xray_daemon=env.get("AWS_XRAY_DAEMON_ADDRESS") or None,
            otel_endpoint=(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "").strip() or None,
            otel_traces_endpoint=(env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
                                  or "").strip() or None,
            worker_concurrency=_env_positive(env, "AUTO_LAMBDA_WORKER_CONCURRENCY"),
            local_override=_env_bool(env, "AUTO_LAMBDA_LOCAL"),
            keep_failed_job_dirs=bool(_env_bool(env, "AUTO_LAMBDA_KEEP_FAILED_JOB_DIRS")),
            extra_hooks=tuple(h.strip() for h in env.get("AUTO_LAMBDA_HOOKS", "").split(",")
                              if h.strip()),
            team_policy_file=(Path(env["AUTO_LAMBDA_TEAM_POLICY"].strip())
                              if (env.get("AUTO_LAMBDA_TEAM_POLICY") or "").strip() else None),
            tracing=env.get("AUTO_LAMBDA_TRACING") or "",
            unpack_max_bytes=_env_digits(env, "AUTO_LAMBDA_UNPACK_MAX_BYTES"),
            unpack_max_entries=_env_digits(env, "AUTO_LAMBDA_UNPACK_MAX_ENTRIES"),
            instance_protection=_env_on(env, "AUTO_LAMBDA_INSTANCE_PROTECTION"),
            instance_id=env.get("AUTO_LAMBDA_INSTANCE_ID") or None,
            instance_group=env.get("AUTO_LAMBDA_WORKER_GROUP") or None,
            drain_hook=env.get("AUTO_LAMBDA_DRAIN_HOOK") or None,
            lifecycle_hook=_env_on(env, "AUTO_LAMBDA_LIFECYCLE_HOOK", "on"),
            webhooks_file=(Path(env["AUTO_LAMBDA_WEBHOOKS"].strip())
                           if (env.get("AUTO_LAMBDA_WEBHOOKS") or "").strip() else None),
            keep_versions=_keep_versions(env),
            actor=(env.get("AUTO_LAMBDA_ACTOR") or "").strip() or None,
            ui_team_tokens_file=(Path(env["AUTO_LAMBDA_UI_TEAM_TOKENS"].strip())
                                 if (env.get("AUTO_LAMBDA_UI_TEAM_TOKENS") or "").strip()
                                 else None),
        )
