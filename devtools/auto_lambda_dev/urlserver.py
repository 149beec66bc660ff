"""The local stand-in for function URLs and HTTP APIs: the emulator records them (and
hands out ``https://<id>.lambda-url...`` and ``https://<id>.execute-api...`` addresses)
but never serves them or runs code. This server does, on 127.0.0.1: a request to
``http://127.0.0.1:<port>/<id>/<path>`` is turned into the payload 2.0 event AWS would
send (``auto_lambda_dev.lambdaurl``), and the function's ``live`` version runs once with
it in the jail, by the same runner local verification uses
(``orchestrator.steps.verify.runner.run_local``). Its answer becomes the HTTP response.

Where it differs from AWS, on purpose: ``live`` is resolved at every request (so moving
the alias moves the URL at once, and routing weights are honoured by a random draw); every
request is a cold start in a fresh jail; ``auth = "iam"`` endpoints only check that the
request carries a SigV4 ``Authorization`` header (the local stack's keys are fake, so the
signature is not verified). A development tool: never part of the worker.
"""

from __future__ import annotations

import base64
import errno
import json
import logging
import random
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from auto_lambda_dev.lambdaurl import HttpAnswer, HttpRequest, error_answer, to_answer, to_event
from orchestrator.aws.facade import Aws
from orchestrator.codes import Code
from orchestrator.config import LIVE_ALIAS
from orchestrator.errors import AutoLambdaError
from orchestrator.steps.jail import Jail, default_jail
from orchestrator.steps.secrets.refs import SECRETS_VAR
from orchestrator.steps.triggers.model import TAG_FUNCTION
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.steps.unpack.platform import SecretRef, parse_secret_reference
from orchestrator.steps.verify.interpreters import find_interpreter
from orchestrator.steps.verify.runner import extract_package, run_local
from orchestrator.steps.verify.secrets import resolve_for_local_run
from orchestrator.tenancy import TAG_MANAGED

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 6 * 1024 * 1024  # Lambda's synchronous payload limit


@dataclass(frozen=True)
class Endpoint:
    """One function URL or HTTP API the stand-in serves."""

    endpoint_id: str
    kind: str             # "url" | "http"
    function_name: str
    auth_type: str        # AWS_IAM | NONE
    aws_url: str


def endpoint_id(aws_url: str) -> str:
    """The id of an AWS endpoint address: its host's first label."""
    return (urlsplit(aws_url).hostname or "").split(".")[0]


def find_endpoints(aws: Aws) -> dict[str, Endpoint]:
    """Every function URL (on ``live``) and HTTP API of auto-lambda's functions."""
    out: dict[str, Endpoint] = {}
    lam = aws.lambda_
    for page in lam.get_paginator("list_functions").paginate():
        for fn in page.get("Functions") or []:
            name = str(fn["FunctionName"])
            config = aws.functions.get_url_config(name, LIVE_ALIAS)
            if config is not None:
                out[endpoint_id(config.url)] = Endpoint(endpoint_id(config.url), "url", name,
                                                        config.auth_type, config.url)
    for raw in aws.client("apigatewayv2").get_apis().get("Items") or []:
        tags = raw.get("Tags") or {}
        if tags.get(TAG_MANAGED) != "true" or not tags.get(TAG_FUNCTION):
            continue
        api_id = str(raw["ApiId"])
        route = next((r for r in aws.http_apis.routes(api_id) if r.route_key == "$default"),
                     None)
        out[api_id] = Endpoint(api_id, "http", str(tags[TAG_FUNCTION]),
                               route.auth_type if route else "NONE",
                               str(raw.get("ApiEndpoint") or ""))
    return out


