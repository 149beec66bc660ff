"""The EventBridge Scheduler door: the schedules that invoke a function, and their
removal (a deleted app's schedule triggers). Schedules are found by their target, not
by a naming rule, so every schedule aimed at the function (or its ``live`` alias) is
found whatever it was called. Decides nothing about which function to clean up.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.aws.errors import AwsError, aws_call
from orchestrator.aws.types import BotoClient

_NOT_FOUND = "ResourceNotFoundException"


@dataclass(frozen=True)
class Schedule:
    group: str
    name: str
    target_arn: str


class Schedules:
    def __init__(self, client: BotoClient) -> None:
        self._scheduler = client

    def targeting(self, function_arn: str) -> list[Schedule]:
        """Every schedule, in any group, whose target is ``function_arn`` or one of its
        qualifiers (``<arn>:live``, ``<arn>:3``)."""
        out: list[Schedule] = []
        for group, name in self._all():
            target = self._target(group, name)
            if target is not None and (target == function_arn
                                       or target.startswith(function_arn + ":")):
                out.append(Schedule(group, name, target))
        return out

    def delete(self, group: str, name: str) -> bool:
        """Delete one schedule; False when it was gone already."""
        try:
            with aws_call(f"scheduler.delete_schedule({group}/{name})"):
                self._scheduler.delete_schedule(Name=name, GroupName=group)
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return False
            raise
        return True

    def _all(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
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

    def _target(self, group: str, name: str) -> str | None:
        try:
            with aws_call(f"scheduler.get_schedule({group}/{name})"):
                found = self._scheduler.get_schedule(Name=name, GroupName=group)
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return None
            raise
        return str((found.get("Target") or {}).get("Arn") or "") or None
