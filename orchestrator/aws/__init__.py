"""AWS plumbing, and the only package that imports boto3 or botocore: the facade that
holds the clients (``facade``), one typed door per service (``functions`` for Lambda,
``jobs_table`` for DynamoDB, ``objects`` for S3, ``queue`` for SQS, ``metrics`` for
CloudWatch, ``scaling`` for Auto Scaling, ``traces`` for X-Ray, ``roles`` for IAM),
creation of the pipeline's resources where no CDK stack owns them (``resources``).
The embedded moto server of local mode is a development tool
(``auto_lambda_dev.emulator``).

Kept free of imports at package level: importing ``orchestrator.aws`` must not load
boto3, so commands that make no AWS call start fast. Import the submodule you need.
"""
