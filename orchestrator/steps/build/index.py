"""The package index a worker may use, as its operator configured it: the only place
the installer's jail may reach (through the index proxy), and the only place the
worker downloads wheels from.

Read from the worker's environment, never from an upload: uv's own ``UV_DEFAULT_INDEX``
/ ``UV_INDEX_URL`` (default ``https://pypi.org/simple``), ``UV_INDEX`` and
``UV_EXTRA_INDEX_URL``, plus ``AUTO_LAMBDA_INDEX_HOSTS``: more ``host[:port]`` the index
serves files from (PyPI's ``files.pythonhosted.org`` is added for ``pypi.org``). A
``file://`` index is a local folder, bound read-only into the jail.

Pure: parses a mapping; no network.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import ConfigError

ENV_HOSTS = "AUTO_LAMBDA_INDEX_HOSTS"
DEFAULT_INDEX = "https://pypi.org/simple"
_PYPI_FILES = ("files.pythonhosted.org", 443)
_DEFAULT_PORTS = {"https": 443, "http": 80}
Host = tuple[str, int]


def _index_urls(env: Mapping[str, str]) -> list[str]:
    default = (env.get("UV_DEFAULT_INDEX") or env.get("UV_INDEX_URL") or DEFAULT_INDEX).strip()
    urls = [default]
    for key in ("UV_INDEX", "UV_EXTRA_INDEX_URL"):
        for item in (env.get(key) or "").split():
            urls.append(item.split("=", 1)[1] if "=" in item.split("://")[0] else item)
    return urls


def host_of(url: str) -> Host | None:
    """(host, port) of an http(s) URL, None for any other scheme."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:
        return None
    return parts.hostname.lower(), port


def _parse_host(text: str) -> Host:
    host, _, port = text.strip().rpartition(":") if ":" in text else (text.strip(), "", "443")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{ENV_HOSTS}: {text!r} is not host[:port]",
                          hint=f"for example {ENV_HOSTS}=files.example.com:443")
    return host.strip("[]").lower(), int(port)


@dataclass(frozen=True)
class IndexConfig:
    """The index URLs, the hosts the proxy lets through and the local index folders."""

    urls: tuple[str, ...]
    hosts: frozenset[Host]
    folders: tuple[Path, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> IndexConfig:
        env = os.environ if env is None else env
        hosts: set[Host] = set()
        folders: list[Path] = []
        urls = _index_urls(env)
        for url in urls:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme == "file":
                folders.append(Path(urllib.parse.unquote(parts.path)))
                continue
            host = host_of(url)
            if host is None:
                raise ConfigError(f"the package index {url!r} is not an http(s) or file URL",
                                  hint="set UV_DEFAULT_INDEX to the index's simple URL")
            hosts.add(host)
            if host[0] == "pypi.org":
                hosts.add(_PYPI_FILES)
        for item in (env.get(ENV_HOSTS) or "").replace(",", " ").split():
            hosts.add(_parse_host(item))
        return cls(tuple(urls), frozenset(hosts), tuple(folders))

    def allows_url(self, url: str) -> bool:
        """Whether the worker may fetch ``url``: an allowed host, or a file in a local
        index folder."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme == "file":
            path = Path(os.path.normpath(urllib.parse.unquote(parts.path)))
            return any(path.is_relative_to(f) for f in self.folders)
        host = host_of(url)
        return host is not None and host in self.hosts
