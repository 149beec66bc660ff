"""How many jobs a worker instance type runs at once: the worker's concurrency and the
job slots the checker counts per instance, both set from one SSM parameter.

The rule is a copy, on purpose, of ``orchestrator/capacity.py`` (the infrastructure must
not import the runtime; ``tests/cdk`` checks the two agree): ``min(floor(vCPUs x 1.5),
(memory MiB - 512) / 512)``, at least 1. vCPUs and memory come from a small table of
burstable types and, for the c, m and r families, from the size (large = 2 vCPUs,
xlarge = 4, Nxlarge = 4N) and the family's memory per vCPU (2, 4 and 8 GiB). Other types
need ``-c worker_concurrency=N``. Pure: no constructs, no AWS calls.
"""

from __future__ import annotations

import math
import re

JOBS_PER_VCPU = 1.5
MEMORY_PER_JOB_MB = 512
RESERVED_MB = 512

# (vCPUs, GiB) of the burstable sizes (t3, t3a and t4g share them).
_BURSTABLE = {
    "nano": (2, 0.5), "micro": (2, 1), "small": (2, 2), "medium": (2, 4),
    "large": (2, 8), "xlarge": (4, 16), "2xlarge": (8, 32),
}
_GIB_PER_VCPU = {"c": 2, "m": 4, "r": 8}
_TYPE_RE = re.compile(r"^(?P<family>[a-z]+\d+[a-z-]*)\.(?P<size>[0-9a-z]+)$")


def concurrency_for(vcpus: int, memory_mb: int) -> int:
    by_cpu = math.floor(max(1, vcpus) * JOBS_PER_VCPU + 1e-9)
    by_memory = (max(0, memory_mb) - RESERVED_MB) // MEMORY_PER_JOB_MB
    return max(1, min(by_cpu, by_memory))


def _vcpus_of_size(size: str) -> int | None:
    if size == "medium":
        return 1
    if size == "large":
        return 2
    match = re.fullmatch(r"(\d*)xlarge", size)
    if match is None:
        return None
    return 4 * int(match.group(1) or 1)


def shape(instance_type: str) -> tuple[int, int] | None:
    """(vCPUs, memory MiB) of ``instance_type``, or None when it is not known here."""
    match = _TYPE_RE.match(instance_type)
    if match is None:
        return None
    family, size = match.group("family"), match.group("size")
    if family[0] == "t":
        known = _BURSTABLE.get(size)
        return None if known is None else (known[0], int(known[1] * 1024))
    per_vcpu = _GIB_PER_VCPU.get(family[0])
    vcpus = _vcpus_of_size(size)
    if per_vcpu is None or vcpus is None:
        return None
    return vcpus, vcpus * per_vcpu * 1024


def worker_concurrency(instance_type: str) -> int | None:
    """The default concurrency for ``instance_type``; None when its shape is unknown."""
    known = shape(instance_type)
    return None if known is None else concurrency_for(*known)
