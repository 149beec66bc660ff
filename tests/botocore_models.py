"""One cache of botocore's loaded models per process, shared by every session's loader:
the test processes' (tests/conftest.py) and, warmed before it forks, the chaos zygote's
(tests/chaos/zygote.py), whose workers then start without parsing a model.

Each ``Aws`` makes boto3 sessions of its own, whose loaders each parsed every model
again: ~50 model loads, 0.3 s, of each pipeline test and of each worker start. Only
sessions' loaders: moto loads (and edits) models of its own. And each session built each
client's class again (a method and a docstring object per operation): a third of a
pipeline's set-up. Those classes are kept too, one per service and API version.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from typing import Any

import boto3
import botocore.client
import botocore.loaders
import botocore.session

_MARK = "_auto_lambda_shared_models"


class SharedModels(dict[Any, Any]):
    """Loaded models shared by every session's loader, but for the two services whose
    operation models botocore edits in place on first use (S3's request URIs, S3
    Control's host prefix): each load of those gets a fresh copy (from a pickle, ~10x
    faster than parsing), so no reader of the model elsewhere (the fault proxy's router)
    sees another client's edits."""

    EDITED = frozenset({"s3", "s3control"})

    def __init__(self) -> None:
        super().__init__()
        self._pickled: dict[Any, bytes] = {}

    def _edited(self, key: Any) -> bool:
        # keys are (method, args...): a service name, or a data path "s3/2006-03-01/..."
        return isinstance(key, tuple) and any(
            str(part).partition("/")[0] in self.EDITED for part in key[1:])

    def __contains__(self, key: object) -> bool:
        return key in self._pickled or super().__contains__(key)

    def __getitem__(self, key: Any) -> Any:
        if key in self._pickled:
            return pickle.loads(self._pickled[key])
        return super().__getitem__(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        if self._edited(key):
            self._pickled[key] = pickle.dumps(value)
        else:
            super().__setitem__(key, value)


def share_loaded_models() -> None:
    """From now on, every botocore session's loader in this process uses one cache of
    models, and every session's clients one class per service and API version."""
    if getattr(botocore.session.create_loader, _MARK, False):
        return
    shared = SharedModels()
    create = botocore.loaders.create_loader

    def create_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
        loader = create(search_path_string)
        loader._cache = shared
        return loader

    setattr(create_loader, _MARK, True)
    botocore.session.create_loader = create_loader
    _share_client_classes()


def _share_client_classes() -> None:
    """One client class per service and API version for every session of the process.
    A class holds its operations' methods and the attributes the sessions' own
    ``creating-client-class`` handlers add (boto3's S3 transfer methods), the same for
    every session: none of them is per session, and each client keeps its own model,
    endpoint and events."""
    creator = botocore.client.ClientCreator
    build = creator._create_client_class
    classes: dict[tuple[str, str], type] = {}

    def create_client_class(self: botocore.client.ClientCreator, service_name: str,
                            service_model: Any) -> type:
        key = (service_name, str(service_model.api_version))
        if key not in classes:
            classes[key] = build(self, service_name, service_model)
        return classes[key]

    creator._create_client_class = create_client_class


def warm(services: Iterable[str]) -> None:
    """Load what a client of each service needs into the shared cache. Everything is
    given (region, endpoint, keys), so nothing is read from the environment or the
    network: the cache holds the same models whatever the process's settings."""
    share_loaded_models()
    session = boto3.session.Session(aws_access_key_id="warm", aws_secret_access_key="warm",
                                    region_name="us-east-1")
    for service in services:
        session.client(service, endpoint_url="http://127.0.0.1:9")
