"""The Lambda calls for what invokes a function: its URL configuration, its
resource-based permissions and its event source mappings. Part of the Lambda door
(``Functions`` inherits them), kept apart so ``functions.py`` stays about the function.

As everywhere in the doors: a missing resource is ``None``/``False`` (caught here), every
failure an ``AwsError`` with its code, and a write whose answer was lost is settled by
reading back (``aws.lost_answers``). Decides nothing about which triggers a function has.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from orchestrator.aws.errors import AwsError, aws_call
from orchestrator.aws.lost_answers import write_or_confirm
from orchestrator.aws.types import BotoClient

_NOT_FOUND = "ResourceNotFoundException"


@dataclass(frozen=True)
class UrlConfig:
    """A function URL: its address and ``AWS_IAM`` or ``NONE``."""

    url: str
    auth_type: str


@dataclass(frozen=True)
class Permission:
    """One statement of a function's resource-based policy, as we compare them."""

    sid: str
    action: str
    principal: str
    source_arn: str | None = None
    url_auth_type: str | None = None
    via_url: bool = False


@dataclass(frozen=True)
class EventSourceMapping:
    uuid: str
    source_arn: str
    function_arn: str
    state: str
    batch_size: int


def _principal(raw: object) -> str:
    if isinstance(raw, dict):
        raw = raw.get("Service") or raw.get("AWS") or ""
    return str(raw)


def _statement(raw: dict[str, object]) -> Permission:
    condition = raw.get("Condition") or {}
    source = url_auth = None
    via_url = False
    if isinstance(condition, dict):
        for values in condition.values():
            if not isinstance(values, dict):
                continue
            source = str(values.get("AWS:SourceArn") or source or "") or None
            url_auth = str(values.get("lambda:FunctionUrlAuthType") or url_auth or "") or None
            via_url = via_url or str(values.get("lambda:InvokedViaFunctionUrl")) in (
                "true", "True")
    # the emulator keeps the request's fields on the statement instead of a Condition
    url_auth = url_auth or (str(raw["FunctionUrlAuthType"]) if raw.get("FunctionUrlAuthType")
                            else None)
    source = source or (str(raw["SourceArn"]) if raw.get("SourceArn") else None)
    via_url = via_url or bool(raw.get("InvokedViaFunctionUrl"))
    return Permission(str(raw.get("Sid") or ""), str(raw.get("Action") or ""),
                      _principal(raw.get("Principal")), source, url_auth, via_url)


def _mapping(raw: dict[str, object]) -> EventSourceMapping:
    return EventSourceMapping(str(raw["UUID"]), str(raw.get("EventSourceArn") or ""),
                              str(raw.get("FunctionArn") or ""), str(raw.get("State") or ""),
                              int(str(raw.get("BatchSize") or 0)))


