"""What the jail costs per local verification: the same small handler run by
``run_local`` in the jail and without it (AUTO_LAMBDA_INSECURE_NO_JAIL's path: same
launcher, limits and bootstrap, no namespaces), in one process, interleaved.

Prints the median and best seconds per run of each and their ratio. Run:
``.venv/bin/python bench/jail.py [RUNS]``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from orchestrator.steps.jail import Jail, JailSettings
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.steps.verify.interpreters import find_interpreter
from orchestrator.steps.verify.runner import run_local

APP = "def handler(event, context):\n    return {'hello': event.get('name')}\n"


def main(runs: int) -> None:
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    interpreter = find_interpreter(version)
    assert interpreter is not None
    spec = AppSpec(name="bench", handler="app.handler", runtime=f"python{version}",
                   verify_event={"name": "x"})
    jails = {"jail": Jail(JailSettings()), "no jail": Jail(JailSettings(insecure_no_jail=True))}
    times: dict[str, list[float]] = {name: [] for name in jails}
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / "pkg.zip"
        with zipfile.ZipFile(package, "w") as zf:
            zf.writestr("app.py", APP)
        cache = Path(tmp) / "cache"
        for jail in jails.values():  # warm: runtime-lib copy, probes
            run_local(package, spec, interpreter, work_dir=Path(tmp) / "w", cache_dir=cache,
                      precompile=False, jail=jail)
        for _ in range(runs):
            for name, jail in jails.items():
                started = time.perf_counter()
                out = run_local(package, spec, interpreter, work_dir=Path(tmp) / "w",
                                cache_dir=cache, precompile=False, jail=jail)
                times[name].append(time.perf_counter() - started)
                assert out.output == {"hello": "x"}
    base = statistics.median(times["no jail"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:8s} median {median * 1000:7.1f} ms  best {min(values) * 1000:7.1f} ms  "
              f"ratio {median / base:5.2f}x  ({runs} runs)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
