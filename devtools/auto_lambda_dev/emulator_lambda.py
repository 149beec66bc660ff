"""Make the embedded emulator's Lambda versions behave as AWS's do where pruning shows.

moto (5.x) numbers a new version ``len(versions) + 1``: once a version is deleted, the
next publish reuses a number already given (AWS never does: numbers only grow), so a
pruned function would get two different version 7s. And moto deletes a version an alias
points at, where AWS refuses with ResourceConflictException (409), leaving the alias
pointing at nothing. Here a publish numbers after the highest version the function ever
had, and a delete of an alias's version (or of one it routes weight to) is refused.

Applied by ``emulator.start_server`` (the embedded local stack) and by the tests that
prune, never on AWS, and only when moto's storage still has the methods with the
shapes this was written for; otherwise moto is left exactly as it is.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

_MARK = "_auto_lambda_like_aws"


def lambda_like_aws() -> bool:
    """Patch moto's Lambda storage once; True if it is (now) patched."""
    try:
        from moto.awslambda.exceptions import LambdaClientError
        from moto.awslambda.models import LambdaStorage
    except ImportError:
        return False
    if getattr(LambdaStorage.publish_version, _MARK, False):
        return True
    if not all(callable(getattr(LambdaStorage, name, None)) for name in
               ("publish_version", "del_function", "_get_function_aliases",
                "get_function_by_name_or_arn_with_qualifier")):
        log.info("moto's LambdaStorage changed shape: its versions are left as they are")
        return False
    publish, delete = LambdaStorage.publish_version, LambdaStorage.del_function

    class ResourceConflict(LambdaClientError):
        code = 409

        def __init__(self, message: str) -> None:
            super().__init__("ResourceConflictException", message)

    def publish_version(self: Any, name_or_arn: str, description: str = "") -> Any:
        group = _group(self, name_or_arn)
        if group is None:
            return publish(self, name_or_arn, description)
        name, versions = group
        highest: dict[str, int] = self.__dict__.setdefault("_auto_lambda_highest", {})
        floor = max([highest.get(name, 0), *(int(v.version) for v in versions)])
        count = len(versions)
        made: Any = publish(self, name_or_arn, description)
        if len(versions) > count and int(made.version) != floor + 1:
            # moto numbered it len(versions) and filed it under that ARN, which may be
            # an existing version's: put that one back, and give this the next number.
            clash = made.function_arn
            made.set_version(floor + 1)
            same = [v for v in versions if v is not made and v.function_arn == clash]
            if same:
                self._arns[clash] = same[0]
            else:
                self._arns.pop(clash, None)
            self._arns[made.function_arn] = made
        highest[name] = max([floor, *(int(v.version) for v in versions)])
        return made

    def del_function(self: Any, name_or_arn: str, qualifier: str | None = None) -> Any:
        if qualifier and qualifier != "$LATEST":
            aliases = self._get_function_aliases(name_or_arn)
            using = sorted(a.name for a in aliases.values()
                           if str(a.function_version) == qualifier
                           or qualifier in _weights(a))
            if using:
                raise ResourceConflict(
                    "Unable to delete version because the following aliases reference it: "
                    + str(using))
        return delete(self, name_or_arn, qualifier)

    for fn in (publish_version, del_function):
        setattr(fn, _MARK, True)
    setattr(LambdaStorage, "publish_version", publish_version)  # noqa: B010 - a patch
    setattr(LambdaStorage, "del_function", del_function)  # noqa: B010 - a patch
    return True


def _group(storage: Any, name_or_arn: str) -> tuple[str, list[Any]] | None:
    try:
        fn = storage.get_function_by_name_or_arn_with_qualifier(name_or_arn)
    except Exception:
        return None
    group = storage._functions.get(fn.function_name)
    return (fn.function_name, group["versions"]) if group else None


def _weights(alias: Any) -> dict[str, float]:
    routing = getattr(alias, "routing_config", None) or {}
    return dict(routing.get("AdditionalVersionWeights") or {})
