"""The alarms that gate a rollout: the team's own (``[deploy].alarms``) and the ones
auto-lambda creates on the new version's Errors and Throttles, through the alias's
``ExecutedVersion`` dimension (Resource ``<function>:live``, ExecutedVersion ``N``), so
only invocations the new version served count, whatever share of traffic it has.

Reads and writes go through the CloudWatch door (``aws.metrics``); this module decides
names, specs and what an answer means. Deleting auto-lambda's alarms at the end of a
rollout is best effort: an alarm left behind gates nothing and costs cents.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.aws.facade import Aws
from orchestrator.aws.metrics import AlarmSpec
from orchestrator.config import LIVE_ALIAS
from orchestrator.errors import AlarmNotFound

log = logging.getLogger(__name__)

LAMBDA_NAMESPACE = "AWS/Lambda"
OWN_METRICS = ("Errors", "Throttles")
ALARM = "ALARM"
# One minute, the finest period Lambda's metrics have; one error or throttle trips it.
PERIOD_SECONDS = 60
THRESHOLD = 1.0


def own_alarm_name(function_name: str, version: str, metric: str) -> str:
    return f"{function_name}-v{version}-rollout-{metric.lower()}"


def own_alarms(function_name: str, version: str) -> list[AlarmSpec]:
    """auto-lambda's alarms on ``function_name``'s ``version`` as served through ``live``."""
    dims = [{"Name": "FunctionName", "Value": function_name},
            {"Name": "Resource", "Value": f"{function_name}:{LIVE_ALIAS}"},
            {"Name": "ExecutedVersion", "Value": version}]
    return [AlarmSpec(name=own_alarm_name(function_name, version, metric),
                      namespace=LAMBDA_NAMESPACE, metric=metric,
                      dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in dims],
                      period=PERIOD_SECONDS, threshold=THRESHOLD,
                      description=f"auto-lambda rollout gate: {metric} of {function_name} "
                                  f"version {version} through {LIVE_ALIAS}")
            for metric in OWN_METRICS]


def create_own(aws: Aws, function_name: str, version: str, team: str) -> tuple[str, ...]:
    """Create (or replace) auto-lambda's alarms for the new version; their names."""
    specs = own_alarms(function_name, version)
    for spec in specs:
        aws.metrics.put_alarm(spec, tags={"auto-lambda:managed": "true",
                                          "auto-lambda:team": team})
    return tuple(spec["name"] for spec in specs)


def require_existing(aws: Aws, names: Sequence[str]) -> None:
    """AlarmNotFound naming the team's alarms that do not exist (before traffic moves)."""
    if not names:
        return
    found = aws.metrics.alarm_states(names)
    missing = [n for n in names if n not in found]
    if missing:
        raise AlarmNotFound(f"[deploy].alarms names alarm(s) that do not exist: "
                            f"{', '.join(missing)}",
                            hint="create them in CloudWatch first, or remove them from "
                                 "[deploy].alarms", details={"alarms": missing})


@dataclass(frozen=True)
class Gate:
    """What the alarms said: the ones in ALARM, and the ones that vanished."""

    in_alarm: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.in_alarm and not self.missing


def read_gate(aws: Aws, names: Sequence[str]) -> Gate:
    if not names:
        return Gate((), ())
    states = aws.metrics.alarm_states(names)
    return Gate(tuple(n for n in names if states.get(n) == ALARM),
                tuple(n for n in names if n not in states))


def delete_own(aws: Aws, names: Sequence[str]) -> None:
    try:
        aws.metrics.delete_alarms(names)
    except Exception:  # best effort: see the module docstring
        log.warning("could not delete rollout alarms %s", list(names), exc_info=True)
