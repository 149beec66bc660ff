"""The embedded local AWS: a moto server on 127.0.0.1 that every boto3 call of the
local mode talks to. Real HTTP, real boto3; only the endpoint differs from AWS.

What the emulator cannot do is replaced elsewhere and labelled there: Lambda code
never runs in moto (local verify runs the package in a sandboxed subprocess), and Auto
Scaling never scales (``auto_lambda_dev.autoscaler`` scales local worker processes).
"""

from __future__ import annotations

import logging
import os
import socket
import urllib.request
from dataclasses import dataclass

from orchestrator.config import Settings
from orchestrator.errors import ConfigError, require_extra

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _check_free(host: str, port: int) -> None:
    """A clear error for a port that is taken (the server's own bind would fail in its
    thread and leave ``start`` waiting)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"port {port} on {host} is not free: {exc.strerror}",
                              hint="choose another --port, or 0 for any free port") from exc


@dataclass
class LocalEndpoint:
    url: str
    port: int
    server: object

    def stop(self) -> None:
        stop = getattr(self.server, "stop", None)
        if callable(stop):
            stop()

    def reset(self) -> None:
        """Empty every service's state (moto's ``/moto-api/reset``): the server serves
        its process's backends, so this also empties what moto holds in that process."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as resp:
            resp.read()

    def env(self, settings: Settings) -> dict[str, str]:
        """The variables another process needs to use this endpoint."""
        return {
            **FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.url,
            "AWS_REGION": settings.region,
            "AWS_DEFAULT_REGION": settings.region,
            "AUTO_LAMBDA_PREFIX": settings.prefix,
        }


def ensure_fake_credentials(environ: dict[str, str] | None = None) -> None:
    """Local mode never needs real keys; never let boto3 look for them."""
    env = os.environ if environ is None else environ
    for key, value in FAKE_CREDENTIALS.items():
        env.setdefault(key, value)
    env.setdefault("AWS_REGION", "us-east-1")
    env.setdefault("AWS_DEFAULT_REGION", env["AWS_REGION"])


def prepare_moto() -> None:
    """moto as the embedded stack runs it, in a server or inside a test's process:
    queries at a small table's cost, its service list read once, DynamoDB requests one
    at a time, and Lambda versions numbered and guarded as AWS does. Each patch is
    applied once."""
    from auto_lambda_dev.emulator_lambda import lambda_like_aws
    from auto_lambda_dev.emulator_locks import serialize_tables
    from auto_lambda_dev.emulator_speed import speed_up_dispatch, speed_up_queries

    speed_up_queries()
    speed_up_dispatch()
    serialize_tables()
    lambda_like_aws()


def start_server(port: int = 0, host: str = "127.0.0.1") -> LocalEndpoint:
    require_extra("moto", "local", "the embedded local stack")
    from moto.server import ThreadedMotoServer  # the 'local' extra, checked just above

    prepare_moto()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    ensure_fake_credentials()
    if port:
        _check_free(host, port)
    # Port 0 lets the kernel choose while the server binds: asking for a free port first
    # and binding it later races with every other stack started meanwhile.
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    return LocalEndpoint(url=f"http://{host}:{port}", port=port, server=server)

