"""The workflow's state diagram as SVG, drawn from the declared definition (the same
source as ``auto-lambda graph``), optionally marked with one job's path.

Layout: the chain of states from ``start_at`` following ``next`` runs left to right;
every other declared state (the Fail state, anything off the chain) sits on a row
above it; the library's waiting state (``retrying``) sits below. Edges: ``next`` (solid),
``catch`` (red, to its target), retry loops (dashed, to and from the waiting state).
A job's marks: states it entered (``visited``), the state it is in (``current``), where
it ended (``final``), the state whose step failed (``failing``, with the error code),
and how many retries each state took.

Pure: a Definition and plain history dicts in, SVG text out. Nothing in the state list is
hard-coded, so a state added to the workflow appears here with no change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from orchestrator.cli.ui.html import esc
from orchestrator.types import JsonMapping
from states import Definition, SucceedState, TaskState

BOX_W, BOX_H, GAP_X, ROW_H, PAD = 132, 54, 34, 96, 16


@dataclass
class JobMarks:
    """What one job did, for the diagram."""

    visited: set[str] = field(default_factory=set)
    current: str | None = None
    final: bool = False
    failing: str | None = None
    error_code: str | None = None
    retries: Counter[str] = field(default_factory=Counter)

    @classmethod
    def from_history(cls, history: Iterable[JsonMapping], state: str,
                     terminal: bool, error: JsonMapping | None) -> JobMarks:
        marks = cls(current=state, final=terminal)
        for event in history:
            kind = event.get("type")
            name = str(event.get("state"))
            if kind in ("ExecutionStarted", "StateEntered", "ExecutionRedriven"):
                marks.visited.add(name)
            elif kind == "RetryScheduled":
                marks.retries[name] += 1
        marks.visited.add(state)
        if error:
            marks.failing = str(error.get("state") or "") or None
            marks.error_code = str(error.get("code") or "") or None
        return marks


def _layout(definition: Definition) -> dict[str, tuple[int, int]]:
    chain: list[str] = []
    name: str | None = definition.start_at
    while name is not None and name not in chain:
        chain.append(name)
        state = definition.state(name)
        name = state.next if isinstance(state, TaskState) else None
    others = [s.name for s in definition.states if s.name not in chain]
    pos: dict[str, tuple[int, int]] = {}
    for i, n in enumerate(chain):
        pos[n] = (PAD + i * (BOX_W + GAP_X), PAD + ROW_H)
    width = len(chain) * (BOX_W + GAP_X) - GAP_X
    row = len(others) * (BOX_W + GAP_X) - GAP_X
    for i, n in enumerate(others):
        pos[n] = (max(PAD, PAD + (width - row) // 2 + i * (BOX_W + GAP_X)), PAD)
    if any(isinstance(s, TaskState) and s.retry for s in definition.states):
        pos[definition.retrying_state] = (PAD + width // 2 - BOX_W // 2, PAD + 2 * ROW_H)
    return pos


def _subtitle(definition: Definition, name: str) -> str:
    if name == definition.retrying_state:
        return "waits for backoff"
    state = definition.state(name)
    if isinstance(state, TaskState):
        return f"runs {state.resource}"
    return "succeeds" if isinstance(state, SucceedState) else "fails"


def _edge(a: tuple[int, int], b: tuple[int, int], cls: str, bend: int = 0) -> str:
    ax, ay = a[0] + BOX_W / 2, a[1] + BOX_H / 2
    bx, by = b[0] + BOX_W / 2, b[1] + BOX_H / 2
    x1: float
    y1: float
    x2: float
    y2: float
    if ay == by:  # same row: from the right side to the left side
        x1, y1, x2, y2 = a[0] + BOX_W, ay, b[0], by
    elif ay < by:
        x1, y1, x2, y2 = ax + bend, a[1] + BOX_H, bx + bend, b[1]
    else:
        x1, y1, x2, y2 = ax + bend, a[1], bx + bend, b[1] + BOX_H
    return (f'<line class="edge {cls}" x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" '
            f'y2="{y2:.0f}" marker-end="url(#arrow-{cls})"/>')


def render_svg(definition: Definition, marks: JobMarks | None = None) -> str:
    pos = _layout(definition)
    width = max(x for x, _ in pos.values()) + BOX_W + PAD
    height = max(y for _, y in pos.values()) + BOX_H + PAD
    edges: list[str] = []
    retrying = definition.retrying_state
    for s in definition.states:
        if not isinstance(s, TaskState):
            continue
        if s.next is not None:
            edges.append(_edge(pos[s.name], pos[s.next], "next"))
        for c in s.catch:
            edges.append(_edge(pos[s.name], pos[c.next], "catch"))
        if s.retry and retrying in pos:
            edges.append(_edge(pos[s.name], pos[retrying], "retry", bend=-10))
            edges.append(_edge(pos[retrying], pos[s.name], "retry", bend=10))
    nodes: list[str] = []
    for name, (x, y) in pos.items():
        classes = ["state"]
        kind = ("waiting" if name == retrying else
                type(definition.state(name)).__name__.replace("State", "").lower())
        classes.append(kind)
        badge = ""
        if marks is not None:
            if name in marks.visited:
                classes.append("visited")
            if name == marks.current:
                classes.append("final" if marks.final else "current")
            if marks.failing and name == marks.failing:
                classes.append("failing")
            retries = marks.retries.get(name, 0)
            if retries:
                badge = (f'<text class="retries" x="{x + BOX_W - 6}" y="{y + 13}" '
                         f'text-anchor="end">↻{retries}</text>')
        code = ""
        if marks is not None and marks.failing == name and marks.error_code:
            code = (f'<text class="code" x="{x + BOX_W / 2:.0f}" y="{y + BOX_H + 14}" '
                    f'text-anchor="middle">{esc(marks.error_code)}</text>')
        title = f"{name}: {_subtitle(definition, name)}"
        nodes.append(
            f'<g class="{" ".join(classes)}" data-state="{esc(name)}"><title>{esc(title)}</title>'
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="10"/>'
            f'<text class="name" x="{x + BOX_W / 2:.0f}" y="{y + 23}" '
            f'text-anchor="middle">{esc(name)}</text>'
            f'<text class="sub" x="{x + BOX_W / 2:.0f}" y="{y + 41}" '
            f'text-anchor="middle">{esc(_subtitle(definition, name))}</text>{badge}{code}</g>')
    markers = "".join(
        f'<marker id="arrow-{cls}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path class="head {cls}" '
        f'd="M0,0 L10,5 L0,10 z"/></marker>' for cls in ("next", "catch", "retry"))
    label = esc(definition.comment or "workflow")
    return (f'<svg class="diagram" role="img" aria-label="{label}" viewBox="0 0 {width} '
            f'{height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
            f'<defs>{markers}</defs>{"".join(edges)}{"".join(nodes)}</svg>')
