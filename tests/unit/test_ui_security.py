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


TEAM_A = "a" * 32
TEAM_B = "b" * 32


def teams(host: str = "10.1.2.3", port: int = 9000) -> Access:
    return Access(TOKEN, host, port, {"teama": TEAM_A, "teamb": TEAM_B})


def test_each_token_speaks_for_its_principal() -> None:
    access = teams()
    host = {"Host": "10.1.2.3:9000"}
    operator = access.check("GET", host | {"Authorization": f"Bearer {TOKEN}"}, None)
    assert operator.principal is not None and operator.principal.is_operator
    team_a = access.check("GET", host | {"Cookie": f"{COOKIE}={TEAM_A}"}, None)
    assert team_a.principal is not None and team_a.principal.team == "teama"
    team_b = access.check("GET", host, TEAM_B)
    assert team_b.set_cookie and team_b.principal is not None and team_b.principal.team == "teamb"
    assert access.cookie_header(team_b.principal).startswith(f"{COOKIE}={TEAM_B};")
    assert access.check("GET", host | {"Authorization": "Bearer " + "c" * 32}, None).status == 401
    # a token in the address replaces the cookie's principal (and sets its own cookie)
    switched = access.check("GET", host | {"Cookie": f"{COOKIE}={TEAM_A}"}, TEAM_B)
    assert switched.principal is not None and switched.principal.team == "teamb"


def test_a_post_needs_the_proof_of_its_own_principal() -> None:
    access = teams()
    host = {"Host": "10.1.2.3:9000"}
    as_a = host | {"Cookie": f"{COOKIE}={TEAM_A}"}
    a_csrf = access._who(TEAM_A).csrf  # type: ignore[union-attr]
    assert access.check("POST", as_a, None, form_csrf=a_csrf).allowed
    # the operator's form proof (or team B's) does not act for team A, nor A's for them
    assert access.check("POST", as_a, None, form_csrf=access.csrf).code == "UiActionRefused"
    b_csrf = access._who(TEAM_B).csrf  # type: ignore[union-attr]
    assert access.check("POST", as_a, None, form_csrf=b_csrf).code == "UiActionRefused"
    as_op = host | {"Authorization": f"Bearer {TOKEN}"}
    assert access.check("POST", as_op, None, form_csrf=a_csrf).allowed  # the bearer proves it
    assert access.check("POST", host | {"Cookie": f"{COOKIE}={TOKEN}"}, None,
                        form_csrf=a_csrf).code == "UiActionRefused"


def test_on_loopback_no_token_is_the_operator_and_a_team_token_is_its_team() -> None:
    access = teams("127.0.0.1", 8765)
    host = {"Host": "127.0.0.1:8765"}
    bare = access.check("GET", host, None)
    assert bare.principal is not None and bare.principal.is_operator and not bare.set_cookie
    scoped = access.check("GET", host, TEAM_A)
    assert scoped.set_cookie and scoped.principal is not None
    assert scoped.principal.team == "teama"
