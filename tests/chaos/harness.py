"""The chaos harness without pytest: a moto server in this process, the pipeline's
resources, real ``auto-lambda worker`` processes (forked from a pre-warmed zygote,
``tests/chaos/zygote.py``), small pure-Python apps, views of what AWS holds, and a
bounded wait on a condition (never a sleep standing in for one).

Used by ``tests/chaos`` (through its conftest) and by the benchmarks that need real worker
processes (``bench/soak.py``, ``bench/takeover.py``). A worker's environment may point it
at a fault proxy (``auto_lambda_dev.faultproxy``) instead of the server itself.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol, TypeVar

from auto_lambda_dev.emulator import LocalEndpoint, start_server
from orchestrator.aws.facade import Aws
from orchestrator.aws.resources import StackInfo, ensure_resources
from orchestrator.config import Settings
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.store import JobStore
from orchestrator.jobs.workflow import ROLLOUT_STATES, STEP_OF_STATE, SUCCEEDED_STATE
from tests.chaos.zygotes import Zygote, zygote_key
from tests.fault_hooks import HOOKS_PATH

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def app_zip(name: str, extra: dict[str, str | bytes] | None = None) -> bytes:
    """A small pure-Python app whose verify event proves its own code ran."""
    files: dict[str, str | bytes] = {
        "app.py": ("def handler(event, context):\n"
                   f"    return {{'app': {name!r}, 'n': event.get('n', 0) + 1}}\n"),
        "auto-lambda.toml": (f"[function]\nname = '{name}'\nruntime = 'python3.11'\n"
                             "timeout = 5\n[verify]\nevent = { n = 1 }\n"
                             f"expect = {{ app = '{name}', n = 2 }}\n"),
    }
    files.update(extra or {})
    return make_zip(files)


def make_zip(files: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buf.getvalue()


class Process(Protocol):
    """What the harness and the tests use of a worker process: a ``subprocess.Popen``
    or a ``ForkedProcess`` (tests/chaos/zygotes.py), whose ``returncode`` is -N for a
    process killed by signal N."""

    @property
    def pid(self) -> int: ...
    @property
    def returncode(self) -> int | None: ...
    def poll(self) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def send_signal(self, sig: int) -> None: ...


@dataclass
class WorkerProc:
    proc: Process
    log_path: Path
    log: IO[bytes]
    name: str

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive():
            self.proc.send_signal(signum)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        try:
            if self.alive():
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait(timeout=10)
        finally:
            self.log.close()

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class ChaosStack:
    """The pieces of one run; ``wait_for`` raises TimeoutError with the workers' logs."""

    root: Path
    endpoint: LocalEndpoint
    settings: Settings
    aws: Aws
    info: StackInfo
    store: JobStore
    env: dict[str, str]
    workers: list[WorkerProc] = field(default_factory=list)
    zygotes: dict[tuple[tuple[str, str], ...], Zygote] = field(default_factory=dict)
    _numbers: int = 0
    _clis: int = 0

    @property
    def work_dir(self) -> Path:
        return Path(self.env["AUTO_LAMBDA_WORK_DIR"])

    @property
    def fault_dir(self) -> Path:
        return Path(self.env["AUTO_LAMBDA_FAULT_DIR"])

    # ---- processes ----
    def zygote(self, env: dict[str, str]) -> Zygote:
        """The stack's zygote for workers with ``env`` (tests/chaos/zygotes.py): one per
        value of what is read before a fork, started (and importing) on first use."""
        key = zygote_key(env)
        if key not in self.zygotes:
            self.zygotes[key] = Zygote(env)
        return self.zygotes[key]

    def start_worker(self, *, concurrency: int = 1, drain: float = 10.0,
                     env: dict[str, str] | None = None, forked: bool = True) -> WorkerProc:
        """A real ``auto-lambda worker`` process talking to the server over HTTP. By
        default a fork of the stack's zygote (tests/chaos/zygote.py: the same process
        as ``python -m``, without its imports at every start);
        ``forked=False`` execs a fresh interpreter, for tests that read what only
        exec sets (``/proc/PID/environ`` and ``cmdline`` hold the zygote's)."""
        self._numbers += 1
        name = f"worker-{self._numbers}"
        log_path = self.root / "logs" / f"{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("wb")
        argv = [sys.executable, "-m", "orchestrator.cli.main", "-v", "worker", "--wait", "1",
                "--concurrency", str(concurrency), "--drain-seconds", str(drain)]
        full = {**self.env, **(env or {})}
        proc: Process
        if forked:
            proc = self.zygote(full).spawn(argv, env=full, cwd=self.root / "cwd", log=log_path)
        else:
            proc = subprocess.Popen(argv, env=full, cwd=self.root / "cwd", stdout=log,
                                    stderr=subprocess.STDOUT)
        worker = WorkerProc(proc, log_path, log, name)
        self.workers.append(worker)
        return worker

    def cli(self, *args: str, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``auto-lambda ARGS`` run to its end (forked from the zygote, as workers are),
        with its output as ``subprocess.run(capture_output=True, text=True)`` gives it."""
        argv = [sys.executable, "-m", "orchestrator.cli.main", *args]
        full = {**self.env, **(env or {})}
        self._clis += 1
        out = self.root / "logs" / f"cli-{self._clis}.out"
        err = out.with_suffix(".err")
        out.parent.mkdir(parents=True, exist_ok=True)
        proc = self.zygote(full).spawn(argv, env=full, cwd=self.root / "cwd", log=out,
                                      stderr=err)
        try:
            status = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            raise
        return subprocess.CompletedProcess(argv, status, out.read_text(), err.read_text())

    def logs(self) -> str:
        return "\n".join(f"--- {w.name} (pid {w.pid}) ---\n{w.tail()}" for w in self.workers)

    # ---- AWS views ----
    def upload(self, key: str, body: bytes) -> None:
        self.aws.s3.put_object(Bucket=self.settings.incoming_bucket, Key=key, Body=body)

    def send(self, body: str) -> None:
        self.aws.sqs.send_message(QueueUrl=self.info.queue_url, MessageBody=body)

    def jobs(self) -> list[JobRecord]:
        return self.store.list()

    def job_for(self, key: str) -> JobRecord:
        matches = [j for j in self.jobs() if j.key == key]
        assert len(matches) == 1, f"{len(matches)} jobs for {key}"
        return matches[0]

    def _depth(self, url: str) -> int:
        attrs = self.aws.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                          "ApproximateNumberOfMessagesNotVisible",
                                          "ApproximateNumberOfMessagesDelayed"])["Attributes"]
        return sum(int(v) for v in attrs.values())

    def queue_depth(self) -> int:
        return self._depth(self.info.queue_url)

    def dlq_depth(self) -> int:
        return self._depth(self.info.dlq_url)

    def published_versions(self, app: str) -> list[str]:
        resp = self.aws.lambda_.list_versions_by_function(
            FunctionName=self.settings.function_name(app, "default"))
        return [v["Version"] for v in resp["Versions"] if v["Version"] != "$LATEST"]

    def live_version(self, app: str) -> str:
        name = self.settings.function_name(app, "default")
        return str(self.aws.lambda_.get_alias(FunctionName=name, Name="live")["FunctionVersion"])

    # ---- waiting ----
    def wait_for(self, what: str, check: Callable[[], T | None], timeout: float,
                 tick: Callable[[], None] = lambda: None, interval: float = 0.2) -> T:
        """Poll ``check`` until it returns something truthy, or fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            tick()
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"timed out after {timeout:g} s waiting for {what}\n{self.logs()}")
            time.sleep(interval)

    def settled(self, expected_jobs: int) -> bool:
        """Every expected job terminal and no message left on the queue. The queue is
        asked first: while it holds messages, reading every job record (its history
        included) would tell nothing more."""
        if self.queue_depth() != 0:
            return False
        jobs = self.jobs()
        return len(jobs) >= expected_jobs and all(j.is_terminal for j in jobs)


