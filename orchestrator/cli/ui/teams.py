"""Who a console request speaks for: the operator (every team's jobs) or one team.

The operator's token (``AUTO_LAMBDA_UI_TOKEN``, or the generated one) sees everything.
A team token, from the operator's file (``AUTO_LAMBDA_UI_TEAM_TOKENS`` or ``auto-lambda
ui --team-tokens FILE``, JSON ``{"team": "token", ...}``), sees and acts on the jobs of
its team only: uploads under ``<team>/``, the team of ``orchestrator.tenancy``. Pure: no
sockets, no AWS; the file is read once at start.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import AutoLambdaError, UiTeamTokensInvalid
from orchestrator.tenancy import team_of_key

MIN_TOKEN_CHARS = 16
MAX_TEAMS = 1000
_HINT = ('give a JSON object {"team": "token", ...}: team names as upload folders, tokens '
         f"of at least {MIN_TOKEN_CHARS} random characters, each used once")


def _invalid(message: str) -> UiTeamTokensInvalid:
    return UiTeamTokensInvalid(message, hint=_HINT)


@dataclass(frozen=True)
class Principal:
    """The operator (``team`` None) or one team, and the token that proved it."""

    token: str
    team: str | None = None

    @property
    def is_operator(self) -> bool:
        return self.team is None

    @property
    def label(self) -> str:
        return "operator" if self.team is None else f"team {self.team}"

    @property
    def csrf(self) -> str:
        """What this principal's forms carry: proves a POST came from one of its pages."""
        return hmac.new(self.token.encode(), b"auto-lambda-ui-csrf", hashlib.sha256).hexdigest()

    def sees(self, key: str) -> bool:
        """Whether the job of upload ``key`` is this principal's to see and act on."""
        if self.team is None:
            return True
        try:
            return team_of_key(key) == self.team
        except AutoLambdaError:
            return False


def load_team_tokens(path: Path, operator_token: str | None = None) -> dict[str, str]:
    """team -> token from ``path``; ``UiTeamTokensInvalid`` for any doubt."""
    try:
        raw = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise _invalid(f"cannot read the team tokens file {path}: "
                                  f"{exc.strerror or exc}") from exc
    except ValueError as exc:
        raise _invalid(f"the team tokens file {path} is not JSON: {exc}") from exc
    if not isinstance(raw, dict) or len(raw) > MAX_TEAMS:
        raise _invalid(f"the team tokens file {path} is not one JSON object "
                                  f"of at most {MAX_TEAMS} teams")
    seen: set[str] = set()
    out: dict[str, str] = {}
    for team, token in raw.items():
        try:
            valid_team = team_of_key(f"{team}/x.zip") == team
        except AutoLambdaError:
            valid_team = False
        if not valid_team:
            raise _invalid(f"{path}: {str(team)[:40]!r} is not a team name")
        if not isinstance(token, str) or len(token) < MIN_TOKEN_CHARS:
            raise _invalid(f"{path}: the token of team {team} is not a string of "
                                      f"at least {MIN_TOKEN_CHARS} characters")
        if token in seen or (operator_token is not None and token == operator_token):
            raise _invalid(f"{path}: the token of team {team} is used twice (or "
                                      "is the operator's)")
        seen.add(token)
        out[team] = token
    return out
