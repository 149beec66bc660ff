"""Verification of a deployed version before it goes live: static checks of the package,
then one smoke-test invocation (a local sandbox against the emulator, the real function on
AWS), compared with the manifest's ``[verify]`` table.

Modules: ``static`` (no code runs), ``interpreters`` (find a local Python of the
runtime's version), ``runner`` + ``bootstrap`` (the local sandbox), ``remote`` (invoke on
AWS), ``deployment`` (``verify_deployment``, the entry point). Nothing here moves the
``live`` alias.
"""

from __future__ import annotations

from orchestrator.steps.verify.compare import check_output
from orchestrator.steps.verify.deployment import VerifyResult, verify_deployment
from orchestrator.steps.verify.interpreters import find_interpreter
from orchestrator.steps.verify.runner import LocalRun, run_local
from orchestrator.steps.verify.static import static_check

__all__ = [
    "LocalRun",
    "VerifyResult",
    "check_output",
    "find_interpreter",
    "run_local",
    "static_check",
    "verify_deployment",
]
