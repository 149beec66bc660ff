"""Reference paths such as ``$.rollout.bake_seconds``: the subset of JSONPath that Step
Functions accepts where one node of the execution's data is meant (SecondsPath,
TimestampPath). Parsed once when a definition is built, resolved against plain JSON data.

Only ``$`` followed by ``.name``, ``['name']`` and ``[index]`` steps: no wildcards,
filters, slices or recursive descent, since a reference path must select exactly one
node. Must not import anything outside the standard library.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

Step = str | int

_DOT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)")
_QUOTED = re.compile(r"\[\s*'((?:[^'\\]|\\.)*)'\s*\]")
_INDEX = re.compile(r"\[\s*(\d+)\s*\]")


class PathSyntaxError(ValueError):
    """The text is not a reference path."""


class PathNotFound(LookupError):
    """The path selects nothing in the data it was resolved against."""


def parse_path(text: object) -> tuple[Step, ...]:
    """The steps of reference path ``text`` (``$`` alone gives no steps); PathSyntaxError
    saying where the text stops being a reference path."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise PathSyntaxError(f"{text!r} is not a reference path: it must start with '$'")
    steps: list[Step] = []
    pos = 1
    while pos < len(text):
        for pattern in (_DOT, _QUOTED, _INDEX):
            m = pattern.match(text, pos)
            if m is None:
                continue
            value = m.group(1)
            if pattern is _INDEX:
                steps.append(int(value))
            elif pattern is _QUOTED:
                steps.append(re.sub(r"\\(.)", r"\1", value))
            else:
                steps.append(value)
            pos = m.end()
            break
        else:
            raise PathSyntaxError(
                f"{text!r} is not a reference path at character {pos + 1} ({text[pos:]!r}); "
                f"use $.field, $['field'] or $.list[0] steps only")
    return tuple(steps)


def resolve(text: str, data: Any) -> Any:
    """The node of ``data`` that reference path ``text`` selects; PathNotFound naming the
    first step that is missing."""
    node = data
    walked = "$"
    for step in parse_path(text):
        if isinstance(step, int):
            walked += f"[{step}]"
            if isinstance(node, Sequence) and not isinstance(node, str | bytes) \
                    and step < len(node):
                node = node[step]
                continue
        else:
            walked += f".{step}"
            if isinstance(node, Mapping) and step in node:
                node = node[step]
                continue
        raise PathNotFound(f"{walked} is not in the data (path {text!r})")
    return node
