"""Which published versions of a function to keep and which to delete: the plan half of
``auto-lambda prune`` and of the clean-up after each job.

Kept, whatever else holds: every version an alias points at (``live`` and its routing
weights), the version a rollback would move ``live`` to (the newest verified version
below the live one), the newest ``keep`` verified versions, and every version whose
job has not ended (it may be about to be verified). Deleted: versions whose job failed
verify, and verified versions past the newest ``keep``. ``$LATEST`` is never touched.

Pure: it is given the versions and what the jobs say about them; the executor deletes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

DEFAULT_KEEP = 5


class Verdict(StrEnum):
    VERIFIED = "verified"
    FAILED = "failed"
    UNKNOWN = "unknown"   # its job has not ended, or no job names it


@dataclass(frozen=True)
class Version:
    number: int
    verdict: Verdict
    code_size: int = 0


@dataclass
class PrunePlan:
    keep: list[tuple[int, str]] = field(default_factory=list)     # (version, why)
    delete: list[tuple[int, str]] = field(default_factory=list)   # (version, why)
    freed_bytes: int = 0                                          # code the deletions free


def rollback_target(versions: Iterable[Version], live: int | None) -> int | None:
    """The newest verified version below ``live`` (what ``rollback`` moves to)."""
    below = [v.number for v in versions
             if v.verdict is Verdict.VERIFIED and (live is None or v.number < live)]
    return max(below, default=None)


def plan_prune(versions: Iterable[Version], *, alias_targets: Iterable[int],
               live: int | None, keep: int = DEFAULT_KEEP) -> PrunePlan:
    """The plan for one function (see the module docstring)."""
    if keep < 1:
        raise ValueError("keep must be at least 1")
    listed = sorted(versions, key=lambda v: v.number, reverse=True)
    pinned = set(alias_targets)
    rollback = rollback_target(listed, live)
    newest_verified = {v.number for v in listed if v.verdict is Verdict.VERIFIED}
    newest_verified = set(sorted(newest_verified, reverse=True)[:keep])
    plan = PrunePlan()
    for v in listed:
        if v.number in pinned:
            plan.keep.append((v.number, "an alias points at it"))
        elif v.number == rollback:
            plan.keep.append((v.number, "a rollback would use it"))
        elif v.verdict is Verdict.UNKNOWN:
            plan.keep.append((v.number, "its job has not ended"))
        elif v.verdict is Verdict.FAILED:
            plan.delete.append((v.number, "it failed verify"))
            plan.freed_bytes += v.code_size
        elif v.number in newest_verified:
            plan.keep.append((v.number, f"one of the newest {keep} verified"))
        else:
            plan.delete.append((v.number, f"older than the newest {keep} verified"))
            plan.freed_bytes += v.code_size
    return plan