class FunctionTriggerCalls:
    """URL configurations, permissions and event source mappings (mixed into
    ``Functions``, which sets ``_lambda``)."""

    _lambda: BotoClient

    # ---- function URLs ----
    def get_url_config(self, name: str, qualifier: str) -> UrlConfig | None:
        try:
            with aws_call(f"lambda.get_function_url_config({name}:{qualifier})"):
                raw = self._lambda.get_function_url_config(FunctionName=name,
                                                            Qualifier=qualifier)
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return None
            raise
        return UrlConfig(str(raw["FunctionUrl"]), str(raw["AuthType"]))

    def put_url_config(self, name: str, qualifier: str, auth_type: str) -> UrlConfig:
        """Create the URL configuration, or change its auth type when it exists."""
        current = self.get_url_config(name, qualifier)
        if current is not None and current.auth_type == auth_type:
            return current

        def confirm() -> UrlConfig | None:
            found = self.get_url_config(name, qualifier)
            return found if found is not None and found.auth_type == auth_type else None

        if current is None:
            where = f"lambda.create_function_url_config({name}:{qualifier})"

            def create() -> UrlConfig:
                with aws_call(where):
                    raw = self._lambda.create_function_url_config(
                        FunctionName=name, Qualifier=qualifier, AuthType=auth_type)
                return UrlConfig(str(raw["FunctionUrl"]), str(raw["AuthType"]))

            return write_or_confirm(create, confirm, where=where)
        where = f"lambda.update_function_url_config({name}:{qualifier})"

        def update() -> UrlConfig:
            with aws_call(where):
                raw = self._lambda.update_function_url_config(
                    FunctionName=name, Qualifier=qualifier, AuthType=auth_type)
            return UrlConfig(str(raw["FunctionUrl"]), str(raw["AuthType"]))

        return write_or_confirm(update, confirm, where=where)

    def delete_url_config(self, name: str, qualifier: str) -> bool:
        """False when there was none (a repeat after a lost answer finds it so)."""
        try:
            with aws_call(f"lambda.delete_function_url_config({name}:{qualifier})"):
                self._lambda.delete_function_url_config(FunctionName=name, Qualifier=qualifier)
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return False
            raise
        return True

    # ---- the resource-based policy ----
    def permissions(self, name: str, qualifier: str) -> dict[str, Permission]:
        """The statements of the policy on ``name:qualifier`` by Sid; {} when none."""
        try:
            with aws_call(f"lambda.get_policy({name}:{qualifier})"):
                raw = self._lambda.get_policy(FunctionName=name, Qualifier=qualifier)
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return {}
            raise
        policy = json.loads(str(raw.get("Policy") or "{}"))
        out = {}
        for stmt in policy.get("Statement") or []:
            if isinstance(stmt, dict):
                # the emulator answers the function's whole policy, whatever the qualifier
                resource = str(stmt.get("Resource") or "")
                if resource and not resource.endswith(f":{qualifier}"):
                    continue
                found = _statement(stmt)
                out[found.sid] = found
        return out

    def add_permission(self, name: str, qualifier: str, permission: Permission) -> None:
        """Add one statement; one already there with this Sid (a lost answer's repeat)
        counts as done when it is this statement."""
        where = f"lambda.add_permission({name}:{qualifier}, {permission.sid})"
        args: dict[str, object] = {
            "FunctionName": name, "Qualifier": qualifier, "StatementId": permission.sid,
            "Action": permission.action, "Principal": permission.principal}
        if permission.source_arn:
            args["SourceArn"] = permission.source_arn
        if permission.url_auth_type:
            args["FunctionUrlAuthType"] = permission.url_auth_type
        if permission.via_url:
            args["InvokedViaFunctionUrl"] = True

        def add() -> bool:
            with aws_call(where):
                self._lambda.add_permission(**args)
            return True

        def confirm() -> bool | None:
            found = self.permissions(name, qualifier).get(permission.sid)
            return True if found == permission else None

        write_or_confirm(add, confirm, where=where)

    def remove_permission(self, name: str, qualifier: str, sid: str) -> bool:
        """False when no such statement was there."""
        try:
            with aws_call(f"lambda.remove_permission({name}:{qualifier}, {sid})"):
                self._lambda.remove_permission(FunctionName=name, Qualifier=qualifier,
                                               StatementId=sid)
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return False
            raise
        return True

    # ---- event source mappings ----
    def list_mappings(self, qualified_name: str) -> list[EventSourceMapping]:
        """The mappings on ``name:qualifier``."""
        out: list[EventSourceMapping] = []
        with aws_call(f"lambda.list_event_source_mappings({qualified_name})"):
            pages = self._lambda.get_paginator("list_event_source_mappings").paginate(
                FunctionName=qualified_name)
            for page in pages:
                out.extend(_mapping(m) for m in page.get("EventSourceMappings") or [])
        return out

    def create_mapping(self, qualified_name: str, source_arn: str, *, batch_size: int
                       ) -> EventSourceMapping:
        """Map ``source_arn`` to ``qualified_name``; a mapping of that source found after
        an unclear outcome (or a conflict: it exists) is the result."""
        where = f"lambda.create_event_source_mapping({source_arn} -> {qualified_name})"

        def create() -> EventSourceMapping:
            with aws_call(where):
                raw = self._lambda.create_event_source_mapping(
                    EventSourceArn=source_arn, FunctionName=qualified_name,
                    BatchSize=batch_size, Enabled=True)
            return _mapping(raw)

        def confirm() -> EventSourceMapping | None:
            return next((m for m in self.list_mappings(qualified_name)
                         if m.source_arn == source_arn), None)

        return write_or_confirm(create, confirm, where=where)

    def delete_mapping(self, uuid: str) -> bool:
        """False when it was gone already."""
        try:
            with aws_call(f"lambda.delete_event_source_mapping({uuid})"):
                self._lambda.delete_event_source_mapping(UUID=uuid)
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return False
            raise
        return True
