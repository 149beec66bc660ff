"""Writes whose answer may be lost: the call took effect, then a timeout, a reset or a
5xx replaced its answer (and botocore's own retry may then hit a conflict with the
change the first attempt made).

``write_or_confirm`` runs a write and, when it failed in a way that leaves its outcome
unknown (a server error, a network error) or with a conflict, asks the caller's
``confirm`` to read the resource back: if the resource is already as the write would
have left it, that is the write's result. The caller decides what "as wanted" means
(compare the result, never the call); this module never decides it and makes no calls
of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from orchestrator.aws.errors import CONFLICT, NETWORK, SERVER_ERROR, UPDATE_IN_PROGRESS, AwsError

log = logging.getLogger(__name__)

T = TypeVar("T")

# A failure after which the write may or may not have taken effect.
UNKNOWN_OUTCOME = frozenset({SERVER_ERROR, NETWORK})
# What a repeated create (botocore's retry of a lost answer) runs into.
ALREADY_DONE = frozenset({CONFLICT, UPDATE_IN_PROGRESS})


def outcome_unknown(exc: BaseException) -> bool:
    """True when ``exc`` leaves open whether the write took effect."""
    return isinstance(exc, AwsError) and exc.code in UNKNOWN_OUTCOME


def write_or_confirm(write: Callable[[], T], confirm: Callable[[], T | None], *,
                     where: str, on_conflict: bool = True) -> T:
    """``write()``; if it fails with an unknown outcome (or, with ``on_conflict``, a
    conflict), ``confirm()`` reads the resource back and returns the write's result when
    the change is there (None when it is not: the failure is re-raised)."""
    try:
        return write()
    except AwsError as exc:
        if not (exc.code in UNKNOWN_OUTCOME or (on_conflict and exc.code in ALREADY_DONE)):
            raise
        done = confirm()
        if done is None:
            raise
        log.info("%s: %s, but the change is there (%s); carrying on", where, exc.code,
                 exc.aws_code or "no answer")
        return done
