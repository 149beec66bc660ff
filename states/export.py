"""Exports of a Definition: mermaid ``stateDiagram-v2``, Amazon States Language and
graphviz DOT. Output is deterministic (same definition, same text).

The library's ``retrying`` state is drawn in the diagrams (it is a real state of the
Machine); in ASL it is not a state but the Retry fields of each Task. Wait states are
exported as ASL Wait states with the field they declare, and drawn with what they wait
for (``waits 300s``, ``waits until $.path``); Choice states as ASL Choice states, their
edges labelled with the rule (``when $.x is shift``, ``otherwise``). Must not import
anything beyond the definition model; rendering images is left to other tools.
"""

from __future__ import annotations

import math
import re
from typing import Any

from states.definition import (
    ChoiceRule,
    ChoiceState,
    Definition,
    FailState,
    Retrier,
    SucceedState,
    TaskState,
    WaitState,
)

LAMBDA_INVOKE_ARN = "arn:aws:states:::lambda:invoke"
_WAITED = "wait over"
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _seconds(value: float) -> int:
    """ASL wants whole seconds; a fractional value is rounded up (never shorter)."""
    return math.ceil(value)


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _fmt(value: float) -> str:
    return f"{_num(value)}"


# ---------------------------------------------------------------- mermaid
def _mermaid_ids(definition: Definition) -> dict[str, str]:
    ids: dict[str, str] = {}
    for index, name in enumerate([*definition.names, definition.retrying_state]):
        ids[name] = name if _ID.match(name) and name not in ("end", "state") else f"s{index}"
    return ids


def _task_description(s: TaskState) -> str:
    parts = [f"runs {s.resource}"]
    if s.timeout_seconds is not None:
        parts.append(f"timeout {_fmt(s.timeout_seconds)}s")
    if s.heartbeat_seconds is not None:
        parts.append(f"heartbeat {_fmt(s.heartbeat_seconds)}s")
    return ", ".join(parts)


def _wait_description(s: WaitState) -> str:
    field, value = s.asl_field
    if field == "Seconds":
        return f"waits {value}s"
    if field == "SecondsPath":
        return f"waits {value} seconds"
    return f"waits until {value}"


def _choice_label(rule: ChoiceRule) -> str:
    test, value = rule.asl_test
    shown = ("true" if value else "false") if test == "BooleanEquals" else value
    return f"when {rule.variable} is {shown}"


def _choice_edges(s: ChoiceState) -> list[tuple[str, str]]:
    """(target, label) of each rule, then the default."""
    out = [(rule.next, _choice_label(rule)) for rule in s.choices]
    return out + ([(s.default, "otherwise")] if s.default is not None else [])


def _retry_errors(r: Retrier) -> str:
    return "any error" if r.error_equals == ("States.ALL",) else ", ".join(r.error_equals)


def _retry_label(r: Retrier) -> str:
    if len(r.error_equals) > 2:
        return f"retry ({len(r.error_equals)} error names), up to {r.max_attempts}x"
    return f"retry {_retry_errors(r)}, up to {r.max_attempts}x"


def _backoff_text(r: Retrier) -> str:
    text = f"after {_fmt(r.interval_seconds)}s x{_fmt(r.backoff_rate)}"
    if r.max_delay_seconds is not None:
        text += f" (max {_fmt(r.max_delay_seconds)}s)"
    return text + (", full jitter" if r.jitter == "FULL" else "")


def _unique_retriers(definition: Definition) -> list[Retrier]:
    seen: list[Retrier] = []
    for s in definition.states:
        if isinstance(s, TaskState):
            seen.extend(r for r in s.retry if r not in seen)
    return seen


