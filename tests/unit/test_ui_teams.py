"""The console's team tokens: the operator's file read strictly, and what each
principal may see."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.cli.ui.teams import Principal, load_team_tokens
from orchestrator.errors import UiTeamTokensInvalid

GOOD = "x" * 24


def _file(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "teams.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_a_good_file_maps_teams_to_tokens(tmp_path: Path) -> None:
    path = _file(tmp_path, {"payments": GOOD, "search_1": "y" * 16})
    assert load_team_tokens(path) == {"payments": GOOD, "search_1": "y" * 16}


@pytest.mark.parametrize(("content", "words"), [
    ("not json", "not JSON"),
    (["payments"], "one JSON object"),
    ({"Pay-Ments": GOOD}, "not a team name"),
    ({"payments": "short"}, "at least 16"),
    ({"payments": 12345678901234567890}, "at least 16"),
    ({"a": GOOD, "b": GOOD}, "used twice"),
    ({"a": "o" * 20}, "operator"),
])
def test_a_bad_file_is_refused_with_a_code(tmp_path: Path, content: object, words: str) -> None:
    with pytest.raises(UiTeamTokensInvalid) as info:
        load_team_tokens(_file(tmp_path, content), operator_token="o" * 20)
    assert info.value.code == "UiTeamTokensInvalid" and words in info.value.message
    assert info.value.hint and GOOD not in info.value.message


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UiTeamTokensInvalid, match="cannot read"):
        load_team_tokens(tmp_path / "absent.json")


def test_a_team_sees_its_own_uploads_only() -> None:
    team = Principal(GOOD, "payments")
    assert team.sees("payments/app.zip") and team.sees("payments/deep/app.zip")
    assert not team.sees("search/app.zip") and not team.sees("app.zip")
    assert not team.sees("paymentsx/app.zip") and not team.sees("Payments/app.zip")
    assert Principal(GOOD, "default").sees("app.zip")
    operator = Principal("o" * 20)
    assert operator.is_operator and operator.sees("search/app.zip") and operator.sees("")
    assert team.csrf != operator.csrf and GOOD not in team.csrf
