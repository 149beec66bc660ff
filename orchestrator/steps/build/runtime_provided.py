"""What Lambda's Python runtimes already provide, and which resolved distributions a
package may therefore leave out.

Every Python runtime ships the AWS SDK: boto3, botocore and s3transfer (the "SDK core"),
with their dependencies jmespath, python-dateutil, six and urllib3. As Zappa and AWS's
packaging guidance do, the SDK core is left out of packages; its dependencies are left
out too unless a package that stays needs them (``requests`` needs ``urllib3`` in a
version of its own choosing). The SDK is kept, whole, when the manifest says
``[build] include_runtime_packages = true``, or when the app itself asks for an SDK
core version that the runtime's does not satisfy (``boto3==1.40.21``): then the
package carries the SDK it asked for. The runtime's version varies by region and over
time (AWS documents no fixed table), so "the runtime's" is taken to be the version the
worker itself has, which is also what local verification provides.

Pure: decides from names, versions and Requires-Dist lines; reads no files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from orchestrator.steps.build.names import canonical_name
from orchestrator.steps.build.target import Target

SDK_CORE = ("boto3", "botocore", "s3transfer")
SDK_DEPENDENCIES = ("jmespath", "python-dateutil", "six", "urllib3")
PROVIDED = frozenset(SDK_CORE + SDK_DEPENDENCIES)
# Import names of the provided distributions (what a handler's `import` names).
PROVIDED_MODULES = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "dateutil",
                              "six", "urllib3", "awslambdaric"})
_NAME_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class LeftOut:
    name: str
    version: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "reason": self.reason}


def runtime_version(name: str) -> str | None:
    """The version of ``name`` taken as the runtime's (the worker's own), if any."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def explicit_sdk_request(declared: dict[str, list[str]],
                         version_of: Callable[[str], str | None] = runtime_version
                         ) -> str | None:
    """Why the SDK must be packaged, when the app asks for an SDK core version the
    runtime's does not satisfy; None when the runtime's will do. ``declared`` maps
    canonical names to the requirement lines the app wrote."""
    from packaging.requirements import Requirement

    for name in SDK_CORE:
        for text in declared.get(name, []):
            spec = Requirement(text).specifier
            if not str(spec):
                continue
            have = version_of(name)
            if have is None or not spec.contains(have, prereleases=True):
                return (f"the app asks for {text}, and the runtime's {name} is "
                        f"{have or 'unknown'}")
    return None


def requirement_names(requires_dist: Iterable[str], target: Target,
                      extras: Iterable[str] = ()) -> set[str]:
    """Canonical names of the Requires-Dist entries that apply on ``target``."""
    from packaging.requirements import InvalidRequirement, Requirement

    env = target.marker_environment()
    wanted = ["", *sorted(set(extras))]
    out: set[str] = set()
    for text in requires_dist:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            m = _NAME_RE.match(text)
            if m:
                out.add(canonical_name(m.group(1)))
            continue
        if req.marker is None or any(req.marker.evaluate({**env, "extra": e}) for e in wanted):
            out.add(canonical_name(req.name))
    return out


def left_out(resolved: dict[str, str], requires: Callable[[str], set[str]], *,
             runtime: str, include: bool | None,
             explicit: str | None) -> tuple[set[str], list[LeftOut]]:
    """Which of ``resolved`` (canonical name → version) to leave out.

    ``requires(name)`` gives the canonical names a kept distribution depends on (it is
    only asked about distributions that stay). Returns (names kept, what was left out).
    """
    names = set(resolved)
    if include or (include is None and explicit) or not names & set(SDK_CORE):
        return names, []
    if include is False:
        why_core = f"provided by the {runtime} runtime ([build] include_runtime_packages = false)"
    else:
        why_core = f"provided by the {runtime} runtime"
    dropped = {n for n in names if n in SDK_CORE}
    candidates = {n for n in names if n in SDK_DEPENDENCIES}
    kept = names - dropped - candidates
    changed = True
    while changed:  # an SDK dependency stays if anything that stays needs it
        changed = False
        needed = set().union(*(requires(n) for n in kept)) if kept else set()
        for name in sorted(candidates & needed):
            candidates.discard(name)
            kept.add(name)
            changed = True
    dropped |= candidates
    out = [LeftOut(n, resolved[n], why_core if n in SDK_CORE else
                   f"{why_core}; needed only by the SDK") for n in sorted(dropped)]
    return kept, out
