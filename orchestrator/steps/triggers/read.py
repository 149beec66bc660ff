"""Reading what AWS holds for a function's triggers (``Current``), through the doors.
Only what auto-lambda owns is read (``orchestrator.steps.triggers.model``). Reads only.
"""

from __future__ import annotations

from orchestrator.aws.facade import Aws
from orchestrator.config import LIVE_ALIAS
from orchestrator.steps.triggers.model import (
    HTTP_ROUTE,
    HTTP_STAGE,
    SID_PREFIX,
    Current,
    HttpState,
    Target,
)


def _http(aws: Aws, target: Target) -> tuple[HttpState, ...]:
    out = []
    for api in aws.http_apis.find(target.function_name, target.api_tags()):
        integrations = {f"integrations/{i.integration_id}": i
                        for i in aws.http_apis.integrations(api.api_id)}
        route = next((r for r in aws.http_apis.routes(api.api_id)
                      if r.route_key == HTTP_ROUTE), None)
        integration = integrations.get(route.target) if route is not None else None
        out.append(HttpState(
            api, integration.uri if integration else None,
            integration.payload_version if integration else None,
            route.auth_type if route else None, integration is not None,
            HTTP_STAGE in aws.http_apis.stages(api.api_id)))
    return tuple(out)


def read_current(aws: Aws, target: Target) -> Current:
    fns = aws.functions
    permissions = {sid: p for sid, p in fns.permissions(target.function_name, LIVE_ALIAS).items()
                   if sid.startswith(SID_PREFIX)}
    schedules = {}
    for found in aws.schedules.list(target.schedule_group, f"{target.app}-"):
        if found.target_arn == target.alias_arn and target.owns_schedule_name(found.name):
            schedule = aws.schedules.get(found.group, found.name)
            if schedule is not None:
                schedules[found.name] = schedule
    return Current(url=fns.get_url_config(target.function_name, LIVE_ALIAS),
                   permissions=permissions, schedules=schedules,
                   mappings=tuple(fns.list_mappings(target.qualified_name)),
                   http=_http(aws, target))
