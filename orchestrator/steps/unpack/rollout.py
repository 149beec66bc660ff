"""``[deploy]`` of ``auto-lambda.toml``: how ``live`` moves to a verified version.

Strategies as CodeDeploy names them for Lambda: ``all-at-once``; ``canary`` (one share of
the traffic for a bake, then all of it); ``linear`` (equal increments, a bake after each).
A ``preset`` gives CodeDeploy's predefined configurations (``Canary10Percent5Minutes``,
``Linear10PercentEvery1Minute``, ...); custom ``steps`` give the shares and bakes
directly. The old ``strategy = "gradual"`` with ``weights`` and ``bake_seconds`` still
works: it is a custom rollout, one step per weight, each baking ``bake_seconds``.

``alarms`` names CloudWatch alarms that gate every step; ``pre_traffic_hook`` and
``post_traffic_hook`` name team Lambda functions invoked before traffic moves and once it
all has. Names are checked against the team's namespace at unpack
(``check_team_names``), once the team is known.

Pure parsing: no AWS, no files. Every refusal is a ManifestError with its own code.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import asdict, dataclass
from typing import ClassVar

from orchestrator.errors import AlarmOutsideTeam, RolloutInvalid, RolloutPresetUnknown
from orchestrator.tenancy import function_name, own_app_name
from orchestrator.types import JsonMapping, JsonObject

DEPLOY_KEYS = ("strategy", "preset", "steps", "weights", "bake_seconds", "alarms",
               "pre_traffic_hook", "post_traffic_hook", "recheck")
STRATEGIES = ("all-at-once", "canary", "linear")
# The manifest's first rollout: kept working, as a custom rollout (docs/manifest.md).
LEGACY_GRADUAL = "gradual"
DEFAULT_STRATEGY = "all-at-once"
DEFAULT_WEIGHTS = (0.1, 0.5)
DEFAULT_BAKE_SECONDS = 60
MAX_STEPS = 20
# Bakes park the job (no worker is held), so they may last hours; the cap stops a typo
# (a bake of a year) from keeping a rollout open for ever. CodeDeploy's own limit on a
# traffic-shifting deployment is 2 days.
MAX_ROLLOUT_SECONDS = 2 * 86_400
MAX_ALARMS = 10
# CloudWatch alarm names: up to 255 printable characters; auto-lambda keeps to a safe set.
_ALARM_RE = re.compile(r"^[A-Za-z0-9._\-/:#]{1,255}\Z")

# CodeDeploy's predefined Lambda deployment configurations.
PRESETS: dict[str, tuple[str, tuple[tuple[float, int], ...]]] = {
    "AllAtOnce": ("all-at-once", ()),
    **{f"Canary10Percent{m}Minutes": ("canary", ((0.1, m * 60),)) for m in (5, 10, 15, 30)},
    **{f"Linear10PercentEvery{m}Minute{'s' if m > 1 else ''}":
       ("linear", tuple((round(0.1 * i, 2), m * 60) for i in range(1, 10)))
       for m in (1, 2, 3, 10)},
}
DEFAULT_PRESET = {"canary": "Canary10Percent5Minutes", "linear": "Linear10PercentEvery1Minute"}


@dataclass(frozen=True)
class RolloutStep:
    """Send ``weight`` of ``live``'s traffic to the new version, then bake ``bake_seconds``."""

    weight: float
    bake_seconds: int


@dataclass(frozen=True)
class DeployPlan:
    """The parsed ``[deploy]`` table. ``requested`` is the strategy as written (``gradual``
    included); ``strategy`` is canonical. ``steps`` is empty for all-at-once."""

    KEY: ClassVar[str] = "deploy"
    strategy: str = DEFAULT_STRATEGY
    requested: str = DEFAULT_STRATEGY
    preset: str | None = None
    steps: tuple[RolloutStep, ...] = ()
    alarms: tuple[str, ...] = ()
    pre_traffic_hook: str | None = None
    post_traffic_hook: str | None = None
    recheck: bool = True

    @property
    def gradual(self) -> bool:
        return bool(self.steps)

    @property
    def weights(self) -> tuple[float, ...]:
        return tuple(s.weight for s in self.steps)

    def to_json(self) -> JsonObject:
        out = asdict(self)
        out["steps"] = [asdict(s) for s in self.steps]
        out["alarms"] = list(self.alarms)
        return out

    @classmethod
    def from_json(cls, raw: JsonMapping) -> DeployPlan:
        return cls(strategy=str(raw.get("strategy") or DEFAULT_STRATEGY),
                   requested=str(raw.get("requested") or DEFAULT_STRATEGY),
                   preset=raw.get("preset") or None,
                   steps=tuple(RolloutStep(float(s["weight"]), int(s["bake_seconds"]))
                               for s in raw.get("steps") or ()),
                   alarms=tuple(str(a) for a in raw.get("alarms") or ()),
                   pre_traffic_hook=raw.get("pre_traffic_hook") or None,
                   post_traffic_hook=raw.get("post_traffic_hook") or None,
                   recheck=bool(raw.get("recheck", True)))


