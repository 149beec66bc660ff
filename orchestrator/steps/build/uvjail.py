"""Running uv, the installer, in a jail of its own.

uv reads index pages and wheel metadata, and (were it ever handed one) would build a
source tree: it is treated like app code. Its jail (``orchestrator.steps.jail``) has
none of the worker's environment (no credentials; only the operator's ``UV_*`` index
and TLS settings and the CA bundle), its own PID namespace and ``/proc``, a read-only
system, and writes only to the job's output folder (uv's cache for this run lives
there too: the shared build cache is written by the worker alone, after hash checks).

Its network namespace reaches nothing. A relay inside the jail (``RELAY``, standard
library only, started first) listens on the jail's own loopback and is uv's HTTP(S)
proxy; it forwards each connection to the worker's index proxy (``index_proxy``) over a
Unix socket mounted read-only, which lets through the configured index hosts only. No
loopback service of the host, no metadata address and no other host can be reached.

What comes back is hostile too: the output file is read by the caller with
``jail.files``, and uv's messages are capped and redacted here.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.codes import Code
from orchestrator.errors import BuildError, SandboxUnavailable
from orchestrator.redact import redact
from orchestrator.steps.jail import Jail, Limits, default_jail
from orchestrator.steps.build.index import IndexConfig
from orchestrator.steps.build.index_proxy import IndexProxy

UV_MEMORY = 8 * 1024 ** 3      # address space: uv reserves far more than it uses
UV_PROCESSES = 512             # uv's worker threads count against this
UV_OUTPUT_BYTES = 4 * 1024 * 1024
MESSAGE_KEEP = 16 * 1024
# The operator's uv settings that may reach the jail (never taken from an app).
UV_PASS = ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_INDEX",
           "UV_NATIVE_TLS", "UV_HTTP_TIMEOUT", "UV_HTTP_RETRIES", "UV_INSECURE_HOST",
           "UV_OFFLINE")
_TLS_FILES = ("SSL_CERT_FILE", "SSL_CERT_DIR")
# AF_UNIX paths are at most 107 bytes: the socket lives in a short folder of its own.
_SOCKET_PARENT = "/tmp"

# Runs inside the jail as `python -I -S -c RELAY CONFIG UV ARGS...`.
RELAY = """\
import json, os, socket, subprocess, sys, threading
cfg = json.loads(sys.argv[1])
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(64)
def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass
def serve(conn):
    up = socket.socket(socket.AF_UNIX)
    try:
        up.connect(cfg["socket"])
        back = threading.Thread(target=pump, args=(up, conn), daemon=True)
        back.start()
        pump(conn, up)
        back.join()
    except OSError:
        pass
    finally:
        conn.close()
        up.close()
def accept():
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
threading.Thread(target=accept, daemon=True).start()
proxy = "http://127.0.0.1:%d" % listener.getsockname()[1]
env = dict(os.environ)
for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    env[name] = proxy
env.pop("NO_PROXY", None)
env.pop("no_proxy", None)
sys.stdout.flush()
sys.exit(subprocess.run(sys.argv[2:], env=env).returncode)
"""


@dataclass
class UvRun:
    """How uv ended: its exit status, its (capped, redacted) output, and what the index
    proxy refused."""

    returncode: int | None
    output: str
    refused: list[str] = field(default_factory=list)
    output_exceeded: bool = False


def jail_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment uv gets: a fixed PATH and locale, the operator's uv index and
    TLS settings. Never AWS_*, never anything else of the worker's."""
    source = os.environ if base is None else base
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "NO_COLOR": "1"}
    env |= {k: source[k] for k in (*UV_PASS, *_TLS_FILES) if source.get(k)}
    return env


def _tls_binds(env: Mapping[str, str]) -> list[Path]:
    found = [Path(env[k]) for k in _TLS_FILES if env.get(k)]
    found.append(Path("/etc/ssl"))
    return [p for p in found if p.exists() and not str(p).startswith("/usr/")]


def _check_usable(uv: Path, jail: Jail) -> None:
    """A root worker's jail runs uv as a user of its own: the binary must be readable and
    executable by others, or the install fails with a clear code, not a traceback."""
    if not jail.root_mode or jail.insecure:
        return
    try:
        mode = uv.stat().st_mode
    except OSError as exc:
        raise BuildError(f"the installer {uv} cannot be read: {exc.strerror}",
                         code=Code.InstallerMissing,
                         hint="reinstall auto-lambda, or set AUTO_LAMBDA_UV to a uv binary") \
            from None
    if mode & 0o005 != 0o005:
        raise BuildError(f"the installer {uv} (mode {mode & 0o777:o}) cannot be run by the "
                         "jail's user", code=Code.InstallerMissing,
                         hint=f"chmod 755 {uv} (and make its folders readable by all)")


def run_uv(args: list[str], *, uv: str, out_dir: Path, inputs: list[Path], timeout: float,
           what: str = "uv", tick: Callable[[str], None] | None = None,
           index: IndexConfig | None = None, jail: Jail | None = None,
           python: str = sys.executable) -> UvRun:
    """Run ``uv ARGS`` in the installer jail; ``inputs`` are bound read-only, ``out_dir``
    is the one folder it may write."""
    jail = jail or default_jail()
    jail.check()  # fail closed before anything starts
    index = index or IndexConfig.from_env()
    parent = _SOCKET_PARENT if os.path.isdir(_SOCKET_PARENT) else None
    sock_dir = Path(tempfile.mkdtemp(prefix="al-index-", dir=parent))
    try:
        os.chmod(sock_dir, 0o755)
        sock = sock_dir / "s"
        if len(str(sock)) > 100:
            raise SandboxUnavailable(f"no short folder for the index proxy's socket ({sock})",
                                     hint="make /tmp writable for the worker")
        env = jail_env()
        uv_path = Path(uv).resolve()
        _check_usable(uv_path, jail)
        binds = [*inputs, sock_dir, uv_path.parent, *_tls_binds(env), *index.folders]
        jail.prepare_output(out_dir)
        with IndexProxy(sock, index.hosts) as proxy:
            process = jail.start(
                [python, "-I", "-S", "-c", RELAY, json.dumps({"socket": str(sock)}),
                 str(uv_path), *args],
                python=python, env=env, cwd=out_dir.resolve(), inputs=binds,
                outputs=[out_dir], output_limit=UV_OUTPUT_BYTES,
                limits=Limits(memory_bytes=UV_MEMORY, cpu_seconds=int(timeout) + 5,
                              processes=UV_PROCESSES))
            try:
                process.finish(timeout, what=what, tick=tick,
                               hint="retry later; the package index may be slow")
            finally:
                process.kill()
            result = process.result()
            refused = proxy.refused
    finally:
        shutil.rmtree(sock_dir, ignore_errors=True)
    text = (result.stdout + "\n" + result.stderr).strip()
    return UvRun(result.returncode, redact(text[-MESSAGE_KEEP:]), refused,
                 result.output_exceeded)
