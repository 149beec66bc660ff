"""The jail fails closed: with no bwrap, or one that cannot build namespaces, chalice
projects and local verification fail with SandboxUnavailable; the insecure escape is
refused with a machine role's credentials; the launcher never sees the app's or the
worker's variables; output is a bounded tail."""

from __future__ import annotations

import os
import sys
import time
import zipfile
from pathlib import Path

import pytest

from auto_lambda_dev.examples import example_dir
from orchestrator.errors import SandboxUnavailable
from orchestrator.steps.build.chalice import chalice_package
from orchestrator.steps.build.target import Target
from orchestrator.steps.jail import Jail, JailSettings, Limits
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.steps.verify.interpreters import find_interpreter
from orchestrator.steps.verify.runner import run_local

RUNTIME = f"python{sys.version_info[0]}.{sys.version_info[1]}"


def _broken_bwrap(tmp_path: Path) -> Path:
    """A bwrap that cannot make namespaces, as on a kernel that forbids them."""
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\n"
                    "exit 1\n")
    fake.chmod(0o755)
    return fake


@pytest.mark.parametrize("choice", ["missing", "broken"])
def test_without_a_jail_chalice_and_verify_fail_closed(tmp_path: Path, choice: str) -> None:
    path = tmp_path / "no-such-bwrap" if choice == "missing" else _broken_bwrap(tmp_path)
    jail = Jail(JailSettings(bwrap=str(path)))
    app = tmp_path / "chalice-hello"
    import shutil

    shutil.copytree(example_dir("chalice-hello"), app)
    with pytest.raises(SandboxUnavailable) as built:
        chalice_package(app, tmp_path / "work", Target("python3.11", "x86_64"), None,
                        jail=jail)
    assert built.value.code == "SandboxUnavailable" and "bubblewrap" in (built.value.hint or "")
    assert not (tmp_path / "work" / "chalice").exists()  # nothing was even copied
    package = tmp_path / "pkg.zip"
    with zipfile.ZipFile(package, "w") as zf:
        zf.writestr("app.py", "def handler(e, c):\n    open('/tmp/ran', 'w')\n    return 1\n")
    interpreter = find_interpreter(RUNTIME.removeprefix("python"))
    assert interpreter is not None
    spec = AppSpec(name="t", handler="app.handler", runtime=RUNTIME)
    with pytest.raises(SandboxUnavailable) as verified:
        run_local(package, spec, interpreter, work_dir=tmp_path / "verify", jail=jail)
    assert verified.value.code == "SandboxUnavailable"
    if choice == "broken":
        assert "No permissions to create new namespace" in str(verified.value)
    # The installer too: uv is never started outside its jail.
    from orchestrator.steps.build.dependencies import find_uv
    from orchestrator.steps.build.inputs.spec import Requirement
    from orchestrator.steps.build.resolve import resolve

    uv = find_uv()
    assert uv is not None
    with pytest.raises(SandboxUnavailable) as resolved:
        resolve([Requirement("six")], Target("python3.12", "x86_64"), tmp_path / "resolve",
                uv=uv, jail=jail)
    assert resolved.value.code == "SandboxUnavailable"
    assert not (tmp_path / "resolve" / "out").exists()


@pytest.mark.parametrize("method", ["iam-role", "container-role"])
def test_the_insecure_escape_is_refused_with_role_credentials(method: str) -> None:
    jail = Jail(JailSettings(insecure_no_jail=True), credentials_method=lambda: method)
    with pytest.raises(SandboxUnavailable, match="role"):
        jail.check()
    Jail(JailSettings(insecure_no_jail=True), credentials_method=lambda: "env").check()


def test_the_insecure_escape_runs_unjailed_and_says_so(tmp_path: Path) -> None:
    package = tmp_path / "pkg.zip"
    with zipfile.ZipFile(package, "w") as zf:
        zf.writestr("app.py", "def handler(e, c):\n    return 'ran'\n")
    interpreter = find_interpreter(RUNTIME.removeprefix("python"))
    assert interpreter is not None
    run = run_local(package, AppSpec(name="t", handler="app.handler", runtime=RUNTIME),
                    interpreter, work_dir=tmp_path / "w",
                    jail=Jail(JailSettings(insecure_no_jail=True)))
    assert run.output == "ran" and run.jailed is False
    assert any("WITHOUT the jail" in note for note in run.notes)


