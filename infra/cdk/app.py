#!/usr/bin/env python3
"""Entry point of the auto-lambda CDK app (``cdk synth`` / ``cdk deploy`` run this).

Everything lives in ``auto_lambda_infra``; this file only creates the App and synthesizes.
cdk.json's context is the base, so ``python app.py`` alone synthesizes the same template;
under the CDK CLI, cdk.json and ``-c key=value`` take precedence over it.
Imports nothing from auto-lambda's runtime packages.
"""

from __future__ import annotations

from auto_lambda_infra.entry import build, default_context
from aws_cdk import App

if __name__ == "__main__":
    application = App(context=default_context())
    build(application)
    application.synth()