# The states every all-at-once deployment passes (the kill during a rollout's bake is
# tests/chaos/test_rollout_kill.py), and its kill points: every state boundary, inside
# every step (after its side effects, before its result is persisted), and right after a
# step started.
PIPELINE = {state: step for state, step in STEP_OF_STATE.items() if state not in ROLLOUT_STATES}
DEPLOYMENT_KILL_POINTS = (
    *(f"after:{state}" for state in [*PIPELINE, SUCCEEDED_STATE]),
    *(f"during:{step}" for step in PIPELINE.values()),
    "before:deploy",
)


class KilledWorkers:
    """Worker processes a fault plan kills: ``supervise`` (a ``wait_for`` tick) checks a
    dead one died of SIGKILL, as planned, and starts another in its place."""

    def __init__(self, stack: ChaosStack, env: dict[str, str], count: int = 2) -> None:
        self.stack, self.env = stack, env
        self.workers = [stack.start_worker(env=env) for _ in range(count)]
        self.restarts = 0

    def supervise(self) -> None:
        for i, worker in enumerate(self.workers):
            if not worker.alive():
                assert worker.proc.returncode == -9, (worker.proc.returncode, worker.tail())
                self.workers[i] = self.stack.start_worker(env=self.env)
                self.restarts += 1


def task_starts(job: JobRecord) -> Counter[str]:
    """How many times each state's task started."""
    return Counter(e["state"] for e in job.history if e["type"] == "TaskStarted")



