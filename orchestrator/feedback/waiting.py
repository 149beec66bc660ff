"""Waiting for the result of one upload (``auto-lambda wait``).

Which upload: the version id the uploader was given (``--version-id``, what PutObject
answered), else the object's current version read from the incoming bucket, else (a
role that may only upload) any result of a job created after the wait began, less a
small clock skew. A result is taken only when it is that upload's: its per-upload copy
(``<team>/<app>.results/<version>.json``), or the app's latest result when that names
the same version (or, without one, a job created after the wait began). So an older
result of the same app never answers for a newer upload.

Exit codes (docs/results.md): 0 the job ended verified, 1 it ended otherwise (the
result's error code is printed), 3 the wait timed out, 2 the wait itself failed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from orchestrator.aws.facade import Aws
from orchestrator.errors import ResultUnreadable
from orchestrator.feedback import schema
from orchestrator.types import JsonObject

EXIT_VERIFIED = 0
EXIT_FAILED = 1
EXIT_ERROR = 2
EXIT_TIMEOUT = 3
# How far a worker's clock may run behind this machine's.
CLOCK_SKEW = 5.0


@dataclass(frozen=True)
class Target:
    """The upload waited for: its key, its version (None: unknown), and the earliest
    job creation time a result may have when the version is unknown."""

    key: str
    version_id: str | None
    since: float | None = None


def _created(result: JsonObject) -> float:
    try:
        return datetime.fromisoformat(str(result.get("created_at"))).timestamp()
    except ValueError:
        return 0.0


def matches(result: JsonObject, target: Target) -> bool:
    """``result`` is the result of the upload ``target`` names."""
    raw = result.get("upload")
    upload: JsonObject = raw if isinstance(raw, dict) else {}
    if upload.get("key") != target.key:
        return False
    if target.version_id is not None:
        return bool(upload.get("version_id") == target.version_id)
    return target.since is not None and _created(result) >= target.since


def _read(aws: Aws, key: str) -> JsonObject | None:
    got = aws.objects.get(aws.settings.results_bucket, key)
    if got is None:
        return None
    try:
        doc = json.loads(b"".join(got.chunks(65_536)))
    except ValueError as exc:
        raise ResultUnreadable(f"s3://{aws.settings.results_bucket}/{key} is not JSON",
                               hint="it was not written by auto-lambda") from exc
    if not isinstance(doc, dict):
        raise ResultUnreadable(f"s3://{aws.settings.results_bucket}/{key} is not a result")
    return doc


def find_result(aws: Aws, target: Target) -> JsonObject | None:
    """The result of ``target``'s upload, when there is one yet."""
    stem = schema.result_key(target.key).removesuffix(schema.RESULT_SUFFIX)
    if target.version_id is not None:
        doc = _read(aws, f"{stem}.results/{target.version_id}.json")
        if doc is not None and matches(doc, target):
            return doc
    doc = _read(aws, schema.result_key(target.key))
    return doc if doc is not None and matches(doc, target) else None


def resolve_target(aws: Aws, key: str, version_id: str | None, now: float) -> Target:
    """The upload to wait for: ``version_id`` as given, else the object's current version
    (when this role may read it), else results of jobs created from ``now`` on."""
    if version_id:
        return Target(key, version_id)
    head = aws.objects.head(aws.settings.incoming_bucket, key, unreadable_is_missing=True)
    if head is not None and head.version_id:
        return Target(key, head.version_id)
    return Target(key, None, since=now - CLOCK_SKEW)


def wait_for(aws: Aws, target: Target, timeout: float, *,
             clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep,
             progress: Callable[[float], None] = lambda waited: None,
             interval: float = 1.0, max_interval: float = 5.0) -> JsonObject | None:
    """Poll for ``target``'s result until ``timeout`` seconds pass (None then)."""
    start = clock()
    delay = interval
    while True:
        found = find_result(aws, target)
        if found is not None:
            return found
        waited = clock() - start
        if waited >= timeout:
            return None
        progress(waited)
        sleep(min(delay, max(0.0, timeout - waited)))
        delay = min(max_interval, delay * 1.5)


def exit_code(result: JsonObject | None) -> int:
    if result is None:
        return EXIT_TIMEOUT
    return EXIT_VERIFIED if result.get("ok") is True else EXIT_FAILED
