"""Fault points for the chaos suite, as ``states.Hooks`` middleware: ``FaultHooks``.

A worker loads it through the extra-hooks setting
(``AUTO_LAMBDA_HOOKS=tests.fault_hooks:FaultHooks``, with the repository on
``PYTHONPATH``); the shipped code knows nothing of it. The hooks name a point at every
state boundary and around every step, and this module decides, from the environment
only, whether something goes wrong there. With no rule configured every point returns
at once.

Rules come from ``AUTO_LAMBDA_FAULTS`` (``;``-separated) and, as a shorthand for kill
rules, ``AUTO_LAMBDA_FAULT_KILL_AT`` (``,``-separated points)::

    POINT=ACTION[/MATCH]
    after:built=kill                 SIGKILL this process once the job is persisted in "built"
    during:build=kill/app3.zip       ... inside build, only for keys containing "app3.zip"
    during:build=sleep:5             a slow step (sleeps 5 s)
    before:deploy=raise:AwsServerError:5    raise that error code 5 times, then pass
    before:deploy=raise:DeployFailed        a permanent error, every time

Points: ``after:<state>`` once a transition into <state> is persisted (``after:received``
once the new job's first events are), ``before:<step>`` after its TaskStarted is
persisted, ``during:<step>`` after the step's side effects, before its result is
persisted.

``AUTO_LAMBDA_FAULT_DIR`` (optional) shares state between processes: a kill fires at
most once per (rule, job), ``raise:...:N`` counts across processes, and every firing is
appended to ``<dir>/fired.log`` so a test can wait for it. Without it a kill fires
every time and counts are per process.

It only ever makes things fail, and does nothing at all when unset.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import TRANSIENT_CODES, AutoLambdaError, TransientError
from states import EventType, Execution, HistoryEvent, Hooks, TaskCall

HOOKS_PATH = "tests.fault_hooks:FaultHooks"

ENV_RULES = "AUTO_LAMBDA_FAULTS"
ENV_KILL_AT = "AUTO_LAMBDA_FAULT_KILL_AT"
ENV_DIR = "AUTO_LAMBDA_FAULT_DIR"

_lock = threading.Lock()
_local_counts: dict[str, int] = {}


class FaultSpecError(AutoLambdaError):
    code = "FaultSpecInvalid"


@dataclass(frozen=True)
class Rule:
    point: str          # e.g. "after:built", "during:build"
    action: str         # kill | sleep | raise
    args: tuple[str, ...] = ()
    match: str = ""     # substring of the object key; empty matches every job

    @property
    def ident(self) -> str:
        text = f"{self.point}={self.action}:{':'.join(self.args)}/{self.match}"
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def parse_rules(env: Mapping[str, str]) -> list[Rule]:
    rules: list[Rule] = []
    for raw in (env.get(ENV_RULES) or "").split(";"):
        raw = raw.strip()
        if raw:
            rules.append(_parse_rule(raw))
    for raw in (env.get(ENV_KILL_AT) or "").split(","):
        raw = raw.strip()
        if raw:
            point, _, match = raw.partition("/")
            rules.append(Rule(point=point.strip(), action="kill", match=match.strip()))
    return rules


def _parse_rule(raw: str) -> Rule:
    point, sep, rest = raw.partition("=")
    if not sep or ":" not in point:
        raise FaultSpecError(f"fault rule {raw!r} is not POINT=ACTION",
                             hint="for example after:built=kill or during:build=sleep:5")
    action_text, _, match = rest.partition("/")
    action, *args = action_text.split(":")
    if action not in {"kill", "sleep", "raise"}:
        raise FaultSpecError(f"fault rule {raw!r}: unknown action {action!r}",
                             hint="use kill, sleep:SECONDS or raise:CODE[:TIMES]")
    return Rule(point=point.strip(), action=action, args=tuple(args), match=match.strip())


def _rules() -> list[Rule]:
    if not os.environ.get(ENV_RULES) and not os.environ.get(ENV_KILL_AT):
        return []
    return parse_rules(os.environ)


def _fault_dir() -> Path | None:
    raw = os.environ.get(ENV_DIR)
    if not raw:
        return None
    path = Path(raw)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _record_fired(rule: Rule, job_id: str, key: str) -> None:
    folder = _fault_dir()
    if folder is None:
        return
    line = json.dumps({"point": rule.point, "action": rule.action, "job_id": job_id,
                       "key": key, "pid": os.getpid(), "time": time.time()})
    with (folder / "fired.log").open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _first_time(rule: Rule, job_id: str) -> bool:
    """True once per (rule, job) across processes when a fault dir is set."""
    folder = _fault_dir()
    if folder is None:
        return True
    marker = folder / f"once-{rule.ident}-{job_id}"
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def _take_count(rule: Rule, limit: int) -> bool:
    """Count one firing of a limited rule; False once ``limit`` firings happened."""
    folder = _fault_dir()
    if folder is None:
        with _lock:
            used = _local_counts.get(rule.ident, 0)
            if used >= limit:
                return False
            _local_counts[rule.ident] = used + 1
            return True
    path = folder / f"count-{rule.ident}"
    with path.open("a+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        used = int(fh.read().strip() or 0)
        if used >= limit:
            return False
        fh.seek(0)
        fh.truncate()
        fh.write(str(used + 1))
        fh.flush()
    return True


def fault_point(point: str, *, job_id: str = "", key: str = "") -> None:
    """Apply any rule configured for ``point``; a no-op when none is."""
    rules = _rules()
    if not rules:
        return
    for rule in rules:
        if rule.point != point or (rule.match and rule.match not in key):
            continue
        _apply(rule, job_id, key)


def _apply(rule: Rule, job_id: str, key: str) -> None:
    if rule.action == "kill":
        if _first_time(rule, job_id):
            _record_fired(rule, job_id, key)
            os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(10)  # SIGKILL is asynchronous only in theory; never run on
        return
    if rule.action == "sleep":
        seconds = float(rule.args[0]) if rule.args else 1.0
        if _first_time(rule, job_id):
            _record_fired(rule, job_id, key)
            time.sleep(seconds)
        return
    code = rule.args[0] if rule.args else "AwsServerError"
    limit = int(rule.args[1]) if len(rule.args) > 1 else 0
    if limit and not _take_count(rule, limit):
        return
    _record_fired(rule, job_id, key)
    message = f"injected fault at {rule.point} ({code})"
    if code in TRANSIENT_CODES:
        raise TransientError(message, code=code)
    raise AutoLambdaError(message, code=code, hint="a fault injected by AUTO_LAMBDA_FAULTS")


def fired(folder: Path) -> list[dict[str, object]]:
    """The firings recorded under ``folder`` (for tests)."""
    path = folder / "fired.log"
    if not path.exists():
        return []
    out: list[dict[str, object]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            out.append(json.loads(line))
    return out


class FaultHooks(Hooks):
    """Applies the configured rules at every point of a drive."""

    def on_event(self, ex: Execution, event: HistoryEvent) -> None:
        if event.type is EventType.StateEntered:
            fault_point(f"after:{event.state}", job_id=ex.id, key=_key(ex))

    @contextlib.contextmanager
    def task_scope(self, ex: Execution, call: TaskCall) -> Iterator[None]:
        fault_point(f"before:{call.resource}", job_id=ex.id, key=_key(ex))
        yield
        fault_point(f"during:{call.resource}", job_id=ex.id, key=_key(ex))


def _key(ex: Execution) -> str:
    return str(ex.data.get("key", ""))
