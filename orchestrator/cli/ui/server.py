"""The web console's HTTP server (standard library ``ThreadingHTTPServer``): routing,
input validation, access checks (``security.Access``) and response headers.

Routes (an explicit table; anything else is 404):

    GET  /                      jobs: filters, counts, pages   (?fragment=live: the list)
    GET  /jobs/ID               one job                          (?fragment=live)
    GET  /jobs/ID/trace         the job's trace as a waterfall
    GET  /jobs/ID/replay?mode=  the replay plan (redrive|restart); changes nothing
    POST /jobs/ID/replay        run that plan
    GET  /fleet                 metrics chart, target, queue and DLQ (?fragment=live)
    GET  /dlq                   the plan for bringing DLQ messages back
    POST /dlq                   run it
    GET  /workflow              the declared workflow
    GET  /static/NAME           the console's CSS and JS (shipped in the package)
    GET  /healthz               "ok"

Every answer carries a strict Content-Security-Policy (own scripts and styles only) and
``Cache-Control: no-store``. An error answers ``error [CODE]: message (hint)``. This module
builds no HTML of its own beyond that and reads AWS only through ``ConsoleData``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, urlencode, urlsplit

from orchestrator.cli.ui import views
from orchestrator.cli.ui.data import ConsoleData
from orchestrator.cli.ui.html import error_page
from orchestrator.cli.ui.security import Access, new_token
from orchestrator.codes import Code
from orchestrator.durations import DurationInvalid, parse_duration
from orchestrator.errors import AutoLambdaError
from orchestrator.jobs.listing import ListQuery, ListQueryInvalid
from orchestrator.jobs.record import JobRecord

log = logging.getLogger(__name__)

MAX_URL = 2048
MAX_BODY = 4096
_JOB_ID = r"(?P<job>[A-Za-z0-9-]{1,80})"
STATIC = {"console.css": "text/css; charset=utf-8",
          "console.js": "text/javascript; charset=utf-8"}
HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class BadInput(AutoLambdaError):
    code = Code.UiBadInput


@dataclass
class Response:
    status: int
    body: str | bytes
    content_type: str = "text/html; charset=utf-8"
    location: str | None = None


def _one(params: dict[str, list[str]], name: str, default: str = "") -> str:
    values = params.get(name)
    if not values:
        return default
    if len(values) > 1:
        raise BadInput(f"{name} is given {len(values)} times", hint="give it once")
    return values[0].strip()


class Console:
    """The routes, over one ConsoleData and one Access. Used by the request handler."""

    def __init__(self, data: ConsoleData, access: Access) -> None:
        from orchestrator.jobs.workflow import DEPLOYMENT

        self.data = data
        self.access = access
        self.definition = DEPLOYMENT
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = [
            ("GET", re.compile(r"^/$"), self.jobs),
            ("GET", re.compile(rf"^/jobs/{_JOB_ID}$"), self.job),
            ("GET", re.compile(rf"^/jobs/{_JOB_ID}/trace$"), self.trace),
            ("GET", re.compile(rf"^/jobs/{_JOB_ID}/replay$"), self.replay_plan),
            ("POST", re.compile(rf"^/jobs/{_JOB_ID}/replay$"), self.replay),
            ("GET", re.compile(r"^/fleet$"), self.fleet),
            ("GET", re.compile(r"^/dlq$"), self.dlq_plan),
            ("POST", re.compile(r"^/dlq$"), self.dlq),
            ("GET", re.compile(r"^/workflow$"), self.workflow),
            ("GET", re.compile(r"^/static/(?P<name>[a-z]+\.(?:css|js))$"), self.static),
            ("GET", re.compile(r"^/healthz$"), lambda params: Response(200, "ok", "text/plain")),
        ]

    def dispatch(self, method: str, path: str, params: dict[str, list[str]]) -> Response:
        allowed = False
        for verb, pattern, handler in self.routes:
            match = pattern.match(path)
            if not match:
                continue
            allowed = True
            if verb == method or (verb == "GET" and method == "HEAD"):
                return handler(params, **match.groupdict())
        if allowed:
            return _error(405, Code.UiMethodRefused, f"{method} is not allowed here",
                          "pages are GET, actions are POST from the console's forms")
        return _error(404, Code.UiNotFound, f"no page {path}", "start from the jobs page")

    # ---- jobs ----
    def jobs(self, params: dict[str, list[str]]) -> Response:
        since_text = _one(params, "since")
        try:
            since = parse_duration(since_text) if since_text else None
        except DurationInvalid as exc:
            raise BadInput(str(exc.message), hint=exc.hint) from exc
        limit_text = _one(params, "limit", "50")
        if not limit_text.isdigit():
            raise BadInput(f"limit {limit_text!r} is not a number", hint="1 to 500")
        query = ListQuery(
            state=_one(params, "state") or None, app=_one(params, "app") or None,
            team=_one(params, "team") or None, search=_one(params, "q") or None,
            since=self.data.clock() - since if since is not None else None,
            limit=int(limit_text), cursor=_one(params, "cursor") or None,
        ).validate(self.data.states)
        listing = self.data.page(query)
        counts = self.data.counts.get()
        shown = views.query_params(query, since_text)
        live = views.jobs_live(listing, counts.by_state if counts else None,
                               counts.read_at if counts else None, shown, self.data.states)
        if _one(params, "fragment") == "live":
            return Response(200, live)
        live_url = views.url("/", **shown, fragment="live")
        return Response(200, views.jobs_page(live, shown, self.data.states, live_url))

    # ---- one job ----
    def _record(self, job: str) -> JobRecord:
        rec = self.data.job(job)
        if rec is None:
            raise _NotFound(f"no job {job}", hint="the jobs page lists every job")
        return rec

    def job(self, params: dict[str, list[str]], job: str) -> Response:
        rec = self._record(job)
        live = views.job_live(rec, self.definition, self.data.live_version(rec),
                              self.access.csrf)
        if _one(params, "fragment") == "live":
            return Response(200, live)
        notice = _one(params, "done")[:500]
        live_url = None if rec.is_terminal else f"/jobs/{rec.job_id}?fragment=live"
        return Response(200, views.job_page(rec, live, live_url, notice))

    def trace(self, params: dict[str, list[str]], job: str) -> Response:
        rec = self._record(job)
        trace_id, response = self.data.trace(rec)
        return Response(200, views.trace_page(rec, trace_id, response))

    def _mode(self, params: dict[str, list[str]]) -> bool:
        mode = _one(params, "mode", "redrive")
        if mode not in ("redrive", "restart"):
            raise BadInput(f"replay mode {mode!r} is not known", hint="redrive or restart")
        return mode == "restart"

    def replay_plan(self, params: dict[str, list[str]], job: str) -> Response:
        rec = self._record(job)
        restart = self._mode(params)
        actions = self.data.replay_plan(rec.job_id, restart)
        what = "restart this job" if restart else "redrive this job"
        return Response(200, views.plan_page(
            f"Replay {rec.app_name or rec.key}: {'restart' if restart else 'redrive'}",
            what, actions, f"/jobs/{rec.job_id}/replay",
            {"mode": "restart" if restart else "redrive"}, self.access.csrf,
            f"/jobs/{rec.job_id}"))

    def replay(self, params: dict[str, list[str]], job: str) -> Response:
        rec = self._record(job)
        results = self.data.replay(rec.job_id, self._mode(params))
        return Response(303, "", location=views.url(
            f"/jobs/{rec.job_id}", done=views.results_notice(results)))

    # ---- fleet ----
    def fleet(self, params: dict[str, list[str]]) -> Response:
        live = views.fleet_live(self.data.fleet(), self.access.csrf)
        if _one(params, "fragment") == "live":
            return Response(200, live)
        moved = _one(params, "moved")
        notice = f"{int(moved)} message(s) moved to the jobs queue" if moved.isdigit() else ""
        return Response(200, views.fleet_page(live, notice))

    def dlq_plan(self, params: dict[str, list[str]]) -> Response:
        actions = self.data.dlq_plan()
        return Response(200, views.plan_page(
            "Bring dead-lettered messages back", "move them to the jobs queue", actions,
            "/dlq", {}, self.access.csrf, "/fleet"))

    def dlq(self, params: dict[str, list[str]]) -> Response:
        results = self.data.bring_back()
        moved = sum(1 for r in results if r.ok)
        return Response(303, "", location=f"/fleet?moved={moved}")

    def workflow(self, params: dict[str, list[str]]) -> Response:
        from states.export import to_mermaid

        return Response(200, views.workflow_page(self.definition, to_mermaid(self.definition)))

    def static(self, params: dict[str, list[str]], name: str) -> Response:
        if name not in STATIC:
            return _error(404, Code.UiNotFound, f"no file {name}", "")
        body = resources.files("orchestrator.cli.ui").joinpath("static", name).read_bytes()
        return Response(200, body, STATIC[name])


class _NotFound(AutoLambdaError):
    code = Code.JobNotFound


def _error(status: int, code: Code, message: str, hint: str) -> Response:
    return Response(status, error_page(status, code, message, hint))


class _Handler(BaseHTTPRequestHandler):
    console: Console  # set on the subclass made per server
    server_version = "auto-lambda-ui"
    sys_version = ""

    def log_message(self, format: str, *args: object) -> None:
        log.debug("ui %s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def _serve(self, method: str) -> None:
        started = time.perf_counter()
        try:
            response, cookie = self._respond(method)
        except Exception:  # the server must outlive any request
            log.exception("ui: %s %s failed", method, self.path.split("?")[0])
            response, cookie = _error(500, Code.UiInternalError, "the console failed on this "
                                      "request", "see the console's log (-v)"), False
        self._send(method, response, cookie)
        log.debug("ui %s %s -> %d in %.3fs", method, self.path.split("?")[0], response.status,
                  time.perf_counter() - started)

    def _respond(self, method: str) -> tuple[Response, bool]:
        if len(self.path) > MAX_URL:
            return _error(414, Code.UiBadInput, "the address is too long", "shorten it"), False
        parts = urlsplit(self.path)
        try:
            params = parse_qs(parts.query, keep_blank_values=False, strict_parsing=False,
                              max_num_fields=30)
        except ValueError:
            return _error(400, Code.UiBadInput, "too many parameters", ""), False
        form: dict[str, list[str]] = {}
        if method == "POST":
            length_text = self.headers.get("Content-Length", "0")
            length = int(length_text) if length_text.isdigit() else -1
            if length < 0 or length > MAX_BODY:
                return _error(413, Code.UiBadInput, "the form is too large", ""), False
            ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
            if length and ctype != "application/x-www-form-urlencoded":
                return _error(415, Code.UiBadInput, f"forms only, not {ctype or 'nothing'}",
                              ""), False
            raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            try:
                form = parse_qs(raw, max_num_fields=10)
            except ValueError:
                return _error(400, Code.UiBadInput, "too many form fields", ""), False
        tokens = params.pop("token", [])
        token = tokens[0] if tokens else None
        csrfs = form.get("csrf", [])
        csrf = csrfs[0] if csrfs else None
        verdict = self.console.access.check(method, dict(self.headers.items()), token, csrf)
        if not verdict.allowed:
            return _error(verdict.status, verdict.code or Code.UiActionRefused, verdict.message,
                          verdict.hint), False
        if verdict.set_cookie:
            # Drop the token from the address bar (and from history and referrers).
            clean = parts.path + ("?" + urlencode(params, doseq=True) if params else "")
            return Response(303, "", location=clean), True
        merged = {**params, **{k: v for k, v in form.items() if k != "csrf"}}
        try:
            return self.console.dispatch(method, parts.path, merged), False
        except (BadInput, ListQueryInvalid) as exc:
            return _error(400, exc.code, exc.message, exc.hint or ""), False
        except _NotFound as exc:
            return _error(404, exc.code, exc.message, exc.hint or ""), False
        except AutoLambdaError as exc:
            return _error(502, exc.code, exc.message, exc.hint or ""), False

    def _send(self, method: str, response: Response, cookie: bool) -> None:
        body = response.body.encode() if isinstance(response.body, str) else response.body
        self.send_response(response.status)
        for name, value in HEADERS.items():
            self.send_header(name, value)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(body)))
        if response.location:
            self.send_header("Location", response.location)
        if cookie:
            self.send_header("Set-Cookie", self.console.access.cookie_header())
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(body)


class UiServer:
    """The console on ``host:port`` (port 0 picks a free one), served from a thread."""

    def __init__(self, data: ConsoleData, host: str = "127.0.0.1", port: int = 0,
                 token: str | None = None) -> None:
        handler: type[_Handler] = type("Handler", (_Handler,), {})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.access = Access(token or new_token(), host, int(self.httpd.server_address[1]))
        handler.console = Console(data, self.access)
        self.data = data
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The address to open (with the token when the bind needs one)."""
        return self.access.describe()

    def start(self) -> UiServer:
        self.data.counts.start()
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="ui-http",
                                        kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.data.counts.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
