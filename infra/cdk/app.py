#!/usr/bin/env python3
"""Entry point of the auto-lambda CDK app (``cdk synth`` / ``cdk deploy`` run this).

Reads context into Params, builds the one stack, registers cdk-nag, synthesizes. Imports
nothing from auto-lambda's runtime packages.
"""

from __future__ import annotations

import os

from auto_lambda_infra import nag
from auto_lambda_infra.params import Params
from auto_lambda_infra.stack import AutoLambdaStack
from aws_cdk import App, Environment


def build(app: App) -> AutoLambdaStack:
    params = Params.from_context(app.node.try_get_context)
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION")
    env = Environment(account=account, region=region) if account and region else None
    stack = AutoLambdaStack(
        app, f"{params.prefix}-stack", params=params, env=env,
        description="auto-lambda: S3 uploads built, deployed and verified as Lambda functions",
    )
    nag.apply(app, stack)
    return stack


if __name__ == "__main__":
    application = App()
    build(application)
    application.synth()
