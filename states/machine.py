"""Compilation of a Definition into one ``transitions`` Machine, built once per
Definition and shared by every execution of it.

The Machine holds no models: an execution passes itself (any object with a ``state``
attribute) to ``CompiledMachine.move``, which fires the event on that object only.
So the Machine never keeps executions alive and costs nothing per execution.
``auto_transitions`` is off and invalid triggers raise, so only edges declared in the
definition (plus the retrying loop, redrive and abort) can be taken. This module must not keep
counters or timers (transitions' Retry/Timeout mixins are deliberately not used).
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from transitions import Machine, MachineError

from states.definition import Definition, FailState, TaskState
from states.errors import ExecutionError

_LOCK = threading.Lock()


class Model(Protocol):
    state: str


def trigger_to(dest: str) -> str:
    return f"to:{dest}"


def trigger_redrive(dest: str) -> str:
    return f"redrive:{dest}"


def trigger_abort(dest: str) -> str:
    return f"abort:{dest}"


class CompiledMachine:
    """The transitions Machine for one Definition and the triggers it accepts."""

    def __init__(self, definition: Definition) -> None:
        self.definition = definition
        sources: dict[str, set[str]] = {}
        for src, dst in sorted(definition.edges(include_retrying=True)):
            sources.setdefault(dst, set()).add(src)
        transitions: list[dict[str, Any]] = [
            {"trigger": trigger_to(dst), "source": sorted(srcs), "dest": dst}
            for dst, srcs in sorted(sources.items())]
        fails = sorted(s.name for s in definition.states if isinstance(s, FailState))
        for s in definition.states:
            if isinstance(s, TaskState) and fails:
                transitions.append({"trigger": trigger_redrive(s.name), "source": fails,
                                    "dest": s.name})
        # An execution stopped from outside (Step Functions' StopExecution) leaves any
        # state that is not terminal for a Fail state.
        running = sorted({*(s.name for s in definition.task_states),
                          *(s.name for s in definition.wait_states),
                          definition.retrying_state})
        for fail in fails:
            transitions.append({"trigger": trigger_abort(fail), "source": running,
                                "dest": fail})
        self.transitions_config = transitions
        self.machine = Machine(model=None, states=[*definition.names, definition.retrying_state],
                               initial=definition.start_at, transitions=transitions,
                               auto_transitions=False, ignore_invalid_triggers=False,
                               send_event=False)
        self._events = self.machine.events
        self._to = {dst: self._events[trigger_to(dst)] for dst in sources}

    def move_to(self, model: Model, dest: str) -> None:
        """Follow the edge from the model's current state to ``dest`` (Next, Catch or the
        retrying loop); ExecutionError if the definition has no such edge."""
        event = self._to.get(dest)
        if event is None:
            raise ExecutionError(f"no transition into {dest!r} in this definition "
                                 f"(current state {model.state!r})")
        try:
            event.trigger(model)
        except MachineError as exc:
            raise ExecutionError(f"transition {model.state!r} -> {dest!r} is not allowed: "
                                 f"{exc.value}") from exc

    def move(self, model: Model, trigger: str) -> None:
        """Fire ``trigger`` on ``model``; raises ExecutionError if the definition has no
        such edge from the model's current state."""
        event = self._events.get(trigger)
        if event is None:
            raise ExecutionError(f"no transition {trigger!r} in this definition "
                                 f"(current state {model.state!r})")
        try:
            ok = event.trigger(model)
        except MachineError as exc:
            raise ExecutionError(f"transition {trigger!r} is not allowed from state "
                                 f"{model.state!r}: {exc.value}") from exc
        if not ok:  # pragma: no cover - no conditions are configured
            raise ExecutionError(f"transition {trigger!r} from {model.state!r} did not happen")


def compiled(definition: Definition) -> CompiledMachine:
    """The shared CompiledMachine of ``definition`` (built on first use)."""
    cm = definition._compiled.get("machine")
    if cm is None:
        with _LOCK:
            cm = definition._compiled.get("machine")
            if cm is None:
                cm = CompiledMachine(definition)
                definition._compiled["machine"] = cm
    return cm
