"""How many jobs one machine runs at once: the worker's default concurrency, and the
job slots the checker counts per instance.

Builds wait on downloads and AWS calls, so one instance runs several at once. The
default is ``min(vCPUs x JOBS_PER_VCPU, (memory - RESERVED_MB) / MEMORY_PER_JOB_MB)``,
at least one:

- ``JOBS_PER_VCPU``: on a 2-core machine one worker sustained 3 builds at once before
  throughput stopped growing (``bench/concurrency.py``, figures in docs/scaling.md);
- ``MEMORY_PER_JOB_MB``: a build's own peak (tens of MB measured) plus the verify run,
  which may use the manifest's default memory (256 MB) and its margin;
- ``RESERVED_MB``: the system and the worker process itself.

A t3.medium (2 vCPUs, 4 GiB) gets 3, a t3.micro (2 vCPUs, 1 GiB) 1.
``AUTO_LAMBDA_WORKER_CONCURRENCY`` (``Settings.worker_concurrency``) overrides it; the
CDK stack sets it for the worker type so the checker, on another machine, counts the
same slots. Reads the CPU affinity and the memory size of this machine and nothing else.
"""

from __future__ import annotations

import math
import os

# Measured with bench/concurrency.py on a 2-core machine (figures in docs/scaling.md):
# builds one worker ran at once before its throughput stopped growing (the median of 11
# rounds: 1.25x at 2, 1.45x at 3, no more at 4, 6 or 8), and the share of a build's time
# alone that the worker and its children spent on the CPU (0.79 to 0.88 across runs).
# The scaling simulator uses them as its model's defaults.
MEASURED_VCPUS = 2
MEASURED_CONCURRENCY = 3
MEASURED_CPU_FRACTION = 0.85

JOBS_PER_VCPU = MEASURED_CONCURRENCY / MEASURED_VCPUS
MEMORY_PER_JOB_MB = 512
RESERVED_MB = 512


def concurrency_for(vcpus: int, memory_mb: int) -> int:
    """Jobs at once for a machine with ``vcpus`` and ``memory_mb`` of memory."""
    by_cpu = math.floor(max(1, vcpus) * JOBS_PER_VCPU + 1e-9)
    by_memory = (max(0, memory_mb) - RESERVED_MB) // MEMORY_PER_JOB_MB
    return max(1, min(by_cpu, by_memory))


def machine_vcpus() -> int:
    """CPUs this process may run on (a container's or cgroup's limit as the scheduler
    sees it), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def machine_memory_mb() -> int:
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20)
    except (ValueError, OSError, AttributeError):
        return 0


def default_concurrency(configured: int | None = None) -> int:
    """``configured`` when given, else what this machine's vCPUs and memory allow."""
    if configured is not None:
        return max(1, configured)
    return concurrency_for(machine_vcpus(), machine_memory_mb())
