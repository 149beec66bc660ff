"""The simulated world: an SQS-like queue, a group of instances and the jobs.

Instances go pending → InService (after ``launch_seconds``, or ``warm_launch_seconds``
from a warm pool) → serving (after ``boot_seconds``, or ``warm_boot_seconds``), and each
runs ``concurrency`` worker slots taking one job at a time from the queue. A job's
``build_seconds`` is how long it takes alone on an instance: a ``1 - cpu_fraction`` share
of it waits (downloads, AWS calls) and the rest computes on the instance's ``vcpus``,
shared with the instance's other builds (``cpu.SharedCpu``), so a full instance builds
each job more slowly than an idle one.

A job may bake after its build (a canary's or linear rollout's bake, ``bake_seconds``),
then take ``check_seconds`` more (the check after the bake). With ``hold_bakes`` its slot
is held for the whole bake, as the rollout did inside the promote step; without, the job
parks: it leaves its slot, waits as a delayed message (counted in ``parked``, not in the
backlog, as SQS's ApproximateNumberOfMessagesDelayed is not) and is queued again when
the bake is over, for any slot to run its check.

The warm pool holds ``warm_pool_size`` stopped, pre-initialised instances. Launching
from it takes the warm delays; a replacement is launched into the pool at once and runs
(billed) for a full launch and boot before it is stopped. Stopped time is counted for
the EBS volumes it keeps.

Scale-in picks instances that are not serving yet first, then idle ones, then the
newest; a stopping instance takes no new job, finishes the ones it has (the drain
lifecycle hook) and then terminates, so no job is lost. Policies only call
``set_desired``; they read what CloudWatch would see through ``signals``, or subscribe
to ``listeners`` (called whenever the backlog changes). No scaling decisions are made
here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import simpy

from auto_lambda_dev.sim.cpu import SharedCpu
from orchestrator.capacity import MEASURED_CONCURRENCY, MEASURED_CPU_FRACTION, MEASURED_VCPUS

# The model's defaults: what one 2-vCPU worker (the stack's t3.medium) sustained on the
# local stack (bench/concurrency.py, figures in docs/scaling.md).
DEFAULT_CONCURRENCY = MEASURED_CONCURRENCY
DEFAULT_CPU_FRACTION = MEASURED_CPU_FRACTION
DEFAULT_VCPUS = MEASURED_VCPUS


@dataclass(frozen=True)
class GroupConfig:
    """The group's shape and the instances' timings."""

    min_capacity: int = 1
    max_capacity: int = 20
    initial_capacity: int | None = None  # default: min_capacity
    concurrency: int = DEFAULT_CONCURRENCY  # job slots per instance
    vcpus: int = DEFAULT_VCPUS
    # Share of a build's time (alone on an instance) spent computing; the rest waits.
    cpu_fraction: float = DEFAULT_CPU_FRACTION
    launch_seconds: float = 45.0
    boot_seconds: float = 20.0
    warm_pool_size: int = 0
    warm_launch_seconds: float = 20.0
    warm_boot_seconds: float = 10.0
    warmup_seconds: float = 60.0
    # Initial instances are already serving at t=0 (steady state before the scenario).
    initial_ready: bool = True
    # Every job's rollout bake after its build, the check after it, and whether a slot
    # waits through the bake (the old in-task loop) or the job parks (Wait state).
    bake_seconds: float = 0.0
    check_seconds: float = 5.0
    hold_bakes: bool = False

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.vcpus < 1:
            raise ValueError("concurrency and vcpus must be at least 1")
        if not 0 <= self.cpu_fraction <= 1:
            raise ValueError("cpu_fraction must be between 0 and 1")
        if not 0 <= self.min_capacity <= self.max_capacity:
            raise ValueError("need 0 <= min_capacity <= max_capacity")


@dataclass
class Job:
    index: int
    arrived: float
    build_seconds: float
    started: float | None = None
    finished: float | None = None
    baked: bool = False  # back from a parked bake: only its check is left

    @property
    def latency(self) -> float:
        assert self.finished is not None
        return self.finished - self.arrived


@dataclass
class Instance:
    ident: int
    launched: float
    in_service_at: float | None = None
    serving_at: float | None = None
    stopping: bool = False
    terminated_at: float | None = None
    busy: int = 0
    from_warm_pool: bool = False
    stop_event: Any = None
    slots_left: int = 0
    cpu: SharedCpu | None = None

    def warming(self, now: float, warmup: float) -> bool:
        return self.in_service_at is None or now - self.in_service_at < warmup


@dataclass
class Sample:
    time: float
    visible: int
    in_flight: int
    desired: int
    in_service: int


@dataclass
class World:
    env: simpy.Environment
    config: GroupConfig
    jobs: list[Job] = field(default_factory=list)
    instances: list[Instance] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    max_backlog: int = 0
    last_activity: float = 0.0
    warm_pool: int = 0
    # Called (no arguments) whenever the backlog changes: an upload lands or a job ends.
    listeners: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.queue: simpy.Store = simpy.Store(self.env)
        self._ids = itertools.count(1)
        self.warm_pool = self.config.warm_pool_size
        self.scale_events: list[tuple[float, int]] = []
        self.stopped_seconds = 0.0
        self.filler_seconds = 0.0  # running time of instances launched into the warm pool
        self._warm_counted_at = 0.0
        self.parked = 0  # jobs parked in a bake: delayed messages, not backlog
        self.max_parked = 0
        # The instances not yet terminated, in launch order: what every observer reads
        # (``instances`` keeps a day's worth of terminated ones for the bill).
        self._running: list[Instance] = []

    # ---- what an observer sees ----
    @property
    def now(self) -> float:
        return float(self.env.now)

    def visible(self) -> int:
        return len(self.queue.items)

    def in_flight(self) -> int:
        return sum(i.busy for i in self._running)

    def backlog(self) -> int:
        return self.visible() + self.in_flight()

    @property
    def slots_per_instance(self) -> int:
        return self.config.concurrency

    def active(self) -> list[Instance]:
        return [i for i in self._running if not i.stopping]

    def desired(self) -> int:
        return len(self.active())

    def in_service(self) -> int:
        """InService instances as Auto Scaling reports them (draining ones included)."""
        return sum(1 for i in self._running if i.in_service_at is not None)

    def warming(self) -> int:
        return sum(1 for i in self.active() if i.warming(self.now, self.config.warmup_seconds))

    def ready(self) -> int:
        """Active instances past their warm-up: what step scaling counts as capacity."""
        return len(self.active()) - self.warming()

    def is_polled(self) -> bool:
        """Whether some worker is long-polling the queue (that keeps SQS metrics awake)."""
        return any(i.serving_at is not None for i in self._running)

    # ---- set-up ----
    def start(self, arrivals: Sequence[float], build_times: Sequence[float]) -> None:
        initial = self.config.initial_capacity
        count = self.config.min_capacity if initial is None else initial
        for _ in range(count):
            self._launch(ready=self.config.initial_ready)
        self.env.process(self._arrive(arrivals, build_times))

    def _arrive(self, arrivals: Sequence[float],
                build_times: Sequence[float]) -> Generator[Any, Any, None]:
        for index, (at, build) in enumerate(zip(arrivals, build_times, strict=True)):
            if at > self.env.now:
                yield self.env.timeout(at - self.env.now)
            job = Job(index, float(self.env.now), build)
            self.jobs.append(job)
            self.queue.put(job)
            self.last_activity = self.now
            self.max_backlog = max(self.max_backlog, self.backlog())
            self._notify()

    def _notify(self) -> None:
        for listener in self.listeners:
            listener()

    # ---- capacity ----
    def set_desired(self, n: int) -> int:
        """Launch or stop instances so ``desired() == n`` (clamped to [min, max])."""
        n = max(self.config.min_capacity, min(self.config.max_capacity, n))
        current = self.desired()
        if n != current:
            self.scale_events.append((self.now, n))
        for _ in range(n - current):
            self._launch(ready=False)
        if n < current:
            victims = sorted(self.active(),
                             key=lambda i: (i.serving_at is not None, i.busy > 0, i.launched))
            for inst in victims[:current - n]:
                self._stop(inst)
        return n

    def _launch(self, ready: bool) -> None:
        inst = Instance(next(self._ids), self.now)
        inst.stop_event = self.env.event()
        self.instances.append(inst)
        self._running.append(inst)
        if ready:
            inst.in_service_at = self.now - self.config.warmup_seconds
            inst.serving_at = inst.in_service_at
            self._start_slots(inst)
            return
        if self.warm_pool > 0:
            self._count_stopped()
            self.warm_pool -= 1
            inst.from_warm_pool = True
            self.env.process(self._refill_warm_pool())
        self.env.process(self._boot(inst))

    def _count_stopped(self) -> None:
        self.stopped_seconds += self.warm_pool * (self.now - self._warm_counted_at)
        self._warm_counted_at = self.now

    def _refill_warm_pool(self) -> Generator[Any, Any, None]:
        # A replacement is launched, initialised and stopped again: it takes a full boot,
        # running (and billed) all along.
        running = self.config.launch_seconds + self.config.boot_seconds
        self.filler_seconds += running
        yield self.env.timeout(running)
        self._count_stopped()
        self.warm_pool = min(self.config.warm_pool_size, self.warm_pool + 1)

    def _boot(self, inst: Instance) -> Generator[Any, Any, None]:
        cfg = self.config
        launch = cfg.warm_launch_seconds if inst.from_warm_pool else cfg.launch_seconds
        boot = cfg.warm_boot_seconds if inst.from_warm_pool else cfg.boot_seconds
        yield self.env.timeout(launch)
        if inst.stopping:
            self._terminate(inst)
            return
        inst.in_service_at = self.now
        yield self.env.timeout(boot)
        if inst.stopping:
            self._terminate(inst)
            return
        inst.serving_at = self.now
        self._start_slots(inst)

    def _start_slots(self, inst: Instance) -> None:
        inst.cpu = SharedCpu(self.env, self.config.vcpus)
        inst.slots_left = self.config.concurrency
        for _ in range(self.config.concurrency):
            self.env.process(self._slot(inst))

    def _stop(self, inst: Instance) -> None:
        inst.stopping = True
        # A serving instance's slots wake up and leave once their job is done; a booting
        # one is terminated by _boot when its current phase ends.
        if not inst.stop_event.triggered:
            inst.stop_event.succeed()

    def _terminate(self, inst: Instance) -> None:
        if inst.terminated_at is None:
            inst.terminated_at = self.now
            self._running.remove(inst)

    def _slot(self, inst: Instance) -> Generator[Any, Any, None]:
        while not inst.stopping:
            get = self.queue.get()
            yield get | inst.stop_event
            if not get.triggered:
                get.cancel()
                break
            job = cast(Job, get.value)
            inst.busy += 1
            self.last_activity = self.now
            if job.baked:
                yield self.env.timeout(self.config.check_seconds)
            else:
                job.started = self.now
                cpu_seconds = job.build_seconds * self.config.cpu_fraction
                yield self.env.timeout(job.build_seconds - cpu_seconds)
                assert inst.cpu is not None
                yield inst.cpu.run(cpu_seconds)
                if self.config.bake_seconds > 0 and self.config.hold_bakes:
                    yield self.env.timeout(self.config.bake_seconds + self.config.check_seconds)
                elif self.config.bake_seconds > 0:
                    inst.busy -= 1
                    self.env.process(self._park(job))
                    self._notify()
                    continue
            job.finished = self.now
            inst.busy -= 1
            self._notify()
        inst.slots_left -= 1
        if inst.slots_left == 0:
            self._terminate(inst)

    def _park(self, job: Job) -> Generator[Any, Any, None]:
        self.parked += 1
        self.max_parked = max(self.max_parked, self.parked)
        yield self.env.timeout(self.config.bake_seconds)
        self.parked -= 1
        job.baked = True
        self.queue.put(job)
        self._notify()

    # ---- recording ----
    def record(self, every: float) -> Generator[Any, Any, None]:
        while True:
            self.samples.append(Sample(self.now, self.visible(), self.in_flight(),
                                       self.desired(), self.in_service()))
            yield self.env.timeout(every)

    def instance_seconds(self, until: float) -> float:
        """Billed running time: from launch to termination (or ``until``), warm-pool
        fillers included while they run."""
        total = 0.0
        for inst in self.instances:
            start = max(0.0, inst.launched)
            end = inst.terminated_at if inst.terminated_at is not None else until
            total += max(0.0, min(end, until) - start)
        return total + self.filler_seconds

    def warm_pool_seconds(self, until: float) -> float:
        """Stopped instance-seconds in the warm pool up to ``until`` (EBS is billed)."""
        return self.stopped_seconds + self.warm_pool * max(0.0, until - self._warm_counted_at)
