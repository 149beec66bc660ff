"""Who may use the web console: loopback binds, token-only binds, actions and hosts."""

from __future__ import annotations

import pytest

from orchestrator.cli.ui.security import COOKIE, Access

TOKEN = "t" * 43


def local() -> Access:
    return Access(TOKEN, "127.0.0.1", 8765)


def remote() -> Access:
    return Access(TOKEN, "10.1.2.3", 9000)


def test_loopback_pages_need_no_token_but_only_for_loopback_host_names() -> None:
    access = local()
    for host in ("127.0.0.1:8765", "localhost:8765", "[::1]:8765"):
        assert access.check("GET", {"Host": host}, None).allowed
    # DNS rebinding: the right address under another name, or another port.
    for host in ("evil.example:8765", "127.0.0.1:8766", ""):
        verdict = access.check("GET", {"Host": host}, None)
        assert verdict.status == 421 and verdict.code == "UiHostRefused"


def test_any_other_bind_needs_the_token_on_every_request() -> None:
    access = remote()
    host = {"Host": "10.1.2.3:9000"}
    refused = access.check("GET", host, None)
    assert refused.status == 401 and refused.code == "UiTokenRequired" and refused.hint
    assert access.check("GET", host, "wrong-token").status == 401
    via_query = access.check("GET", host, TOKEN)
    assert via_query.allowed and via_query.set_cookie
    assert access.check("GET", host | {"Cookie": f"{COOKIE}={TOKEN}"}, None).allowed
    assert access.check("GET", host | {"Authorization": f"Bearer {TOKEN}"}, None).allowed
    assert access.check("GET", host | {"Cookie": f"{COOKIE}=nope"}, None).status == 401
    assert access.describe() == f"http://10.1.2.3:9000/?token={TOKEN}"
    assert local().describe() == "http://127.0.0.1:8765/"


def test_actions_always_need_a_proof_even_on_loopback() -> None:
    access = local()
    host = {"Host": "127.0.0.1:8765"}
    assert access.check("POST", host, None).code == "UiActionRefused"
    assert access.check("POST", host, None, form_csrf="forged").code == "UiActionRefused"
    assert access.check("POST", host, None, form_csrf=access.csrf).allowed
    assert access.check("POST", host | {"Authorization": f"Bearer {TOKEN}"}, None).allowed
    # A form posted from another site is refused even with a proof.
    cross = host | {"Origin": "http://evil.example"}
    assert access.check("POST", cross, None, form_csrf=access.csrf).code == "UiCrossSite"
    same = host | {"Origin": "http://127.0.0.1:8765"}
    assert access.check("POST", same, None, form_csrf=access.csrf).allowed


def test_the_form_proof_is_not_the_token_and_depends_on_it() -> None:
    assert local().csrf != TOKEN and TOKEN not in local().csrf
    assert Access("u" * 43, "127.0.0.1", 8765).csrf != local().csrf


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "TRACE"])
def test_other_methods_are_refused(method: str) -> None:
    assert local().check(method, {"Host": "127.0.0.1:8765"}, None).status == 405
