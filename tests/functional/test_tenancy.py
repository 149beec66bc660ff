"""Teams on the pipeline: each team's upload becomes its own function, tagged with its
owner, and no upload can deploy over another team's function."""

from __future__ import annotations

import io
import zipfile

from tests.functional.conftest import HELLO_APP, Pipeline, make_zip


def _job(records: list, key: str):  # type: ignore[no-untyped-def]
    (job,) = [r for r in records if r.key == key]
    return job


def test_two_teams_uploading_the_same_app_get_two_functions(pipeline: Pipeline) -> None:
    pipeline.upload("payments/hello.zip", make_zip(HELLO_APP))
    pipeline.upload("search/hello.zip", make_zip(HELLO_APP))
    pipeline.upload("hello.zip", make_zip(HELLO_APP))
    records = pipeline.drain()
    for key in ("payments/hello.zip", "search/hello.zip", "hello.zip"):
        assert _job(records, key).state == "verified", _job(records, key).error
    lam = pipeline.aws.lambda_
    for team in ("payments", "search", "default"):
        name = f"auto-lambda-{team}-hello"
        found = lam.get_function(FunctionName=name)
        assert found["Tags"] == {"auto-lambda:managed": "true", "auto-lambda:team": team,
                                 "auto-lambda:app": "hello"}
        assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "1"


def test_a_manifest_naming_another_teams_function_fails_forbidden(pipeline: Pipeline) -> None:
    pipeline.upload("payments/hello.zip", make_zip(HELLO_APP))
    pipeline.drain()
    squat = dict(HELLO_APP)
    squat["auto-lambda.toml"] = HELLO_APP["auto-lambda.toml"].replace(
        "name = 'hello'", "name = 'auto-lambda-payments-hello'")
    pipeline.upload("search/takeover.zip", make_zip(squat))
    records = pipeline.drain()
    job = _job(records, "search/takeover.zip")
    assert job.state == "failed"
    assert job.error is not None and job.error["code"] == "ForbiddenFunctionName"
    versions = pipeline.aws.lambda_.list_versions_by_function(
        FunctionName="auto-lambda-payments-hello")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]  # untouched


def test_a_function_owned_by_another_team_or_not_ours_is_never_replaced(
        pipeline: Pipeline) -> None:
    lam = pipeline.aws.lambda_
    role = pipeline.info.role_arn
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def handler(e, c):\n    return 'someone else'\n")
    lam.create_function(FunctionName="auto-lambda-search-hello", Runtime="python3.12",
                        Role=role, Handler="app.handler", Code={"ZipFile": buf.getvalue()},
                        Tags={"auto-lambda:managed": "true", "auto-lambda:team": "payments"})
    lam.create_function(FunctionName="auto-lambda-default-hello", Runtime="python3.12",
                        Role=role, Handler="app.handler", Code={"ZipFile": buf.getvalue()})
    pipeline.upload("search/hello.zip", make_zip(HELLO_APP))
    pipeline.upload("hello.zip", make_zip(HELLO_APP))
    records = pipeline.drain()
    for key in ("search/hello.zip", "hello.zip"):
        job = _job(records, key)
        assert job.state == "failed" and job.error is not None
        assert job.error["code"] == "ForbiddenFunctionName", job.error
    assert "team 'payments'" in str(_job(records, "search/hello.zip").error["message"])
    assert "not created by auto-lambda" in str(_job(records, "hello.zip").error["message"])


def test_a_folder_that_is_not_a_team_and_a_name_too_long_have_their_codes(
        pipeline: Pipeline) -> None:
    pipeline.upload("Data-Eng/hello.zip", make_zip(HELLO_APP))
    long_name = dict(HELLO_APP)
    long_name["auto-lambda.toml"] = HELLO_APP["auto-lambda.toml"].replace(
        "name = 'hello'", "name = '" + "a" * 40 + "'")
    pipeline.upload("payments_platform/long.zip", make_zip(long_name))
    records = pipeline.drain()
    assert _job(records, "Data-Eng/hello.zip").error["code"] == "TeamInvalid"
    assert _job(records, "payments_platform/long.zip").error["code"] == "FunctionNameTooLong"
