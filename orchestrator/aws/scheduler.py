"""The EventBridge Scheduler door: schedule groups and schedules, one method per call.

A missing schedule is ``None``/``False`` (caught here); every failure an ``AwsError``
with its code; a create whose answer was lost is settled by reading the schedule back.
Decides nothing about which schedules a function has (``orchestrator.steps.triggers``).
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.aws.errors import AwsError, aws_call
from orchestrator.aws.lost_answers import write_or_confirm
from orchestrator.aws.types import BotoClient

_NOT_FOUND = "ResourceNotFoundException"
_EXISTS = "ConflictException"


@dataclass(frozen=True)
class Schedule:
    """A schedule as we compare it: what fires, when, as whom, with what input."""

    group: str
    name: str
    expression: str
    target_arn: str
    role_arn: str = ""
    input: str = ""


@dataclass(frozen=True)
class ScheduleSummary:
    group: str
    name: str
    target_arn: str


class Schedules:
    def __init__(self, client: BotoClient) -> None:
        self._scheduler = client

    def ensure_group(self, name: str, tags: dict[str, str]) -> None:
        """Create the schedule group ``name`` unless it exists."""
        try:
            with aws_call(f"scheduler.get_schedule_group({name})"):
                self._scheduler.get_schedule_group(Name=name)
            return
        except AwsError as exc:
            if exc.aws_code != _NOT_FOUND:
                raise
        try:
            with aws_call(f"scheduler.create_schedule_group({name})"):
                self._scheduler.create_schedule_group(
                    Name=name, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        except AwsError as exc:
            if exc.aws_code != _EXISTS:  # made meanwhile, or our own lost answer
                raise

    def list(self, group: str, name_prefix: str) -> list[ScheduleSummary]:
        """The schedules of ``group`` whose names start ``name_prefix``; [] without the
        group."""
        out: list[ScheduleSummary] = []
        try:
            with aws_call(f"scheduler.list_schedules({group}/{name_prefix}*)"):
                pages = self._scheduler.get_paginator("list_schedules").paginate(
                    GroupName=group, NamePrefix=name_prefix)
                for page in pages:
                    out.extend(ScheduleSummary(str(s["GroupName"]), str(s["Name"]),
                                               str((s.get("Target") or {}).get("Arn") or ""))
                               for s in page.get("Schedules") or [])
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return []
            raise
        return out

    def get(self, group: str, name: str) -> Schedule | None:
        try:
            with aws_call(f"scheduler.get_schedule({group}/{name})"):
                raw = self._scheduler.get_schedule(GroupName=group, Name=name)
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return None
            raise
        target = raw.get("Target") or {}
        return Schedule(group, name, str(raw.get("ScheduleExpression") or ""),
                        str(target.get("Arn") or ""), str(target.get("RoleArn") or ""),
                        str(target.get("Input") or ""))

    def put(self, schedule: Schedule, *, description: str = "") -> None:
        """Create ``schedule``, or update it to this expression, target, role and input."""
        request = {
            "GroupName": schedule.group, "Name": schedule.name,
            "ScheduleExpression": schedule.expression, "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"}, "State": "ENABLED",
            "Description": description[:512],
            "Target": {"Arn": schedule.target_arn, "RoleArn": schedule.role_arn,
                       "Input": schedule.input},
        }
        current = self.get(schedule.group, schedule.name)
        if current == schedule:
            return

        def confirm() -> bool | None:
            return True if self.get(schedule.group, schedule.name) == schedule else None

        verb = "create_schedule" if current is None else "update_schedule"
        where = f"scheduler.{verb}({schedule.group}/{schedule.name})"

        def write() -> bool:
            with aws_call(where):
                getattr(self._scheduler, verb)(**request)
            return True

        write_or_confirm(write, confirm, where=where)

    def delete(self, group: str, name: str) -> bool:
        """False when it was gone already."""
        try:
            with aws_call(f"scheduler.delete_schedule({group}/{name})"):
                self._scheduler.delete_schedule(GroupName=group, Name=name)
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return False
            raise
        return True
