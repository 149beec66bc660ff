"""Extra hooks named in settings (``AUTO_LAMBDA_HOOKS``): middleware around every job's
drive, such as notifications, audit trails, metrics or fault drills, added without
changing the shipped code.

Each entry is ``module:attribute``, where the attribute is a ``states.Hooks`` subclass
(instantiated with no arguments), an instance, or a callable returning one. Loading is
all this module does; a bad entry is a ConfigError with a hint, never a traceback.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from orchestrator.codes import Code
from orchestrator.errors import ConfigError
from states import Hooks

ENV_HOOKS = "AUTO_LAMBDA_HOOKS"


def load_hooks(paths: Iterable[str]) -> list[Hooks]:
    return [_load(path) for path in paths]


def _load(path: str) -> Hooks:
    module_name, sep, attribute = path.partition(":")
    if not sep or not module_name or not attribute:
        raise ConfigError(f"{ENV_HOOKS} entry {path!r} is not module:attribute",
                          code=Code.HooksInvalid, hint="for example mypkg.audit:AuditHooks")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{ENV_HOOKS} entry {path!r}: cannot import {module_name!r}: {exc}",
                          code=Code.HooksInvalid,
                          hint="install the package that provides it, or fix the name") from exc
    target = getattr(module, attribute, None)
    if target is None:
        raise ConfigError(f"{ENV_HOOKS} entry {path!r}: {module_name} has no {attribute!r}",
                          code=Code.HooksInvalid, hint="check the attribute's name")
    hooks = target() if callable(target) and not isinstance(target, Hooks) else target
    if not isinstance(hooks, Hooks):
        raise ConfigError(f"{ENV_HOOKS} entry {path!r} gave a {type(hooks).__name__}, "
                          "not a states.Hooks", code=Code.HooksInvalid,
                          hint="subclass states.Hooks and override what you need")
    return hooks
