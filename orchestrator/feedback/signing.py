"""Signing webhook deliveries with HMAC-SHA256, and checking a signature (what a
receiver does; docs/results.md shows the same in a few lines).

The signed text is ``<timestamp>.<body>``: the body exactly as sent, and the Unix time
it was signed at, so a receiver can refuse a replayed delivery older than its
tolerance. The signature header may carry several ``v1=`` values (a secret being
rotated); any one matching is enough. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE_HEADER = "X-Auto-Lambda-Signature"
TIMESTAMP_HEADER = "X-Auto-Lambda-Timestamp"
EVENT_ID_HEADER = "X-Auto-Lambda-Event-Id"
DETAIL_TYPE_HEADER = "X-Auto-Lambda-Detail-Type"
SCHEME = "v1"
# How old a delivery a receiver should accept (seconds), by default.
TOLERANCE = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``<timestamp>.<body>`` under ``secret``."""
    signed = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes, event_id: str,
         detail_type: str) -> dict[str, str]:
    """The headers of one delivery of ``body``."""
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(int(timestamp)),
        SIGNATURE_HEADER: f"{SCHEME}={signature(secret, timestamp, body)}",
        EVENT_ID_HEADER: event_id,
        DETAIL_TYPE_HEADER: detail_type,
    }


def verify(secret: str, body: bytes, headers: Mapping[str, str], now: float,
           tolerance: float = TOLERANCE) -> bool:
    """True when ``headers`` sign ``body`` under ``secret`` and were signed within
    ``tolerance`` seconds of ``now``."""
    lower = {k.lower(): v for k, v in headers.items()}
    raw_ts = lower.get(TIMESTAMP_HEADER.lower(), "")
    if not raw_ts.isdigit() or abs(now - int(raw_ts)) > tolerance:
        return False
    expected = signature(secret, int(raw_ts), body)
    offered = [part.strip()[len(SCHEME) + 1:]
               for part in lower.get(SIGNATURE_HEADER.lower(), "").split(",")
               if part.strip().startswith(SCHEME + "=")]
    return any(hmac.compare_digest(expected, value) for value in offered)
