"""Stop a worker whose parent is gone.

A process that starts workers (``local up``, ``demo``) stops them with SIGTERM when it
stops. Killed outright (SIGKILL, a CI timeout, an out-of-memory kill) it cannot: its
workers, in their own session, would poll a stack that is gone for ever. Given the
parent's pid (``auto-lambda worker --parent-pid``), a worker notices that the kernel gave
it another parent and drains as on SIGTERM: nothing is lost, nothing is left behind.
On AWS the instance's service manager runs the worker and no pid is given.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

log = logging.getLogger("worker")


class NotTheParent(ValueError):
    """The pid given is not this process's parent (it may have died already)."""


def watch_parent(pid: int, on_gone: Callable[[], None], *, every: float = 1.0,
                 getppid: Callable[[], int] = os.getppid,
                 stopped: threading.Event | None = None) -> threading.Thread:
    """Call ``on_gone`` once, from a daemon thread, when ``pid`` is no longer this
    process's parent (checked every ``every`` seconds, until ``stopped`` is set)."""
    actual = getppid()
    if actual != pid:
        raise NotTheParent(f"process {pid} is not this worker's parent (that is {actual})")
    done = stopped or threading.Event()

    def watch() -> None:
        while not done.wait(every):
            parent = getppid()
            if parent != pid:
                log.warning("parent process %d is gone (the parent is now %d): stopping",
                            pid, parent)
                on_gone()
                return

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread
