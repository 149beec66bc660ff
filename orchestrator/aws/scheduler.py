"""The EventBridge Scheduler door: schedule groups and schedules, one method per call.

A missing schedule is ``None``/``False`` (caught here); every failure an ``AwsError``
with its code; a create whose answer was lost is settled by reading the schedule back.
Decides nothing about which schedules a function has (``orchestrator.steps.triggers``).
``targeting`` finds every schedule aimed at a function (or its ``live`` alias) by its
target, whatever it was called, for a deleted app's removal.
"""

from __future__ import annotations

import builtins
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

    def targeting(self, function_arn: str) -> builtins.list[ScheduleSummary]:
        """Every schedule, in any group, whose target is ``function_arn`` or one of its
        qualifiers (``<arn>:live``, ``<arn>:3``)."""
        out: builtins.list[ScheduleSummary] = []
        for group, name in self._all():
            found = self.get(group, name)
            if found is not None and (found.target_arn == function_arn
                                      or found.target_arn.startswith(function_arn + ":")):
                out.append(ScheduleSummary(group, name, found.target_arn))
        return out

    def _all(self) -> builtins.list[tuple[str, str]]:
        out: builtins.list[tuple[str, str]] = []
        with aws_call("scheduler.list_schedules"):
            token: str | None = None
            while True:
                kwargs = {"NextToken": token} if token else {}
                page = self._scheduler.list_schedules(**kwargs)
                out.extend((str(s.get("GroupName") or "default"), str(s["Name"]))
                           for s in page.get("Schedules", []))
                token = page.get("NextToken")
                if not token:
                    return out
