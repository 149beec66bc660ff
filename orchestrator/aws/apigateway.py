"""The API Gateway v2 door: HTTP APIs with a Lambda proxy integration, one method per
call auto-lambda makes.

A missing API is ``None``/``False`` (caught here); every failure an ``AwsError`` with its
code. An API's name is not unique in AWS, so a create whose answer was lost is settled by
finding the API by name and tags before anything makes a second one. Decides nothing
about which APIs a function has (``orchestrator.steps.triggers``). ``invoking`` finds
the APIs whose integrations invoke a function, by tags and integration targets rather
than a naming rule, for a deleted app's removal: an API shared with anything else, or
not made by auto-lambda, is never deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.aws.errors import AwsError, aws_call
from orchestrator.aws.lost_answers import write_or_confirm
from orchestrator.aws.types import BotoClient
from orchestrator.types import JsonObject

_NOT_FOUND = "NotFoundException"
MANAGED_TAG = "auto-lambda:managed"


@dataclass(frozen=True)
class Integration:
    integration_id: str
    uri: str
    payload_version: str


@dataclass(frozen=True)
class Route:
    route_id: str
    route_key: str
    target: str
    auth_type: str


@dataclass(frozen=True)
class HttpApi:
    api_id: str
    name: str
    endpoint: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiUse:
    """An HTTP API found invoking a function: ``owned`` when it is tagged as
    auto-lambda's and invokes nothing else (only such an API is ever deleted)."""

    api_id: str
    name: str
    owned: bool


