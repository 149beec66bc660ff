"""The CloudWatch Logs door: the log group EventBridge copies auto-lambda's events to
(``auto-lambda events`` reads it back). Decides nothing about what a line means."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.aws.errors import AwsError, aws_call
from orchestrator.aws.types import BotoClient


@dataclass(frozen=True)
class LogLine:
    timestamp_ms: int
    message: str


class Logs:
    def __init__(self, client: BotoClient) -> None:
        self._logs = client

    def ensure_group(self, name: str, retention_days: int = 14) -> str:
        """The group's ARN (without the trailing ``:*``), creating it when missing."""
        try:
            with aws_call(f"logs.create_log_group({name})"):
                self._logs.create_log_group(logGroupName=name)
            with aws_call(f"logs.put_retention_policy({name})"):
                self._logs.put_retention_policy(logGroupName=name,
                                                retentionInDays=retention_days)
        except AwsError as exc:
            if exc.aws_code != "ResourceAlreadyExistsException":
                raise
        with aws_call(f"logs.describe_log_groups({name})"):
            groups = self._logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        arn = next(str(g["arn"]) for g in groups if g["logGroupName"] == name)
        return arn.removesuffix(":*")

    def recent(self, group: str, *, since_ms: int, limit: int) -> list[LogLine] | None:
        """Up to ``limit`` lines of ``group`` since ``since_ms``, oldest first (the newest
        ``limit`` when there are more); None when the group does not exist."""
        lines: list[LogLine] = []
        kwargs: dict[str, object] = {"logGroupName": group, "startTime": since_ms}
        try:
            while True:
                with aws_call(f"logs.filter_log_events({group})"):
                    resp = self._logs.filter_log_events(**kwargs)
                lines.extend(LogLine(int(e.get("timestamp", 0)), str(e.get("message", "")))
                             for e in resp.get("events", []))
                token = resp.get("nextToken")
                if not token or token == kwargs.get("nextToken"):
                    break
                kwargs["nextToken"] = token
        except AwsError as exc:
            if exc.aws_code == "ResourceNotFoundException":
                return None
            raise
        lines.sort(key=lambda line: line.timestamp_ms)
        return lines[-limit:] if limit > 0 else lines
