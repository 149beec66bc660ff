"""Who may use the web console, decided per request. Pure: no sockets, no AWS.

Rules:

- The ``Host`` header must name the address the console listens on (or, on loopback,
  ``localhost``/``127.0.0.1``/``[::1]`` with its port). A page fetched through another
  name (DNS rebinding) is refused, so another site can never read a page.
- Bound to loopback, pages need nothing more. Bound to any other address, every request
  needs the access token: ``Authorization: Bearer TOKEN``, the ``auto_lambda_ui``
  cookie, or ``?token=TOKEN`` once (answered with the cookie and a redirect that drops
  the token from the address bar).
- Actions (replay, DLQ) are POSTs and always need a proof: the form's ``csrf`` field
  (an HMAC of the token, embedded in the console's own forms, never the token itself) or
  the bearer token; a cross-site ``Origin`` is refused. Other methods are refused.

The token itself appears on no page and in no log line; only ``describe()`` prints it,
once, at start.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

from orchestrator.codes import Code

COOKIE = "auto_lambda_ui"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Verdict:
    """What to do with a request: ``status`` 0 means allowed."""

    status: int = 0
    code: Code | None = None
    message: str = ""
    hint: str = ""
    set_cookie: bool = False  # allowed through ?token=: set the cookie, drop the token

    @property
    def allowed(self) -> bool:
        return self.status == 0


ALLOWED = Verdict()


@dataclass(frozen=True)
class Access:
    token: str
    host: str
    port: int

    @property
    def local_only(self) -> bool:
        return is_loopback(self.host)

    @property
    def csrf(self) -> str:
        """The value the console's forms carry: proves a POST came from one of its pages."""
        return hmac.new(self.token.encode(), b"auto-lambda-ui-csrf", hashlib.sha256).hexdigest()

    def allowed_hosts(self) -> frozenset[str]:
        names = set(LOOPBACK_NAMES) if self.local_only else {self.host}
        if self.host in ("0.0.0.0", "::"):
            names = set()  # any address: only a token holder, and the Host check is moot
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") \
            else self.host
        names.add(host)
        return frozenset(f"{name}:{self.port}" for name in names)

    def check(self, method: str, headers: Mapping[str, str], query_token: str | None,
              form_csrf: str | None = None) -> Verdict:
        host = headers.get("Host", "")
        if self.host not in ("0.0.0.0", "::") and host not in self.allowed_hosts():
            return Verdict(421, Code.UiHostRefused, f"this console does not answer for {host!r}",
                           "open the address `auto-lambda ui` printed")
        if method not in ("GET", "HEAD", "POST"):
            return Verdict(405, Code.UiMethodRefused, f"{method} is not allowed",
                           "pages are GET, actions are POST")
        presented = self._presented(headers)
        via_query = query_token is not None and self._matches(query_token)
        if not self.local_only and not presented and not via_query:
            return Verdict(401, Code.UiTokenRequired,
                           "this console is reachable from other machines and needs its token",
                           "open the address with ?token= that `auto-lambda ui` printed, or "
                           "send Authorization: Bearer TOKEN")
        if method == "POST":
            origin = headers.get("Origin")
            if origin and origin != "null" and urlsplit(origin).netloc != host:
                return Verdict(403, Code.UiCrossSite, "an action from another site was refused",
                               "use the console's own buttons")
            bearer = self._bearer(headers)
            proof = form_csrf is not None and hmac.compare_digest(form_csrf, self.csrf)
            if not proof and not (bearer and self._matches(bearer)):
                return Verdict(403, Code.UiActionRefused,
                               "actions need the console's form token or the access token",
                               "use the console's buttons, or send Authorization: Bearer TOKEN")
        return Verdict(set_cookie=via_query and not self.local_only)

    def _presented(self, headers: Mapping[str, str]) -> bool:
        bearer = self._bearer(headers)
        if bearer and self._matches(bearer):
            return True
        cookie = _cookie(headers.get("Cookie", ""))
        return cookie is not None and self._matches(cookie)

    def _matches(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self.token.encode())

    @staticmethod
    def _bearer(headers: Mapping[str, str]) -> str | None:
        value = headers.get("Authorization", "")
        scheme, _, rest = value.partition(" ")
        return rest.strip() if scheme.lower() == "bearer" and rest.strip() else None

    def cookie_header(self) -> str:
        return f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/"

    def describe(self) -> str:
        """The address to open: with the token when it is needed (printed once)."""
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        shown = f"[{shown}]" if ":" in shown else shown
        base = f"http://{shown}:{self.port}/"
        return base if self.local_only else f"{base}?token={self.token}"


def _cookie(raw: str) -> str | None:
    try:
        jar = SimpleCookie(raw)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else None
