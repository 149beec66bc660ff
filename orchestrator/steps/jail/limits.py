"""Resource limits for jailed code, and the small trusted launcher that applies them.

The launcher runs inside the jail, first: it sets the limits on itself (they are
inherited by everything it starts), drops to the jail's user when the worker runs as
root, and only then executes the real command. Setting limits between fork and exec
in the worker would need ``preexec_fn``, which is unsafe in the worker's threads.

The launcher is standard library only and runs under any Python 3.10+ (it is started
with the interpreter the jailed command uses). Nothing of the app has run before it
hands over, so nothing here is trusted beyond the limits it set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

# Runs as `python -I -S -c LAUNCHER CONFIG_JSON ARGV...`.
LAUNCHER = """\
import json, os, resource, sys
cfg = json.loads(sys.argv[1])
for name, soft, hard in cfg["limits"]:
    which = getattr(resource, name, None)
    if which is None:
        continue
    cur_hard = resource.getrlimit(which)[1]
    if cur_hard != resource.RLIM_INFINITY:
        hard = min(hard, cur_hard)
    resource.setrlimit(which, (min(soft, hard), hard))
uid = cfg.get("uid")
if uid is not None:
    os.setgroups([])
    os.setgid(cfg["gid"])
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid:
        sys.exit("jail launcher: could not drop privileges")
os.umask(0o022)
os.chdir(cfg["cwd"])
os.execv(sys.argv[2], sys.argv[2:])
"""


@dataclass(frozen=True)
class Limits:
    """Per-process caps inside the jail (RLIMIT_*). ``processes`` counts every process
    and thread of the jail's user, so it also stops a fork bomb."""

    memory_bytes: int
    cpu_seconds: int
    processes: int = 128
    file_bytes: int = 512 * 1024 * 1024
    open_files: int = 1024

    def rlimits(self) -> list[tuple[str, int, int]]:
        return [
            ("RLIMIT_AS", self.memory_bytes, self.memory_bytes),
            ("RLIMIT_DATA", self.memory_bytes, self.memory_bytes),
            ("RLIMIT_CPU", self.cpu_seconds, self.cpu_seconds + 5),
            ("RLIMIT_NPROC", self.processes, self.processes),
            ("RLIMIT_FSIZE", self.file_bytes, self.file_bytes),
            ("RLIMIT_NOFILE", self.open_files, self.open_files),
            ("RLIMIT_CORE", 0, 0),
        ]


def launcher_config(limits: Limits, *, cwd: str, uid: int | None, gid: int | None) -> str:
    doc: dict[str, object] = {"limits": limits.rlimits(), "cwd": cwd}
    if uid is not None:
        doc["uid"], doc["gid"] = uid, gid if gid is not None else uid
    return json.dumps(doc, separators=(",", ":"))
