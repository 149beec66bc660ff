"""AWS plumbing: the typed facade over boto3 (``facade``), the queue facade
(``queue``) and creation of the pipeline's resources where no CDK stack owns them
(``resources``). The embedded moto server of local mode is a development tool
(``auto_lambda_dev.emulator``).

Kept free of imports at package level: importing ``orchestrator.aws`` must not load
boto3, so commands that make no AWS call start fast. Import the submodule you need.
"""
