"""The jail every step that runs or imports uploaded code goes through (chalice's
packaging imports ``app.py``; local verification runs the handler): bubblewrap
namespaces, a read-only view of only what the tool needs, a writable output folder per
run, a rebuilt environment, limits, bounded output, and nothing left running after.

Modules: ``settings`` (which bwrap, the jail's user, the insecure escape), ``bwrap``
(finding and probing it, the argv), ``limits`` (RLIMIT_* and the launcher that sets
them inside), ``output`` (bounded tails), ``pyroots`` (what an interpreter needs),
``process`` (``Jail``). See docs/security.md for the threat model.
"""

from __future__ import annotations

from orchestrator.steps.jail.limits import Limits
from orchestrator.steps.jail.process import Jail, JailProcess, JailResult, default_jail
from orchestrator.steps.jail.settings import JailSettings

__all__ = ["Jail", "JailProcess", "JailResult", "JailSettings", "Limits", "default_jail"]
