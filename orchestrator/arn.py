"""Amazon Resource Names, parsed into their parts.

``arn:<partition>:<service>:<region>:<account>:<resource>``. The manifest's layers and
SQS queues, the operator's layer allow-list and the resources of an app's IAM policy
are all read through ``parse_arn``, so a malformed one is refused with ``ArnInvalid``
naming the key, and every later check works on the parts, never on the raw text.

Pure: string rules only, no AWS calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchestrator.codes import Code
from orchestrator.errors import ManifestError

PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
MAX_ARN_CHARS = 2048
_SERVICE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\Z")
_REGION_RE = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}\Z")
_ACCOUNT_RE = re.compile(r"^[0-9]{12}\Z")
# What an ARN's resource part may hold: printable ASCII without spaces or quotes.
_RESOURCE_RE = re.compile(r"^[A-Za-z0-9_+=,.@:/*?$!#%&()\[\]{}|~-]+\Z")
_LAYER_RE = re.compile(r"^layer:[A-Za-z0-9_-]{1,140}:[1-9][0-9]{0,9}\Z")
_QUEUE_RE = re.compile(r"^(?:[A-Za-z0-9_-]{1,80}|[A-Za-z0-9_-]{1,75}\.fifo)\Z")


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str     # "" for global services (S3, IAM)
    account: str    # "" for S3 buckets
    resource: str

    def __str__(self) -> str:
        return (f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:"
                f"{self.resource}")


def _bad(text: object, where: str, why: str, hint: str) -> ManifestError:
    shown = text[:120] if isinstance(text, str) else text
    return ManifestError(f"{where} = {shown!r} is not a usable ARN: {why}",
                         code=Code.ArnInvalid, hint=hint)


_HINT = "write arn:<partition>:<service>:<region>:<account-id>:<resource>"


def parse_arn(text: object, where: str, *, wildcards: bool = False) -> Arn:
    """``text`` as an Arn, or ``ArnInvalid`` naming ``where``. Wildcards (``*``, ``?``)
    are allowed in the resource part only, and only when ``wildcards`` is true (IAM
    policy resources); the partition, service, region and account are always literal."""
    if not isinstance(text, str):
        raise _bad(text, where, "it is not a string", _HINT)
    if len(text) > MAX_ARN_CHARS:
        raise _bad(text, where, f"it is longer than {MAX_ARN_CHARS} characters", _HINT)
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise _bad(text, where, "it does not have six ':'-separated parts", _HINT)
    _, partition, service, region, account, resource = parts
    if partition not in PARTITIONS:
        raise _bad(text, where, f"the partition must be one of {', '.join(PARTITIONS)}", _HINT)
    if not _SERVICE_RE.match(service):
        raise _bad(text, where, "the service is not a service name", _HINT)
    if region and not _REGION_RE.match(region):
        raise _bad(text, where, "the region is not a region name (no wildcards)", _HINT)
    if account and not _ACCOUNT_RE.match(account):
        raise _bad(text, where, "the account is not a 12-digit account id (no wildcards)",
                   _HINT)
    if not resource or not _RESOURCE_RE.match(resource):
        raise _bad(text, where, "the resource part is empty or holds characters ARNs do "
                   "not use", _HINT)
    if not wildcards and ("*" in resource or "?" in resource):
        raise _bad(text, where, "wildcards are not allowed here", "name one resource exactly")
    return Arn(partition, service, region, account, resource)


def parse_layer_arn(text: object, where: str) -> Arn:
    """A Lambda layer version: ``arn:aws:lambda:<region>:<account>:layer:<name>:<version>``."""
    arn = parse_arn(text, where)
    if (arn.service != "lambda" or not arn.region or not arn.account
            or not _LAYER_RE.match(arn.resource)):
        raise _bad(text, where, "it is not a Lambda layer version",
                   "write arn:aws:lambda:<region>:<account-id>:layer:<name>:<version>")
    return arn


def parse_queue_arn(text: object, where: str) -> Arn:
    """An SQS queue: ``arn:aws:sqs:<region>:<account>:<queue-name>``."""
    arn = parse_arn(text, where)
    if (arn.service != "sqs" or not arn.region or not arn.account
            or not _QUEUE_RE.match(arn.resource)):
        raise _bad(text, where, "it is not an SQS queue",
                   "write arn:aws:sqs:<region>:<account-id>:<queue-name>")
    return arn
