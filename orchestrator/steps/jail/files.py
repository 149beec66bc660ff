"""Reading what a jailed program left behind, as hostile data.

A jail can write its output folder, so anything in it may be a symbolic link (to
another team's package, to ``/proc/self/environ``), a FIFO that blocks the reader, a
device, or a file that keeps growing. ``open_beneath`` walks from a folder the worker
made, one component at a time with ``O_NOFOLLOW`` (a link anywhere on the way, not only
at the end, is refused), checks that what it opened is a regular file under a size
cap, and returns that descriptor: the worker reads the file it checked, never a path a
jail could swap afterwards.

Errors are ``JailOutputInvalid`` with the file's name relative to the folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from orchestrator.codes import Code
from orchestrator.errors import BuildError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _refused(rel: str, what: str) -> BuildError:
    return BuildError(f"the jail's output {rel!r} {what}", code=Code.JailOutputInvalid,
                      hint="a build step must leave regular files in its output folder, not "
                           "links, pipes or devices, and within the size limit",
                      details={"file": rel})


def open_beneath(root: Path, rel: str, *, max_bytes: int) -> BinaryIO:
    """Open ``root/rel`` for reading without following any link below ``root``; a
    regular file of at most ``max_bytes`` or JailOutputInvalid."""
    parts = PurePosixPath(rel).parts
    if not parts or any(p in ("", ".", "..", "/") for p in parts):
        raise _refused(rel, "is not a plain relative path")
    fd = os.open(root, _DIR_FLAGS)
    try:
        for part in parts[:-1]:
            try:
                nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                raise _refused(rel, f"cannot be reached ({exc.strerror})") from None
            os.close(fd)
            fd = nxt
        try:
            file_fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=fd)
        except OSError as exc:
            reason = ("is a symbolic link" if exc.errno == errno.ELOOP
                      else f"cannot be opened ({exc.strerror})")
            raise _refused(rel, reason) from None
    finally:
        os.close(fd)
    try:
        info = os.fstat(file_fd)
        if not stat.S_ISREG(info.st_mode):
            raise _refused(rel, "is not a regular file")
        if info.st_size > max_bytes:
            raise _refused(rel, f"is {info.st_size:,} bytes, over {max_bytes:,}")
        os.set_blocking(file_fd, True)
        return os.fdopen(file_fd, "rb")
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(file_fd)
        raise


def read_beneath(root: Path, rel: str, *, max_bytes: int) -> bytes:
    """The bytes of ``root/rel`` (see ``open_beneath``); a file that grows past
    ``max_bytes`` while it is read is refused too."""
    with open_beneath(root, rel, max_bytes=max_bytes) as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _refused(rel, f"grew past {max_bytes:,} bytes while it was read")
    return data
