"""The hostile-input catalogue (docs/architecture.md) as data: each case an upload (or a
raw SQS body) and the error code its job must fail with. Pure builders; nothing here talks
to AWS."""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass

from tests.chaos.conftest import app_zip, make_zip

MARK = "EVIL"  # every file a hostile zip tries to plant has this in its name
ABSOLUTE_TARGET = f"/tmp/auto-lambda-{MARK}-absolute.py"
# The unzip cap the test worker runs with (AUTO_LAMBDA_UNPACK_MAX_BYTES), standing in for
# Lambda's 250 MB so the case is cheap; above the ratio checks' 2 MB floor so a zip bomb
# still meets the ratio check first.
TOO_LARGE_CAP = 8_000_000


@dataclass(frozen=True)
class Case:
    name: str
    code: str
    key: str | None = None       # upload this key ...
    body: bytes = b""            # ... with this content
    message: str | None = None   # or send this raw SQS body


def _app_with(name: str, source: str, files: dict[str, str] | None = None, *,
              timeout: int = 5, memory: int = 128) -> bytes:
    manifest = (f"[function]\nname = '{name}'\nruntime = 'python3.11'\ntimeout = {timeout}\n"
                f"memory = {memory}\n")
    return make_zip({"app.py": source, "auto-lambda.toml": manifest, **(files or {})})


def _symlink_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def handler(e, c):\n    return 1\n")
        link = zipfile.ZipInfo(f"{MARK}-link")
        link.create_system = 3
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
    return buf.getvalue()


def _encrypted_zip() -> bytes:
    """zipfile cannot encrypt: set the 'encrypted' flag in both headers by hand."""
    data = bytearray(make_zip({"app.py": "def handler(e, c):\n    return 1\n"}))
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    data[local + 6] |= 0x1
    data[central + 8] |= 0x1
    return bytes(data)


def _bomb_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("app.py", "def handler(e, c):\n    return 1\n")
        zf.writestr("padding.bin", b"\0" * (64 * 1024 * 1024))  # 64 MB -> ~64 KB
    return buf.getvalue()


def _many_entries_zip() -> bytes:
    files: dict[str, str | bytes] = {f"f/{i}.txt": "" for i in range(10_001)}
    files["app.py"] = "def handler(e, c):\n    return 1\n"
    return make_zip(files)


def _too_large_zip() -> bytes:
    """Incompressible data past the unzip cap the test worker runs with, so the cap, not
    the ratio check, refuses it."""
    return make_zip({"app.py": "def handler(e, c):\n    return 1\n",
                     "data.bin": os.urandom(TOO_LARGE_CAP + 500_000)})


def _non_utf8_name_zip() -> bytes:
    data = make_zip({"app.py": "def handler(e, c):\n    return 1\n", "cafX.py": "x = 1\n"})
    return data.replace(b"cafX.py", b"caf\xe9.py")  # same length: offsets stay valid


def cases() -> list[Case]:
    good = app_zip("fine")
    return [
        Case("path traversal", "ZipUnsafePath", "h-traversal.zip",
             make_zip({f"../{MARK}-up.py": "x = 1", "app.py": "def handler(e, c): return 1"})),
        Case("absolute path", "ZipAbsolutePath", "h-absolute.zip",
             make_zip({ABSOLUTE_TARGET: "x = 1", "app.py": "def handler(e, c): return 1"})),
        Case("symlink entry", "ZipLinkEntry", "h-symlink.zip", _symlink_zip()),
        Case("zip bomb", "ZipBomb", "h-bomb.zip", _bomb_zip()),
        Case("over the unzipped cap", "ZipTooLarge", "h-too-large.zip", _too_large_zip()),
        Case("too many entries", "ZipTooManyEntries", "h-many.zip", _many_entries_zip()),
        Case("encrypted", "ZipEncrypted", "h-encrypted.zip", _encrypted_zip()),
        Case("truncated", "ZipCorrupt", "h-truncated.zip", good[: len(good) // 2]),
        Case("not a zip", "ZipNotAZip", "h-not-a-zip.zip", b"just some text, not a zip\n"),
        Case("empty zip", "ZipEmpty", "h-empty.zip", b"PK\x05\x06" + b"\0" * 18),
        Case("no handler", "HandlerNotFound", "h-no-handler.zip",
             make_zip({"readme.txt": "nothing to run"})),
        Case("syntax error", "HandlerSyntaxError", "h-syntax.zip",
             _app_with("h-syntax", "def handler(event, context:\n    return 1\n")),
        Case("import of a module never packaged", "MissingDependency", "h-missing.zip",
             _app_with("h-missing", "import module_that_does_not_exist\n\n"
                       "def handler(e, c):\n    return 1\n")),
        # packaged, but failing when imported: only running it shows that
        Case("import error at init", "ImportErrorAtInit", "h-import.zip",
             _app_with("h-import", "import helper\n\ndef handler(e, c):\n    return 1\n",
                       {"helper.py": "import importlib\n"
                                     "importlib.import_module('module_that_does_not_exist')\n"})),
        Case("handler raises", "HandlerRaised", "h-raises.zip",
             _app_with("h-raises", "def handler(e, c):\n    raise ValueError('boom')\n")),
        Case("handler hangs", "HandlerTimeout", "h-hangs.zip",
             _app_with("h-hangs", "def handler(e, c):\n    while True:\n        pass\n",
                       timeout=2)),
        # its timeout well above the moments the limit takes to reach, so that a loaded
        # machine cannot turn the memory case into a timeout
        Case("handler exhausts memory", "HandlerMemoryExceeded", "h-memory.zip",
             _app_with("h-memory", "def handler(e, c):\n    hog = []\n    while True:\n"
                       "        hog.append(bytearray(16 * 1024 * 1024))\n", timeout=60)),
        Case("invalid manifest", "ManifestInvalid", "h-manifest.zip",
             make_zip({"app.py": "def handler(e, c): return 1",
                       "auto-lambda.toml": "[function\nname = = 'x'\n"})),
        Case("non-UTF-8 file name", "ZipBadFileName", "h-bad-name.zip", _non_utf8_name_zip()),
        Case("object deleted before fetch", "ObjectMissing", message=(
            '{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": '
            '"BUCKET"}, "object": {"key": "h-gone.zip", "eTag": "0123456789abcdef"}}}]}')),
        Case("body not JSON", "BadEvent", message="this is not an S3 event"),
        Case("body of another shape", "BadEvent", message='{"hello": "world"}'),
        Case("unexpected bucket", "UnexpectedBucket", message=(
            '{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": '
            '"someone-elses-bucket"}, "object": {"key": "x.zip"}}}]}')),
    ]
