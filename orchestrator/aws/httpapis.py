"""The API Gateway (HTTP APIs, apigatewayv2) door: the HTTP APIs auto-lambda made for
a function, and their removal (a deleted app's HTTP trigger).

An API counts as the function's when it is tagged ``auto-lambda:managed`` and every
integration it has invokes that function (or one of its qualifiers, such as ``live``):
an API shared with anything else, or not made by auto-lambda, is never deleted. Found by
tags and integration targets, not by a naming rule. Decides nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.aws.errors import AwsError, aws_call
from orchestrator.aws.types import BotoClient

_NOT_FOUND = "NotFoundException"
MANAGED_TAG = "auto-lambda:managed"


@dataclass(frozen=True)
class HttpApi:
    api_id: str
    name: str
    owned: bool        # tagged as auto-lambda's and invoking only this function


class HttpApis:
    def __init__(self, client: BotoClient) -> None:
        self._api = client

    def invoking(self, function_arn: str) -> list[HttpApi]:
        """The HTTP APIs with an integration that invokes ``function_arn`` (or one of
        its qualifiers); ``owned`` says which of them may be deleted."""
        out: list[HttpApi] = []
        for api in self._apis():
            targets = self._integration_targets(str(api["ApiId"]))
            ours = [t for t in targets if _invokes(t, function_arn)]
            if not ours:
                continue
            managed = (api.get("Tags") or {}).get(MANAGED_TAG) == "true"
            out.append(HttpApi(str(api["ApiId"]), str(api.get("Name") or ""),
                               owned=managed and len(ours) == len(targets)))
        return out

    def delete(self, api_id: str) -> bool:
        """Delete one API; False when it was gone already."""
        try:
            with aws_call(f"apigatewayv2.delete_api({api_id})"):
                self._api.delete_api(ApiId=api_id)
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return False
            raise
        return True

    def _apis(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
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
