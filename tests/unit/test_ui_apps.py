"""The console's apps rows: one per function with its live version and last result, the
code the apps hold and the region's quota when Lambda reports it, every value escaped."""

from __future__ import annotations

from orchestrator.cli.ui.views import apps_live
from orchestrator.jobs.apps import AppRow, Storage
from orchestrator.jobs.fleet import Target
from orchestrator.jobs.listing import JobSummary


def _row(app: str, state: str, code: str | None = None) -> AppRow:
    last = JobSummary(job_id="j" * 40, key=f"payments/{app}.zip", state=state,
                      created_at=1.0e9, app_name=app,
                      error={"code": code, "message": "<b>x</b>"} if code else None)
    return AppRow(Target("payments", app, f"auto-lambda-payments-{app}"), "3", 4,
                  3 * 1_048_576, last, last if state == "verified" else None,
                  last if state == "failed" else None)


def test_rows_show_live_version_result_and_code_held() -> None:
    html = apps_live([_row("hello", "verified"), _row("api", "failed", "VerifyMismatch")],
                     Storage(None, None))
    assert html.count("<tr data-app=") == 2
    assert 'data-app="api" data-team="payments" data-live="3" data-state="failed"' in html
    assert '<span class="code">VerifyMismatch</span>' in html
    assert "these apps hold 6.0 MB of code" in html and "not available" in html
    assert "<b>x</b>" not in html  # messages are not shown raw (nor at all in a row)


def test_the_region_figure_when_lambda_reports_it() -> None:
    html = apps_live([], Storage(75 * 1024**3 // 100, 75 * 1024**3))
    assert "no apps yet" in html
    assert "the region holds 768.0 MB of its 75.0 GB quota (1.00 %)" in html


def test_names_are_escaped() -> None:
    row = _row("hello", "verified")
    hostile = AppRow(Target('p"><script>', "a<b", "f"), None, 0, 0, None, None, None)
    html = apps_live([row, hostile], Storage(None, None))
    assert "<script>" not in html and "a&lt;b" in html
