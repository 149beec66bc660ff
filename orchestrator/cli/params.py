"""Click parameter callbacks shared by several commands. No AWS, no I/O."""

from __future__ import annotations

import click

from orchestrator.durations import DurationInvalid, parse_duration


def duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """A ``--since``-style duration (``10s``, ``15m``, ``1h30m``); None stays None."""
    if value is None:
        return None
    try:
        return parse_duration(value)
    except DurationInvalid as exc:
        raise click.BadParameter(str(exc)) from exc


def interval(ctx: click.Context, param: click.Parameter, value: str) -> float:
    """A duration that must be more than zero (``--interval``)."""
    try:
        return parse_duration(value, positive=True)
    except DurationInvalid as exc:
        raise click.BadParameter(str(exc)) from exc