def to_mermaid(definition: Definition) -> str:
    """A mermaid ``stateDiagram-v2``: every state, Next edges (labelled with the task),
    the retrying loop of states that have retriers, and Catch edges."""
    ids = _mermaid_ids(definition)
    lines = ["stateDiagram-v2"]
    if definition.comment:
        lines.append(f"    %% {definition.comment}")
    for name in [*definition.names, definition.retrying_state]:
        if ids[name] != name:
            lines.append(f'    state "{name}" as {ids[name]}')
    retrying = definition.retrying_state
    has_retry = any(isinstance(s, TaskState) and s.retry for s in definition.states)
    for s in definition.states:
        if isinstance(s, TaskState):
            lines.append(f"    {ids[s.name]} : {s.name} - {_task_description(s)}")
        elif isinstance(s, WaitState):
            lines.append(f"    {ids[s.name]} : {s.name} - {_wait_description(s)}")
        elif isinstance(s, ChoiceState):
            lines.append(f"    {ids[s.name]} : {s.name} - chooses")
    if has_retry:
        lines.append(f"    {ids[retrying]} : {retrying} - waits for the backoff delay")
    lines.append(f"    [*] --> {ids[definition.start_at]}")
    for s in definition.states:
        if isinstance(s, WaitState):
            lines.append(f"    {ids[s.name]} --> {ids[s.next]} : {_WAITED}")
        if isinstance(s, ChoiceState):
            lines.extend(f"    {ids[s.name]} --> {ids[target]} : {label}"
                         for target, label in _choice_edges(s))
        if not isinstance(s, TaskState):
            continue
        assert s.next is not None
        lines.append(f"    {ids[s.name]} --> {ids[s.next]} : {s.resource} ok")
        for r in s.retry:
            lines.append(f"    {ids[s.name]} --> {ids[retrying]} : {_retry_label(r)}")
        if s.retry:
            lines.append(f"    {ids[retrying]} --> {ids[s.name]} : retry {s.resource}")
        for c in s.catch:
            errors = "any error" if c.error_equals == ("States.ALL",) \
                else " or ".join(c.error_equals)
            lines.append(f"    {ids[s.name]} --> {ids[c.next]} : catch {errors}")
    for s in definition.states:
        if isinstance(s, (SucceedState, FailState)):
            lines.append(f"    {ids[s.name]} --> [*]")
    for r in _unique_retriers(definition):
        lines.append(f"    note right of {ids[retrying]}")
        lines.append(f"        retry on {_retry_errors(r)}")
        lines.append(f"        up to {r.max_attempts}x, {_backoff_text(r)}")
        lines.append("    end note")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- ASL
def _asl_retrier(r: Retrier) -> dict[str, Any]:
    out: dict[str, Any] = {"ErrorEquals": list(r.error_equals),
                           "IntervalSeconds": max(1, _seconds(r.interval_seconds)),
                           "MaxAttempts": r.max_attempts,
                           "BackoffRate": float(r.backoff_rate)}
    if r.max_delay_seconds is not None:
        out["MaxDelaySeconds"] = max(1, _seconds(r.max_delay_seconds))
    out["JitterStrategy"] = r.jitter
    return out


def to_asl(definition: Definition, resource_arn: str = LAMBDA_INVOKE_ARN) -> dict[str, Any]:
    """Amazon States Language for ``definition``. Each Task invokes ``resource_arn`` with
    Parameters naming its step; the retrying state is expressed by the Retry fields."""
    states: dict[str, Any] = {}
    for s in definition.states:
        item: dict[str, Any]
        if isinstance(s, TaskState):
            item = {"Type": "Task", "Resource": resource_arn,
                    "Parameters": {"FunctionName": s.resource,
                                   "Payload": {"step": s.resource, "state": s.name,
                                               "input.$": "$"}}}
            if s.comment:
                item["Comment"] = s.comment
            if s.timeout_seconds is not None:
                item["TimeoutSeconds"] = _seconds(s.timeout_seconds)
            if s.heartbeat_seconds is not None:
                item["HeartbeatSeconds"] = _seconds(s.heartbeat_seconds)
            if s.retry:
                item["Retry"] = [_asl_retrier(r) for r in s.retry]
            if s.catch:
                item["Catch"] = [{"ErrorEquals": list(c.error_equals), "Next": c.next,
                                  "ResultPath": "$.error"} for c in s.catch]
            item["Next"] = s.next
        elif isinstance(s, WaitState):
            item = {"Type": "Wait"}
            if s.comment:
                item["Comment"] = s.comment
            field, value = s.asl_field
            item[field] = value
            item["Next"] = s.next
        elif isinstance(s, ChoiceState):
            item = {"Type": "Choice"}
            if s.comment:
                item["Comment"] = s.comment
            item["Choices"] = [{"Variable": r.variable, r.asl_test[0]: r.asl_test[1],
                                "Next": r.next} for r in s.choices]
            if s.default is not None:
                item["Default"] = s.default
        elif isinstance(s, SucceedState):
            item = {"Type": "Succeed"}
            if s.comment:
                item["Comment"] = s.comment
        else:
            item = {"Type": "Fail"}
            if s.comment:
                item["Comment"] = s.comment
            if s.error is not None:
                item["Error"] = s.error
            if s.cause is not None:
                item["Cause"] = s.cause
        states[s.name] = item
    out: dict[str, Any] = {}
    if definition.comment:
        out["Comment"] = definition.comment
    out["StartAt"] = definition.start_at
    out["States"] = states
    return out


