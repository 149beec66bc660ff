"""What one run of a step printed: the parts a job's build log keeps.

A step's run is recorded into the ``Transcript`` that ``recording`` makes current (a
context variable, so two jobs on two threads of one worker never mix). The jail adds
each jailed program's stdout and stderr when it ends (``steps/jail/process.py``: every
program that reads upload content starts there, so none is missed); other code adds a
note (``note``: the import check's verdict, Lambda's log tail). The task wrapper
(``steps/tasks.py``) adds the traceback of a failed run and hands the transcript to
``buildlog`` at the step's end.

Everything kept is hostile text, cleaned as it is added (``clean``, through
``orchestrator.redact``): escape sequences and control characters removed (a terminal
that shows the log runs none of them), the worker's secrets masked (after the cleaning,
so a secret split by an escape sequence is still found) and cut to ``PART_CHARS`` (the
tail is kept: the end of an output says why it failed). Imports nothing of the pipeline.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from orchestrator.redact import redact

# One part (a stream of one program, a traceback) of a step's run, in characters.
PART_CHARS = 128 * 1024


def clean(text: str, limit: int = PART_CHARS) -> str:
    """``text`` safe to show and keep: no escapes or control characters, the worker's
    secrets masked, at most ``limit`` characters (the end kept)."""
    text = redact(text.replace("\r\n", "\n").replace("\r", "\n"))
    if len(text) > limit:
        cut = len(text) - limit
        text = f"[... {cut:,} earlier characters cut]\n" + text[cut:]
    return text


@dataclass(frozen=True)
class Part:
    title: str
    text: str


class Transcript:
    """The parts of one run of a step, in the order they ended."""

    def __init__(self) -> None:
        self._parts: list[Part] = []
        self._lock = threading.Lock()

    def add(self, title: str, text: str) -> None:
        part = Part(clean(title, 200).replace("\n", " "), clean(text))
        with self._lock:
            self._parts.append(part)

    def add_output(self, label: str, returncode: int | None, stdout: str, stderr: str,
                   *, cut: bool = False) -> None:
        """A program's two streams (an empty one is left out)."""
        status = "killed" if returncode is None else f"exit {returncode}"
        note = ", output over its limit" if cut else ""
        for name, text in (("stdout", stdout), ("stderr", stderr)):
            if text.strip():
                self.add(f"{label}: {name} ({status}{note})", text)
        if not stdout.strip() and not stderr.strip():
            self.add(f"{label} ({status}{note})", "(no output)")

    @property
    def parts(self) -> list[Part]:
        with self._lock:
            return list(self._parts)


_current: contextvars.ContextVar[Transcript | None] = contextvars.ContextVar(
    "auto_lambda_transcript", default=None)


def current() -> Transcript | None:
    """The transcript of the step running in this context (None outside a step)."""
    return _current.get()


@contextmanager
def recording(transcript: Transcript) -> Iterator[Transcript]:
    """Make ``transcript`` current for what runs inside."""
    token = _current.set(transcript)
    try:
        yield transcript
    finally:
        _current.reset(token)


def note(title: str, text: str) -> None:
    """Add a part to the current step's transcript, if a step is running."""
    transcript = current()
    if transcript is not None:
        transcript.add(title, text)
