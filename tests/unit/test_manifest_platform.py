"""The manifest keys that let an app do real work: [function] reserved_concurrency,
ephemeral_storage, layers, vpc; [permissions]; [secrets]; [[triggers]]. Typed values
that round-trip through the job record, old records that still load, and a stable code
for every mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.errors import ManifestError
from orchestrator.steps.unpack.iampolicy import PolicyStatement
from orchestrator.steps.unpack.manifest import AppSpec, load_app_spec
from orchestrator.steps.unpack.platform import (
    FunctionLimits,
    HttpTrigger,
    Permissions,
    ScheduleTrigger,
    SecretRef,
    SqsTrigger,
    UrlTrigger,
)

HANDLER = "def handler(event, context):\n    return event\n"
LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:common:3"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:auto-lambda-payments-in"
POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject",
     "Resource": "arn:aws:s3:::auto-lambda-payments-data/*"}]}
FULL = f"""
[function]
reserved_concurrency = 5
ephemeral_storage = 1024
layers = ["{LAYER}"]
vpc = "private"
[function.environment]
MODE = "prod"
[permissions]
policy_file = "iam/policy.json"
[secrets]
DB_URL = "ssm:/payments/db-url"
API_KEY = "secretsmanager:payments/api-key"
[[triggers]]
type = "url"
[[triggers]]
type = "schedule"
expression = "rate(1 hour)"
"""


def app(tmp_path: Path, toml: str, files: dict[str, str] | None = None) -> Path:
    root = tmp_path / "app"
    root.mkdir(exist_ok=True)
    (root / "app.py").write_text(HANDLER)
    (root / "auto-lambda.toml").write_text(toml)
    for name, text in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def load(tmp_path: Path, toml: str, files: dict[str, str] | None = None) -> AppSpec:
    return load_app_spec(app(tmp_path, toml, files), "app.zip")


def code_of(tmp_path: Path, toml: str, files: dict[str, str] | None = None) -> str:
    with pytest.raises(ManifestError) as info:
        load(tmp_path, toml, files)
    assert str(info.value) and info.value.hint
    return info.value.code


def full_spec(tmp_path: Path) -> AppSpec:
    toml = FULL + f"""