def test_the_launcher_gets_neither_the_workers_nor_the_apps_variables(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LD_PRELOAD", "/nonexistent/evil.so")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "worker-secret")
    out = tmp_path / "out"
    jail = Jail()
    jail.prepare_output(out)
    probe = ("import os, sys\n"
             "print(sorted(os.environ))\n"
             "def held(pid):\n"
             "    try:\n"
             "        return open(f'/proc/{pid}/environ', 'rb').read().count(b'worker-secret')\n"
             "    except OSError:\n"
             "        return 0\n"
             "print(sum(held(p) for p in os.listdir('/proc') if p.isdigit()))\n")
    result, timed_out = jail.run([sys.executable, "-I", "-S", "-c", probe],
                                 python=sys.executable, env={"PATH": "/usr/bin"}, cwd=out,
                                 outputs=[out], limits=Limits(memory_bytes=1 << 30,
                                                              cpu_seconds=10), timeout=30)
    assert not timed_out and result.returncode == 0, result.stderr
    names, count = result.stdout.strip().splitlines()
    assert "LD_PRELOAD" not in names and "AWS_SECRET_ACCESS_KEY" not in names
    assert count == "0"


def test_output_past_the_limit_stops_the_run_and_keeps_only_a_tail(tmp_path: Path) -> None:
    out = tmp_path / "out"
    jail = Jail()
    jail.prepare_output(out)
    loud = "import sys\nwhile True:\n    sys.stdout.write('y' * 65536)\n"
    result, timed_out = jail.run([sys.executable, "-I", "-S", "-c", loud],
                                 python=sys.executable, env={"PATH": "/usr/bin"}, cwd=out,
                                 outputs=[out], limits=Limits(memory_bytes=1 << 30,
                                                              cpu_seconds=30),
                                 timeout=60, output_limit=4 * 1024 * 1024)
    assert result.output_exceeded and not timed_out
    assert 0 < len(result.stdout) <= 64 * 1024


@pytest.mark.skipif(os.geteuid() != 0, reason="a root worker's jails drop to pooled uids")
def test_one_jails_process_limit_is_its_own(tmp_path: Path) -> None:
    """A jail that used up its process limit leaves the next jail's limit untouched:
    each running jail of a root worker runs as its own user id."""
    jail = Jail()
    hog_out, next_out = tmp_path / "hog", tmp_path / "next"
    for folder in (hog_out, next_out):
        folder.mkdir()
    # Start processes until the limit refuses one, say so in a file, then hold them all.
    hog = ("import os, sys, time\n"
           "n = 0\n"
           "while True:\n"
           "    try:\n"
           "        pid = os.fork()\n"
           "    except OSError:\n"
           "        break\n"
           "    if pid == 0:\n"
           "        time.sleep(60)\n"
           "        os._exit(0)\n"
           "    n += 1\n"
           "open('full', 'w').write(f'{os.getuid()} {n}')\n"
           "time.sleep(60)\n")
    threads = ("import os, threading\n"
               "ts = [threading.Thread(target=lambda: None) for _ in range(16)]\n"
               "[t.start() for t in ts]\n[t.join() for t in ts]\n"
               "print(os.getuid(), 'ok')\n")
    limits = Limits(memory_bytes=1 << 30, cpu_seconds=30, processes=32)
    held = jail.start([sys.executable, "-I", "-S", "-c", hog], python=sys.executable,
                      env={"PATH": "/usr/bin"}, cwd=hog_out.resolve(), outputs=[hog_out],
                      limits=limits)
    try:
        full = hog_out / "full"
        deadline = time.monotonic() + 30
        while not (full.exists() and full.read_text()):
            assert held.proc.poll() is None and time.monotonic() < deadline, held.result()
            time.sleep(0.05)
        hog_uid, forked = (int(x) for x in full.read_text().split())
        assert 0 < forked < 32  # the hog is at its limit
        result, timed_out = jail.run([sys.executable, "-I", "-S", "-c", threads],
                                     python=sys.executable, env={"PATH": "/usr/bin"},
                                     cwd=next_out.resolve(), outputs=[next_out],
                                     limits=limits, timeout=30)
    finally:
        held.kill()
    assert not timed_out and result.returncode == 0, result.stderr
    uid, said = result.stdout.split()
    assert said == "ok" and int(uid) != hog_uid
