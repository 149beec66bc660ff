"""The zygote the chaos harness forks its workers from (tests/chaos/zygote.py): a child
is the ``python -m`` process it replaces (environment, working directory, streams,
descriptors, signal handlers, argv, exit status), the zygote reaps every child and
reports how it ended, and a zygote that dies makes every call about its children fail
instead of hang."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.zygotes import (
    REPO,
    ForkedProcess,
    Zygote,
    ZygoteDied,
    ZygoteUnfit,
    import_env,
)
from tests.processes import running

PROBE = "tests.chaos.zygote_probe"
PROBE_FILE = str(REPO / "tests" / "chaos" / "zygote_probe.py")


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), **extra}
    return {k: v for k, v in env.items() if v != "-"}


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    z = Zygote(_env(), preload=[PROBE])
    try:
        yield z
    finally:
        z.close()


def _spawn(zygote: Zygote, tmp_path: Path, action: str, **env: str) -> tuple[ForkedProcess, Path]:
    cwd = tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    log = tmp_path / f"{action.replace(':', '-')}.log"
    child = zygote.spawn([sys.executable, "-m", PROBE, action], env=_env(**env), cwd=cwd,
                         log=log)
    return child, log


def _report(log: Path) -> dict[str, Any]:
    return dict(json.loads(log.read_text().splitlines()[0]))


def _reaped(pid: int) -> bool:
    """Gone from the process table: neither running nor a zombie."""
    return not Path(f"/proc/{pid}").exists()


def test_a_child_is_the_command_it_replaces(zygote: Zygote, tmp_path: Path) -> None:
    # PATH is in the zygote's environment, not in this child's
    env = {"TMPDIR": str(tmp_path), "ONLY_MINE": "yes", "PATH": "-"}
    child, log = _spawn(zygote, tmp_path, "child", **env)
    assert child.wait(timeout=30) == 0, log.read_text()
    forked = _report(log)
    exec_log = tmp_path / "exec.log"
    with exec_log.open("wb") as out:
        subprocess.run([sys.executable, "-m", PROBE, "child"], env=_env(**env),
                       cwd=tmp_path / "cwd", stdin=subprocess.DEVNULL, stdout=out,
                       stderr=subprocess.STDOUT, check=True)
    execd = _report(exec_log)
    assert forked.pop("pid") == child.pid and _reaped(child.pid)
    execd.pop("pid")
    assert forked == execd  # environment, C environment, cwd, argv, fds, signals, ...
    assert forked["name"] == "__main__" and forked["argv"] == [PROBE_FILE, "child"]
    assert forked["cwd"] == str(tmp_path / "cwd") == forked["path0"]  # as -m puts it
    assert forked["env"] == _env(**env) and "PATH" not in forked["child_env"]
    assert forked["child_env"]["ONLY_MINE"] == "yes" and forked["tmp"] == str(tmp_path)
    assert forked["fds"] == [0, 1, 2, 3]  # 3: the listing's own
    assert forked["stdin"] == os.devnull and forked["wakeup_fd"] == -1
    assert forked["threads"] == 1
    assert log.read_text().splitlines()[1] == "a line on stderr"  # stderr to the log too


def test_stderr_may_go_to_a_file_of_its_own(zygote: Zygote, tmp_path: Path) -> None:
    out, err = tmp_path / "out", tmp_path / "err"
    child = zygote.spawn([sys.executable, "-m", PROBE, "exit:0"], env=_env(), cwd=tmp_path,
                         log=out, stderr=err)
    assert child.wait(timeout=30) == 0
    assert len(out.read_text().splitlines()) == 1 and _report(out)["fds"] == [0, 1, 2, 3]
    assert err.read_text() == "a line on stderr\n"


@pytest.mark.parametrize(("action", "status"), [
    ("exit:0", 0), ("exit:3", 3), ("raise", 1),
])
def test_exit_statuses_are_popens(zygote: Zygote, tmp_path: Path, action: str,
                                  status: int) -> None:
    child, log = _spawn(zygote, tmp_path, action)
    assert child.wait(timeout=30) == status, log.read_text()
    assert child.poll() == child.returncode == status
    assert child.cpu_seconds is not None and 0 <= child.cpu_seconds < 30
    if action == "raise":
        assert "RuntimeError: the probe failed on purpose" in log.read_text()


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_signalled_child_reports_minus_the_signal(zygote: Zygote, tmp_path: Path,
                                                   signum: int) -> None:
    child, log = _spawn(zygote, tmp_path, "sleep")
    deadline = time.monotonic() + 30
    while not log.exists() or not log.read_text():
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.02)
    assert child.poll() is None
    with pytest.raises(subprocess.TimeoutExpired):
        child.wait(timeout=0.05)
    child.send_signal(signum)
    assert child.wait(timeout=30) == -signum
    assert _reaped(child.pid)
    child.send_signal(signal.SIGKILL)  # exited: nothing is sent to its pid any more


def test_a_dead_zygote_fails_loudly_and_takes_its_children(tmp_path: Path) -> None:
    zygote = Zygote(_env(), preload=[PROBE])
    child, _ = _spawn(zygote, tmp_path, "sleep")
    try:
        zygote.proc.kill()
        with pytest.raises(ZygoteDied, match="exited with status -9"):
            child.wait(timeout=30)
        with pytest.raises(ZygoteDied):
            child.poll()
        with pytest.raises(ZygoteDied):
            _spawn(zygote, tmp_path, "exit:0")
        deadline = time.monotonic() + 30
        while running(child.pid):  # SIGKILLed by the kernel as its parent died
            assert time.monotonic() < deadline, "the zygote's child outlived it"
            time.sleep(0.02)
    finally:
        zygote.close()


def test_closing_kills_and_reaps_the_children_left(tmp_path: Path) -> None:
    zygote = Zygote(_env(), preload=[PROBE])
    child, _ = _spawn(zygote, tmp_path, "sleep")
    zygote.close()
    assert zygote.proc.returncode == 0
    assert child.returncode == -signal.SIGKILL and _reaped(child.pid)


def test_only_children_that_agree_on_what_was_read_before_the_fork(zygote: Zygote,
                                                                     tmp_path: Path) -> None:
    assert import_env({"PYTHONPATH": "x", "LC_ALL": "C", "LANG": "C", "HOME": "/h",
                       "AUTO_LAMBDA_FAULTS": "f"}) == {
        "PYTHONPATH": "x", "LC_ALL": "C", "LANG": "C", "HOME": "/h"}
    with pytest.raises(ValueError, match="read before a fork"):
        _spawn(zygote, tmp_path, "exit:0", PYTHONHASHSEED="1")
    with pytest.raises(ValueError, match="read before a fork"):
        _spawn(zygote, tmp_path, "exit:0", HOME=str(tmp_path))
    with pytest.raises(ValueError, match="-m MODULE"):
        zygote.spawn([sys.executable, "-c", "pass"], env=_env(), cwd=tmp_path,
                     log=tmp_path / "x.log")


def test_the_workers_imports_read_only_what_a_zygote_is_keyed_on() -> None:
    """The worker's modules, imported as the harness's zygotes do: every variable they
    read is one a child must share with its zygote (else spawn would refuse)."""
    zygote = Zygote(_env())
    try:
        read = zygote.imports_read()
        assert "HOME" in read  # botocore's ~/.aws paths, kept in class attributes
        assert set(import_env(dict.fromkeys(read, ""))) == set(read), read
    finally:
        zygote.close()


def test_a_zygote_whose_imports_read_a_setting_refuses_to_fork(tmp_path: Path) -> None:
    probe = tmp_path / "reads_at_import.py"
    probe.write_text("import os\nLEVEL = os.environ.get('AUTO_LAMBDA_SOMETHING')\n")
    zygote = Zygote(_env(PYTHONPATH=f"{REPO}{os.pathsep}{tmp_path}"),
                    preload=["reads_at_import"])
    try:
        with pytest.raises(ZygoteUnfit, match="AUTO_LAMBDA_SOMETHING"):
            zygote.spawn([sys.executable, "-m", PROBE, "exit:0"],
                         env=_env(PYTHONPATH=f"{REPO}{os.pathsep}{tmp_path}"), cwd=tmp_path,
                         log=tmp_path / "x.log")
    finally:
        zygote.close()
