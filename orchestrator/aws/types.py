"""Types shared by the doors (``orchestrator.aws``): kept apart so a door never imports
the facade that hands it its client."""

from __future__ import annotations

from typing import Any

from orchestrator.retries import BOTOCORE
from orchestrator.types import JsonObject

# A boto3 client: its methods are made at run time from the service model, so there is
# nothing to type them with. Only the doors hold one; what they return is typed.
BotoClient = Any

# A DynamoDB item in its wire form: attribute name -> {"S": ...} / {"N": ...} / ...
Item = dict[str, JsonObject]


def sends_per_call(client: BotoClient) -> int:
    """How often botocore sends one call of ``client`` at most (its retries config; the
    policy's when the client does not say), for the doors' send budgets."""
    config = getattr(getattr(client, "meta", None), "config", None)
    retries = getattr(config, "retries", None) or {}
    if "total_max_attempts" in retries:
        return max(1, int(retries["total_max_attempts"]))
    if "max_attempts" in retries:
        return max(1, int(retries["max_attempts"]) + 1)
    return BOTOCORE.sends
