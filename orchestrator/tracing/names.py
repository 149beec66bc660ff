"""Span names and annotation keys shared by the hooks that write traces and the
``trace`` command that reads them back. Pure functions, no imports from backends.

Names avoid the characters X-Ray strips from entity names (``?;*()!$~^<>``), so a
name is the same in every backend: ``transition:received-fetched``, not ``...->...``.
"""

from __future__ import annotations

TRANSITION_PREFIX = "transition:"
# History events that get a span of their own besides StateEntered. TaskStarted,
# TaskSucceeded, TaskFailed and StateExited are covered by the attempt span.
EVENT_SPAN_TYPES = frozenset({
    "ExecutionStarted", "ExecutionRedriven", "RetryScheduled", "TaskTimedOut",
    "ExecutionSucceeded", "ExecutionFailed",
})
START = "start"


def transition_name(source: str | None, target: str) -> str:
    return f"{TRANSITION_PREFIX}{source or START}-{target}"


def event_name(event_type: str, state: str) -> str:
    return f"{event_type}:{state}"


def attempt_name(resource: str) -> str:
    return resource