[[triggers]]
type = "sqs"
queue = "{QUEUE}"
[[triggers]]
type = "http"
auth = "none"
"""
    return load(tmp_path, toml, {"iam/policy.json": json.dumps(POLICY)})


def test_every_new_key_is_parsed_into_typed_values(tmp_path: Path) -> None:
    spec = full_spec(tmp_path)
    assert spec.limits == FunctionLimits(reserved_concurrency=5, ephemeral_storage=1024)
    assert spec.layers == (LAYER,) and spec.vpc == "private"
    assert spec.permissions == Permissions("iam/policy.json", (PolicyStatement(
        "Allow", ("s3:GetObject",), ("arn:aws:s3:::auto-lambda-payments-data/*",)),))
    assert spec.permissions.document() == {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"],
         "Resource": ["arn:aws:s3:::auto-lambda-payments-data/*"]}]}
    assert spec.secrets == (SecretRef("DB_URL", "ssm", "/payments/db-url"),
                            SecretRef("API_KEY", "secretsmanager", "payments/api-key"))
    assert spec.secrets[0].reference == "ssm:/payments/db-url"
    assert spec.triggers == (UrlTrigger("iam"), ScheduleTrigger("rate(1 hour)"),
                             SqsTrigger(QUEUE), HttpTrigger("none"))
    assert spec.environment == {"MODE": "prod"}


def test_defaults_when_the_new_keys_are_absent(tmp_path: Path) -> None:
    spec = load(tmp_path, "[function]\nmemory = 128\n")
    assert spec.limits == FunctionLimits(None, 512)
    assert (spec.layers, spec.vpc, spec.permissions, spec.secrets, spec.triggers) == (
        (), None, None, (), ())


def test_the_spec_round_trips_through_the_job_records_json(tmp_path: Path) -> None:
    spec = full_spec(tmp_path)
    stored = json.loads(json.dumps(spec.to_dict()))
    assert stored["triggers"][2] == {"type": "sqs", "queue": QUEUE}
    assert AppSpec.from_dict(stored) == spec
    assert AppSpec.from_json(stored).to_dict() == spec.to_dict()


def test_records_written_before_these_keys_still_load() -> None:
    old = {"name": "hello", "handler": "app.handler", "runtime": "python3.12",
           "architecture": "x86_64", "memory": 128, "timeout": 10,
           "environment": {"GREETING": "hi"}, "verify_event": {"name": "world"},
           "verify_expect": None, "verify_match": "exact", "has_expect": False,
           "chalice": False, "code_root": "", "deploy_strategy": "all-at-once",
           "deploy_weights": [0.1, 0.5], "deploy_bake_seconds": 60, "team": "default",
           "verify_default": True, "verify_events": [], "build_requirements": None,
           "build_optional": [], "include_runtime_packages": None}
    spec = AppSpec.from_dict(old)
    assert spec.limits == FunctionLimits() and spec.triggers == () and spec.secrets == ()
    assert spec.permissions is None and spec.vpc is None and spec.layers == ()


def test_a_condition_is_kept(tmp_path: Path) -> None:
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Tagged", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObject"],
         "Resource": ["arn:aws:s3:::auto-lambda-payments-data/*"],
         "Condition": {"StringEquals": {"s3:ExistingObjectTag/team": "payments"}}}]}
    spec = load(tmp_path, '[permissions]\npolicy_file = "p.json"\n',
                {"p.json": json.dumps(policy)})
    assert spec.permissions is not None
    stmt = spec.permissions.statements[0]
    assert stmt.actions == ("s3:GetObject",) and stmt.sid == "Tagged"
    assert spec.permissions.document()["Statement"][0]["Condition"] == policy[
        "Statement"][0]["Condition"]
    assert AppSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


@pytest.mark.parametrize(("toml", "code"), [
    ("[function]\nreserved_concurrency = -1\n", "ManifestInvalid"),
    ("[function]\nreserved_concurrency = true\n", "ManifestInvalid"),
    ('[function]\nreserved_concurrency = "5"\n', "ManifestInvalid"),
    ("[function]\nephemeral_storage = 511\n", "ManifestInvalid"),
    ("[function]\nephemeral_storage = 10241\n", "ManifestInvalid"),
    ("[function]\nephemeral_storage = 1024.0\n", "ManifestInvalid"),
    (f'[function]\nlayers = "{LAYER}"\n', "ManifestInvalid"),
    ('[function]\nlayers = ["not-an-arn"]\n', "ArnInvalid"),
    ('[function]\nlayers = ["arn:aws:lambda:us-east-1:123456789012:layer:x"]\n', "ArnInvalid"),
    (f'[function]\nlayers = ["{LAYER}", "{LAYER}"]\n', "ManifestInvalid"),
    ("[function]\nlayers = [" + ", ".join(f'"{LAYER[:-1]}{i}"' for i in range(1, 7)) + "]\n",
     "ManifestInvalid"),
    ('[function]\nvpc = "subnet-0123 sg-0123"\n', "ManifestInvalid"),
    ('[function]\nvpc = ["private"]\n', "ManifestInvalid"),
    ('[function]\nvpc_profile = "private"\n', "ManifestInvalid"),
    ("[permissions]\nrole = \"x\"\n", "ManifestInvalid"),
    ("[permissions]\n", None),
    ("permissions = 1\n", "ManifestInvalid"),
    ('[permissions]\npolicy_file = "../policy.json"\n', "ManifestInvalid"),
    ('[permissions]\npolicy_file = "/etc/passwd"\n', "ManifestInvalid"),
    ('[permissions]\npolicy_file = "missing.json"\n', "ManifestInvalid"),
    ("secrets = 1\n", "ManifestInvalid"),
    ('[secrets]\nDB_URL = "/payments/db"\n', "SecretReferenceInvalid"),
    ('[secrets]\nDB_URL = "vault:/payments/db"\n', "SecretReferenceInvalid"),
    ('[secrets]\nDB_URL = "ssm:payments/db"\n', "SecretReferenceInvalid"),
    ('[secrets]\nDB_URL = "ssm:/payments/../shipping/db"\n', "SecretReferenceInvalid"),
    ('[secrets]\nDB_URL = "ssm:/aws/service/x"\n', "SecretReferenceInvalid"),
    ('[secrets]\nDB_URL = "ssm:/payments/db url"\n', "SecretReferenceInvalid"),
    ('[secrets]\nDB_URL = "secretsmanager:"\n', "SecretReferenceInvalid"),
    ('[secrets]\nDB_URL = "secretsmanager:/payments/x"\n', "SecretReferenceInvalid"),
    ("[secrets]\nDB_URL = 5\n", "SecretReferenceInvalid"),
    ('[secrets]\n"1DB" = "ssm:/payments/db"\n', "ManifestInvalid"),
    ('[secrets]\nAWS_REGION = "ssm:/payments/db"\n', "ManifestInvalid"),
    ('[secrets]\nAWS_LAMBDA_X = "ssm:/payments/db"\n', "ManifestInvalid"),
    ('[function.environment]\nDB = "x"\n[secrets]\nDB = "ssm:/payments/db"\n',
     "ManifestInvalid"),
    ("triggers = 1\n", "ManifestInvalid"),
    ("[triggers]\ntype = \"url\"\n", "ManifestInvalid"),
    ("[[triggers]]\ntype = \"email\"\n", "ManifestInvalid"),
    ("[[triggers]]\nkind = \"url\"\n", "ManifestInvalid"),
    ("[[triggers]]\ntype = \"url\"\nauth = \"public\"\n", "ManifestInvalid"),
    ("[[triggers]]\ntype = \"url\"\nexpression = \"rate(1 hour)\"\n", "ManifestInvalid"),
    ("[[triggers]]\ntype = \"url\"\n[[triggers]]\ntype = \"url\"\nauth = \"none\"\n",
     "ManifestInvalid"),
    ("[[triggers]]\ntype = \"schedule\"\n", "ManifestInvalid"),
    ("[[triggers]]\ntype = \"schedule\"\nexpression = \"rate(1 hours)\"\n",
     "ScheduleExpressionInvalid"),
    ("[[triggers]]\ntype = \"schedule\"\nexpression = \"rate(1 hour)\"\n"
     "[[triggers]]\ntype = \"schedule\"\nexpression = \"rate( 1 hour )\"\n", "ManifestInvalid"),
    ("[[triggers]]\ntype = \"sqs\"\n", "ManifestInvalid"),
    ("[[triggers]]\ntype = \"sqs\"\nqueue = \"auto-lambda-payments-in\"\n", "ArnInvalid"),
    ("[[triggers]]\ntype = \"sqs\"\nqueue = \"" + LAYER + "\"\n", "ArnInvalid"),
    ("[[triggers]]\ntype = \"http\"\nroute = \"/x\"\n", "ManifestInvalid"),
    ("".join(f'[[triggers]]\ntype = "schedule"\nexpression = "rate({i + 2} minutes)"\n'
             for i in range(11)), "ManifestInvalid"),
])
def test_mistakes_in_the_new_keys_have_codes(tmp_path: Path, toml: str, code: str | None
                                             ) -> None:
    if code is None:
        assert load(tmp_path, toml).permissions is None
        return
    assert code_of(tmp_path, toml, {"policy.json": json.dumps(POLICY)}) == code


def statement(**fields: object) -> str:
    stmt = {"Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::auto-lambda-payments-data/*", **fields}
    return json.dumps({"Version": "2012-10-17",
                       "Statement": [{k: v for k, v in stmt.items() if v is not None}]})


@pytest.mark.parametrize("document", [
    "not json", "[]", json.dumps({"Statement": []}),
    json.dumps({"Version": "2008-10-17", "Statement": [json.loads(statement())["Statement"]]}),
    json.dumps({"Version": "2012-10-17", "Statement": []}),
    json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow"}}),
    json.dumps({"Version": "2012-10-17", "Statement": [], "Extra": 1}),
    statement(NotAction="iam:*"), statement(NotResource="*"),
    statement(Principal={"AWS": "*"}), statement(Effect="allow"), statement(Effect=None),
    statement(Action=None), statement(Resource=None), statement(Action=[]),
    statement(Action="*"), statement(Action="s3"), statement(Action="s3:Get Object"),
    statement(Action=["s3:GetObject", 5]), statement(Resource="bucket-name"),
    statement(Resource="arn:aws:s3:*:*:b"), statement(Sid="not ok!"),
    statement(Condition="x"), statement(Condition={"StringEquals": "x"}),
    statement(Other=1), '{"Version": "2012-10-17", "Statement": [{"Effect": NaN}]}',
    json.dumps({"Version": "2012-10-17", "Statement": [
        json.loads(statement())["Statement"][0] | {"Sid": f"S{i}", "Resource": [
            f"arn:aws:s3:::auto-lambda-payments-{i}-{'x' * 40}/*" for _ in range(3)]}
        for i in range(60)]}),
    "[" * 100_000,
])
def test_policy_documents_that_are_refused(tmp_path: Path, document: str) -> None:
    code = code_of(tmp_path, '[permissions]\npolicy_file = "policy.json"\n',
                   {"policy.json": document})
    assert code in ("PolicyDocumentInvalid", "ManifestInvalid")


def test_a_condition_json_cannot_carry_is_refused() -> None:
    from orchestrator.steps.unpack.iampolicy import parse_policy_document

    with pytest.raises(ManifestError) as info:
        parse_policy_document({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
            "Condition": {"NumericLessThan": {"x": float("nan")}}}]}, "p.json")
    assert info.value.code == "PolicyDocumentInvalid"


def test_a_policy_over_the_size_caps_is_refused(tmp_path: Path) -> None:
    big = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject",
         "Resource": [f"arn:aws:s3:::auto-lambda-payments-{i:05d}/*" for i in range(400)]}]})
    assert code_of(tmp_path, '[permissions]\npolicy_file = "p.json"\n',
                   {"p.json": big}) == "PolicyDocumentInvalid"
    (tmp_path / "huge").mkdir()
    huge = " " * (64 * 1024) + statement()
    assert code_of(tmp_path / "huge", '[permissions]\npolicy_file = "p.json"\n',
                   {"p.json": huge}) == "ManifestInvalid"


def test_a_policy_file_through_a_symlink_out_of_the_zip_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text(statement())
    root = app(tmp_path, '[permissions]\npolicy_file = "link.json"\n')
    (root / "link.json").symlink_to(outside)
    with pytest.raises(ManifestError, match="outside the zip"):
        load_app_spec(root, "app.zip")


def test_unknown_tables_are_still_refused(tmp_path: Path) -> None:
    assert code_of(tmp_path, "[trigger]\ntype = \"url\"\n") == "ManifestInvalid"


@pytest.mark.parametrize("toml", [
    '[function]\nname = "hello\\n"\n', '[function]\nhandler = "app.handler\\n"\n',
    '[verify.events."get\\n"]\nevent = {}\n',
])
def test_a_trailing_newline_is_not_part_of_a_name(tmp_path: Path, toml: str) -> None:
    assert code_of(tmp_path, toml) == "ManifestInvalid"


def test_a_team_folder_with_a_trailing_newline_is_not_a_team() -> None:
    from orchestrator.tenancy import team_of_key

    with pytest.raises(ManifestError) as info:
        team_of_key("payments\n/app.zip")
    assert info.value.code == "TeamInvalid"
