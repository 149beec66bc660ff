"""Keeping the worker's secrets out of everything a user can read.

Jails see none of the worker's environment or files, so no tool should ever print a
secret; this is the second wall. Every coded error's message, hint and string details
(``errors.AutoLambdaError``) and every error stored in a job record pass through
``redact``: it replaces the values of the worker's secret-looking variables (names with
KEY, SECRET, TOKEN, PASSWORD, CREDENTIAL, SESSION, AUTH or PRIVATE), the values in its
AWS credentials file, AWS access key ids and ``aws_secret_access_key = …`` assignments
with ``[redacted]``, and ``cap`` bounds a text's length. Before it looks, it removes
terminal escape sequences and control characters (``strip_controls``: tab and newline
stay): tool output is hostile, a terminal showing it must run none of them, and a secret
split by an escape sequence must still be found.

Reads the process's environment and the credentials file once (``refresh`` reads them
again); imports nothing of the project.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

MASK = "[redacted]"
_SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSW|CREDENTIAL|SESSION|AUTH|PRIVATE|COOKIE",
                          re.IGNORECASE)
_NOT_SECRET = {"AWS_ACCESS_KEY_ID_FILE", "AUTO_LAMBDA_UI_TOKEN_FILE"}
_MIN_LEN = 8  # shorter values (test keys such as 'testing') are words, not secrets
_PATTERNS = (re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{12,}\b"),
             re.compile(r"(?i)(aws_secret_access_key|aws_session_token)(\s*[=:]\s*)\S+"))
_lock = threading.Lock()
_values: list[str] | None = None
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"            # CSI: colours, cursor moves, erase
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: titles, hyperlinks
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"      # DCS, SOS, PM, APC strings
    r"|\x1b.?"                             # any other escape
    r"|\x9b[0-?]*[ -/]*[@-~]")             # 8-bit CSI
# C0 but tab, newline and carriage return, DEL, C1, and the bidirectional overrides that
# reorder what a line shows.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _credential_files(env: dict[str, str]) -> list[Path]:
    home = env.get("HOME") or os.path.expanduser("~")
    files = [env.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.join(home, ".aws", "credentials"),
             env.get("AWS_CONFIG_FILE") or os.path.join(home, ".aws", "config")]
    return [Path(f) for f in files]


def _from_file(path: Path) -> list[str]:
    try:
        text = path.read_text("utf-8", errors="replace")[:1_000_000]
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and _SECRET_NAME.search(key) and len(value.strip()) >= _MIN_LEN:
            out.append(value.strip())
    return out


def secret_values(env: dict[str, str] | None = None) -> list[str]:
    """The values ``redact`` hides, longest first."""
    env = dict(os.environ) if env is None else env
    found = {v for k, v in env.items()
             if _SECRET_NAME.search(k) and k not in _NOT_SECRET and len(v) >= _MIN_LEN}
    for path in _credential_files(env):
        found.update(_from_file(path))
    return sorted(found, key=len, reverse=True)


def refresh() -> None:
    """Read the environment and credentials file again (after they changed)."""
    global _values
    with _lock:
        _values = secret_values()


def strip_controls(text: str) -> str:
    """``text`` without escape sequences and control characters (tab, newline and
    carriage return stay)."""
    if not _ESCAPES.search(text) and not _CONTROLS.search(text):
        return text
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def redact(text: str) -> str:
    """``text`` without control characters and with the worker's secrets replaced by
    ``[redacted]``."""
    global _values
    if not text:
        return text
    text = strip_controls(text)
    if _values is None:
        refresh()
    assert _values is not None
    for value in _values:
        if value in text:
            text = text.replace(value, MASK)
    text = _PATTERNS[0].sub(MASK, text)
    return _PATTERNS[1].sub(lambda m: m.group(1) + m.group(2) + MASK, text)


def cap(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying so."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 40, 0)] + f" ... [{len(text) - limit + 40:,} characters cut]"
