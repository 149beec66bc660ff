"""AWS plumbing: the typed facade over boto3 (``facade``), the queue facade
(``queue``), creation of the pipeline's resources where no CDK stack owns them
(``resources``) and the embedded moto server of local mode (``emulator``).

Kept free of imports at package level: importing ``orchestrator.aws`` must not load
boto3, so commands that make no AWS call start fast. Import the submodule you need.
"""
