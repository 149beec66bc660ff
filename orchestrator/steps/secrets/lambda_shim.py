"""auto-lambda's secrets shim, packaged into a function as ``_auto_lambda_secrets.py``
and set as its handler when the manifest has a ``[secrets]`` table.

At cold start, before the app's handler module is imported, it reads
``AUTO_LAMBDA_SECRETS`` (a JSON object: variable name -> ``"ssm:/<team>/..."`` or
``"secretsmanager:<team>/..."``), fetches each value with the function's own role
(SSM GetParameter with decryption, Secrets Manager GetSecretValue) and puts it in
``os.environ``; then it imports ``AUTO_LAMBDA_HANDLER`` (the app's own handler) and
becomes it: ``handler`` is the app's function itself, so invocations pay nothing.

A variable that is already set is left as it is: Lambda's configuration never sets one
(the manifest refuses a name in both [secrets] and [function.environment]), and the
local verify run hands in the values it resolved against the emulator this way, since
its jail has no network.

Runs inside the function: standard library and the runtime's boto3 only, nothing of
auto-lambda. It never prints or logs a value.
"""

from __future__ import annotations

import importlib
import json
import os
from typing import Any


def _fetch(store: str, path: str, clients: dict[str, Any]) -> str:
    if store not in ("ssm", "secretsmanager"):
        raise RuntimeError(f"auto-lambda: unknown secret store {store!r}")
    if store not in clients:
        import boto3  # provided by the runtime; imported only when something is missing

        clients[store] = boto3.client(store)
    if store == "ssm":
        answer = clients[store].get_parameter(Name=path, WithDecryption=True)
        return str(answer["Parameter"]["Value"])
    answer = clients[store].get_secret_value(SecretId=path)
    if "SecretString" not in answer:
        raise RuntimeError(f"auto-lambda: secret {path!r} holds no text (SecretString)")
    return str(answer["SecretString"])


def resolve(environ: Any = os.environ) -> list[str]:
    """Put each referenced secret that is not set yet into ``environ``; the names set."""
    refs = json.loads(environ.get("AUTO_LAMBDA_SECRETS") or "{}")
    clients: dict[str, Any] = {}
    done = []
    for name, ref in refs.items():
        if name in environ:
            continue
        store, _, path = str(ref).partition(":")
        environ[name] = _fetch(store, path, clients)
        done.append(name)
    return done


def _app_handler() -> Any:
    module, _, attribute = os.environ["AUTO_LAMBDA_HANDLER"].rpartition(".")
    return getattr(importlib.import_module(module), attribute)


if os.environ.get("AUTO_LAMBDA_HANDLER"):
    resolve()
    handler = _app_handler()
