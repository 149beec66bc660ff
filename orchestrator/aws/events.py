"""The EventBridge door: putting auto-lambda's events on its bus, and the rules that
route them (the local stack's; on AWS the CDK stack owns the rules).

``put`` sends one event and returns the id EventBridge gave it. PutEvents answers 200
even when it refused the entry (``FailedEntryCount``): that is turned into an
``AwsError`` here, transient when EventBridge says so (throttled, internal failure),
so callers see one kind of failure. Decides nothing about what an event says.
"""

from __future__ import annotations

import json

from orchestrator.aws.errors import THROTTLED, VALIDATION, AwsError, aws_call
from orchestrator.aws.types import BotoClient
from orchestrator.errors import TransientError
from orchestrator.types import JsonObject

# Entry error codes of PutEvents worth sending again.
_TRANSIENT_ENTRY_CODES = frozenset({"ThrottlingException", "InternalFailure",
                                    "InternalException", "ServiceUnavailable"})


class EventEntryRefused(AwsError):
    """EventBridge answered, but refused the entry (PutEvents' FailedEntryCount)."""


class EventEntryThrottled(EventEntryRefused, TransientError):
    """A refused entry EventBridge says may pass if sent again."""


class Events:
    """EventBridge, one method per call auto-lambda makes."""

    def __init__(self, client: BotoClient) -> None:
        self._events = client

    def put(self, bus: str, source: str, detail_type: str, detail: JsonObject,
            resources: list[str] | None = None) -> str:
        """Put one event on ``bus``; the id EventBridge gave it."""
        entry: JsonObject = {"EventBusName": bus, "Source": source, "DetailType": detail_type,
                             "Detail": json.dumps(detail, separators=(",", ":"), default=str)}
        if resources:
            entry["Resources"] = resources
        with aws_call(f"events.put_events({detail_type})"):
            resp = self._events.put_events(Entries=[entry])
        answer = (resp.get("Entries") or [{}])[0]
        if resp.get("FailedEntryCount") or answer.get("ErrorCode"):
            code = str(answer.get("ErrorCode") or "Refused")
            cls = EventEntryThrottled if code in _TRANSIENT_ENTRY_CODES else EventEntryRefused
            raise cls(f"EventBridge refused the {detail_type!r} event on {bus}: {code} "
                      f"{answer.get('ErrorMessage') or ''}".strip(),
                      code=THROTTLED if cls is EventEntryThrottled else VALIDATION,
                      service="events", operation="PutEvents", aws_code=code)
        return str(answer.get("EventId", ""))

    # ---- the local stack's bus and rules (the CDK stack declares its own) ----
    def ensure_bus(self, name: str) -> str:
        """The bus's ARN, creating it when missing."""
        try:
            with aws_call(f"events.describe_event_bus({name})"):
                return str(self._events.describe_event_bus(Name=name)["Arn"])
        except AwsError as exc:
            if exc.aws_code != "ResourceNotFoundException":
                raise
        with aws_call(f"events.create_event_bus({name})"):
            return str(self._events.create_event_bus(Name=name)["EventBusArn"])

    def ensure_rule(self, bus: str, name: str, pattern: JsonObject, target_arn: str,
                    target_id: str = "target") -> None:
        """A rule on ``bus`` sending events that match ``pattern`` to ``target_arn``
        (created or updated in place)."""
        with aws_call(f"events.put_rule({name})"):
            self._events.put_rule(Name=name, EventBusName=bus, State="ENABLED",
                                  EventPattern=json.dumps(pattern))
        with aws_call(f"events.put_targets({name})"):
            self._events.put_targets(Rule=name, EventBusName=bus,
                                     Targets=[{"Id": target_id, "Arn": target_arn}])
