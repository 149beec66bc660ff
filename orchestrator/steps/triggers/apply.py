"""The trigger executor: the only code that writes triggers to AWS, one method per kind
of action of the plan (``orchestrator.steps.triggers.plan``), dispatched through an
explicit table (an action without an entry raises instead of being skipped).

Every write is safe to repeat: the doors read before they write and read back after an
unclear failure (``aws.lost_answers``), and a delete of something already gone is done.
So a step that fails half way and runs again re-plans from what AWS holds and finishes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from orchestrator.aws.facade import Aws
from orchestrator.config import LIVE_ALIAS
from orchestrator.steps.triggers.model import (
    HTTP_ROUTE,
    HTTP_STAGE,
    PAYLOAD_VERSION,
    SID_HTTP,
    SQS_BATCH_SIZE,
    Target,
)
from orchestrator.steps.triggers.plan import (
    Action,
    AddPermission,
    CreateMapping,
    DeleteHttpApi,
    DeleteMapping,
    DeleteSchedule,
    DeleteUrl,
    PutHttpApi,
    PutSchedule,
    PutUrl,
    RemovePermission,
)

log = logging.getLogger(__name__)


class Executor:
    def __init__(self, aws: Aws, target: Target) -> None:
        self.aws = aws
        self.target = target
        self._table: dict[type[Any], Callable[[Any], None]] = {
            PutUrl: self._put_url, DeleteUrl: self._delete_url,
            AddPermission: self._add_permission, RemovePermission: self._remove_permission,
            PutSchedule: self._put_schedule, DeleteSchedule: self._delete_schedule,
            CreateMapping: self._create_mapping, DeleteMapping: self._delete_mapping,
            PutHttpApi: self._put_http, DeleteHttpApi: self._delete_http,
        }

    def execute(self, actions: list[Action]) -> None:
        for action in actions:
            run = self._table.get(type(action))
            if run is None:
                raise TypeError(f"no executor for {action!r}")
            log.info("function %s: %s", self.target.function_name, action.describe())
            run(action)

    def _put_url(self, action: PutUrl) -> None:
        self.aws.functions.put_url_config(self.target.function_name, LIVE_ALIAS,
                                          action.auth_type)

    def _delete_url(self, action: DeleteUrl) -> None:
        self.aws.functions.delete_url_config(self.target.function_name, LIVE_ALIAS)

    def _add_permission(self, action: AddPermission) -> None:
        self.aws.functions.add_permission(self.target.function_name, LIVE_ALIAS,
                                          action.permission)

    def _remove_permission(self, action: RemovePermission) -> None:
        self.aws.functions.remove_permission(self.target.function_name, LIVE_ALIAS,
                                             action.sid)

    def _put_schedule(self, action: PutSchedule) -> None:
        if action.create:
            self.aws.schedules.ensure_group(self.target.schedule_group,
                                            {"auto-lambda:managed": "true",
                                             "auto-lambda:team": self.target.team})
        self.aws.schedules.put(action.schedule,
                               description=f"auto-lambda: {self.target.qualified_name}")

    def _delete_schedule(self, action: DeleteSchedule) -> None:
        self.aws.schedules.delete(action.group, action.name)

    def _create_mapping(self, action: CreateMapping) -> None:
        self.aws.functions.create_mapping(self.target.qualified_name, action.queue_arn,
                                          batch_size=SQS_BATCH_SIZE)

    def _delete_mapping(self, action: DeleteMapping) -> None:
        self.aws.functions.delete_mapping(action.uuid)

    def _put_http(self, action: PutHttpApi) -> None:
        apis = self.aws.http_apis
        t = self.target
        if action.api_id is None:
            api_id = apis.create(t.function_name, t.api_tags(),
                                 description=f"auto-lambda: {t.qualified_name}").api_id
        else:
            api_id = action.api_id
        integration = apis.put_lambda_integration(api_id, t.alias_arn,
                                                  payload_version=PAYLOAD_VERSION)
        apis.put_route(api_id, HTTP_ROUTE, f"integrations/{integration.integration_id}",
                       action.auth_type)
        apis.ensure_auto_deploy_stage(api_id, HTTP_STAGE)
        wanted = t.http_permission(api_id)
        found = self.aws.functions.permissions(t.function_name, LIVE_ALIAS).get(SID_HTTP)
        if found != wanted:
            if found is not None:
                self.aws.functions.remove_permission(t.function_name, LIVE_ALIAS, SID_HTTP)
            self.aws.functions.add_permission(t.function_name, LIVE_ALIAS, wanted)

    def _delete_http(self, action: DeleteHttpApi) -> None:
        self.aws.http_apis.delete(action.api_id)
