"""Every session's loader in a test process (and in the chaos zygote's children) shares
one cache of loaded models; S3's, which botocore edits in place, is a fresh copy per
load (tests/botocore_models.py)."""

from __future__ import annotations

import boto3

from tests.botocore_models import SharedModels, share_loaded_models, warm


def _loader(session: boto3.session.Session):  # type: ignore[no-untyped-def]
    return session._session.get_component("data_loader")


def test_two_sessions_share_one_parse_of_a_model_but_not_s3s() -> None:
    share_loaded_models()
    first, second = boto3.session.Session(), boto3.session.Session()
    assert isinstance(_loader(first)._cache, SharedModels)
    assert _loader(first)._cache is _loader(second)._cache
    sqs = [_loader(s).load_service_model("sqs", "service-2") for s in (first, second)]
    assert sqs[0] is sqs[1]
    s3 = [_loader(s).load_service_model("s3", "service-2") for s in (first, second)]
    assert s3[0] is not s3[1] and s3[0] == s3[1]


def test_warming_loads_a_services_models_before_any_client_asks() -> None:
    warm(["sts"])
    cache = _loader(boto3.session.Session())._cache
    assert any(isinstance(k, tuple) and "sts" in k for k in cache), list(cache)[:10]


def test_two_sessions_clients_share_a_class_and_keep_their_own_model_and_events() -> None:
    share_loaded_models()
    clients = [boto3.session.Session().client("s3", endpoint_url="http://127.0.0.1:9")
               for _ in range(2)]
    assert type(clients[0]) is type(clients[1])
    assert hasattr(clients[0], "upload_fileobj")  # boto3's class handler ran once, kept
    assert clients[0].meta.service_model is not clients[1].meta.service_model
    assert clients[0].meta.events is not clients[1].meta.events