class HttpApis:
    def __init__(self, client: BotoClient) -> None:
        self._api = client

    def find(self, name: str, tags: dict[str, str]) -> list[HttpApi]:
        """The HTTP APIs named ``name`` that carry every tag of ``tags``."""
        out = []
        with aws_call(f"apigatewayv2.get_apis({name})"):
            token: str | None = None
            while True:
                page = self._api.get_apis(**({"NextToken": token} if token else {}))
                for raw in page.get("Items") or []:
                    api = HttpApi(str(raw["ApiId"]), str(raw.get("Name") or ""),
                                  str(raw.get("ApiEndpoint") or ""),
                                  {str(k): str(v) for k, v in (raw.get("Tags") or {}).items()})
                    if api.name == name and raw.get("ProtocolType") in (None, "HTTP") and all(
                            api.tags.get(k) == v for k, v in tags.items()):
                        out.append(api)
                token = page.get("NextToken")
                if not token:
                    return out

    def create(self, name: str, tags: dict[str, str], description: str = "") -> HttpApi:
        where = f"apigatewayv2.create_api({name})"

        def create() -> HttpApi:
            with aws_call(where):
                raw = self._api.create_api(Name=name, ProtocolType="HTTP", Tags=tags,
                                           Description=description[:1024])
            return HttpApi(str(raw["ApiId"]), name, str(raw.get("ApiEndpoint") or ""),
                           dict(tags))

        def confirm() -> HttpApi | None:
            found = self.find(name, tags)
            return found[0] if found else None

        return write_or_confirm(create, confirm, where=where)

    def delete(self, api_id: str) -> bool:
        """False when it was gone already."""
        try:
            with aws_call(f"apigatewayv2.delete_api({api_id})"):
                self._api.delete_api(ApiId=api_id)
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return False
            raise
        return True

    # ---- integrations ----
    def integrations(self, api_id: str) -> list[Integration]:
        with aws_call(f"apigatewayv2.get_integrations({api_id})"):
            items = self._api.get_integrations(ApiId=api_id).get("Items") or []
        return [Integration(str(i["IntegrationId"]), str(i.get("IntegrationUri") or ""),
                            str(i.get("PayloadFormatVersion") or "")) for i in items]

    def put_lambda_integration(self, api_id: str, function_arn: str, *,
                               payload_version: str = "2.0") -> Integration:
        """The API's proxy integration to ``function_arn``: the one found (changed if it
        differs), else a new one."""
        found = self.integrations(api_id)
        for current in found:
            if current.uri == function_arn and current.payload_version == payload_version:
                return current
        if found:
            current = found[0]
            with aws_call(f"apigatewayv2.update_integration({api_id}/{current.integration_id})"):
                self._api.update_integration(
                    ApiId=api_id, IntegrationId=current.integration_id,
                    IntegrationType="AWS_PROXY", IntegrationUri=function_arn,
                    PayloadFormatVersion=payload_version)
            return Integration(current.integration_id, function_arn, payload_version)
        where = f"apigatewayv2.create_integration({api_id})"

        def create() -> Integration:
            with aws_call(where):
                raw = self._api.create_integration(
                    ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=function_arn,
                    IntegrationMethod="POST", PayloadFormatVersion=payload_version)
            return Integration(str(raw["IntegrationId"]), function_arn, payload_version)

        def confirm() -> Integration | None:
            return next((i for i in self.integrations(api_id) if i.uri == function_arn), None)

        return write_or_confirm(create, confirm, where=where)

    # ---- routes ----
    def routes(self, api_id: str) -> list[Route]:
        with aws_call(f"apigatewayv2.get_routes({api_id})"):
            items = self._api.get_routes(ApiId=api_id).get("Items") or []
        return [Route(str(r["RouteId"]), str(r.get("RouteKey") or ""), str(r.get("Target") or ""),
                      str(r.get("AuthorizationType") or "NONE")) for r in items]

    def put_route(self, api_id: str, route_key: str, target: str, auth_type: str) -> Route:
        """Route ``route_key`` to ``target`` with ``auth_type`` (created or changed)."""
        current = next((r for r in self.routes(api_id) if r.route_key == route_key), None)
        wanted = Route(current.route_id if current else "", route_key, target, auth_type)
        if current == wanted:
            return current
        if current is not None:
            with aws_call(f"apigatewayv2.update_route({api_id}/{route_key})"):
                self._api.update_route(ApiId=api_id, RouteId=current.route_id,
                                       Target=target, AuthorizationType=auth_type)
            return wanted
        where = f"apigatewayv2.create_route({api_id}/{route_key})"

        def create() -> Route:
            with aws_call(where):
                raw = self._api.create_route(ApiId=api_id, RouteKey=route_key, Target=target,
                                             AuthorizationType=auth_type)
            return Route(str(raw["RouteId"]), route_key, target, auth_type)

        def confirm() -> Route | None:
            return next((r for r in self.routes(api_id) if r.route_key == route_key), None)

        return write_or_confirm(create, confirm, where=where)

    # ---- stages ----
    def stages(self, api_id: str) -> list[str]:
        with aws_call(f"apigatewayv2.get_stages({api_id})"):
            items = self._api.get_stages(ApiId=api_id).get("Items") or []
        return [str(s["StageName"]) for s in items]

    def ensure_auto_deploy_stage(self, api_id: str, stage: str = "$default") -> None:
        if stage in self.stages(api_id):
            return
        where = f"apigatewayv2.create_stage({api_id}/{stage})"

        def create() -> bool:
            with aws_call(where):
                self._api.create_stage(ApiId=api_id, StageName=stage, AutoDeploy=True)
            return True

        write_or_confirm(create, lambda: True if stage in self.stages(api_id) else None,
                         where=where)

    def invoking(self, function_arn: str) -> list[ApiUse]:
        """The HTTP APIs with an integration that invokes ``function_arn`` (or one of
        its qualifiers); ``owned`` says which of them may be deleted."""
        out: list[ApiUse] = []
        for api in self._apis():
            targets = self._integration_targets(str(api["ApiId"]))
            ours = [t for t in targets if _invokes(t, function_arn)]
            if not ours:
                continue
            managed = (api.get("Tags") or {}).get(MANAGED_TAG) == "true"
            out.append(ApiUse(str(api["ApiId"]), str(api.get("Name") or ""),
                               owned=managed and len(ours) == len(targets)))
        return out

    def _apis(self) -> list[JsonObject]:
        out: list[JsonObject] = []
        with aws_call("apigatewayv2.get_apis"):
            token: str | None = None
            while True:
                kwargs = {"NextToken": token} if token else {}
                page = self._api.get_apis(**kwargs)
                out.extend(a for a in page.get("Items", [])
                           if a.get("ProtocolType", "HTTP") == "HTTP")
                token = page.get("NextToken")
                if not token:
                    return out

    def _integration_targets(self, api_id: str) -> list[str]:
        try:
            with aws_call(f"apigatewayv2.get_integrations({api_id})"):
                found = self._api.get_integrations(ApiId=api_id)
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return []
            raise
        return [str(i.get("IntegrationUri") or "") for i in found.get("Items", [])]


def _invokes(uri: str, function_arn: str) -> bool:
    """True when an integration URI (a function ARN, or the API Gateway invocation path
    ``arn:aws:apigateway:...:lambda:path/.../functions/<arn>/invocations``) names
    ``function_arn`` or one of its qualifiers."""
    if "/functions/" in uri:
        uri = uri.split("/functions/", 1)[1].removesuffix("/invocations")
    return uri == function_arn or uri.startswith(function_arn + ":")
