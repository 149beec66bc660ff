"""What the terminal shows is what the upload and the error said: bracketed text in keys,
app names and messages (``[verify]``, ``[bold]``) is printed as written, never read as
rich markup."""

from __future__ import annotations

from rich.console import Console

from auto_lambda_dev.demo import DemoResult
from orchestrator.cli.report import history_table, jobs_table
from orchestrator.jobs.record import JobRecord

KEY = "team/[bold]odd[/bold].zip"
MESSAGE = "fix the handler, or the expectation in [verify] of auto-lambda.toml"


def _failed() -> JobRecord:
    return JobRecord(job_id="ab" * 32, bucket="b", key=KEY, app_name="[red]app", state="failed",
                     error={"code": "VerifyMismatch", "message": MESSAGE})


def _text(*renderables: object) -> str:
    console = Console(record=True, width=400, color_system=None)
    for r in renderables:
        console.print(r)
    return console.export_text()


def test_tables_print_keys_names_and_errors_as_written() -> None:
    rec = _failed()
    rec.snapshot = {"history": [
        {"type": "ExecutionStarted", "state": "received", "time": 1.0},
        {"type": "TaskFailed", "state": "[tested]", "time": 2.0, "error": "VerifyMismatch",
         "cause": MESSAGE}]}
    text = _text(jobs_table([rec]), history_table(rec))
    assert KEY in text and "[red]app" in text
    assert MESSAGE in text and "[tested]" in text


def test_demo_summary_keeps_the_code_and_the_message_brackets() -> None:
    (line,) = DemoResult(records=[_failed()]).summary_lines()
    text = _text(line)
    assert f"[VerifyMismatch] {MESSAGE}" in text
    assert "[red]app: failed" in text
