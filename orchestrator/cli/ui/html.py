"""HTML building blocks for the web console: escaping, the page frame, links, times.

Every value that reaches a page goes through ``esc`` (or ``attr``) here; pages are plain
HTML that works without JavaScript, which only refreshes the ``data-live`` region.
Pure functions; no I/O.
"""

from __future__ import annotations

import datetime as dt
import html
from urllib.parse import urlencode

STYLE_URL = "/static/console.css"
SCRIPT_URL = "/static/console.js"
STATE_CLASS = {"verified": "ok", "failed": "bad", "retrying": "warn"}


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def link(href: str, text: str, cls: str = "") -> str:
    klass = f' class="{esc(cls)}"' if cls else ""
    return f'<a href="{esc(href)}"{klass}>{esc(text)}</a>'


def url(path: str, **params: object) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "", False)}
    return path + ("?" + urlencode(kept) if kept else "")


def when(ts: float | None) -> str:
    if not ts:
        return "-"
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def clock(ts: float | None) -> str:
    if not ts:
        return "-"
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%H:%M:%S")


def seconds(value: float | None) -> str:
    if value is None:
        return "running"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min"


def state_badge(state: str) -> str:
    return f'<span class="badge {STATE_CLASS.get(state, "run")}">{esc(state)}</span>'


def page(title: str, body: str, *, nav: str = "", live: str | None = None,
         live_every: float = 3.0, team: str | None = None) -> str:
    """A whole page. ``live`` is the URL of this page's live fragment (JS polls it);
    ``team``: the page is seen through that team's token (no Fleet tab, the team shown)."""
    tabs = "".join(
        f'<a href="{href}"{" aria-current=page" if nav == name else ""}>{label}</a>'
        for name, href, label in (("jobs", "/", "Jobs"), ("apps", "/apps", "Apps"),
                                  ("fleet", "/fleet", "Fleet"),
                                  ("events", "/events", "Events"),
                                  ("workflow", "/workflow", "Workflow"))
        if team is None or name != "fleet")
    if team is not None:
        tabs += f'<span class="muted" id=principal>team {esc(team)}</span>'
    live_attrs = (f' data-live="{esc(live)}" data-every="{live_every:g}"'
                  if live is not None else "")
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · auto-lambda</title>"
        '<link rel=icon href="data:,">'
        f'<link rel=stylesheet href="{STYLE_URL}">'
        f'<script src="{SCRIPT_URL}" defer></script></head>'
        f'<body><header><a class=brand href="/">auto-lambda</a><nav>{tabs}</nav>'
        '<span id=live-status class=muted></span></header>'
        f"<main{live_attrs}>{body}</main></body></html>\n")


def error_page(status: int, code: str, message: str, hint: str = "") -> str:
    text = f"error [{code}]: {message}" + (f" ({hint})" if hint else "")
    body = (f'<h1>{status}</h1><p class="error" data-code="{esc(code)}">{esc(text)}</p>'
            f'<p>{link("/", "back to the jobs")}</p>')
    return page(f"error {status}", body)


def hidden(name: str, value: str) -> str:
    return f'<input type=hidden name="{esc(name)}" value="{esc(value)}">'
