"""Errors the checker and simulator show users. Each has a stable code.

Only definitions live here: no I/O, no logging.
"""

from __future__ import annotations

from orchestrator.codes import Code
from orchestrator.errors import AutoLambdaError


class CheckerConfigError(AutoLambdaError):
    """A checker or simulator option is malformed (bad duration, bad range)."""

    code = Code.CheckerConfigInvalid


class WorkloadError(AutoLambdaError):
    """A simulator workload input (CSV of arrivals or build times) cannot be used."""

    code = Code.SimWorkloadInvalid
