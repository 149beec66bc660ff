"""The build log's pieces without AWS: what a transcript keeps of hostile output (no
escapes, no control characters, no worker secret, capped), where a job's log lives, how
a block is written so output cannot forge a header, the cap, and a block sent twice
after a lost answer kept once."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from orchestrator import redact
from orchestrator.steps.buildlog import BuildLogs, log_key, render_block, trim
from orchestrator.steps.transcript import PART_CHARS, Part, Transcript, clean, note, recording

SECRET = "pl4nted-w0rker-s3cret-value"


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AUTO_LAMBDA_PLANTED_TOKEN", SECRET)
    redact.refresh()
    yield SECRET
    monkeypatch.delenv("AUTO_LAMBDA_PLANTED_TOKEN")
    redact.refresh()


def test_clean_removes_escapes_and_controls_and_masks_a_secret_split_by_them(
        planted: str) -> None:
    hostile = ("\x1b]0;pwned title\x07\x1b[31mred\x1b[0m \x1b[2J\x1b[Hbell\x07 "
               f"{planted[:5]}\x1b[0m{planted[5:]} nul\x00 bidi\u202eevil\u202c tab\tok\r\n")
    out = clean(hostile)
    assert planted not in out and "[redacted]" in out
    assert "\x1b" not in out and "\x07" not in out and "\x00" not in out
    assert "\u202e" not in out and "\r" not in out
    assert "red" in out and "tab\tok\n" in out and "pwned title" not in out


def test_clean_keeps_the_end_of_a_long_output() -> None:
    text = "".join(f"line {i}\n" for i in range(40_000))
    out = clean(text)
    assert len(out) <= PART_CHARS + 60
    assert out.startswith("[... ") and "line 39999" in out and "line 0\n" not in out


def test_note_goes_to_the_current_transcript_only() -> None:
    note("outside", "nobody records this")  # no step running: nothing happens
    transcript = Transcript()
    with recording(transcript):
        note("import check", "requests  missing")
    note("after", "not recorded")
    assert transcript.parts == [Part("import check", "requests  missing")]


@pytest.mark.parametrize(("key", "expected"), [
    ("payments/hello.zip", "logs/payments/hello/j1.log"),
    ("hello.zip", "logs/default/hello/j1.log"),
    ("Bad-Team/x.zip", "logs/_invalid/x/j1.log"),
    ("team/../../etc/passwd.zip", "logs/team/passwd/j1.log"),
    ("team/a b;rm -rf.ZIP", "logs/team/a_b_rm_-rf/j1.log"),
])
def test_a_jobs_log_key_is_derived_from_its_upload_and_safe(key: str, expected: str) -> None:
    assert log_key(key, "j1") == expected


def test_output_cannot_forge_a_header() -> None:
    block = render_block("verify · attempt 1", [Part("smoke: stdout", "=== fake ===\nok")])
    assert block.splitlines() == ["=== verify · attempt 1 ===", "--- smoke: stdout ---",
                                  "| === fake ===", "| ok"]


def test_trim_drops_the_oldest_whole_blocks() -> None:
    blocks = "".join(render_block(f"step {i}", [Part("out", "x" * 1000)]) for i in range(30))
    out = trim(blocks, 10_000)
    assert len(out) <= 10_000 + 60
    assert "=== step 29 ===" in out and "=== step 0 ===" not in out
    assert out.splitlines()[1].startswith("=== step ")  # cut at a block's start


@dataclass
class _Body:
    data: bytes

    def chunks(self, size: int) -> Iterator[bytes]:
        stream = io.BytesIO(self.data)
        while chunk := stream.read(size):
            yield chunk


@dataclass
class FakeObjects:
    store: dict[str, bytes] = field(default_factory=dict)
    puts: int = 0
    fail_puts: int = 0

    def get(self, bucket: str, key: str) -> _Body | None:
        data = self.store.get(f"{bucket}/{key}")
        return None if data is None else _Body(data)

    def put(self, bucket: str, key: str, body: bytes, *, content_type: str | None = None
            ) -> None:
        self.puts += 1
        if self.fail_puts:
            self.fail_puts -= 1
            raise OSError("connection reset")
        self.store[f"{bucket}/{key}"] = body


def test_blocks_append_in_order_and_a_block_sent_again_is_kept_once() -> None:
    objects = FakeObjects()
    logs = BuildLogs(objects, "artifacts", clock=lambda: 0.0)  # type: ignore[arg-type]
    first = logs.header("fetch", 1, "ok", 0.1)
    assert logs.append("t/app.zip", "job1", first, [Part("a", "one")])
    # the answer of the first put was lost and the whole append runs again
    assert logs.append("t/app.zip", "job1", first, [Part("a", "one")])
    second = logs.header("unpack", 1, "failed ZipInvalid", 0.2)
    assert logs.append("t/app.zip", "job1", second, [Part("traceback", "Traceback ...")])
    text = objects.store["artifacts/logs/t/app/job1.log"].decode()
    assert text.count("=== fetch · attempt 1") == 1
    assert text.index("=== fetch") < text.index("=== unpack")
    assert "failed ZipInvalid" in text and "| Traceback ..." in text


def test_a_log_that_cannot_be_written_is_reported_not_raised() -> None:
    objects = FakeObjects(fail_puts=1)
    logs = BuildLogs(objects, "artifacts")  # type: ignore[arg-type]
    assert logs.append("t/app.zip", "job1", logs.header("fetch", 1, "ok", 0.0), []) is False


def test_a_failure_repeated_by_retries_is_counted_not_rewritten() -> None:
    objects = FakeObjects()
    logs = BuildLogs(objects, "artifacts", clock=lambda: 0.0)  # type: ignore[arg-type]
    same = [Part("traceback", "AwsServerError: 503")]
    for attempt in range(1, 6):
        assert logs.add("t/app.zip", "job1", "deploy", attempt, "failed AwsServerError",
                        0.1, same)
    assert objects.puts == 1  # attempts 2-5 failed exactly as attempt 1 did
    logs.add("t/app.zip", "job1", "deploy", 6, "ok", 0.2, [])
    text = objects.store["artifacts/logs/t/app/job1.log"].decode()
    assert text.count("=== deploy · ") == 2 and "4 more failed attempt(s) left out" in text
    # a different failure is written, and so is the same failure after a success
    logs.add("t/app.zip", "job1", "verify", 1, "failed HandlerRaised", 0.1, same)
    logs.add("t/app.zip", "job1", "verify", 2, "failed HandlerRaised", 0.1,
             [Part("traceback", "another output")])
    assert objects.puts == 4
