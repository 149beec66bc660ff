"""Make the emulator's DynamoDB answer one request at a time, as a table's items would.

moto (5.x) keeps a table's items as plain dicts and converts them while answering,
with no lock: a ``GetItem`` reading an item while another thread's ``UpdateItem`` adds
an attribute to it fails with "dictionary changed size during iteration", which a
client sees as a 500. Real DynamoDB never answers that way, and the workers' retries
would hide the difference only part of the time. Both the embedded server (one thread
per request) and the in-process emulator of the functional tests (a worker's threads)
hit it.

Here every DynamoDB request holds one process-wide lock while moto handles it. Only
DynamoDB: SQS's long polls wait inside moto, and must not hold anything. Applied by
``emulator.start_server`` and the in-process test fixtures, never on AWS; if moto's
handler changed shape it is left exactly as it is.
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

_MARK = "_auto_lambda_serialized"
_lock = threading.RLock()


def serialize_tables() -> bool:
    """Patch moto's DynamoDB handler once; True if it is (now) serialized."""
    try:
        from moto.dynamodb.responses import DynamoHandler
    except ImportError:
        return False
    original = getattr(DynamoHandler, "call_action", None)
    if original is None or not callable(original):
        log.info("moto's DynamoHandler changed shape: its requests are left as they are")
        return False
    if getattr(original, _MARK, False):
        return True

    @functools.wraps(original)
    def call_action(self: Any) -> Any:
        with _lock:
            return original(self)

    setattr(call_action, _MARK, True)
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    return True
