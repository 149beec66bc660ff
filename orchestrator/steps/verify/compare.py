"""Comparing a smoke test's answer with what the manifest's ``[verify]`` event expects:
JSON equality (``1 == 1.0``, but ``True != 1``), ``match = "subset"``, and the JSON path
of the first difference for the error. Pure: no I/O."""

from __future__ import annotations

import json
from typing import Any

from orchestrator.codes import Code
from orchestrator.errors import VerifyError
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.steps.unpack.smoke import SmokeEvent
from orchestrator.steps.verify.runner import short


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON values: 1 == 1.0, but True != 1 and "1" != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def json_contains(got: Any, expected: Any) -> bool:
    """``match = "subset"``: every key ``expected`` gives, at any depth, is in ``got`` with
    a matching value; other keys of ``got`` are allowed. Arrays match item by item and
    have the same length; everything else as ``json_equal``."""
    if isinstance(expected, dict) and isinstance(got, dict):
        return all(k in got and json_contains(got[k], v) for k, v in expected.items())
    if isinstance(expected, list | tuple) and isinstance(got, list | tuple):
        return len(expected) == len(got) and all(
            json_contains(g, e) for g, e in zip(got, expected, strict=True))
    return json_equal(expected, got)


def first_difference(expected: Any, got: Any, path: str = "$", subset: bool = False) -> str:
    """A JSON path to the first place ``got`` differs from ``expected``."""
    same = json_contains if subset else (lambda g, e: json_equal(e, g))
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in expected:
            if key not in got:
                return f"{path}.{key} (missing)"
            if not same(got[key], expected[key]):
                return first_difference(expected[key], got[key], f"{path}.{key}", subset)
        extra = [] if subset else [k for k in got if k not in expected]
        return f"{path}.{extra[0]} (unexpected)" if extra else path
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        for i, (x, y) in enumerate(zip(expected, got, strict=True)):
            if not same(y, x):
                return first_difference(x, y, f"{path}[{i}]", subset)
    return path


def check_output(spec: AppSpec, output: Any, event: SmokeEvent | None = None) -> None:
    """VerifyBadOutput if ``output`` is not JSON; VerifyMismatch if it is not what
    ``event`` (default: the manifest's default event) expects."""
    if event is None:
        event = SmokeEvent("default", spec.verify_event, spec.verify_expect, spec.has_expect,
                           spec.verify_match)
    which = "" if event.name == "default" else f" for event {event.name!r}"
    try:
        json.dumps(output, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise VerifyError(f"{spec.handler} returned a value that is not JSON{which}: {exc}",
                          code=Code.VerifyBadOutput,
                          hint="return only dicts, lists, strings, numbers, booleans and None"
                          ) from None
    subset = event.match == "subset"
    matched = json_contains(output, event.expect) if subset else json_equal(event.expect, output)
    if event.has_expect and not matched:
        where = first_difference(event.expect, output, subset=subset)
        table = "[verify]" if event.name == "default" else f"[verify.events.{event.name}]"
        hint = (f"fix the handler, or the expectation in {table} of auto-lambda.toml if it "
                "is out of date")
        if where.endswith("(unexpected)"):
            hint += '; match = "subset" there allows keys the expectation does not name'
        raise VerifyError(
            f"{spec.handler} returned {short(output)}{which}, "
            f"expected {'at least ' if subset else ''}{short(event.expect)} "
            f"(first difference at {where})",
            code=Code.VerifyMismatch,
            hint=hint,
            details={"expected": short(event.expect, 4000), "got": short(output, 4000),
                     "at": where, "event": event.name},
        )
