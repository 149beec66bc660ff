"""botocore's standard retries without their retry quota.

botocore's standard mode gives every client a retry quota (500 units; each retry of a
5xx or a network error takes 14, given back only when that call then succeeds, and a
clean call adds 1). Calls that fail for good keep what they took, so a steady share of
lost answers empties it: at 20 % of requests failed before the service and 20 % after
it, a client has no quota left after about 200 calls, and from then on one call in
three fails at its first failed send instead of one in forty after four sends. Every
step of a job makes dozens of calls, so that alone stops jobs finishing.

The quota exists to stop retry storms during an outage. auto-lambda bounds those
itself: one call is sent at most ``BOTOCORE.sends`` times, the worker's circuit
breakers (``aws/breaker.py``) stop it taking work while a service keeps failing, and
the workflow waits out longer failures with capped backoff. So each client gets the
same standard retry policy (conditions, backoff with jitter, attempts) with a quota
that never runs out. If botocore's internals ever change shape, the client keeps its
default handler and a warning says so.
"""

from __future__ import annotations

import logging

from botocore.retries import quota, standard

from orchestrator.aws.types import BotoClient
from orchestrator.types import JsonObject

log = logging.getLogger(__name__)


class _Unlimited(quota.RetryQuota):
    """A retry quota that always has capacity: attempts are bounded elsewhere."""

    def acquire(self, capacity_amount: int) -> bool:
        return True

    def release(self, capacity_amount: int) -> None:
        return None


def without_retry_quota(client: BotoClient) -> bool:
    """Replace ``client``'s standard retry handler by one without a quota (same attempts
    as its config says). False, and the client unchanged, when it does not use botocore's
    standard mode or botocore's handler cannot be rebuilt."""
    retries: JsonObject = client.meta.config.retries or {}
    if retries.get("mode") != "standard":
        return False
    try:
        name = client.meta.service_model.service_id.hyphenize()
        attempts = retries.get("total_max_attempts") or standard.DEFAULT_MAX_ATTEMPTS
        adapter = standard.RetryEventAdapter()
        throttling = standard.ThrottlingErrorDetector(adapter)
        handler = standard.RetryHandler(
            retry_policy=standard.RetryPolicy(
                retry_checker=standard.StandardRetryConditions(max_attempts=attempts),
                retry_backoff=standard.ExponentialBackoff(service_name=name,
                                                          throttling_detector=throttling)),
            retry_event_adapter=adapter,
            retry_quota=standard.RetryQuotaChecker(_Unlimited(), throttling),
            service_name=name)
    except (AttributeError, TypeError) as exc:  # botocore changed: keep its own handler
        log.warning("could not lift botocore's retry quota (%s); its default applies", exc)
        return False
    unique_id = f"retry-config-{name}"
    client.meta.events.unregister(f"needs-retry.{name}", unique_id=unique_id)
    client.meta.events.register(f"needs-retry.{name}", handler.needs_retry,
                                unique_id=unique_id)
    return True
