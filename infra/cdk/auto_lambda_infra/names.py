"""Resource names shared by every construct, mirroring the resource names of
docs/architecture.md ("Contracts others rely on").

A copy, on purpose, of what ``orchestrator/config.py`` derives at run time: the infrastructure
must not import the runtime. ``tests/cdk`` checks that the two agree where both are
installed. This module only computes strings; it creates no constructs.
"""

from __future__ import annotations

from dataclasses import dataclass

METRIC_NAMESPACE = "AutoLambda"
BACKLOG_METRIC = "BacklogPerSlot"
LIVE_ALIAS = "live"
# Tags the worker puts on every function it creates, and the only ones its policy may touch.
TAG_MANAGED = "auto-lambda:managed"
TAG_TEAM = "auto-lambda:team"
# The worker's drain hook: the worker finishes (or hands back) its jobs, then completes it.
DRAIN_HOOK_SUFFIX = "worker-drain"
# The launch hook (with a warm pool): the instance completes it once it is initialised.
LAUNCH_HOOK_SUFFIX = "worker-launch"


@dataclass(frozen=True)
class Names:
    """Every physical name derived from the prefix (and the account, as a token)."""

    prefix: str

    def incoming_bucket(self, account: str) -> str:
        return f"{self.prefix}-incoming-{account}"

    def artifacts_bucket(self, account: str) -> str:
        return f"{self.prefix}-artifacts-{account}"

    def log_bucket(self, account: str) -> str:
        return f"{self.prefix}-logs-{account}"

    def results_bucket(self, account: str) -> str:
        return f"{self.prefix}-results-{account}"

    @property
    def event_bus(self) -> str:
        return f"{self.prefix}-events"

    @property
    def events_log_group(self) -> str:
        return f"/aws/events/{self.prefix}"

    @property
    def webhooks_queue(self) -> str:
        return f"{self.prefix}-webhooks"

    @property
    def webhooks_dlq(self) -> str:
        return f"{self.prefix}-webhooks-dlq"

    @property
    def instance_log_group(self) -> str:
        """The CloudWatch Logs group of the instances' own logs (worker, checker, boot)."""
        return f"/{self.prefix}/instances"

    @property
    def queue(self) -> str:
        return f"{self.prefix}-jobs"

    @property
    def dlq(self) -> str:
        return f"{self.prefix}-jobs-dlq"

    @property
    def table(self) -> str:
        return f"{self.prefix}-jobs"

    @property
    def history_table(self) -> str:
        return f"{self.prefix}-jobs-history"

    def boundary(self, team: str) -> str:
        """The permission boundary every app role of ``team`` carries."""
        return f"{self.prefix}-boundary-{team}"

    @property
    def boundary_path(self) -> str:
        return f"/{self.prefix}/"

    @property
    def app_role_path(self) -> str:
        """Where every function's own role lives (orchestrator/steps/deploy/approle.py)."""
        return f"/{self.prefix}/apps/"

    def upload_role(self, team: str) -> str:
        return f"{self.prefix}-upload-{team}"

    @property
    def worker_group(self) -> str:
        return f"{self.prefix}-workers"

    @property
    def checker_group(self) -> str:
        return f"{self.prefix}-checker"

    @property
    def drain_hook(self) -> str:
        return f"{self.prefix}-{DRAIN_HOOK_SUFFIX}"

    @property
    def launch_hook(self) -> str:
        return f"{self.prefix}-{LAUNCH_HOOK_SUFFIX}"

    @property
    def ssm_path(self) -> str:
        """The SSM parameter path the instances read their configuration from."""
        return f"/{self.prefix}"

    @property
    def function_arn_pattern(self) -> str:
        """Every function auto-lambda deploys, unqualified."""
        return f"arn:aws:lambda:*:*:function:{self.prefix}-*"

    @property
    def qualified_function_arn_pattern(self) -> str:
        """Their versions and aliases."""
        return f"arn:aws:lambda:*:*:function:{self.prefix}-*:*"
