"""Teams from upload keys, function names and the ownership rules."""

from __future__ import annotations

import pytest

from orchestrator.errors import ManifestError
from orchestrator.tenancy import (
    check_owner,
    function_name,
    own_app_name,
    ownership_tags,
    team_of_key,
)


@pytest.mark.parametrize(("key", "team"), [
    ("hello.zip", "default"), ("payments/hello.zip", "payments"),
    ("data_eng/sub/app.zip", "data_eng"), ("t1/x.zip", "t1"),
])
def test_the_team_is_the_first_folder_of_the_key(key: str, team: str) -> None:
    assert team_of_key(key) == team


@pytest.mark.parametrize("key", ["Payments/a.zip", "data-eng/a.zip", "/a.zip", "_x/a.zip",
                                 "x" * 21 + "/a.zip", "café/a.zip", "../a.zip"])
def test_a_folder_that_is_not_a_team_name_is_refused(key: str) -> None:
    with pytest.raises(ManifestError) as info:
        team_of_key(key)
    assert info.value.code == "TeamInvalid"


def test_two_teams_never_share_a_function_name() -> None:
    # no dash in a team name: the first dash after the prefix always ends the team
    assert function_name("auto-lambda", "a", "b-hello") != function_name("auto-lambda", "a_b",
                                                                         "hello")
    assert function_name("auto-lambda", "payments", "hello") == "auto-lambda-payments-hello"


def test_a_name_over_lambdas_64_characters_has_its_own_code() -> None:
    with pytest.raises(ManifestError) as info:
        function_name("auto-lambda", "payments_team", "a" * 40)
    assert info.value.code == "FunctionNameTooLong"
    assert "at most" in (info.value.hint or "")
    assert len(function_name("auto-lambda", "t", "a" * 50)) == 64


def test_an_app_name_spelling_another_teams_function_is_forbidden() -> None:
    assert own_app_name("auto-lambda", "a", "hello") == "hello"
    assert own_app_name("auto-lambda", "a", "auto-lambda-a-hello") == "hello"
    with pytest.raises(ManifestError) as info:
        own_app_name("auto-lambda", "a", "auto-lambda-b-hello")
    assert info.value.code == "ForbiddenFunctionName" and "'b'" in str(info.value)


def test_only_the_owning_team_may_replace_a_function() -> None:
    check_owner("f", ownership_tags("a", "hello"), "a")
    for tags, team in ((ownership_tags("b", "hello"), "a"), ({}, "a"), (None, "default"),
                       ({"auto-lambda:team": "a"}, "a")):
        with pytest.raises(ManifestError) as info:
            check_owner("f", tags, team)
        assert info.value.code == "ForbiddenFunctionName"