class LiveRunner:
    """Runs a function's ``live`` version once: its package from the artifacts bucket
    (by the version's CodeSha256), unpacked once per version, in the jail."""

    def __init__(self, aws: Aws, work_dir: Path, jail: Jail | None = None,
                 rng: random.Random | None = None) -> None:
        self.aws = aws
        self.work_dir = work_dir
        self.jail = jail
        self.rng = rng or random.Random()
        self._lock = threading.Lock()

    def live_version(self, name: str) -> str | None:
        alias = self.aws.functions.get_alias(name, LIVE_ALIAS)
        if alias is None:
            return None
        draw = self.rng.random()
        for version, weight in alias.weights.items():
            if draw < weight:
                return version
            draw -= weight
        return alias.version

    def _package(self, config: dict[str, Any]) -> Path:
        digest = base64.b64decode(str(config["CodeSha256"])).hex()
        folder = self.work_dir / "packages" / digest
        with self._lock:
            if not folder.is_dir():
                zip_path = self.work_dir / f"{digest}.zip"
                self.aws.s3.download_file(self.aws.settings.artifacts_bucket,
                                          f"artifacts/{digest}.zip", str(zip_path))
                extract_package(zip_path, folder)
                zip_path.unlink()
        return folder

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        version = self.live_version(name)
        if version is None:
            raise AutoLambdaError(f"function {name} has no {LIVE_ALIAS} alias",
                                  code=Code.AwsNotFound, hint="deploy the app first")
        config: dict[str, Any] = dict(self.aws.functions.get_configuration(name, version))
        variables = (config.get("Environment") or {}).get("Variables") or {}
        spec = AppSpec(name=name, handler=str(config["Handler"]),
                       runtime=str(config["Runtime"]), memory=int(config["MemorySize"]),
                       timeout=int(config["Timeout"]),
                       environment={str(k): str(v) for k, v in variables.items()})
        secrets = self._secrets(name, variables)
        interpreter = find_interpreter(spec.python_version)
        if interpreter is None:
            raise AutoLambdaError(f"no local {spec.runtime} interpreter to run {name}",
                                  code=Code.InterpreterMissing,
                                  hint=f"install {spec.runtime} locally")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        run = run_local(self._package(config), spec, interpreter,
                        work_dir=self.work_dir / "runs", event=event, function_name=name,
                        secrets=secrets,
                        version=version, function_arn=f"{config['FunctionArn']}",
                        region=self.aws.settings.region, jail=self.jail or default_jail(),
                        cache_dir=self.aws.settings.cache_dir / "verify")
        return run.output


    def _secrets(self, name: str, variables: dict[str, Any]) -> dict[str, str] | None:
        """The values of the function's secret references, read from the emulator as the
        local verify run reads them (the jail has no network to let the shim do it)."""
        raw = variables.get(SECRETS_VAR)
        if not raw:
            return None
        return resolve_for_local_run(self.aws, (
            SecretRef(key, *parse_secret_reference(value, f"{name} {key}"))
            for key, value in json.loads(str(raw)).items()))


class UrlStandIn:
    """The server: ``start()``, ``local_url(aws_url)``, ``stop()``."""

    def __init__(self, aws: Aws, *, work_dir: Path, port: int = 0, host: str = "127.0.0.1",
                 runner: LiveRunner | None = None) -> None:
        self.aws = aws
        self.runner = runner or LiveRunner(aws, work_dir)
        self.endpoints: dict[str, Endpoint] = {}
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "auto-lambda-url-stand-in"

            def _serve(self) -> None:
                stand_in.handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("url stand-in: " + format, *args)

        try:
            self._server = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or not port:
                raise
            # another local stack (or anything else) holds the port: take a free one;
            # the URLs printed are this server's, whatever its port
            log.warning("url stand-in: port %d is taken; listening on a free port", port)
            self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{int(port)}"

    def local_url(self, aws_url: str) -> str:
        """Where the stand-in serves the function URL or HTTP API ``aws_url``."""
        return f"{self.base_url}/{endpoint_id(aws_url)}/"

    def start(self) -> UrlStandIn:
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="url-stand-in", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def endpoint(self, eid: str) -> Endpoint | None:
        with self._lock:
            found = self.endpoints.get(eid)
            if found is None:  # made (or changed) since the last look
                self.endpoints = find_endpoints(self.aws)
                found = self.endpoints.get(eid)
            return found

    def answer(self, eid: str, request: HttpRequest) -> HttpAnswer:
        endpoint = self.endpoint(eid)
        if endpoint is None:
            return error_answer(404, f"no function URL or HTTP API {eid!r} in the local stack")
        # the auth type can change with a deploy: read it again for every request
        endpoint = find_endpoints(self.aws).get(eid) or endpoint
        authorization = dict((k.lower(), v) for k, v in request.headers).get("authorization", "")
        if endpoint.auth_type == "AWS_IAM" and not authorization.startswith("AWS4-HMAC-SHA256 "):
            return error_answer(403, "Forbidden: this endpoint has auth iam; sign the request "
                                     "with SigV4 (e.g. curl --aws-sigv4)")
        event = to_event(request, api_id=eid, domain=urlsplit(endpoint.aws_url).hostname or "")
        try:
            result = self.runner.invoke(endpoint.function_name, event)
        except AutoLambdaError as exc:  # the handler raised, timed out, or no jail
            log.warning("url stand-in: %s failed: [%s] %s", endpoint.function_name, exc.code,
                        exc.message)
            return error_answer(502, "Internal Server Error")
        except Exception:  # the emulator's answer; the server keeps serving
            log.exception("url stand-in: running %s failed", endpoint.function_name)
            return error_answer(502, "Internal Server Error")
        return to_answer(result)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        split = urlsplit(h.path)
        eid, _, rest = str(split.path).lstrip("/").partition("/")
        length = int(h.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            answer = error_answer(413, "Request Entity Too Large")
        else:
            body = h.rfile.read(length) if length else b""
            request = HttpRequest(h.command, "/" + rest, str(split.query),
                                  tuple(h.headers.items()), body, h.client_address[0])
            answer = self.answer(eid, request)
        h.send_response(answer.status)
        for name, value in answer.headers:
            h.send_header(name, value)
        for cookie in answer.cookies:
            h.send_header("Set-Cookie", cookie)
        h.send_header("Content-Length", str(len(answer.body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(answer.body)
