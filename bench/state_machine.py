"""Benchmark: transitions per second of (a) bare ``transitions``, (b) the states library
in memory (drive() over the deployment workflow, no-op tasks, no-op persist) and (c) the
same with every snapshot written to DynamoDB on an embedded moto server, with a
conditional put on a version number per transition (as the job store does). Prints the
figures and the ratios against (a), measured in the same process.

    .venv/bin/python bench/state_machine.py            # --quick (default), well under 30 s
    .venv/bin/python bench/state_machine.py --full     # longer runs, steadier figures

A figure, not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
from collections.abc import Callable
from typing import Any

from transitions import Machine

from orchestrator.jobs.workflow import DEPLOYMENT

# Imported by name: type checkers would resolve ``states`` to this very file.
_states: Any = importlib.import_module("states")
Execution, TaskState, drive = _states.Execution, _states.TaskState, _states.drive

PATH = [s.name for s in DEPLOYMENT.states if isinstance(s, TaskState)]
STEPS = len(PATH)  # transitions per happy-path run (received -> ... -> verified)


class _Model:
    def __init__(self) -> None:
        self.state = "received"
        self.count = 0

    def before(self) -> None:
        self.count += 1

    def after(self) -> None:
        pass


def _rate(fn: Callable[[], int], seconds: float,
          timer: Callable[[], float] = time.perf_counter) -> float:
    """Transitions per second of ``fn`` (which returns how many it made) over ``seconds``
    of ``timer``."""
    done, start = 0, timer()
    deadline = start + seconds
    while timer() < deadline:
        done += fn()
    return done / (timer() - start)


def _best(fn: Callable[[], int], seconds: float, slices: int = 3) -> float:
    """The best of a few slices, to dampen noise from other processes."""
    return max(_rate(fn, seconds / slices) for _ in range(slices))


def _interleaved(fns: list[Callable[[], int]], seconds: float,
                 rounds: int = 6) -> list[float]:
    """Best rate of each function in CPU time of this process, measured in alternating
    slices, so that other processes on a shared machine disturb all of them alike."""
    best = [0.0] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            best[i] = max(best[i], _rate(fn, seconds / rounds, time.process_time))
    return best


def bare_runner() -> Callable[[], int]:
    """One Machine with the same states and transitions, before/after callbacks."""
    names = [*DEPLOYMENT.names, DEPLOYMENT.retrying_state]
    transitions = [{"trigger": f"to_{dst}", "source": src, "dest": dst,
                    "before": "before", "after": "after"}
                   for src, dst in sorted(DEPLOYMENT.edges())]
    model = _Model()
    Machine(model=model, states=names, transitions=transitions, initial="received",
            auto_transitions=False, ignore_invalid_triggers=False)
    nxt = {s.name: s.next for s in DEPLOYMENT.states if isinstance(s, TaskState)}
    triggers = [getattr(model, f"to_{nxt[name]}") for name in PATH]

    def run() -> int:
        model.state = "received"
        for trigger in triggers:
            trigger()
        return STEPS

    return run


def _noop(ctx: Any) -> dict[str, Any] | None:
    return None


TASKS = {s.resource: _noop for s in DEPLOYMENT.states if isinstance(s, TaskState)}


def _one_run(persist: Callable[[Any], None], counter: list[int]) -> int:
    clock = [1000.0]
    ex = Execution.start(DEPLOYMENT, f"job-{counter[0]}", {"key": "app.zip"}, clock[0])
    counter[0] += 1
    drive(ex, TASKS, persist=persist, clock=lambda: clock[0], sleep=lambda s: None)
    assert ex.state == "verified"
    return STEPS


def library_runner() -> Callable[[], int]:
    counter = [0]
    return lambda: _one_run(lambda ex: None, counter)


def bench_dynamodb(seconds: float) -> tuple[float, int]:
    import boto3

    from auto_lambda_dev.emulator import start_server

    endpoint = start_server(0)
    try:
        db = boto3.client("dynamodb", endpoint_url=endpoint.url, region_name="us-east-1")
        table = "states-bench"
        db.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "execution_id",
                                               "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "execution_id", "KeyType": "HASH"}])
        versions: dict[str, int] = {}
        writes = [0]

        def persist(ex: Any) -> None:
            expected = versions.get(ex.id, 0)
            item = {"execution_id": {"S": ex.id}, "version": {"N": str(expected + 1)},
                    "state": {"S": ex.state}, "snapshot": {"S": json.dumps(ex.snapshot())}}
            if expected == 0:
                db.put_item(TableName=table, Item=item,
                            ConditionExpression="attribute_not_exists(execution_id)")
            else:
                db.put_item(TableName=table, Item=item, ConditionExpression="#v = :e",
                            ExpressionAttributeNames={"#v": "version"},
                            ExpressionAttributeValues={":e": {"N": str(expected)}})
            versions[ex.id] = expected + 1
            writes[0] += 1

        counter = [0]
        _one_run(persist, counter)  # warm the connection
        rate = _best(lambda: _one_run(persist, counter), seconds)
        return rate, writes[0] // counter[0]
    finally:
        endpoint.stop()


def bench_memory(count: int = 2000) -> tuple[float, float]:
    """Bytes per live instance: a model added to one bare Machine (add_model puts the
    triggers on each model) versus a started Execution (history included; the Machine
    is shared per definition and holds no executions)."""
    import gc
    import tracemalloc

    names = [*DEPLOYMENT.names, DEPLOYMENT.retrying_state]
    transitions = [{"trigger": f"to_{dst}", "source": src, "dest": dst}
                   for src, dst in sorted(DEPLOYMENT.edges())]
    machine = Machine(model=None, states=names, transitions=transitions, initial="received",
                      auto_transitions=False, ignore_invalid_triggers=False)
    Execution.start(DEPLOYMENT, "warm", {}, 0.0)
    out = []
    for make in (lambda i: machine.add_model(_Model()),
                 lambda i: Execution.start(DEPLOYMENT, f"job-{i}", {"key": "app.zip"}, 0.0)):
        gc.collect()
        tracemalloc.start()
        keep = [make(i) for i in range(count)]
        size, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out.append(size / count)
        del keep
    return out[0], out[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", default=True,
                      help="about 1.5 s CPU per in-memory figure, 3 s with DynamoDB (default)")
    mode.add_argument("--full", action="store_true", help="five times longer")
    args = parser.parse_args()
    scale = 5.0 if args.full else 1.0
    bare, lib = _interleaved([bare_runner(), library_runner()], 1.5 * scale)
    dyn, writes = bench_dynamodb(3.0 * scale)
    bare_bytes, ex_bytes = bench_memory()
    print(f"workflow: {len(DEPLOYMENT.names)} states + retrying, {STEPS} transitions per run")
    print(f"(a) bare transitions          {bare:12,.0f} transitions/s (CPU time)")
    print(f"(b) states, in memory         {lib:12,.0f} transitions/s (CPU time)")
    print(f"(c) states + DynamoDB (moto)  {dyn:12,.0f} transitions/s (wall clock, "
          f"{writes} conditional puts per run)")
    print(f"overhead b/a: {bare / lib:.2f}x slower   c/a: {bare / dyn:.1f}x slower")
    print(f"memory per live instance: bare model on a shared Machine {bare_bytes:,.0f} B, "
          f"started Execution {ex_bytes:,.0f} B ({ex_bytes / bare_bytes:.2f}x)")


if __name__ == "__main__":
    main()
