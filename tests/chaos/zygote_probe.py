"""What a process forked by the zygote sees, for tests/chaos/test_zygote.py:
``python -m tests.chaos.zygote_probe ACTION`` prints a JSON report on stdout and a line
on stderr, then ACTION: ``exit:N``, ``raise``, ``sleep`` (until signalled) or ``child``
(runs a subprocess that reports its inherited environment)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time


def report() -> dict[str, object]:
    return {
        "name": __name__, "argv": sys.argv, "cwd": os.getcwd(), "path0": sys.path[0],
        "env": dict(os.environ), "pid": os.getpid(), "tmp": tempfile.gettempdir(),
        "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
        "stdin": os.readlink("/proc/self/fd/0"),
        "signals": {name: _handler(getattr(signal, name))
                    for name in ("SIGINT", "SIGTERM", "SIGCHLD", "SIGPIPE", "SIGXFSZ")},
        "wakeup_fd": signal.set_wakeup_fd(-1), "threads": threading.active_count(),
    }


def _handler(signum: int) -> str:
    handler = signal.getsignal(signum)
    if handler is signal.default_int_handler:
        return "default_int_handler"
    return str(handler)


if __name__ == "__main__":
    action = sys.argv[1]
    facts = report()
    if action == "child":
        out = subprocess.run([sys.executable, "-c", "import os, json; "
                              "print(json.dumps(dict(os.environ)))"],
                             capture_output=True, text=True, check=True).stdout
        facts["child_env"] = json.loads(out)
    print(json.dumps(facts), flush=True)
    print("a line on stderr", file=sys.stderr, flush=True)
    if action.startswith("exit:"):
        sys.exit(int(action.partition(":")[2]))
    if action == "raise":
        raise RuntimeError("the probe failed on purpose")
    if action == "sleep":
        while True:
            time.sleep(60)
