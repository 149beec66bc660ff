"""The jail against hostile uploads, through a real worker, once as root and once as an
unprivileged worker (uid 65534, as the CDK stack's service user would be) where the
machine allows it.

For chalice's import of ``app.py`` and for a verified handler alike, a probe tries to
reach the network (a listener on loopback, the metadata address), read the worker's
secret (other processes' environ, a planted credentials file, another job's folder),
write the dependency cache, pip's configuration and the host's file system, and leave a
daemon behind. Each job ends ``failed`` with a stable code and reports what it could do;
everything must have been blocked. A fork bomb, a memory bomb, a 300 MB printer, a 5 MB
handler and an ``LD_PRELOAD`` from the manifest end with their own codes, nothing leaks
out, and the next job on the same worker verifies, with the worker's memory bounded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.chaos.conftest import REPO, ChaosStack, WorkerProc, app_zip, make_zip
from tests.chaos.nobody import NOBODY, SETPRIV, SYSTEM_PYTHON, build_mirror, nobody_can_import
from tests.processes import processes_with

pytestmark = pytest.mark.slow

PEAK_RSS_LIMIT_KB = 500 * 1024
VENV_SITE = Path(next(p for p in sys.path if p.endswith("site-packages")))

PROBE = r'''
import json, os, socket, sys
F = {}
def attempt(name, fn):
    try:
        F[name] = "open: " + str(fn())[:60]
    except BaseException as exc:
        F[name] = "blocked: " + type(exc).__name__
def environ():
    found = [p for p in os.listdir("/proc") if p.isdigit() and _holds(p)]
    if SECRET in repr(dict(os.environ)):
        found.append("self")
    if not found:
        raise LookupError("no secret")
    return found
def _holds(pid):
    try:
        with open("/proc/%s/environ" % pid, "rb") as fh:
            return SECRET.encode() in fh.read()
    except OSError:
        return False
def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)
    return path
def daemon():
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(120)",
                                      MARKER])
        os._exit(0)
    os.waitpid(pid, 0)
    return "spawned"
attempt("loopback", lambda: socket.create_connection(("127.0.0.1", PORT), timeout=2))
attempt("metadata", lambda: socket.create_connection(("169.254.169.254", 80), timeout=2))
attempt("environ", environ)
attempt("credentials", lambda: open(CREDS).read())
attempt("other_job", lambda: open(OTHER).read())
attempt("cache", lambda: write(CACHE + "/deps/EVIL.zip", "x"))
attempt("pip_conf", lambda: write(PIPCONF, "[global]\nindex-url = http://evil/\n"))
attempt("host_file", lambda: write(HOSTFILE, "x"))
attempt("daemon", daemon)
print("FINDINGS " + json.dumps(F), flush=True)
'''
FORK_BOMB = "import os\nwhile True:\n    os.fork()\n"
MEMORY_BOMB = "hog = []\nwhile True:\n    hog.append(bytearray(64 * 1024 * 1024))\n"
PRINTER = "import sys\nfor _ in range(300):\n    sys.stdout.write('x' * (1024 * 1024))\n"
EVIL_SO = r'''
#include <stdio.h>
__attribute__((constructor)) static void planted(void) {
    FILE *f = fopen("%s", "w");
    if (f) { fputs("LD_PRELOAD ran here\n", f); fclose(f); }
}
'''


@dataclass
class Hostile:
    key: str
    code: str
    body: bytes
    probe: bool = False


def _manifest(name: str, *, memory: int = 256, env: dict[str, str] | None = None) -> str:
    text = (f"[function]\nname = '{name}'\nruntime = 'python3.11'\ntimeout = 20\n"
            f"memory = {memory}\n")
    if env:
        text += "[function.environment]\n" + "".join(f"{k} = '{v}'\n" for k, v in env.items())
    return text


def _handler_app(name: str, top: str, *, memory: int = 256,
                 extra: dict[str, str | bytes] | None = None,
                 env: dict[str, str] | None = None, body: str = "") -> bytes:
    source = (top + "\n\ndef handler(event, context):\n" +
              (body or "    return 1\n"))
    return make_zip({"app.py": source, "auto-lambda.toml": _manifest(name, memory=memory, env=env),
                     **(extra or {})})


def _chalice_app(name: str, top: str) -> bytes:
    return make_zip({
        "app.py": top + "\nfrom chalice import Chalice\napp = Chalice(app_name='x')\n\n"
                        "@app.route('/')\ndef index():\n    return {}\n",
        ".chalice/config.json": '{"version": "2.0", "app_name": "x", "stages": {"dev": {}}}',
        "auto-lambda.toml": _manifest(name)})


def _run_inside(code: str) -> str:
    """``code`` as a function the handler calls (it returns the findings)."""
    return ("import json\n\ndef _probe():\n"
            + "\n".join("    " + line for line in code.splitlines()) + "\n    return F\n")


def _evil_so(tmp: Path, marker: Path) -> bytes | None:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    src = tmp / "evil.c"
    src.write_text(EVIL_SO % marker)
    out = tmp / "evil.so"
    done = subprocess.run([cc, "-shared", "-fPIC", "-o", str(out), str(src)],
                          capture_output=True, check=False)
    return out.read_bytes() if done.returncode == 0 else None


@dataclass
class World:
    """What the probes look for, planted on the host before the worker starts."""

    root: Path
    secret: str
    marker: str
    port: int
    creds: Path
    other: Path
    cache: Path
    pipconf: Path
    hostfile: Path
    preload_marker: Path

    def constants(self) -> str:
        return "".join(f"{k} = {v!r}\n" for k, v in {
            "SECRET": self.secret, "MARKER": self.marker, "PORT": self.port,
            "CREDS": str(self.creds), "OTHER": str(self.other), "CACHE": str(self.cache),
            "PIPCONF": str(self.pipconf), "HOSTFILE": str(self.hostfile)}.items())


def _cases(world: World, tmp: Path) -> list[Hostile]:
    probe = world.constants() + PROBE
    handler_probe = world.constants() + _run_inside(PROBE)
    cases = [
        Hostile("t/probe-verify.zip", "HandlerRaised", _handler_app(
            "probe-verify", handler_probe,
            body="    found = _probe()\n    raise RuntimeError('FINDINGS ' + json.dumps(found))\n"),
            probe=True),
        Hostile("t/probe-chalice.zip", "ChalicePackageFailed", _chalice_app(
            "probe-chalice", probe + "raise RuntimeError('FINDINGS ' + json.dumps(F))\n"),
            probe=True),
        Hostile("t/fork-bomb.zip", "HandlerProcessLimit",
                _handler_app("fork-bomb", "", body="    " + FORK_BOMB.replace("\n", "\n    "))),
        Hostile("t/fork-bomb-chalice.zip", "ChaliceProcessLimit",
                _chalice_app("fork-bomb-chalice", FORK_BOMB)),
        Hostile("t/memory-bomb.zip", "HandlerMemoryExceeded",
                _handler_app("memory-bomb", "", memory=128,
                             body="    " + MEMORY_BOMB.replace("\n", "\n    "))),
        Hostile("t/memory-bomb-chalice.zip", "ChaliceMemoryExceeded",
                _chalice_app("memory-bomb-chalice", MEMORY_BOMB)),
        Hostile("t/printer.zip", "HandlerOutputTooLarge",
                _handler_app("printer", "", body="    " + PRINTER.replace("\n", "\n    "))),
        Hostile("t/printer-chalice.zip", "ChaliceOutputTooLarge",
                _chalice_app("printer-chalice", PRINTER)),
        Hostile("t/huge-handler.zip", "HandlerTooLarge",
                _handler_app("huge-handler", "DATA = [\n" + "".join(
                    f"    '{os.urandom(16).hex()}',\n" for _ in range(135_000)) + "]\n")),
    ]
    evil = _evil_so(tmp, world.preload_marker)
    if evil is not None:
        cases.append(Hostile("t/preload.zip", "HandlerRaised", _handler_app(
            "preload", "import os, subprocess", extra={"evil.so": evil},
            env={"LD_PRELOAD": "./evil.so"},
            body="    subprocess.run(['true'], check=False)\n    raise RuntimeError("
                 "'LD_PRELOAD inside: ' + os.environ.get('LD_PRELOAD', ''))\n")))
    return cases


def _findings(message: str) -> dict[str, str]:
    match = re.search(r"FINDINGS (\{[^{}]*\})", message)
    assert match, message[-2000:]
    return dict(json.loads(match.group(1)))


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


@pytest.fixture(scope="module")
def nobody_paths() -> Iterator[tuple[Path, Path]]:
    """Where uid 65534 imports the worker from: the checkout and its environment when it
    can read them, else a world-readable copy of both."""
    if nobody_can_import(REPO, VENV_SITE) is None:
        yield REPO, VENV_SITE
        return
    mirror = build_mirror(REPO)
    try:
        yield mirror / "src", mirror / "site"
    finally:
        shutil.rmtree(mirror, ignore_errors=True)


@pytest.fixture(params=["root", "nobody"])
def as_user(request: pytest.FixtureRequest) -> Iterator[tuple[str, Path, Path]]:
    if request.param == "root":
        yield "root", REPO, VENV_SITE
        return
    if os.geteuid() != 0:
        pytest.skip("the unprivileged run needs root to switch user")
    src, site = request.getfixturevalue("nobody_paths")
    reason = nobody_can_import(src, site)
    if reason:
        pytest.fail(reason)
    yield "nobody", src, site


def _start(stack: ChaosStack, user: tuple[str, Path, Path], env: dict[str, str]) -> WorkerProc:
    name, src, site = user
    if name == "root":
        # exec'd, not forked: the "environ" probe looks for the secret in every
        # /proc/PID/environ, which holds a forked worker's zygote's environment
        return stack.start_worker(concurrency=1, env=env, forked=False)
    log_path = stack.root / "logs" / "worker-nobody.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("wb")
    full = {**stack.env, **env, "PYTHONPATH": f"{src}{os.pathsep}{site}",
            "PATH": "/usr/local/bin:/usr/bin:/bin", "PYENV_ROOT": "/root/.pyenv"}
    argv = [str(SETPRIV), f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
            str(SYSTEM_PYTHON), "-m", "orchestrator.cli.main", "-v", "worker", "--wait", "1",
            "--concurrency", "1", "--drain-seconds", "10"]
    proc = subprocess.Popen(argv, env=full, cwd=env["HOME"], stdout=log,
                            stderr=subprocess.STDOUT)
    worker = WorkerProc(proc, log_path, log, "worker-nobody")
    stack.workers.append(worker)
    return worker


def test_hostile_app_code_is_contained(stack: ChaosStack,
                                       as_user: tuple[str, Path, Path]) -> None:
    # A world the unprivileged worker can use too: /var/tmp, not pytest's root-only tmp.
    base = Path(tempfile.mkdtemp(prefix="auto-lambda-jail-", dir="/var/tmp"))
    try:
        _contained(stack, as_user, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _contained(stack: ChaosStack, user: tuple[str, Path, Path], base: Path) -> None:
    home, work = base / "home", base / "work"
    for folder in (home, work):
        folder.mkdir()
    secret = f"SECRET-{uuid.uuid4().hex}"
    creds = home / ".aws" / "credentials"
    creds.parent.mkdir()
    creds.write_text(f"[default]\naws_access_key_id = AKIA\naws_secret_access_key = {secret}\n")
    other = work / "jobs" / "another-teams-job" / "app" / "settings.py"
    other.parent.mkdir(parents=True)
    other.write_text(f"TOKEN = {secret!r}\n")
    if user[0] == "nobody":
        for path in (base, *base.rglob("*")):
            os.chown(path, NOBODY, NOBODY)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    world = World(root=base, secret=secret, marker=f"EVIL-DAEMON-{uuid.uuid4().hex}",
                  port=listener.getsockname()[1], creds=creds, other=other,
                  cache=work / "cache", pipconf=home / ".config" / "pip" / "pip.conf",
                  hostfile=base / "EVIL-host-file", preload_marker=base / "EVIL-preload")
    cases = _cases(world, base)
    env = {"HOME": str(home), "AUTO_LAMBDA_WORK_DIR": str(work),
           "AUTO_LAMBDA_CACHE_DIR": str(work / "cache"), "AWS_SECRET_ACCESS_KEY": secret}
    worker = _start(stack, user, env)
    try:
        for case in cases:
            stack.upload(case.key, case.body)
        stack.wait_for("every hostile job to settle", lambda: stack.settled(len(cases)),
                       timeout=240)
        by_key = {j.key: j for j in stack.jobs()}
        for case in cases:
            job = by_key[case.key]
            assert job.state == "failed", (case.key, job.state, job.error)
            assert job.error is not None and job.error["code"] == case.code, (case.key,
                                                                             job.error)
            if case.probe:
                found = _findings(str(job.error["message"]))
                assert found.pop("daemon") == "open: spawned", found
                assert all(v.startswith("blocked") for v in found.values()), (case.key, found)
        preload = by_key.get("t/preload.zip")
        if preload is not None:  # applied inside the jail, where the marker path is not
            assert preload.error is not None
            assert "LD_PRELOAD inside: ./evil.so" in str(preload.error["message"])
        assert stack.wait_for("no process left by any job",
                              lambda: not processes_with(world.marker), timeout=15) is True
        with pytest.raises(BlockingIOError):
            listener.accept()
        for planted in (world.hostfile, world.preload_marker, world.pipconf,
                        world.cache / "deps" / "EVIL.zip"):
            assert not planted.exists(), planted
        # The same worker goes on and verifies the next upload.
        stack.upload("t/after.zip", app_zip("after"))
        stack.wait_for("the job after the hostile ones",
                       lambda: stack.settled(len(cases) + 1), timeout=60)
        after = stack.job_for("t/after.zip")
        assert after.state == "verified", after.error
        assert worker.alive(), worker.tail()
        peak = _peak_rss_kb(worker.pid)
        assert 0 < peak < PEAK_RSS_LIMIT_KB, f"worker peak RSS {peak} kB"
        figures = stack.root / "jail-figures.json"
        figures.write_text(json.dumps({"user": user[0], "peak_rss_kb": peak,
                                       "cases": len(cases)}))
        print(f"jail suite as {user[0]}: {len(cases)} hostile jobs, worker peak RSS {peak} kB")
    finally:
        listener.close()