def _invalid(message: str, hint: str) -> RolloutInvalid:
    return RolloutInvalid(message, hint=hint)


def _whole_seconds(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _invalid(f"[deploy].{where} must be a whole number of seconds >= 0, "
                       f"got {value!r}", "for example bake_seconds = 300")
    return value


def _weight(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise _invalid(f"[deploy].{where} = {value!r} is not a share of traffic in (0, 1)",
                       "each step sends that share of live's traffic to the new version, "
                       "between 0 and 1 exclusive (1 is the final step, implied)")
    return float(value)


def _check_steps(steps: list[RolloutStep], strategy: str) -> tuple[RolloutStep, ...]:
    if not steps or len(steps) > MAX_STEPS:
        raise _invalid(f"[deploy] gives {len(steps)} rollout steps; give 1 to {MAX_STEPS}",
                       "for example steps = [{ weight = 0.1, bake_seconds = 300 }]")
    if strategy == "canary" and len(steps) != 1:
        raise _invalid(f"a canary rollout has one step before all traffic moves, got "
                       f"{len(steps)}", 'use strategy = "linear" for several steps')
    for before, after in itertools.pairwise(steps):
        if after.weight <= before.weight:
            raise _invalid(f"[deploy] steps' weights {[s.weight for s in steps]} are not "
                           f"strictly increasing", "list each step's share once, smallest first")
    total = sum(s.bake_seconds for s in steps)
    if total > MAX_ROLLOUT_SECONDS:
        raise _invalid(f"[deploy] bakes add up to {total:,} s, over {MAX_ROLLOUT_SECONDS:,} s",
                       "shorten the bakes: a rollout may last at most 2 days")
    return tuple(steps)


def _custom_steps(raw: object) -> list[RolloutStep]:
    if not isinstance(raw, list):
        raise _invalid(f"[deploy].steps must be a list of tables, got {raw!r}",
                       "for example steps = [{ weight = 0.1, bake_seconds = 300 }]")
    out: list[RolloutStep] = []
    for index, item in enumerate(raw):
        where = f"steps[{index}]"
        if not isinstance(item, dict) or set(item) != {"weight", "bake_seconds"}:
            raise _invalid(f"[deploy].{where} must be a table of weight and bake_seconds, "
                           f"got {item!r}", "for example { weight = 0.1, bake_seconds = 300 }")
        out.append(RolloutStep(_weight(item["weight"], f"{where}.weight"),
                               _whole_seconds(item["bake_seconds"], f"{where}.bake_seconds")))
    return out


def _legacy_steps(table: JsonMapping) -> list[RolloutStep]:
    """``strategy = "gradual"``: one step per weight, each baking ``bake_seconds``."""
    raw = table.get("weights", list(DEFAULT_WEIGHTS))
    if not isinstance(raw, list) or not raw:
        raise _invalid(f"[deploy].weights must be a list of numbers, got {raw!r}",
                       "for example weights = [0.1, 0.5]")
    bake = _whole_seconds(table.get("bake_seconds", DEFAULT_BAKE_SECONDS), "bake_seconds")
    return [RolloutStep(_weight(w, f"weights[{i}]"), bake) for i, w in enumerate(raw)]


def _names(table: JsonMapping, key: str) -> tuple[str, ...]:
    raw = table.get(key, [])
    if not isinstance(raw, list) or len(raw) > MAX_ALARMS:
        raise _invalid(f"[deploy].{key} must be a list of at most {MAX_ALARMS} alarm names",
                       f'for example {key} = ["auto-lambda-<team>-api-5xx"]')
    for name in raw:
        if not isinstance(name, str) or not _ALARM_RE.match(name):
            raise _invalid(f"[deploy].{key} holds {name!r}, which is not an alarm name",
                           "use the CloudWatch alarm's name (letters, digits, . _ - / : #)")
    return tuple(dict.fromkeys(raw))


def _hook(table: JsonMapping, key: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _invalid(f"[deploy].{key} must be a function name, got {value!r}",
                       f'for example {key} = "checks" (an app of your team)')
    return value


def read_deploy(table: JsonMapping) -> DeployPlan:
    """The ``[deploy]`` table (its keys already limited to DEPLOY_KEYS) as a plan."""
    requested = table.get("strategy")
    preset = table.get("preset")
    if requested is not None and requested not in (*STRATEGIES, LEGACY_GRADUAL):
        raise _invalid(f"[deploy].strategy {requested!r} is not known",
                       'use "all-at-once" (the default), "canary" or "linear"')
    if preset is not None and preset not in PRESETS:
        raise RolloutPresetUnknown(
            f"[deploy].preset {preset!r} is not one of CodeDeploy's configurations",
            hint="use one of " + ", ".join(PRESETS))
    legacy = requested == LEGACY_GRADUAL
    given = [k for k in ("weights", "bake_seconds") if k in table]
    if given and not legacy:
        raise _invalid(f"[deploy].{given[0]} applies only to strategy = \"gradual\"",
                       'for the other strategies give a preset or steps = [...]')
    if legacy and ("preset" in table or "steps" in table):
        raise _invalid('strategy = "gradual" takes weights and bake_seconds, not preset or '
                       'steps', 'write strategy = "linear" with steps = [...] instead')
    if preset is not None and "steps" in table:
        raise _invalid("[deploy] gives both a preset and steps", "keep one of them")
    strategy: str
    if legacy:
        strategy, steps = "linear", _legacy_steps(table)
    elif preset is not None:
        strategy, preset_steps = PRESETS[preset]
        if requested is not None and requested != strategy:
            raise RolloutPresetUnknown(
                f"[deploy].preset {preset!r} is a {strategy} configuration, not {requested}",
                hint=f'write strategy = "{strategy}", or a preset of the {requested} kind')
        steps = [RolloutStep(w, b) for w, b in preset_steps]
    else:
        strategy = requested or DEFAULT_STRATEGY
        if "steps" in table:
            if strategy == "all-at-once":
                raise _invalid('[deploy].steps does not apply to strategy = "all-at-once"',
                               'use strategy = "canary" or "linear" with steps')
            steps = _custom_steps(table["steps"])
        elif strategy in DEFAULT_PRESET:
            preset = DEFAULT_PRESET[strategy]
            steps = [RolloutStep(w, b) for w, b in PRESETS[preset][1]]
        else:
            steps = []
    recheck = table.get("recheck", True)
    if not isinstance(recheck, bool):
        raise _invalid(f"[deploy].recheck must be true or false, got {recheck!r}",
                       "recheck = false skips re-running [verify]'s events at each step")
    plan = DeployPlan(strategy=strategy, requested=str(requested or strategy), preset=preset,
                      steps=_check_steps(steps, strategy) if strategy != "all-at-once" else (),
                      alarms=_names(table, "alarms"),
                      pre_traffic_hook=_hook(table, "pre_traffic_hook"),
                      post_traffic_hook=_hook(table, "post_traffic_hook"), recheck=recheck)
    if strategy == "all-at-once" and (plan.alarms or plan.pre_traffic_hook
                                      or plan.post_traffic_hook):
        raise _invalid("[deploy] alarms and traffic hooks gate a canary or linear rollout; "
                       "all-at-once has no step for them to gate",
                       'use strategy = "canary" (or "linear"), or remove them')
    return plan


def team_prefix(prefix: str, team: str) -> str:
    """The start every name of a team's own resources has: ``<prefix>-<team>-``."""
    return f"{prefix}-{team}-"


def check_team_names(plan: DeployPlan, prefix: str, team: str) -> DeployPlan:
    """``plan`` with its hooks as full function names of the team's own, once the team is
    known; AlarmOutsideTeam for an alarm outside ``<prefix>-<team>-``, ForbiddenFunctionName
    for a hook naming another team's function."""
    mine = team_prefix(prefix, team)
    for alarm in plan.alarms:
        if not alarm.startswith(mine):
            raise AlarmOutsideTeam(
                f"[deploy].alarms names {alarm!r}, which is not one of team {team!r}'s alarms",
                hint=f"name alarms of your own, starting with {mine!r}")

    def full(hook: str | None) -> str | None:
        if hook is None:
            return None
        return function_name(prefix, team, own_app_name(prefix, team, hook))

    return DeployPlan(strategy=plan.strategy, requested=plan.requested, preset=plan.preset,
                      steps=plan.steps, alarms=plan.alarms,
                      pre_traffic_hook=full(plan.pre_traffic_hook),
                      post_traffic_hook=full(plan.post_traffic_hook), recheck=plan.recheck)
