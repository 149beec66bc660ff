"""What a function's triggers are: the state the manifest asks for (``Desired``), the
state AWS holds (``Current``), and the names that tie the two together.

Every trigger is attached to the ``live`` alias (its ARN, or qualifier ``live``), never
to a version: moving ``live`` (promote, a rollout, a rollback) moves every trigger, and
nothing else has to touch them. What auto-lambda owns, and so may change or delete:

| trigger | found as |
|---|---|
| url | the function URL configuration of qualifier ``live`` |
| permission | the statements of ``live``'s policy whose Sid starts ``auto-lambda-`` |
| schedule | in the team's group ``<prefix>-<team>``, named ``<app>-<8 hex>``, target ``live`` |
| sqs | the event source mappings of ``<function>:live`` |
| http | HTTP APIs named after the function and tagged with it |

Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from orchestrator.aws.apigateway import HttpApi
from orchestrator.aws.function_triggers import EventSourceMapping, Permission, UrlConfig
from orchestrator.aws.scheduler import Schedule
from orchestrator.config import LIVE_ALIAS
from orchestrator.steps.unpack.platform import (
    HttpTrigger,
    ScheduleTrigger,
    SqsTrigger,
    Trigger,
    UrlTrigger,
)
from orchestrator.tenancy import TAG_APP, TAG_MANAGED, TAG_TEAM

SID_PREFIX = "auto-lambda-"
SID_URL_PUBLIC = "auto-lambda-url-public"          # lambda:InvokeFunctionUrl, auth NONE
SID_URL_PUBLIC_INVOKE = "auto-lambda-url-invoke"   # lambda:InvokeFunction via the URL
SID_HTTP = "auto-lambda-http-api"                  # API Gateway invoking live
TAG_FUNCTION = "auto-lambda:function"
HTTP_ROUTE = "$default"
HTTP_STAGE = "$default"
PAYLOAD_VERSION = "2.0"
SQS_BATCH_SIZE = 10
AUTH_TYPES = {"iam": "AWS_IAM", "none": "NONE"}
_SCHEDULE_SUFFIX = re.compile(r"^[0-9a-f]{8}\Z")


@dataclass(frozen=True)
class Target:
    """The function whose triggers these are, and where they point."""

    function_name: str
    function_arn: str     # unqualified
    team: str
    app: str
    schedule_group: str
    prefix: str = "auto-lambda"

    @property
    def alias_arn(self) -> str:
        return f"{self.function_arn}:{LIVE_ALIAS}"

    @property
    def qualified_name(self) -> str:
        return f"{self.function_name}:{LIVE_ALIAS}"

    @property
    def region(self) -> str:
        return self.function_arn.split(":")[3]

    @property
    def account(self) -> str:
        return self.function_arn.split(":")[4]

    def api_tags(self) -> dict[str, str]:
        return {TAG_MANAGED: "true", TAG_TEAM: self.team, TAG_APP: self.app,
                TAG_FUNCTION: self.function_name}

    def schedule_name(self, expression: str) -> str:
        digest = hashlib.sha256(expression.encode()).hexdigest()[:8]
        return f"{self.app}-{digest}"

    def owns_schedule_name(self, name: str) -> bool:
        return (name.startswith(f"{self.app}-")
                and bool(_SCHEDULE_SUFFIX.match(name[len(self.app) + 1:])))

    def schedule_input(self, expression: str) -> str:
        """What the function receives when the schedule fires."""
        return json.dumps({"source": "auto-lambda.schedule", "expression": expression},
                          sort_keys=True)

    def http_permission(self, api_id: str) -> Permission:
        return Permission(SID_HTTP, "lambda:InvokeFunction", "apigateway.amazonaws.com",
                          f"arn:aws:execute-api:{self.region}:{self.account}:{api_id}/*")


# The statements a public function URL needs: InvokeFunctionUrl for anyone with auth
# NONE, and (for URLs made since October 2025) InvokeFunction through the URL only.
PUBLIC_URL_PERMISSIONS = (
    Permission(SID_URL_PUBLIC, "lambda:InvokeFunctionUrl", "*", url_auth_type="NONE"),
    Permission(SID_URL_PUBLIC_INVOKE, "lambda:InvokeFunction", "*", via_url=True),
)


@dataclass(frozen=True)
class Desired:
    """What the manifest asks for, in AWS's terms."""

    url_auth: str | None = None                      # AWS_IAM | NONE
    schedules: dict[str, str] = field(default_factory=dict)  # name -> expression
    queues: tuple[str, ...] = ()
    http_auth: str | None = None                     # AWS_IAM | NONE

    @classmethod
    def of(cls, triggers: tuple[Trigger, ...], target: Target) -> Desired:
        url = http = None
        schedules: dict[str, str] = {}
        queues: list[str] = []
        for trigger in triggers:
            if isinstance(trigger, UrlTrigger):
                url = AUTH_TYPES[trigger.auth]
            elif isinstance(trigger, HttpTrigger):
                http = AUTH_TYPES[trigger.auth]
            elif isinstance(trigger, ScheduleTrigger):
                schedules[target.schedule_name(trigger.expression)] = trigger.expression
            elif isinstance(trigger, SqsTrigger):
                queues.append(trigger.queue)
            else:  # an explicit refusal rather than a silently skipped trigger
                raise TypeError(f"no plan for trigger {trigger!r}")
        return cls(url, schedules, tuple(dict.fromkeys(queues)), http)

    @property
    def permissions(self) -> dict[str, Permission]:
        """The statements the URL needs (the HTTP API's depends on its id)."""
        return {p.sid: p for p in PUBLIC_URL_PERMISSIONS} if self.url_auth == "NONE" else {}


@dataclass(frozen=True)
class HttpState:
    """An HTTP API of the function, and whether it is wired as wanted."""

    api: HttpApi
    integration_uri: str | None
    payload_version: str | None
    route_auth: str | None
    route_target_ok: bool
    stage: bool


@dataclass(frozen=True)
class Current:
    """What AWS holds for the function (only what auto-lambda owns)."""

    url: UrlConfig | None = None
    permissions: dict[str, Permission] = field(default_factory=dict)
    schedules: dict[str, Schedule] = field(default_factory=dict)
    mappings: tuple[EventSourceMapping, ...] = ()
    http: tuple[HttpState, ...] = ()


SQS_POLL_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                    "sqs:ChangeMessageVisibility")


def role_statements(triggers: tuple[Trigger, ...]) -> list[dict[str, object]]:
    """The IAM statements the function's own role needs for its triggers: Lambda polls an
    SQS trigger's queue as the function's role (the others invoke through the alias and
    need nothing of the role). The queues are the team's own (``ForbiddenQueue``)."""
    queues = sorted({t.queue for t in triggers if isinstance(t, SqsTrigger)})
    if not queues:
        return []
    return [{"Sid": "SqsTriggers", "Effect": "Allow", "Action": list(SQS_POLL_ACTIONS),
             "Resource": queues}]