def start_stack(root: Path, overrides: dict[str, str] | None = None, *,
                lease_seconds: int | None = 2, visibility_seconds: int | None = 2
                ) -> ChaosStack:
    """A fresh server (moto's state reset), the resources, and the workers' environment
    under ``root`` (short leases and visibility unless given None: the defaults)."""
    endpoint = start_server(0)
    endpoint.reset()
    for sub in ("cwd", "home", "tmp", "faults"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        **endpoint.env(Settings()),
        "AUTO_LAMBDA_WORK_DIR": str(root / "work"),
        "AUTO_LAMBDA_CACHE_DIR": str(root / "work" / "cache"),
        "AUTO_LAMBDA_BUSY_DELAY": "1",
        "AUTO_LAMBDA_MAX_RECEIVE_COUNT": "10",
        "AUTO_LAMBDA_FAULT_DIR": str(root / "faults"),
        "AUTO_LAMBDA_HOOKS": HOOKS_PATH,
        "AUTO_LAMBDA_TRACING": "off",
        "HOME": str(root / "home"),
        "TMPDIR": str(root / "tmp"),
        "PYTHONPATH": str(REPO),
    }
    if lease_seconds is not None:
        env["AUTO_LAMBDA_LEASE_SECONDS"] = str(lease_seconds)
    if visibility_seconds is not None:
        env["AUTO_LAMBDA_VISIBILITY_TIMEOUT"] = str(visibility_seconds)
    for name in ("AUTO_LAMBDA_FAULTS", "AUTO_LAMBDA_FAULT_KILL_AT",
                 "AUTO_LAMBDA_LEASE_SECONDS" if lease_seconds is None else "",
                 "AUTO_LAMBDA_VISIBILITY_TIMEOUT" if visibility_seconds is None else ""):
        env.pop(name, None)
    env.update(overrides or {})
    zygote = Zygote(env)  # importing while the resources are made
    settings = Settings.from_env(env)
    aws = Aws(settings)
    try:
        info = ensure_resources(aws)
    except BaseException:
        zygote.close()
        raise
    stack = ChaosStack(root=root, endpoint=endpoint, settings=settings, aws=aws, info=info,
                       store=JobStore(aws), env=env)
    stack.zygotes[zygote_key(env)] = zygote
    return stack


def stop_stack(stack: ChaosStack) -> None:
    """Stop every worker and the server; a worker that cannot be stopped (its zygote
    died) still lets the others and the server stop, then its error is raised."""
    errors: list[Exception] = []
    for worker in stack.workers:
        try:
            worker.stop()
        except Exception as exc:  # raised below, once everything else is stopped
            errors.append(exc)
    for zygote in stack.zygotes.values():
        zygote.close()
    try:
        stack.endpoint.reset()
    finally:
        stack.endpoint.stop()
    if errors:
        raise errors[0]

