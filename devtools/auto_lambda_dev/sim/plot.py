"""Plot backlog and capacity over time for each policy (matplotlib, Agg backend).

Writes one small PNG; draws nothing on screen and runs no simulation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from auto_lambda_dev.sim.runner import PolicyResult
from auto_lambda_dev.sim.scenarios import Scenario


def plot(path: Path, scenario: Scenario, results: Sequence[PolicyResult],
         dpi: int = 72) -> Path:
    # matplotlib (the 'sim' extra) loads only when a plot is asked for
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    start = scenario.plot_from
    end = scenario.plot_until
    hours = (end or scenario.horizon) - start > 4 * 3600
    scale, unit = (3600.0, "h") if hours else (60.0, "min")
    for r in results:
        points = [s for s in r.samples
                  if s.time >= start and (end is None or s.time <= end)]
        xs = [(s.time - start) / scale for s in points]
        # The oracle is the floor the others are read against: drawn dashed, in black.
        style = ({"linestyle": "--", "color": "black"} if r.policy == "oracle" else {})
        top.plot(xs, [s.visible + s.in_flight for s in points], label=r.policy, linewidth=1,
                 **style)
        bottom.step(xs, [s.in_service for s in points], where="post", label=r.policy,
                    linewidth=1, **style)
    top.set_ylabel("backlog (messages)")
    bottom.set_ylabel("InService instances")
    offset = f" from hour {start / 3600:g}" if start else ""
    bottom.set_xlabel(f"time ({unit}){offset}")
    top.set_title(f"{scenario.name}: {scenario.description}", fontsize=10)
    top.legend(fontsize=8, ncol=3)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
