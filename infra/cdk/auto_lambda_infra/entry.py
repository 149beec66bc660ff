"""Builds the app's one stack from context and registers cdk-nag: what app.py runs.

Kept in the package (not in app.py) so tests can build the same app without importing a
module named ``app``. Reads CDK_DEFAULT_ACCOUNT/REGION only to pin the environment when
the CDK CLI provides them; performs no AWS calls.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment

from . import nag
from .params import Params
from .stack import AutoLambdaStack

CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"


def default_context() -> dict[str, Any]:
    """The context cdk.json gives ``cdk synth`` (feature flags and parameter defaults)."""
    return dict(json.loads(CDK_JSON.read_text())["context"])


def build(app: App, environ: Mapping[str, str] | None = None) -> AutoLambdaStack:
    environ = os.environ if environ is None else environ
    params = Params.from_context(app.node.try_get_context)
    account = environ.get("CDK_DEFAULT_ACCOUNT")
    region = environ.get("CDK_DEFAULT_REGION")
    env = Environment(account=account, region=region) if account and region else None
    stack = AutoLambdaStack(
        app, f"{params.prefix}-stack", params=params, env=env,
        description="auto-lambda: S3 uploads built, deployed and verified as Lambda functions",
    )
    nag.apply(app, stack)
    return stack