# ---------------------------------------------------------------- DOT
def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(definition: Definition) -> str:
    """A graphviz digraph with the same nodes and edges as the mermaid diagram."""
    retrying = definition.retrying_state
    lines = [f"digraph {_q(definition.comment or 'workflow')} {{", "    rankdir=LR;",
             '    node [shape=box, style=rounded, fontname="Helvetica"];',
             '    edge [fontname="Helvetica", fontsize=10];',
             '    "__start__" [shape=point, label=""];']
    has_retry = False
    for s in definition.states:
        if isinstance(s, TaskState):
            has_retry = has_retry or bool(s.retry)
            label = f"{s.name}\\n{_task_description(s)}"
            lines.append(f"    {_q(s.name)} [label=\"{label}\"];")
        elif isinstance(s, WaitState):
            # a path or timestamp may hold quotes: escape each line, join with \n
            label = _q(s.name)[:-1] + "\\n" + _q(_wait_description(s))[1:]
            lines.append(f"    {_q(s.name)} [label={label}, shape=octagon];")
        elif isinstance(s, ChoiceState):
            lines.append(f"    {_q(s.name)} [shape=diamond];")
        elif isinstance(s, SucceedState):
            lines.append(f"    {_q(s.name)} [shape=doublecircle, color=darkgreen];")
        else:
            lines.append(f"    {_q(s.name)} [shape=doublecircle, color=red];")
    if has_retry:
        lines.append(f"    {_q(retrying)} [shape=ellipse, style=dashed];")
    lines.append(f"    \"__start__\" -> {_q(definition.start_at)};")
    for s in definition.states:
        if isinstance(s, WaitState):
            lines.append(f"    {_q(s.name)} -> {_q(s.next)} [label={_q(_WAITED)}];")
        if isinstance(s, ChoiceState):
            lines.extend(f"    {_q(s.name)} -> {_q(target)} [label={_q(label)}];"
                         for target, label in _choice_edges(s))
        if not isinstance(s, TaskState):
            continue
        assert s.next is not None
        lines.append(f"    {_q(s.name)} -> {_q(s.next)} [label={_q(s.resource + ' ok')}];")
        for r in s.retry:
            lines.append(f"    {_q(s.name)} -> {_q(retrying)} "
                         f"[label={_q(_retry_label(r))}, style=dashed];")
        if s.retry:
            lines.append(f"    {_q(retrying)} -> {_q(s.name)} "
                         f"[label={_q('retry ' + s.resource)}, style=dashed];")
        for c in s.catch:
            errors = "any error" if c.error_equals == ("States.ALL",) \
                else " or ".join(c.error_equals)
            lines.append(f"    {_q(s.name)} -> {_q(c.next)} "
                         f"[label={_q('catch ' + errors)}, color=red];")
    lines.append("}")
    return "\n".join(lines) + "\n"
